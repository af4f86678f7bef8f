"""Replay migrations in an in-memory SQLite database to know the schema at each point of history.

The replay executes migration SQL, so it runs under :mod:`lightnb.backends.sqlite.guard` like every other path:
an ``ATTACH`` of a file or a ``VACUUM INTO`` is refused (and reported as the statement's error),
whether the migration runs in a transaction or not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp

from lightnb import signals
from lightnb.backends import sqlite
from lightnb.catalog import Catalog
from lightnb.inspect.redact import mask_message
from lightnb.lint.source import Parsed, Script, parse_script
from lightnb.time_limit import TimeLimitExceeded

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
    with _Replayer.open() as replayer:
        for text in history:
            replayer.run_all(parse_script(text, "up.sql").statements, "an earlier migration's up.sql")
        before = sqlite.read_catalog(replayer.conn).without_bookkeeping()
        image = sqlite.serialize(replayer.conn)
        states, up_errors = replayer.run_tracked(up.statements, before, up.file)
        after = states.pop()
        after_down = None
        down_errors: dict[int, str] = {}
        if down is not None:
            down_states, down_errors = replayer.run_tracked(down.statements, after, down.file)
            after_down = down_states[-1]
        return Replay(before, tuple(states), after, up_errors, after_down, down_errors, image)


def timeline(ups: Sequence[tuple[str, str]]) -> list[tuple[str, Catalog]]:
    """Apply (migration name, up.sql text) pairs in order; return the schema after each one."""
    with _Replayer.open() as replayer:
        states = []
        for name, text in ups:
            replayer.run_all(parse_script(text, "up.sql").statements, f"{name}'s up.sql" if name else "up.sql")
            states.append((name, sqlite.read_catalog(replayer.conn).without_bookkeeping()))
        return states


@dataclass
class _Replayer:
    """An in-memory database that runs migration statements under the SQL guard, interruptible."""

    conn: sqlite.Connection
    guard: sqlite.guard.Guard
    stop: signals.Stop

    @classmethod
    @contextlib.contextmanager
    def open(cls) -> Iterator[_Replayer]:
        conn = sqlite.connect(":memory:")
        try:
            with sqlite.interrupting(conn, timed=True) as stop:  # Ctrl-C/SIGTERM (and the time limit) stop a statement
                yield cls(conn, sqlite.guard.install(conn), stop)
        finally:
            conn.close()

    def run_all(self, statements: Iterable[Parsed], where: str) -> None:
        for statement in statements:
            self.execute(statement, where)

    def run_tracked(self, statements: tuple[Parsed, ...], start: Catalog, where: str
                    ) -> tuple[list[Catalog], dict[int, str]]:
        states, errors, current = [start], {}, start
        for index, statement in enumerate(statements):
            error = self.execute(statement, where)
            if error is not None:
                errors[index] = error
            elif not isinstance(statement.expr, _DATA_ONLY):
                current = sqlite.read_catalog(self.conn).without_bookkeeping()
            states.append(current)
        return states, errors

    def execute(self, statement: Parsed, where: str) -> str | None:
        """Run one statement (of ``where``: ``up.sql``); return SQLite's error (or the guard's refusal), None when it
        ran.

        :raises TimeLimitExceeded: when the replay ran over the time limit (:mod:`lightnb.time_limit`) in it.
        """
        conn = self.conn
        try:
            conn.execute(statement.text)
        except (sqlite.Error, sqlite.StatementWarning) as error:
            try:
                self.stop.raise_if_interrupted(error)
            except TimeLimitExceeded as stopped:
                raise stopped.naming(f"Line {statement.line} of {where} (replayed to read the schema)") from None
            if conn.in_transaction and isinstance(statement.expr, exp.Transaction):
                conn.execute("ROLLBACK")
            refusal = self.guard.take(statement.text) if sqlite.guard.is_refusal(error) else None
            if refusal is not None:
                return f"{sqlite.guard.REFUSED_BY_LIGHTNB}{refusal.text()}"
            return mask_message(str(error))  # replayed on real rows, an error may quote one
        if conn.in_transaction and isinstance(statement.expr, exp.Transaction):
            conn.execute("COMMIT")  # a BEGIN inside a migration: keep the replay in autocommit
        return None
