"""The result of listing migrations: each one with its state on one database.

Its own module, so ``lightnb migration list`` and ``pending`` load it without every other result
(:mod:`lightnb.results` names it too).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.records import record
from lightnb.rendered import Rendered

if TYPE_CHECKING:
    import pandas as pd


@record(frozen=True)
class MigrationStatus:
    """One migration and whether the database has it applied."""

    name: str
    version: str
    applied: bool
    has_down: bool


@record(frozen=True)
class ListResult(Rendered):
    """Every migration of the project with its state on one database (a file, or a PostgreSQL URL without
    its password)."""

    database: Path | str
    migrations: tuple[MigrationStatus, ...]
    applied_missing_on_disk: tuple[str, ...] = ()

    @property
    def pending(self) -> tuple[MigrationStatus, ...]:
        """The migrations not applied yet."""
        return tuple(m for m in self.migrations if not m.applied)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per migration."""
        import pandas as pd
        return pd.DataFrame([vars(m) for m in self.migrations],
                            columns=["name", "version", "applied", "has_down"])
