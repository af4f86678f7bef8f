"""A throwaway copy of a database on which lint measures each pending migration in the state just before it.

The database itself is only opened read-only. The copy is made the first time a pending migration
needs it, in a private scratch folder (:mod:`lightnb.scratch`); earlier pending migrations are
applied to the copy in order, as ``migration run`` would (under the runner's SQL guard).

:class:`Baseline` makes the statement replay (the in-memory schema lint and check reason about)
start from the database that is given, not from an empty one: a project that adopted Diesel on an
existing database, or whose history starts from a dump, has tables no migration creates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lightnb import runner, scratch
from lightnb.backends import sqlite
from lightnb.catalog import TRACKING_TABLE, Catalog
from lightnb.errors import LightnbError
from lightnb.lint.history import timeline
from lightnb.migrations import Migration
from lightnb.time_limit import TimeLimitExceeded

_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


class Baseline:
    """Where the statement replay starts when a database is given.

    A pending migration runs on the database as it is, so its replay starts from the database's
    whole schema (then the pending migrations before it). An applied migration ran on the
    database's schema before it, which is rebuilt from the objects no applied migration creates
    (:attr:`foreign`) followed by the applied migrations before it. What only applied migrations
    need is computed on first use, so linting what is pending replays nothing of the past.

    :param applied: the versions diesel's table lists as applied.
    :param schema: the database's schema as one script (tables, then indexes, views, triggers).
    """

    def __init__(self, applied: frozenset[str], objects: Sequence[tuple[str, str, str]],
                 migrations: Sequence[Migration]) -> None:
        self.applied = applied
        self._objects = tuple(objects)
        self._migrations = tuple(migrations)
        self.schema = _script(sql for _kind, _name, sql in self._objects)
        self._foreign: str | None = None

    @classmethod
    def of(cls, conn: sqlite.Connection, migrations: Sequence[Migration]) -> Baseline:
        """Read the baseline of the database behind ``conn`` (only read)."""
        return cls(frozenset(applied_versions(conn)), schema_objects(conn), migrations)

    @property
    def foreign(self) -> str:
        """The part of :attr:`schema` whose objects no applied migration creates, as one script."""
        if self._foreign is None:
            created = _replayed_names([m.up_sql() for m in self._migrations if m.version in self.applied])
            self._foreign = _script(sql for kind, name, sql in self._objects if (kind, name.lower()) not in created)
        return self._foreign

    def history(self, migrations: Sequence[Migration], position: int) -> list[str]:
        """Return the scripts to replay, in order, to reach the schema just before ``migrations[position]``."""
        if migrations[position].version in self.applied:
            return [self.foreign] + [m.up_sql() for m in migrations[:position] if m.version in self.applied]
        return [self.schema] + [m.up_sql() for m in migrations[:position] if m.version not in self.applied]

    def later_states(self, migrations: Sequence[Migration], *, versions: Iterable[str] | None = None
                     ) -> list[tuple[str, Catalog]]:
        """Return (migration name, schema after it) for every migration, replayed from this baseline.

        :param versions: the migrations whose later states will be read (default all); when none of
            them is applied, the applied ones get the database's current schema instead of a replay.
        """
        pending = [m for m in migrations if m.version not in self.applied]
        applied = [m for m in migrations if m.version in self.applied]
        states = timeline([("", self.schema)] + [(m.name, m.up_sql()) for m in pending])
        after = dict(states[1:])
        wanted = None if versions is None else set(versions)
        if applied and (wanted is None or wanted & self.applied):
            after |= dict(timeline([("", self.foreign)] + [(m.name, m.up_sql()) for m in applied])[1:])
        else:
            after |= {m.name: states[0][1] for m in applied}
        return [(m.name, after[m.name]) for m in migrations]


def schema_objects(conn: sqlite.Connection) -> list[tuple[str, str, str]]:
    """Return (type, name, CREATE statement) of the database's schema, tables first, in creation order.

    SQLite's internal objects and automatic indexes (which have no SQL) are left out.
    """
    rows = sqlite.read_definitions(conn)
    return sorted(((kind, name, sql) for kind, name, sql in rows if kind in _ORDER), key=lambda r: _ORDER[r[0]])


def _script(statements: Iterable[str]) -> str:
    return "".join(f"{sql.rstrip().rstrip(';')};\n" for sql in statements)


def _replayed_names(ups: Sequence[str]) -> set[tuple[str, str]]:
    """Return (type, lower-case name) of every object the given up.sql texts create, replayed in memory."""
    states = timeline([(str(i), text) for i, text in enumerate(ups)])
    if not states:
        return set()
    final = states[-1][1]
    names = {("table", t.name.lower()) for t in final.tables}
    names |= {("index", i.name.lower()) for t in final.tables for i in t.indexes}
    names |= {("trigger", t.name.lower()) for t in final.triggers}
    names |= {("view", v.name.lower()) for v in final.views}
    return names


@dataclass(slots=True)
class Rehearsal:
    """The database (read-only) and, on demand, a copy advanced through the pending migrations.

    :param reader: a read-only connection to the database (for the project rules).
    :param pending: the migrations not applied on the database, in the order they would run.
    """

    reader: sqlite.Connection
    pending: tuple[Migration, ...]
    scratch: Path
    baseline: Baseline
    _copy: sqlite.Connection | None = field(default=None, init=False)
    _applied: int = field(default=0, init=False)
    _broken: bool = field(default=False, init=False)
    unreached: str | None = field(default=None, init=False)  # why the migrations after a failing one are not reached

    @classmethod
    @contextlib.contextmanager
    def open(cls, database: str | Path, migrations: Sequence[Migration]) -> Iterator[Rehearsal]:
        """Open ``database`` read-only for the duration; remove the copy afterwards.

        :raises DatabaseError: when the file is missing or not a SQLite database.
        """
        reader = sqlite.open_readonly(database)
        try:
            done = set(applied_versions(reader))
            with scratch.folder("lint") as folder:  # private (0700), removed on SIGTERM too
                rehearsal = cls(reader, tuple(m for m in migrations if m.version not in done), folder,
                                Baseline.of(reader, migrations))
                try:
                    yield rehearsal
                finally:
                    rehearsal.close()
        finally:
            reader.close()

    def before(self, migration: Migration) -> sqlite.Connection | None:
        """Return the copy in the state just before ``migration`` runs.

        None when it already ran on the database, or when an earlier pending migration fails on
        the copy (the state before it cannot be reached).
        """
        if migration not in self.pending or self._broken:
            return None
        target = self.pending.index(migration)
        if target < self._applied:
            return None  # asked out of order: the copy is already past it
        copy = self._connection()
        for earlier in self.pending[self._applied:target]:
            try:
                runner.apply(copy, earlier, "up")
            except TimeLimitExceeded as stopped:
                self._broken = True
                self.unreached = (f"{earlier.name}, pending before it, ran over the time limit ({stopped.limit:g} s) "
                                  f"on the workspace copy")
                return None
            except (LightnbError, sqlite.Error):
                self._broken = True
                self.unreached = f"{earlier.name}, pending before it, does not run on the workspace copy"
                return None
            self._applied += 1
        return copy

    def close(self) -> None:
        """Close the copy (its folder is removed by :meth:`open`)."""
        if self._copy is not None:
            self._copy.close()
            self._copy = None

    def _connection(self) -> sqlite.Connection:
        if self._copy is None:
            self._copy = sqlite.connect(sqlite.backup(self.reader, self.scratch / "lint-copy.db"))
        return self._copy


def applied_versions(conn: sqlite.Connection) -> list[str]:
    """Return the versions diesel's table lists (none when the table does not exist yet)."""
    try:
        return [row[0] for row in conn.execute(f"SELECT version FROM {TRACKING_TABLE}")]
    except sqlite.Error:
        return []
