"""Plain result objects every step returns: the next cell, the widget, the CLI and the report read them.

Each is a frozen dataclass of plain data. Printed, shown in a notebook or exported, it is rendered
by :mod:`lightnb.render`: ``str()`` is its terminal text, ``_repr_html_`` and ``_repr_markdown_`` its
HTML and Markdown. Results know nothing of how they are shown: :mod:`lightnb.render` depends on
them, not the other way round (see :class:`~lightnb.rendered.Rendered`).

A listing's result (:class:`ListResult`, :class:`MigrationStatus`) lives in :mod:`lightnb.listing`,
so ``lightnb migration list`` loads it without the others; so do print-schema's
(:class:`PrintSchemaResult`, :class:`SchemaCheckResult`) in :mod:`lightnb.printed_schema` and a
migration run's (:class:`RunResult`) in :mod:`lightnb.run_result`. They are named here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightnb.listing import ListResult as ListResult
from lightnb.listing import MigrationStatus as MigrationStatus
from lightnb.rendered import Rendered as Rendered
from lightnb.run_result import RunResult as RunResult

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.inspect.divergence import Divergence
    from lightnb.inspect.preview import Preview
    from lightnb.lint.finding import Finding
    from lightnb.migrations import Migration
    from lightnb.models.changeable import LeftAlone
    from lightnb.models.scaffold import ModelChange
    from lightnb.printed_schema import PrintSchemaResult as PrintSchemaResult
    from lightnb.printed_schema import SchemaCheckResult as SchemaCheckResult
    from lightnb.workspace import Workspace


def __getattr__(name: str) -> Any:
    """print-schema's results come from :mod:`lightnb.printed_schema` when first named here."""
    if name in ("PrintSchemaResult", "SchemaCheckResult"):
        from lightnb import printed_schema
        return getattr(printed_schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Capture:
    """How much of the "before" state a step keeps for the inspect step (an option of run, revert, redo).

    :param snapshot: take schema/row-count/fingerprint snapshots before and after.
    :param copy: keep a full copy of the database as it was before (``"auto"``: at any size, when the
        disk has room for it), for row diffs and before/after previews.
    :param folder: where copies go (default: a ``captures`` folder beside the database).
    :param fingerprint: hash every row into the snapshots (``"auto"``: only when no before copy is
        kept; with a copy, the inspect step compares rows exactly, set-wise in SQLite, when asked,
        so a run does not pay for two full passes over the data).
    :param impact: with a before copy on SQLite, measure there, beside the migrations, the impact the inspect step
        shows (:mod:`lightnb.inspect.ahead`): the other core does it while they run, and the inspect step starts
        from it (a workbook's Run panel, whose Inspect panel follows). The step then ends once both are done.
    :param proved: the Test step's copy of production with the pending migrations applied by its proof
        (:class:`lightnb.proved_copy.ProvedCopy`, a rehearsal's): when it provably is what running them on the
        database now would make, a run of every pending migration takes it as the database, and keeps the database
        as it was as the before copy, instead of copying it and running the migrations once more.

    On PostgreSQL the before copy is a database of lightnb's private cluster (a clone of the workspace,
    its URL in the result's ``before_copy``), so ``folder`` is not used, and the snapshots' fingerprints
    are always computed, in the server.
    """

    snapshot: bool = True
    copy: bool | str = "auto"
    folder: Path | None = None
    fingerprint: bool | str = "auto"
    impact: bool = False
    proved: Any = None


@dataclass(frozen=True)
class GenerateResult(Rendered):
    """A migration folder created by ``generate``."""

    migration: Migration
    files: tuple[Path, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return the created files as a DataFrame."""
        import pandas as pd
        return pd.DataFrame({"file": [str(f) for f in self.files]})


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
class RegenerateResult(Rendered):
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


@dataclass(frozen=True)
class LintResult(Rendered):
    """Lint findings over the project's migrations.

    :param findings: every finding (``lightnb.lint.Finding``), sorted.
    :param scope: which migrations were linted, and against which database (when no version was named).
    """

    findings: tuple[Finding, ...]
    scope: str | None = None

    @property
    def has_errors(self) -> bool:
        """True when a finding is an error."""
        return any(f.severity == "error" for f in self.findings)


@dataclass(frozen=True)
class WorkspaceStatus(Rendered):
    """Where the project's workspace is, what it copies, and how it differs from that production now."""

    workspace: Workspace
    divergence: Divergence


@dataclass(frozen=True)
class ModelsPlan(Rendered):
    """What the model structs need for schema.rs, and what was written.

    :param changes: the planned changes (``lightnb.models.ModelChange``), each with its diff.
    :param left_alone: structs that need a change lightnb does not make.
    :param applied: the changes written to the model files.
    :param repository: repository functions for the new columns, when asked for.
    """

    changes: tuple[ModelChange, ...]
    left_alone: tuple[LeftAlone, ...] = ()
    applied: tuple[ModelChange, ...] = ()
    repository: str | None = None


@dataclass(frozen=True)
class PostgresWorkspace:
    """The workspace of a PostgreSQL project: a database of lightnb's private cluster the steps act on.

    :param url: the workspace database (``DATABASE_URL`` of the sample's .env), never production.
    :param production: production's URL (only ever read), or None.
    :param folder: the project's lightnb folder (``.lightnb``).
    """

    url: str
    production: str | None
    folder: Path

    @property
    def path(self) -> str:
        """What the steps take as the database: the workspace's URL."""
        return self.url


@dataclass(frozen=True)
class WorkbookStart:
    """A project and the fresh workspace copy a workbook opens on.

    :param schema_baseline: schema.rs as it was when the workbook opened (for the models diff).
    :param production_applied: the versions production has applied.
    :param scratch: the workspace is a copy made beforehand in a private folder deleted once the work is done
        (``lightnb rehearse``'s): no commit to it needs to survive a power cut.
    """

    project: Any
    workspace: Workspace | PostgresWorkspace
    schema_baseline: str = ""
    production_applied: frozenset[str] = frozenset()
    scratch: bool = False


@dataclass(frozen=True)
class Verification(Rendered):
    """The verification queries and what each returned on the workspace (bounded, redacted)."""

    queries: tuple[str, ...]
    previews: tuple[Preview, ...]


@dataclass(frozen=True)
class SavedSql(Rendered):
    """What the edit step saved: the migration, the files, and their text."""

    migration: Migration
    files: tuple[str, ...]
    texts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Tick:
    """One item of a sign-off: ticked or not, by whom and when (local time with UTC offset)."""

    item: str
    ticked: bool = False
    by: str = ""
    at: str = ""


@dataclass(frozen=True)
class SignOff(Rendered):
    """A sign-off checklist: its title and each item's tick."""

    title: str
    ticks: tuple[Tick, ...]

    @property
    def done(self) -> int:
        """How many items are ticked."""
        return sum(t.ticked for t in self.ticks)

