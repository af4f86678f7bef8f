"""lightnb: the Diesel + SQLite migration workflow as a guided, rehearsable workbook.

The public API: a :class:`Project` gives a :class:`Workspace` (a copy of production); the verbs in
:mod:`lightnb.steps` act on it and return result objects. Subpackages: :mod:`lightnb.schema`
(print-schema), :mod:`lightnb.inspect` (snapshots, diffs, impact, redaction), :mod:`lightnb.lint`,
:mod:`lightnb.models` (Rust model drift), :mod:`lightnb.ui` (widgets, needs ipywidgets).

The names below are imported when first used, so ``import lightnb.cli`` (and the ``lightnb``
command) loads only what the verb it runs needs.
"""

from __future__ import annotations

from lightnb.lazy import load_on_first_use

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the command's start-up path

if TYPE_CHECKING:
    from lightnb.errors import (
        DatabaseBusyError,
        DatabaseError,
        LightnbError,
        LintFailed,
        MigrationError,
        ModelDrift,
        ProjectError,
        SchemaOutOfSync,
        SqlError,
        WorkspaceError,
    )
    from lightnb.migrations import Migration
    from lightnb.project import Project
    from lightnb.results import Capture, GenerateResult, ListResult, MigrationStatus, RunResult
    from lightnb.steps import Target, generate, list_migrations, redo, resolve_target, revert, run, snapshot
    from lightnb.workspace import Workspace

__version__ = "0.1.0"

_HOMES = {
    "lightnb.errors": ("DatabaseBusyError", "DatabaseError", "LightnbError", "LintFailed", "MigrationError",
                       "ModelDrift", "ProjectError", "SchemaOutOfSync", "SqlError", "WorkspaceError"),
    "lightnb.migrations": ("Migration",),
    "lightnb.project": ("Project",),
    "lightnb.results": ("Capture", "GenerateResult", "ListResult", "MigrationStatus", "RunResult"),
    "lightnb.steps": ("Target", "generate", "list_migrations", "redo", "resolve_target", "revert", "run",
                      "snapshot"),
    "lightnb.workspace": ("Workspace",),
}

__all__ = [
    "Capture", "DatabaseBusyError", "DatabaseError", "GenerateResult", "LightnbError", "LintFailed",
    "ListResult", "Migration", "MigrationError", "MigrationStatus", "ModelDrift", "Project", "ProjectError",
    "RunResult", "SchemaOutOfSync", "SqlError", "Target", "Workspace", "WorkspaceError", "__version__",
    "generate", "list_migrations", "redo", "resolve_target", "revert", "run", "snapshot",
]


__getattr__, __dir__ = load_on_first_use(__name__, _HOMES)
