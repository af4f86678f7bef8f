"""The measured impact of a step's SQL on PostgreSQL, statement by statement, for the inspect step.

The step's scripts (up.sql for a run, down.sql for a revert, both for a redo) run again on a rehearsal clone
of the step's before copy, as the rehearsal role, through the same SQL guard as every migration, inside the
migration's own transaction (``run_in_transaction = false`` runs them one by one, as diesel does). After
each statement the server says what it did:

* rows inserted, updated and deleted per table, from ``pg_stat_xact_user_tables`` (the transaction's own
  counters: rows changed by cascades and triggers count against their own table);
* locks stronger than ``ROW EXCLUSIVE``, sampled from ``pg_locks`` by a second session, and rewrites (the
  table's ``relfilenode`` changed), with the table's row count and the time the lock was held on the copy.

Outside a transaction the counters cannot be read per statement: those statements say so instead of
claiming nothing changed. The clone is dropped afterwards; the workspace and production are not touched.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from pglast.parser import ParseError, parse_sql_json

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.clone import Clone, rehearsal_clone
from lightnb.backends.postgres.connect import time_limited
from lightnb.backends.postgres.guard import refuse_escapes
from lightnb.backends.postgres.locks import _STRENGTH, _tables, blocks, human_count, observe, sql_mode
from lightnb.backends.postgres.private import require_private
from lightnb.backends.postgres.split import split
from lightnb.errors import LightnbError

if TYPE_CHECKING:
    from lightnb.inspect.redact import Redactor
    from lightnb.migrations import Migration
    from lightnb.results import RunResult

_COUNTERS = """
SELECT CASE WHEN schemaname = 'public' THEN relname ELSE schemaname || '.' || relname END,
       n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables
"""


@dataclass(frozen=True, slots=True)
class StatementImpact:
    """What one statement did to one table, measured on a copy of the database as it was before the step.

    :param script: ``<migration>/up.sql`` or ``<migration>/down.sql``.
    :param line: the statement's first line in it.
    :param table: the table (``schema.table`` outside ``public``).
    :param what: the measured effect, one line.
    """

    script: str
    line: int
    statement: str
    table: str | None
    what: str

    def to_text(self) -> str:
        """``m/up.sql line 2 (UPDATE users SET …): users: 3 row(s) updated``."""
        return f"{self.script} line {self.line} ({self.statement}): {self.what}"


def _short(text: str, redactor: Redactor | None) -> str:
    line = " ".join(text.split())
    line = line if len(line) <= 60 else line[:57] + "…"
    return redactor.message(line) if redactor is not None else line


def _scripts(result: RunResult) -> list[tuple[Migration, str, str]]:
    """The scripts the step ran, in order (:meth:`RunResult.scripts_run`): ``(migration, up.sql|down.sql, text)``."""
    return [(m, "down.sql", m.down_sql() or "") if way == "down" else (m, "up.sql", m.up_sql())
            for m, way in result.scripts_run()]


def _counters(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, int, int]]:
    return {str(name): (int(i), int(u), int(d)) for name, i, u, d in conn.execute(_COUNTERS)}


def _rows_phrase(table: str, before: tuple[int, int, int], after: tuple[int, int, int]) -> str | None:
    added, updated, deleted = (a - b for a, b in zip(after, before))
    parts = [f"{n} row(s) {verb}" for n, verb in ((added, "inserted"), (updated, "updated"), (deleted, "deleted"))
             if n]
    return f"{table}: " + ", ".join(parts) if parts else None


def _count(conn: psycopg.Connection[Any], table: str) -> int | None:
    from psycopg import sql
    ident = sql.Identifier(*table.split(".", 1)) if "." in table else sql.Identifier(table)
    try:
        with conn.transaction():
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
        return int(row[0]) if row else None
    except psycopg.Error:
        return None


def _measure(clone: Clone, migration: Migration, file: str, script: str,
             redactor: Redactor | None) -> Iterator[StatementImpact]:
    refuse_escapes(migration, script, file)  # the guard every path running migration SQL goes through
    name = f"{migration.name}/{file}"
    statements = list(split(script))
    with clone.connect() as conn, clone.connect() as watcher, time_limited(conn, f"{migration.name}'s {file}"):
        if not migration.run_in_transaction:
            for statement in statements:
                conn.execute(statement.text.encode("utf-8"), prepare=False)
                yield StatementImpact(name, statement.line, _short(statement.text, redactor), _target(statement.text),
                                      "run outside a transaction (run_in_transaction = false): rows and locks not "
                                      "measured; see the row diff")
            return
        known = _tables(conn)
        pid = conn.info.backend_pid
        held: dict[int, str] = {}
        found: list[tuple[Any, float, dict[int, str], set[int], list[str]]] = []
        with conn.transaction():
            nodes = {oid: node for oid, (_, node) in known.items()}
            counters = _counters(conn)
            for statement in statements:
                begin = time.perf_counter()
                try:
                    conn.execute(statement.text.encode("utf-8"), prepare=False)
                except psycopg.Error as error:
                    reason = " ".join(str(error).split())
                    raise LightnbError(f"{name} line {statement.line} fails on the before copy: "
                                       f"{_short(reason, redactor)}; the step's impact cannot be measured.") from error
                now = _counters(conn)
                rows = [phrase for table in sorted(set(now) | set(counters))
                        if (phrase := _rows_phrase(table, counters.get(table, (0, 0, 0)), now.get(table, (0, 0, 0))))]
                counters = now
                added, rewritten = observe(conn, watcher, pid, known, held, nodes)
                found.append((statement, begin, added, rewritten, rows))
            committed = time.perf_counter()
            for statement, begin, added, rewritten, rows in found:
                for item in rows:
                    table = item.split(":", 1)[0]
                    yield StatementImpact(name, statement.line, _short(statement.text, redactor), table, item)
                for oid in sorted(set(added) | rewritten):
                    table = known[oid][0]
                    mode = added.get(oid) or held.get(oid, "AccessExclusiveLock")
                    if oid not in rewritten and _STRENGTH.get(mode, 0) <= _STRENGTH["RowExclusiveLock"]:
                        continue
                    count = _count(conn, table)
                    verb = "rewrites" if oid in rewritten else "locks"
                    yield StatementImpact(name, statement.line, _short(statement.text, redactor), table,
                                          f"{verb} {table}: {human_count(count)} rows, {committed - begin:.3g} s under "
                                          f"{sql_mode(mode)} on the copy — {blocks(mode, table)}")
                if not rows and not any(oid in rewritten or _STRENGTH.get(added.get(oid, ""), 0)
                                        > _STRENGTH["RowExclusiveLock"] for oid in set(added) | rewritten):
                    target = _target(statement.text)
                    yield StatementImpact(name, statement.line, _short(statement.text, redactor), target,
                                          f"{target or 'the database'}: no row changed")


def _target(text: str) -> str | None:
    """The table a statement names as its target (INSERT/UPDATE/DELETE/ALTER TABLE/CREATE INDEX …), or None."""
    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        return None
    for item in tree.get("stmts", []):
        for node in item.get("stmt", {}).values():
            relation = node.get("relation") if isinstance(node, dict) else None
            if isinstance(relation, dict) and relation.get("relname"):
                schema = relation.get("schemaname")
                return f"{schema}.{relation['relname']}" if schema and schema != "public" else relation["relname"]
    return None


def measure_impact(result: RunResult, tables: Sequence[str], *, redactor: Redactor | None = None
                   ) -> tuple[StatementImpact, ...]:
    """Measure, statement by statement, what the step's SQL did to ``tables`` (see the module docstring).

    :param result: a step captured on PostgreSQL (its ``before_copy`` is a URL).
    :raises LightnbError: when the before copy is gone, or a statement fails on it.
    """
    before_copy = str(result.before_copy)
    cluster = require_private(before_copy, "measure on")
    wanted = {t.lower() for t in tables}
    out: list[StatementImpact] = []
    with contextlib.ExitStack() as stack:
        clone = stack.enter_context(rehearsal_clone(cluster, pgurl.database_of(pgurl.parse(before_copy))))
        for migration, file, script in _scripts(result):
            if not script.strip():
                continue
            out += [i for i in _measure(clone, migration, file, script, redactor)
                    if i.table is None or i.table.lower() in wanted]
    return tuple(out)


__all__ = ["StatementImpact", "measure_impact"]
