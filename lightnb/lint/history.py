"""Replay migrations in an in-memory SQLite database to know the schema at each point of history."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlglot import exp

from lightnb import runner
from lightnb.inspect.redact import mask_message
from lightnb.lint.catalog import Catalog, read_catalog
from lightnb.lint.source import Parsed, Script, parse_script

# Statements that cannot change the schema: the catalogue is not re-read after them.
_DATA_ONLY = (exp.Insert, exp.Update, exp.Delete, exp.Select)


@dataclass(frozen=True, slots=True)
class Replay:
    """The schema before up.sql, before each of its statements, after it, and after down.sql.

    :param up_states: ``up_states[i]`` is the catalogue just before up statement ``i``.
    :param up_errors: statement index -> SQLite's error message, for up statements that failed.
    :param down_errors: same for down.sql, replayed after up.sql.
    """

    before: Catalog
    up_states: tuple[Catalog, ...]
    after: Catalog
    up_errors: dict[int, str]
    after_down: Catalog | None
    down_errors: dict[int, str]
    image: bytes | None = None  # the in-memory database before up.sql, serialized (fixes are tried on it)

    def state_before(self, index: int) -> Catalog:
        """Return the catalogue just before up statement ``index``."""
        return self.up_states[index]

    def state_after(self, index: int) -> Catalog:
        """Return the catalogue just after up statement ``index``."""
        return self.up_states[index + 1] if index + 1 < len(self.up_states) else self.after


def replay(history: Iterable[str], up: Script, down: Script | None) -> Replay:
    """Apply ``history`` (earlier up.sql texts), then ``up`` and ``down`` statement by statement.

    Statements that fail are recorded and skipped, so later statements still see a schema.
    """
    conn = scratch_connection()
    try:
        for text in history:
            _run_all(conn, parse_script(text, "up.sql").statements)
        before = read_catalog(conn)
        image = _serialize(conn)
        states, up_errors = _run_tracked(conn, up.statements, before)
        after = states.pop()
        after_down, down_errors = None, {}
        if down is not None:
            down_states, down_errors = _run_tracked(conn, down.statements, after)
            after_down = down_states[-1]
        return Replay(before, tuple(states), after, up_errors, after_down, down_errors, image)
    finally:
        conn.close()


def timeline(ups: Sequence[tuple[str, str]]) -> list[tuple[str, Catalog]]:
    """Apply (migration name, up.sql text) pairs in order; return the schema after each one."""
    conn = scratch_connection()
    try:
        states = []
        for name, text in ups:
            _run_all(conn, parse_script(text, "up.sql").statements)
            states.append((name, read_catalog(conn)))
        return states
    finally:
        conn.close()


def scratch_connection(image: bytes | None = None) -> sqlite3.Connection:
    """Open the in-memory database lint replays SQL on (a copy of ``image`` when given).

    ATTACH is refused: it could make migration SQL write files.
    """
    conn = runner.connect(":memory:")
    if image:
        conn.deserialize(image)
    conn.set_authorizer(_refuse_attach)
    return conn


def _serialize(conn: sqlite3.Connection) -> bytes:
    """Return the database's bytes; b'' for a database that has no page yet (nothing to copy)."""
    try:
        return conn.serialize()
    except sqlite3.OperationalError:
        return b""


def _refuse_attach(action: int, *_: object) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


def _run_all(conn: sqlite3.Connection, statements: Iterable[Parsed]) -> None:
    for statement in statements:
        _execute(conn, statement)


def _run_tracked(conn: sqlite3.Connection, statements: tuple[Parsed, ...],
                 start: Catalog) -> tuple[list[Catalog], dict[int, str]]:
    states, errors, current = [start], {}, start
    for index, statement in enumerate(statements):
        error = _execute(conn, statement)
        if error is not None:
            errors[index] = error
        elif not isinstance(statement.expr, _DATA_ONLY):
            current = read_catalog(conn)
        states.append(current)
    return states, errors


def _execute(conn: sqlite3.Connection, statement: Parsed) -> str | None:
    try:
        conn.execute(statement.text)
    except (sqlite3.Error, sqlite3.Warning) as error:
        if conn.in_transaction and isinstance(statement.expr, exp.Transaction):
            conn.execute("ROLLBACK")
        return mask_message(str(error))  # replayed on real rows, an error may quote one
    if conn.in_transaction and isinstance(statement.expr, exp.Transaction):
        conn.execute("COMMIT")  # a BEGIN inside a migration: keep the replay in autocommit
    return None
