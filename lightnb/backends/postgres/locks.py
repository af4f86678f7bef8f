"""Run a migration's up.sql on a clone statement by statement, and measure what each statement does to
the tables that existed before it: the lock it takes, whether it rewrote the table, how long it took.

* Locks are sampled from ``pg_locks`` by a second connection while the migration's transaction is
  still open (PostgreSQL holds every lock until commit), so they are what the server granted, not a
  guess. A statement is credited with the locks it added or strengthened since the previous sample.
* A rewrite is a table whose ``relfilenode`` changed (read inside the migration's transaction, which
  sees its own catalogue changes): PostgreSQL wrote the whole table anew.
* Durations are wall time on the clone, with the clone's real row counts. Inside a transaction a lock
  is held until commit, so the time a table stays locked runs from the statement that locked it to
  the end of the migration.

A migration with ``run_in_transaction = false`` runs as diesel runs it (one batch, each statement
committing alone): its locks cannot be sampled after the fact and are derived from the statements
instead, marked so.

Everything here executes SQL: it takes a :class:`~lightnb.backends.postgres.clone.Clone`, never a URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast.parser import ParseError, parse_sql_json

from lightnb.backends.postgres.clone import Clone
from lightnb.backends.postgres.connect import time_limited
from lightnb.backends.postgres.shape import qualified
from lightnb.backends.postgres.split import split
from lightnb.errors import SqlError
from lightnb.migrations import Migration
from lightnb.runner import TRACKING_TABLE

# PostgreSQL's table lock modes, weakest first (explicit-locking.html, table 13.2).
MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
         "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
_STRENGTH = {mode: rank for rank, mode in enumerate(MODES)}
_BLOCKS = {
    "AccessExclusiveLock": "every read and write of {t} waits",
    "ExclusiveLock": "every write of {t} waits (plain reads go on)",
    "ShareRowExclusiveLock": "every write of {t} waits (reads go on)",
    "ShareLock": "every write of {t} waits (reads go on)",
    "ShareUpdateExclusiveLock": "reads and writes of {t} go on; other schema changes and VACUUM of it wait",
    "RowExclusiveLock": "reads and writes of {t} go on",
    "RowShareLock": "reads and writes of {t} go on",
    "AccessShareLock": "reads and writes of {t} go on",
}
_USER_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""
_FILENODES = "SELECT oid, relfilenode FROM pg_class WHERE oid = ANY(%s)"
_LOCKS = ("SELECT relation, mode FROM pg_locks WHERE pid = %s AND locktype = 'relation' AND granted "
          "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def sql_mode(mode: str) -> str:
    """``AccessExclusiveLock`` → ``ACCESS EXCLUSIVE`` (the words of ``LOCK TABLE``)."""
    words: list[str] = []
    for char in mode.removesuffix("Lock"):
        if char.isupper() and words:
            words.append(" ")
        words.append(char.upper())
    return "".join(words)


def blocks(mode: str, table: str) -> str:
    """What a lock mode makes other sessions on ``table`` wait for."""
    return _BLOCKS.get(mode, "other sessions may wait").format(t=table)


def stronger(a: str | None, b: str) -> str:
    """Return the stronger of two lock modes (``a`` may be None)."""
    return b if a is None or _STRENGTH.get(b, -1) > _STRENGTH.get(a, -1) else a


@dataclass(frozen=True, slots=True)
class TableLock:
    """What one statement did to one table that existed before the migration."""

    table: str
    mode: str
    rewritten: bool = False
    rows: int | None = None
    measured: bool = True  # sampled from pg_locks (False: derived from the statement)


@dataclass(frozen=True, slots=True)
class StatementEffect:
    """One statement of up.sql, run on the clone.

    :param line: its first line in up.sql.
    :param seconds: how long it ran on the clone.
    :param held_seconds: from its start to the migration's commit (how long the locks it took were held).
    """

    line: int
    text: str
    seconds: float
    locks: tuple[TableLock, ...] = ()
    held_seconds: float = 0.0

    def lines(self) -> list[str]:
        """One line per table it locked: ``rewrites users: 1.0M rows, 5.0 s under ACCESS EXCLUSIVE — …``."""
        out = []
        for lock in self.locks:
            if _STRENGTH.get(lock.mode, 0) <= _STRENGTH["RowExclusiveLock"] and not lock.rewritten:
                continue
            verb = "rewrites" if lock.rewritten else "locks"
            rows = f"{human_count(lock.rows)} rows, " if lock.rows is not None else ""
            how = "" if lock.measured else " (derived from the statement, not sampled)"
            out.append(f"{verb} {lock.table}: {rows}{self.held_seconds:.3g} s under {sql_mode(lock.mode)}{how} "
                       f"— {blocks(lock.mode, lock.table)}")
        return out


@dataclass
class UpRun:
    """The measured run of one up.sql."""

    statements: list[StatementEffect] = field(default_factory=list)
    seconds: float = 0.0
    in_transaction: bool = True


def human_count(number: int | None) -> str:
    """1234567 → ``1.2M``; 12345 → ``12.3k``; 999 → ``999``."""
    if number is None:
        return "?"
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if number >= size:
            return f"{number / size:.1f}{suffix}"
    return str(number)


def _tables(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, int]]:
    return {oid: (qualified(schema, name), node) for oid, schema, name, node in conn.execute(_USER_TABLES)
            if name != TRACKING_TABLE}


def _sample(watcher: psycopg.Connection[Any], pid: int, known: dict[int, tuple[str, int]]) -> dict[int, str]:
    held: dict[int, str] = {}
    for relation, mode in watcher.execute(_LOCKS, (pid,)):
        if relation in known:
            held[relation] = stronger(held.get(relation), mode)
    return held


def observe(conn: psycopg.Connection[Any], watcher: psycopg.Connection[Any], pid: int,
            known: dict[int, tuple[str, int]], held: dict[int, str], nodes: dict[int, int],
            ) -> tuple[dict[int, str], set[int]]:
    """After a statement: the locks it added (new, or stronger than held) and the tables it rewrote.

    ``held`` and ``nodes`` (oid → relfilenode) are brought up to date for the next statement.
    """
    sampled = _sample(watcher, pid, known)
    added = {oid: mode for oid, mode in sampled.items()
             if oid not in held or _STRENGTH.get(mode, 0) > _STRENGTH.get(held[oid], 0)}
    current = dict(conn.execute(_FILENODES, (list(nodes),)).fetchall())
    rewritten = {oid for oid, node in current.items() if node != nodes[oid]}
    nodes.update(current)
    held.update(added)
    return added, rewritten


def _count_rows(conn: psycopg.Connection[Any], table: str) -> int | None:
    from psycopg import sql
    ident = sql.Identifier(*table.split(".", 1)) if "." in table else sql.Identifier(table)
    try:
        with conn.transaction():
            return int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0])  # type: ignore[index]  # count(*) returns one row
    except psycopg.Error:
        return None


def server_message(error: psycopg.Error) -> str:
    """The server's own one-line message (without the ``LINE 1: …`` excerpt psycopg appends)."""
    primary = getattr(error.diag, "message_primary", None)
    text = primary or (str(error).strip().splitlines() or [type(error).__name__])[0]
    return " ".join(text.split())


def _sql_error(migration: Migration, statement: Any, error: psycopg.Error) -> SqlError:
    reason = server_message(error)
    return SqlError(f"Failed to run {migration.name} with: {reason} ({migration.name}/up.sql line "
                    f"{statement.line}); fix the SQL and run again (nothing of this migration was applied).",
                    path=migration.up_path, version=migration.version, line=statement.line,
                    statement=statement.text)


def run_measured(clone: Clone, migration: Migration) -> UpRun:
    """Apply ``migration``'s up.sql to the clone as diesel would, measuring every statement; record its version.

    :raises MigrationError: for an empty up.sql.
    :raises SqlError: when a statement fails (the transaction is rolled back: nothing applied).
    """
    from lightnb.backends.postgres.migrate import ensure_tracking_table, run_migration, up_script
    script = up_script(migration)
    run = UpRun(in_transaction=migration.run_in_transaction)
    with clone.connect() as conn, time_limited(conn, f"{migration.name}'s up.sql"):
        ensure_tracking_table(conn)
        known = _tables(conn)
        if not migration.run_in_transaction:
            started = time.perf_counter()
            run_migration(conn, migration)
            run.seconds = time.perf_counter() - started
            run.statements = [_derived(s, known, conn) for s in split(script)]
            return run
        with clone.connect() as watcher:
            pid = conn.info.backend_pid
            started = time.perf_counter()
            held: dict[int, str] = {}
            timings: list[tuple[Any, float, float, dict[int, str], set[int]]] = []
            with conn.transaction():
                nodes = {oid: node for oid, (_, node) in known.items()}
                for statement in split(script):
                    begin = time.perf_counter()
                    try:
                        conn.execute(statement.text.encode("utf-8"), prepare=False)
                    except psycopg.Error as error:
                        raise _sql_error(migration, statement, error) from error
                    took = time.perf_counter() - begin
                    added, rewritten = observe(conn, watcher, pid, known, held, nodes)
                    timings.append((statement, begin, took, added, rewritten))
                from lightnb.backends.postgres.migrate import _INSERT_VERSION
                conn.execute(_INSERT_VERSION, (migration.version,))
            committed = time.perf_counter()
        run.seconds = committed - started
        counts: dict[int, int | None] = {}
        for statement, begin, took, added, rewritten in timings:
            locks = []
            for oid in sorted(set(added) | rewritten):
                name = known[oid][0]
                mode = added.get(oid) or held.get(oid, "AccessExclusiveLock")
                if oid not in counts and (oid in rewritten or _STRENGTH.get(mode, 0) > _STRENGTH["RowExclusiveLock"]):
                    counts[oid] = _count_rows(conn, name) if _exists(conn, oid) else None
                locks.append(TableLock(name, mode, oid in rewritten, counts.get(oid)))
            run.statements.append(StatementEffect(statement.line, statement.text, took, tuple(locks),
                                                  committed - begin))
    return run


def _exists(conn: psycopg.Connection[Any], oid: int) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = %s)", (oid,)).fetchone() == (True,)


# Derived modes for statements run outside a transaction (each commits alone: nothing to sample later).
def derived_mode(statement: str) -> tuple[str, str | None] | None:
    """Return ``(lock mode, table)`` a statement takes on an existing table, from its parse tree, or None."""
    import json
    try:
        tree = json.loads(parse_sql_json(statement))
    except ParseError:
        return None
    stmts = tree.get("stmts", [])
    if not stmts:
        return None
    node = stmts[0].get("stmt", {})
    if "IndexStmt" in node:
        index = node["IndexStmt"]
        mode = "ShareUpdateExclusiveLock" if index.get("concurrent") else "ShareLock"
        return mode, _relation_name(index.get("relation", {}))
    if "AlterTableStmt" in node:
        return "AccessExclusiveLock", _relation_name(node["AlterTableStmt"].get("relation", {}))
    if "DropStmt" in node and node["DropStmt"].get("concurrent"):
        return "ShareUpdateExclusiveLock", None
    if any(k in node for k in ("UpdateStmt", "DeleteStmt", "InsertStmt")):
        inner = next(node[k] for k in ("UpdateStmt", "DeleteStmt", "InsertStmt") if k in node)
        return "RowExclusiveLock", _relation_name(inner.get("relation", {}))
    return None


def _relation_name(relation: dict[str, Any]) -> str | None:
    name = relation.get("relname")
    if not name:
        return None
    schema = relation.get("schemaname")
    return qualified(schema, name) if schema else name


def _derived(statement: Any, known: dict[int, tuple[str, int]], conn: psycopg.Connection[Any]) -> StatementEffect:
    found = derived_mode(statement.text)
    names = {name for name, _ in known.values()}
    locks: tuple[TableLock, ...] = ()
    if found is not None and found[1] in names:
        mode, table = found
        assert table is not None
        locks = (TableLock(table, mode, False, None, measured=False),)
    return StatementEffect(statement.line, statement.text, 0.0, locks, 0.0)
