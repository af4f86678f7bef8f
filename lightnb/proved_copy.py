"""The proof's copy, handed to the Run that follows it.

``lightnb rehearse``'s notebook proves the pending migrations on one copy of production (its Test cell: up, down,
up again on each) and then runs them on another, the workspace (its Run cell), keeping the workspace as it was as
the before copy. When the proof ends with every pending migration applied to its copy, each up again run on the
very state its first up ran on (down gave it back to the letter) and giving the schema and rows the first up gave,
that copy holds what the Run would make of the workspace: the same migrations, the same SQL, on the same state of
production. The Run can then take it instead of copying the workspace and running the migrations a fourth time:
the workspace, as it was, becomes the before copy, and the proof's copy becomes the workspace.

The proof also measures, while its last up runs again, the impact the Run's Inspect step shows, on the workspace
(the state before up, which the Run makes its before copy), on the core that up leaves idle: the Run then does not
measure it beside the move, and the Inspect step takes it while the before copy is provably in the state it was
measured in (:class:`lightnb.checks.Landing`, :mod:`lightnb.inspect.ahead`).

It is taken only while that provably holds: both files in the committed state they were in when the proof ended
(device, inode, size, times and SQLite's change counter), the workspace's pending migrations the ones the proof
applied, in the same order, each up.sql to the byte the one that ran. Otherwise it is deleted and the Run runs the
migrations itself, as it always did.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.backends import sqlite
from lightnb.layout import SIDECARS
from lightnb.migrations import Migration

if TYPE_CHECKING:
    from lightnb.inspect.ahead import Ahead


@dataclass(frozen=True)
class ProvedCopy:
    """A copy of production on which a proof left every pending migration applied.

    :param path: the copy's file (moved aside once the proof was done).
    :param state: its committed state then.
    :param workspace: the workspace file the proof read as the state before the first migration (the same state
        of production the copy was made from).
    :param workspace_state: that file's committed state.
    :param migrations: ``(version, SHA-256 of up.sql as it ran)`` of each migration applied, in order.
    :param seconds: how long the ups that left the copy in its state took (each migration's up again).
    :param impact: the impact the Run's Inspect step shows, measured by the proof on ``workspace`` in
        ``workspace_state`` (the measurement a Run beside its migrations makes on its before copy, which the
        workspace becomes: ``lightnb.inspect.ahead``); None when the proof did not measure it.
    :param kept_rows: the tables (lower-case names) whose rows the migration's up again provably kept, on the very
        state the workspace holds (:mod:`lightnb.inspect.kept_rows`): the Run's row diff does not compare them.
    """

    path: Path
    state: tuple[int, ...]
    workspace: Path
    workspace_state: tuple[int, ...]
    migrations: tuple[tuple[str, str], ...]
    seconds: float
    impact: Ahead | None = None
    kept_rows: frozenset[str] = frozenset()

    def stands_for(self, workspace: Path, pending: Sequence[Migration]) -> bool:
        """Whether this copy is what running ``pending`` on ``workspace`` now would make of it."""
        try:
            same_file = Path(workspace).resolve() == self.workspace.resolve()
        except OSError:
            return False
        return (same_file and bool(pending)
                and tuple((m.version, up_digest(m)) for m in pending) == self.migrations
                and sqlite.committed_state(workspace) == self.workspace_state
                and sqlite.committed_state(self.path) == self.state)

    def swap_in(self, workspace: Path, before_copy: Path) -> bool:
        """Move ``workspace`` to ``before_copy`` and this copy to ``workspace``; False (nothing moved) when a move
        fails. Only for a workspace no connection has open (the caller closed its own)."""
        from lightnb import signals
        before_copy.parent.mkdir(parents=True, exist_ok=True)
        held = signals.hold()  # Ctrl-C or SIGTERM never leaves the workspace moved and nothing in its place
        try:
            try:
                os.replace(workspace, before_copy)
            except OSError:
                return False
            try:
                os.replace(self.path, workspace)
            except OSError:
                os.replace(before_copy, workspace)  # put the workspace back
                return False
        finally:
            signals.release(held)
        return True

    def discard(self) -> None:
        """Delete the copy (and what SQLite kept beside it)."""
        for suffix in ("", *SIDECARS):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def up_digest(migration: Migration) -> str:
    """SHA-256 of the migration's up.sql as it is on disk now."""
    return hashlib.sha256(migration.up_sql().encode("utf-8")).hexdigest()


__all__ = ["ProvedCopy", "up_digest"]
