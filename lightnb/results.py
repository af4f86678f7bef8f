"""Plain result objects every step returns: the next cell, the widget, the CLI and the report read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.migrations import Migration


@dataclass(frozen=True)
class GenerateResult:
    """A migration folder created by ``generate``."""

    migration: Migration
    files: tuple[Path, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return the created files as a DataFrame."""
        import pandas as pd
        return pd.DataFrame({"file": [str(f) for f in self.files]})


@dataclass(frozen=True)
class MigrationStatus:
    """One migration and whether the database has it applied."""

    name: str
    version: str
    applied: bool
    has_down: bool


@dataclass(frozen=True)
class ListResult:
    """Every migration of the project with its state on one database."""

    database: Path
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


@dataclass(frozen=True)
class RunResult:
    """What ``run``, ``revert`` or ``redo`` did to a database.

    :param direction: ``"up"``, ``"down"`` or ``"redo"``.
    :param migrations: the migrations applied or reverted, in the order they ran.
    :param before: snapshot taken before (None when capture was off).
    :param after: snapshot taken after.
    :param before_copy: a copy of the database as it was before, for row diffs and previews.
    :param schema_files: schema files regenerated afterwards.
    :param per_migration: with capture, a snapshot (schema and row counts) after each migration.
    """

    direction: str
    database: Path
    migrations: tuple[Migration, ...]
    seconds: float
    before: Any = None
    after: Any = None
    before_copy: Path | None = None
    schema_files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    per_migration: tuple[tuple[str, str, Any], ...] = ()  # (migration, "up"/"down", Snapshot after it)

    @property
    def names(self) -> list[str]:
        """Names of the migrations that ran."""
        return [m.name for m in self.migrations]

    def to_frame(self) -> pd.DataFrame:
        """Return one row per migration that ran."""
        import pandas as pd
        return pd.DataFrame({"migration": self.names, "direction": [self.direction] * len(self.migrations)})


@dataclass(frozen=True)
class SchemaFileChange:
    """One schema file before and after regeneration."""

    path: Path
    before: str
    after: str

    @property
    def changed(self) -> bool:
        """True when regeneration changed the file."""
        return self.before != self.after

    @property
    def diff(self) -> str:
        """Unified diff from the old file to the new one."""
        import difflib
        return "".join(difflib.unified_diff(self.before.splitlines(True), self.after.splitlines(True),
                                            f"a/{self.path.name}", f"b/{self.path.name}"))


@dataclass(frozen=True)
class RegenerateResult:
    """schema.rs regenerated from the database, and the model structs checked against it.

    :param schema_files: each configured schema file, before and after.
    :param drift: the model drift report (``lightnb.models.DriftReport``).
    :param changes: planned model changes (``lightnb.models.ModelChange``), applied only on request.
    :param left_alone: structs that need a change lightnb does not make (``lightnb.models.LeftAlone``).
    """

    schema_files: tuple[SchemaFileChange, ...]
    drift: Any
    changes: tuple[Any, ...]
    left_alone: tuple[Any, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return one row per drift finding."""
        import pandas as pd
        rows = [{"struct": f.struct, "field": f.field, "proven": f.proven, "message": f.message, "fix": f.fix,
                 "file": str(f.file), "line": f.line} for f in self.drift.findings]
        return pd.DataFrame(rows, columns=["struct", "field", "proven", "message", "fix", "file", "line"])
