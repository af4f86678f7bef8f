"""The result of running, reverting or redoing migrations on a database.

Its own module, so a PostgreSQL ``lightnb migration run`` loads it without every other result
(:mod:`lightnb.results` names it too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightnb.rendered import Rendered

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.migrations import Migration


@dataclass(frozen=True)
class RunResult(Rendered):
    """What ``run``, ``revert`` or ``redo`` did to a database.

    :param direction: ``"up"``, ``"down"`` or ``"redo"``.
    :param migrations: the migrations applied or reverted, in the order they ran.
    :param before: snapshot taken before (None when capture was off).
    :param after: snapshot taken after.
    :param before_copy: a copy of the database as it was before, for row diffs and previews (a file on
        SQLite; on PostgreSQL the URL of a database of lightnb's private cluster).
    :param schema_files: schema files regenerated afterwards.
    :param per_migration: with capture, a snapshot (schema and row counts) after each migration.
    :param reachable: with capture, the lower-case names of the tables the SQL that ran can have
        changed (:mod:`lightnb.inspect.touched`), None when any table may have: the inspect step
        compares rows only there.
    :param before_copy_exact: with capture, no commit came between the before copy and the before
        snapshot: the snapshot's row counts are the copy's.
    :param after_state: with capture, the database file's committed state when the after snapshot
        was taken (``lightnb.backends.sqlite.committed_state``; None in WAL mode): while the file is
        in that state, the after snapshot's row counts are its own.
    """

    direction: str
    database: Path | str
    migrations: tuple[Migration, ...]
    seconds: float
    before: Any = None
    after: Any = None
    before_copy: Path | str | None = None
    schema_files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    per_migration: tuple[tuple[str, str, Any], ...] = ()  # (migration, "up"/"down", Snapshot after it)
    reachable: tuple[str, ...] | None = None  # with capture: the tables (lower-case names) its SQL can change
    before_copy_exact: bool = False  # with capture: the before snapshot describes the before copy's very state
    after_state: tuple[int, ...] | None = None  # with capture: the file's committed state at the after snapshot

    @property
    def names(self) -> list[str]:
        """Names of the migrations that ran."""
        return [m.name for m in self.migrations]

    def scripts_run(self) -> list[tuple[Migration, str]]:
        """Each script the step ran, in the order it ran them: ``(migration, "up" | "down")``. A redo reverted its
        migrations greatest version first (as diesel reverts), then applied them again in version order."""
        if self.direction == "redo":
            ordered = sorted(self.migrations, key=lambda m: m.version.encode("utf-8"))
            return [(m, "down") for m in reversed(ordered)] + [(m, "up") for m in ordered]
        return [(m, "down" if self.direction == "down" else "up") for m in self.migrations]

    def to_frame(self) -> pd.DataFrame:
        """Return one row per migration that ran."""
        import pandas as pd
        return pd.DataFrame({"migration": self.names, "direction": [self.direction] * len(self.migrations)})
