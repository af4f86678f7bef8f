"""What a command did to databases, for an error line that is true: committed, rolled back, half applied.

The CLI runs each command inside :func:`recording`; the runner (:mod:`lightnb.runner`) writes into the
:class:`Ledger` as migrations start, commit, fail or roll back. A module of its own, so that a command which
runs no migration (a listing) keeps a ledger without loading the runner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from lightnb.backends import sqlite
from lightnb.records import field, record

if TYPE_CHECKING:
    from lightnb.migrations import Migration
    from lightnb.runner import Direction


@record
class Ledger:
    """What the runner did to databases while :func:`recording`: committed, rolled back, half applied.

    Scratch copies (check's and lint's rehearsals) are not recorded: they are thrown away.
    """

    committed: list[str] = field(default_factory=list)
    uncommitted: list[str] = field(default_factory=list)  # inside redo's outer transaction
    rolled_back: list[str] = field(default_factory=list)
    partly_applied: str | None = None
    finished: bool = False
    current: str | None = None
    database: str | None = None

    def started(self, conn: sqlite.Connection, migration: Migration, direction: Direction) -> None:
        self.database = self.database or sqlite.database_file(conn) or ":memory:"
        self.current = migration.name

    def done(self, migration: Migration, direction: Direction, *, committed: bool) -> None:
        what = f"{'applied' if direction == 'up' else 'reverted'} {migration.name}"
        (self.committed if committed else self.uncommitted).append(what)
        self.current = None

    def failed(self, migration: Migration, direction: Direction, transactional: bool, done: int) -> None:
        self.current = None
        if transactional or done == 0:
            self.rolled_back.append(migration.name)
        else:
            self.partly_applied = (f"{migration.name} runs outside a transaction (metadata.toml): its first "
                                   f"{done} statement(s) stay applied and it is not recorded as applied — reset "
                                   f"the workspace (`lightnb snapshot --reset`) or undo them by hand")

    def outer_committed(self) -> None:
        self.committed += self.uncommitted
        self.uncommitted = []

    def outer_rolled_back(self) -> None:
        self.rolled_back += [what.split(" ", 1)[1] for what in self.uncommitted]
        self.uncommitted = []

    @property
    def changed(self) -> bool:
        """Tell whether anything stays changed in a database."""
        return bool(self.committed or self.partly_applied)

    def state(self) -> str:
        """Say in words for one line what state the database is in."""
        where = f" {self.database}" if self.database else ""
        parts = []
        if self.committed:
            parts.append(f"committed to{where}: {', '.join(self.committed)}")
        if self.partly_applied:
            parts.append(self.partly_applied)
        if self.rolled_back:
            names = ", ".join(dict.fromkeys(self.rolled_back))
            parts.append(f"rolled back (nothing of it stays): {names}")
        if not parts:
            return "no migration was applied or reverted, the database is as it was"
        if not self.committed and not self.partly_applied:
            parts.append(f"the database{where} is as it was before")
        return "; ".join(parts)


CURRENT: ContextVar[Ledger | None] = ContextVar("lightnb_runner_ledger", default=None)
"""The ledger of the command running now (None: nothing is recorded)."""


@contextlib.contextmanager
def recording() -> Iterator[Ledger]:
    """Record what the runner does to databases during the block (the CLI wraps each command in it)."""
    ledger = Ledger()
    token = CURRENT.set(ledger)
    try:
        yield ledger
    finally:
        CURRENT.reset(token)
