"""A throwaway copy of a database on which lint measures each pending migration in the state just before it.

The database itself is only opened read-only. The copy is made the first time a pending migration
needs it, in a private scratch folder (:mod:`lightnb.scratch`); earlier pending migrations are
applied to the copy in order, as ``migration run`` would (under the runner's SQL guard).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lightnb import runner, scratch
from lightnb.errors import LightnbError
from lightnb.migrations import Migration
from lightnb.workspace import backup, open_readonly


@dataclass(slots=True)
class Rehearsal:
    """The database (read-only) and, on demand, a copy advanced through the pending migrations.

    :param reader: a read-only connection to the database (for the project rules).
    :param pending: the migrations not applied on the database, in the order they would run.
    """

    reader: sqlite3.Connection
    pending: tuple[Migration, ...]
    scratch: Path
    _copy: sqlite3.Connection | None = field(default=None, init=False)
    _applied: int = field(default=0, init=False)
    _broken: bool = field(default=False, init=False)

    @classmethod
    @contextlib.contextmanager
    def open(cls, database: str | Path, migrations: Sequence[Migration]) -> Iterator[Rehearsal]:
        """Open ``database`` read-only for the duration; remove the copy afterwards.

        :raises DatabaseError: when the file is missing or not a SQLite database.
        """
        reader = open_readonly(database)
        try:
            done = set(_applied_versions(reader))
            with scratch.folder("lint") as folder:  # private (0700), removed on SIGTERM too
                rehearsal = cls(reader, tuple(m for m in migrations if m.version not in done), folder)
                try:
                    yield rehearsal
                finally:
                    rehearsal.close()
        finally:
            reader.close()

    def before(self, migration: Migration) -> sqlite3.Connection | None:
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
            except (LightnbError, sqlite3.Error):
                self._broken = True
                return None
            self._applied += 1
        return copy

    def close(self) -> None:
        """Close the copy (its folder is removed by :meth:`open`)."""
        if self._copy is not None:
            self._copy.close()
            self._copy = None

    def _connection(self) -> sqlite3.Connection:
        if self._copy is None:
            self._copy = runner.connect(backup(self.reader, self.scratch / "lint-copy.db"))
        return self._copy


def _applied_versions(conn: sqlite3.Connection) -> list[str]:
    """Return the versions diesel's table lists (none when the table does not exist yet)."""
    try:
        return [row[0] for row in conn.execute(f"SELECT version FROM {runner.TRACKING_TABLE}")]
    except sqlite3.Error:
        return []
