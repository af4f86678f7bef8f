"""The door: every user action as one plain function (generate, run, revert, inspect, check, lint,
print-schema, models, snapshot, diff, report, rehearse …).

The CLI, the widgets and the notebooks call only these. Each takes a :class:`Project` (and a
database target) and returns a result object from :mod:`lightnb.results` (or the result type a core
module defines, named in the function's signature); :mod:`lightnb.render` shows it. The functions
import the core they use when called, so a command loads only what its verb needs.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TextIO, TypeVar, overload

from lightnb import migrations as migration_files
from lightnb.backends import driver_error_label, sqlite
from lightnb.errors import (
    LightnbError,
    MigrationError,
    ProjectError,
    UntranslatedDatabaseError,
    WorkspaceError,
)
from lightnb.files import write_text_atomic
from lightnb.layout import DEFAULT_DIRNAME, INITIAL_SETUP_VERSION, TRACKING_TABLE, WORKSPACE_DB
from lightnb.listing import ListResult, MigrationStatus
from lightnb.migrations import Migration
from lightnb.project import Project, SqliteLocation
from lightnb.target import (
    Target,
    find_production,
    given_url,
    is_postgres,
    production_path,
    record_workspace,
    refuse_production,
    resolve_target,
    workspace_folder,
    workspace_protects,
)

if TYPE_CHECKING:  # the other results are imported by the steps that make them (a listing loads only its own)
    from lightnb.capture import Change, Inspection
    from lightnb.checks import CheckResult
    from lightnb.inspect.preview import Preview
    from lightnb.inspect.redact import Redactor
    from lightnb.inspect.row_diff import RowDiff
    from lightnb.inspect.snapshot import Snapshot
    from lightnb.ledger import Ledger
    from lightnb.lint.finding import Finding
    from lightnb.models.drift import DriftReport
    from lightnb.models.scaffold import ModelChange
    from lightnb.printed_schema import PrintSchemaResult, SchemaCheckResult
    from lightnb.rehearse import Rehearsal
    from lightnb.report import Report
    from lightnb.results import (
        Capture,
        GenerateResult,
        LintResult,
        ModelsPlan,
        PostgresWorkspace,
        RegenerateResult,
        RunResult,
        Verification,
        WorkbookStart,
        WorkspaceStatus,
    )
    from lightnb.runner import StepEvent, StepObserver
    from lightnb.workspace import Discarded, Workspace

__all__ = [  # the verbs, and the types they take that a caller builds or checks for
    "CAPTURE_COPY_LIMIT", "DEFAULT_DIRNAME", "INITIAL_SETUP_VERSION", "Capture", "Migration", "Project",
    "StepEvent", "Target", "Workspace", "apply_model_changes", "check", "check_fail_on", "check_models",
    "check_schema", "command", "completion_shells", "completions", "database_drop", "database_reset",
    "database_setup", "diff", "discard", "find_migration", "flag_groups", "following_progress", "generate",
    "generate_from_schema",
    "inspect", "inspect_database", "is_bookkeeping", "lab_command", "lint", "lint_database", "lint_report",
    "lint_rules", "lint_sql", "list_migrations", "mask_message", "models_fail_on", "name_advice",
    "open_project", "open_workbook", "open_workspace", "plan_models", "prepare_workbook", "preview_modes",
    "print_schema", "production_path", "read_sql", "redo", "refuse_production", "regenerate",
    "regenerate_schema_files", "rehearse", "report", "require_migrations_dir", "reset", "resolve_target",
    "revert", "revert_on_workspace", "run", "run_on_workspace", "sample", "sample_defaults", "save_sql",
    "schema_option_choices", "schema_style", "setup", "snapshot", "stopped", "test", "verify",
    "workspace_folder", "workspace_protects", "workspace_status", "is_postgres_url", "snapshot_postgres",
    "PostgresWorkspace",
    "postgres_workspace", "snapshot_status_postgres", "discard_postgres",
]


def __getattr__(name: str) -> Any:
    """``steps.Capture`` and ``steps.PostgresWorkspace`` come from :mod:`lightnb.results` when first used,
    ``steps.Workspace`` and ``steps.StepEvent`` from their modules (a listing loads neither)."""
    if name in ("Capture", "PostgresWorkspace"):
        from lightnb import results
        return getattr(results, name)
    if name == "Workspace":
        from lightnb.workspace import Workspace
        return Workspace
    if name == "StepEvent":
        from lightnb.runner import StepEvent
        return StepEvent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _project_time_limit(step: Callable[Concatenate[Project, _P], _R]) -> Callable[Concatenate[Project, _P], _R]:
    """Run ``step`` with the project's ``sql_timeout`` (lightnb.toml) as the time limit of the migration SQL it
    runs by itself on a copy (:mod:`lightnb.time_limit`), unless ``--sql-timeout`` or ``LIGHTNB_SQL_TIMEOUT`` chose
    one."""
    def timed(project: Project, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        from lightnb import time_limit
        with time_limit.configured(project.settings.sql_timeout):
            return step(project, *args, **kwargs)
    functools.update_wrapper(timed, step)  # its name, help and signature (``__wrapped__``) are the step's
    return timed


def snapshot(project: Project, *, database_url: str | Path | None = None,
             folder: str | Path | None = None, verify: bool = False, replace: bool = False) -> Workspace:
    """Make the project's workspace: a read-only-sourced copy of production.

    :param database_url: the production database; default ``production`` in lightnb.toml, else
        DATABASE_URL.
    :param verify: check the copy with SQLite's quick_check and refuse a corrupt production.
    :param replace: replace a working workspace already in ``folder`` (it may hold applied work,
        so this is refused by default; a broken one is always replaced).
    :raises DatabaseError: when production is missing, not SQLite, locked or corrupt.
    :raises WorkspaceError: when a working workspace exists and ``replace`` is False.
    """
    folder = Path(folder) if folder is not None else workspace_folder(project)
    if not replace:
        _refuse_to_replace_a_healthy_workspace(project, folder, database_url)
    production = production_path(project, database_url)
    sqlite.check_database_path(production, allow_empty=False)
    from lightnb.workspace import Workspace
    return Workspace.create(production, folder, verify=verify, protect=workspace_protects(project),
                            recorder=_recorded_in(project))


def _recorded_in(project: Project) -> Callable[[Workspace], None]:
    """Record a workspace and its production in the project's record (beside the copy of production)."""
    return lambda workspace: record_workspace(project, workspace.folder, workspace.production)


def reset(project: Project, *, folder: str | Path | None = None, database_url: str | Path | None = None,
          verify: bool = False) -> Workspace:
    """Copy production again over the project's workspace (it loses whatever was applied to it).

    :param database_url: copy this database instead, and record it as the workspace's production
        from now on (``snapshot --reset --database-url OTHER.db``).
    :raises WorkspaceError: when there is no workspace, or nothing to copy.
    """
    folder = Path(folder) if folder is not None else workspace_folder(project)
    from lightnb.workspace import Workspace
    workspace = Workspace.open(folder)
    if database_url:
        production = production_path(project, database_url)
        sqlite.check_database_path(production, allow_empty=False)
        return Workspace.create(production, folder, verify=verify, protect=workspace_protects(project),
                                recorder=_recorded_in(project))
    if workspace.production is None:
        raise WorkspaceError("This workspace has no production database to copy; pass --database-url PROD.db "
                             "to copy that one into it.")
    workspace.reset(verify=verify, recorder=_recorded_in(project))
    return workspace


def discard(project: Project, *, folder: str | Path | None = None) -> Discarded:
    """Delete what lightnb made in the workspace folder (and the folder, if lightnb made it).

    :raises WorkspaceError: when the folder holds no workspace.
    """
    folder = Path(folder) if folder is not None else workspace_folder(project)
    from lightnb.workspace import Workspace
    return Workspace.open(folder).discard(protect=workspace_protects(project))


def _refuse_to_replace_a_healthy_workspace(project: Project, folder: Path,
                                           database_url: str | Path | None) -> None:
    """A plain snapshot never throws away a working workspace (it may hold applied work)."""
    if not (folder / WORKSPACE_DB).is_file():
        return
    try:
        from lightnb.workspace import Workspace
        existing = Workspace.open(folder)
    except WorkspaceError:
        return  # a broken workspace may be replaced: that is the advised repair
    if production_path(project, database_url).resolve() == existing.path.resolve():
        return  # let Workspace.create explain that it would overwrite production
    raise WorkspaceError(f"A workspace already exists in {folder} and may hold work you applied; use "
                         f"`lightnb snapshot --reset` to copy production over it, or --discard first.")


def generate(project: Project, name: str, *, version: str | None = None, style: str = "2.3",
             no_down: bool = False) -> GenerateResult:
    """Create a new migration folder with diesel's template up.sql and down.sql."""
    from lightnb.results import GenerateResult
    migration = migration_files.generate(project.migrations_dir, name, version=version, style=style,
                                         no_down=no_down, origin=project.migrations_origin)
    files = (migration.up_path,) + ((migration.down_path,) if migration.down_path else ())
    return GenerateResult(migration, files)


def list_migrations(project: Project, database: str | Path | SqliteLocation) -> ListResult:
    """Return every migration with its applied state on ``database`` (a path, or a ``postgres://`` URL)."""
    if is_postgres(database):
        from lightnb.backends.postgres import verbs
        return verbs.list_migrations(project, str(database))
    found = migration_files.discover(project.migrations_dir)
    if isinstance(database, SqliteLocation) and database.memory:
        conn = sqlite.connect(database)  # a fresh in-memory database, as diesel opens it
        try:
            from lightnb import runner
            applied = set(runner.applied_versions(conn))
        finally:
            conn.close()
        database = Path(":memory:")
    else:
        if isinstance(database, SqliteLocation):
            database = database.path or Path(":memory:")
        applied = set(_applied_read_only(project, Path(database)))
    known = {m.version for m in found}
    return ListResult(
        database=Path(database),
        migrations=tuple(MigrationStatus(m.name, m.version, m.version in applied, m.down_path is not None)
                         for m in found),
        applied_missing_on_disk=tuple(sorted(applied - known)),
    )


CAPTURE_COPY_LIMIT = None
"""No size limit: a "before" copy is kept at any size. Copying runs at the disk's speed, while the
fallback (hashing every row into the snapshots) runs at Python's: at 1 GB the copy took about 1 s and
the fingerprints about 22 s. Only a disk without room for the copy falls back to fingerprints."""


def _applied_read_only(project: Project, database: Path) -> list[str]:
    """Read applied versions without writing anything (no tracking table means nothing applied).

    A missing database holds nothing applied: diesel would create it empty and list every migration
    as pending, which is what this returns, without creating it (a listing never writes). A database
    that needs a write to be read (a hot journal to roll back) is opened for writing, except a
    production database of the project, which is never written.

    :raises DatabaseError: when the path is not a regular SQLite file.
    """
    from lightnb.errors import DatabaseError
    try:
        os.lstat(database)
    except FileNotFoundError:
        return []
    except OSError as error:  # a name too long, a link loop: not a database anyone could open
        raise DatabaseError(f"Cannot open database {database}: {error.strerror}; check --database-url or "
                            f"DATABASE_URL.", path=database) from error
    sqlite.check_database_path(database)
    if database.stat().st_size == 0:
        return []  # an empty file is an empty database: nothing applied
    try:
        conn = sqlite.open_readonly(database)
    except DatabaseError:
        journal = Path(f"{database}-journal")
        hot = journal.is_file() and journal.stat().st_size > 0
        if not hot or find_production(project, database) is not None:
            raise
        conn = sqlite.connect(database)
    try:
        has_table = sqlite.has_table(conn, TRACKING_TABLE)
        # No tracking table yet: nothing is applied (diesel would create the table; reading need not).
        return [row[0] for row in conn.execute(f"SELECT version FROM {TRACKING_TABLE}")] \
            if has_table else []
    finally:
        conn.close()


def run(project: Project, database: str | Path | SqliteLocation, *, limit: int | None = None,
        on_step: StepObserver | None = None, regenerate_schema: bool = True,
        locked_schema: bool = False, capture: Capture | None = None, style: str | None = None,
        durable: bool = True) -> RunResult:
    """Apply every pending migration (or the next ``limit``) to ``database``.

    :param capture: take before/after snapshots (and a before copy) for the inspect step.
    :param durable: False only for a SQLite copy no commit of which must survive a power cut (see
        ``lightnb.migrate.migrate``); production is refused either way.
    :raises SqlError: naming the migration, file, line and statement that failed; that migration is
        rolled back completely and the tracking table does not claim it.
    """
    if is_postgres(database):
        from lightnb.backends.postgres import verbs
        return _postgres_captured(project, str(database), "up", capture, lambda: verbs.run(
            project, str(database), limit=limit, on_step=on_step, regenerate_schema=regenerate_schema,
            locked_schema=locked_schema, style=style))
    from lightnb import runner
    return _migrate(project, database, "up", lambda conn, found, hook, observe: runner.run_pending(
        conn, found, on_step=observe, on_applied=hook, limit=limit),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style, durable=durable)


def revert(project: Project, database: str | Path | SqliteLocation, *, number: int = 1, all: bool = False,
           on_step: StepObserver | None = None, regenerate_schema: bool = True,
           locked_schema: bool = False, capture: Capture | None = None, style: str | None = None,
        durable: bool = True) -> RunResult:
    """Revert the latest ``number`` migrations (or all) of ``database``."""
    if is_postgres(database):
        from lightnb.backends.postgres import verbs
        return _postgres_captured(project, str(database), "down", capture, lambda: verbs.revert(
            project, str(database), number=number, all=all, on_step=on_step, regenerate_schema=regenerate_schema,
            locked_schema=locked_schema, style=style))
    from lightnb import runner
    return _migrate(project, database, "down", lambda conn, found, hook, observe: runner.revert(
        conn, found, number=number, all=all, on_step=observe, on_applied=hook),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style, durable=durable)


def redo(project: Project, database: str | Path | SqliteLocation, *, number: int = 1, all: bool = False,
         on_step: StepObserver | None = None, regenerate_schema: bool = True,
         locked_schema: bool = False, capture: Capture | None = None, style: str | None = None,
        durable: bool = True) -> RunResult:
    """Revert then re-apply the latest ``number`` migrations (or all), atomically."""
    if is_postgres(database):
        from lightnb.backends.postgres import verbs
        return _postgres_captured(project, str(database), "redo", capture, lambda: verbs.redo(
            project, str(database), number=number, all=all, on_step=on_step, regenerate_schema=regenerate_schema,
            locked_schema=locked_schema, style=style))
    from lightnb import runner
    return _migrate(project, database, "redo", lambda conn, found, hook, observe: runner.redo(
        conn, found, number=number, all=all, on_step=observe, on_applied=hook),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style, durable=durable)


def _postgres_captured(project: Project, url: str, direction: str, capture: Capture | None,
                       step: Callable[[], RunResult]) -> RunResult:
    """Run a PostgreSQL verb, with a before copy and snapshots when ``capture`` asks (never on production)."""
    if capture is None or not (capture.snapshot or capture.copy):
        return step()
    from lightnb.backends.postgres.capture import run_captured
    from lightnb.backends.postgres.verbs import refuse_production as refuse_postgres_production
    refuse_postgres_production(project, url)
    _postgres_ready(project, url)
    return run_captured(url, direction, step, copy=bool(capture.copy), snapshot=capture.snapshot,
                        redactor=_project_redactor(project))


def _migrate(project: Project, database: str | Path | SqliteLocation, direction: str,
             action: Callable[[Any, list[Migration], Any, StepObserver], list[Migration]], *,
             regenerate_schema: bool, locked_schema: bool, capture: Capture | None,
             on_step: StepObserver | None, style: str | None = None, durable: bool = True) -> RunResult:
    from lightnb.migrate import migrate
    return migrate(project, database, direction, action, regenerate_schema=regenerate_schema,
                   locked_schema=locked_schema, capture=capture, on_step=on_step, style=style, durable=durable)


def _project_redactor(project: Project) -> Redactor:
    from lightnb.inspect.redact import Redactor
    return Redactor.for_project(project)


def schema_style(project: Project, style: str | None = None) -> str:
    """Return the diesel output style to print schema.rs in: ``style``, else lightnb.toml's
    ``[schema] style``, else ``auto`` (keep the style of the existing file).

    :raises ProjectError: for an unknown style.
    """
    from lightnb.migrate import schema_style as chosen_style
    return chosen_style(project, style)


def regenerate_schema_files(project: Project, conn: Any, *, locked: bool = False,
                            style: str | None = None) -> tuple[Path, ...]:
    """Regenerate every configured schema file as diesel does after run/revert/redo (§2.9).

    :param locked: check instead of writing; raise SchemaOutOfSync when a file would change.
    :param style: diesel output style (default: :func:`schema_style`).
    """
    from lightnb.migrate import regenerate_schema_files as regenerate_files
    return regenerate_files(project, conn, locked=locked, style=style)


def find_migration(project: Project, name_or_version: str) -> migration_files.Migration:
    """Return the migration whose folder name or version is ``name_or_version``.

    :raises MigrationError: when there is none, with the closest names.
    """
    found = migration_files.discover(project.migrations_dir)
    for migration in found:
        if name_or_version in (migration.name, migration.version):
            return migration
    import difflib
    close = difflib.get_close_matches(name_or_version, [m.name for m in found], n=2)
    hint = f" Did you mean {' or '.join(close)}?" if close else " See `lightnb migration list`."
    raise MigrationError(f"No migration named or versioned {name_or_version!r} in {project.migrations_dir}.{hint}")


def read_sql(project: Project, name_or_version: str) -> tuple[str, str | None]:
    """Return (up.sql, down.sql or None) of a migration."""
    migration = find_migration(project, name_or_version)
    down = migration.down_sql() if migration.down_path is not None else None
    return migration.up_sql(), down


def save_sql(project: Project, name_or_version: str, *, up: str | None = None,
             down: str | None = None) -> migration_files.Migration:
    """Write a migration's up.sql and/or down.sql (atomically, each file replaced whole)."""
    migration = find_migration(project, name_or_version)
    for text, filename in ((up, "up.sql"), (down, "down.sql")):
        if text is None:
            continue
        write_text_atomic(migration.path / filename, text, what="migration file")
    return find_migration(project, migration.name)


@_project_time_limit
def lint(project: Project, *, versions: list[str] | None = None,
         database: str | Path | None = None, all: bool = False) -> list[Finding]:
    """Lint the project's pending migrations (or ``all``, or only ``versions``) with its lightnb.toml settings.

    Pending means not applied on the database (:func:`lint_database`); without a database every
    migration is pending. Applied migrations are still checked by the project rules (their
    checksums). With a database the lint also measures the impact of destructive statements on
    a throwaway copy; the database itself is only read.

    :param database: a database path or URL (it must exist); default: :func:`lint_database`.
    :param all: lint every migration of the history, applied or not.
    :returns: a list of ``lightnb.lint.Finding``.
    """
    from lightnb.lint import config_from_settings, lint_project
    postgres = _postgres_rehearsal_source(project, database)
    if postgres is not None:
        return list(_lint_postgres(project, postgres, versions=versions, all=all).findings)
    return lint_project(project.migrations_dir, versions=versions, config=config_from_settings(project.settings),
                        database=lint_database(project, database), pending_only=not all)


def _lint_postgres(project: Project, source: str, *, versions: Sequence[str] | None, all: bool) -> LintResult:
    """Lint a PostgreSQL project on clones of the database check rehearses on (``""``: the local base)."""
    from lightnb.backends.postgres.lintproject import lint_project as lint_postgres
    from lightnb.lint import config_from_settings
    from lightnb.results import LintResult
    if source:
        _postgres_ready(project, source)  # production in the project's own cluster (the sample's)
    from lightnb.backends.postgres.project_cluster import cluster_folder
    result = lint_postgres(project.migrations_dir, config_from_settings(project.settings), source_url=source or None,
                           workspace=workspace_folder(project), versions=versions, all=all,
                           own_cluster=cluster_folder(project))
    return LintResult(tuple(result.findings), result.scope)


def lint_database(project: Project, database: str | Path | None = None) -> Path | None:
    """Return the database lint reads: ``database`` (it must exist), else the workspace, else
    DATABASE_URL when that file exists, else None."""
    if database:
        return resolve_target(project, database_url=database, write=False).path
    try:
        target = resolve_target(project, write=False).path
    except ProjectError:
        return None
    return target if target.is_file() else None


@_project_time_limit
def lint_sql(project: Project, up: str, down: str | None = None, *, name: str = "migration",
             run_in_transaction: bool = True) -> list[Finding]:
    """Lint SQL being edited, against the history of the project's earlier migrations.

    :param name: the migration's folder name; the history is every migration whose version sorts
        before its version (byte order, as :func:`lightnb.migrations.discover` orders them).
    :param run_in_transaction: whether the migration runs in a transaction (metadata.toml).
    """
    from lightnb.lint import config_from_settings
    from lightnb.lint import lint_sql as lint_text
    if _postgres_rehearsal_source(project, None) is not None:
        from lightnb.backends.postgres.lintproject import static_sql
        return static_sql(up, down, name=name, run_in_transaction=run_in_transaction,
                          config=config_from_settings(project.settings))
    version = migration_files.version_of(name).encode("utf-8")
    history = [m.up_sql() for m in migration_files.discover(project.migrations_dir)
               if m.version.encode("utf-8") < version]
    return lint_text(up, down, history=history, config=config_from_settings(project.settings), name=name,
                     run_in_transaction=run_in_transaction)


@_project_time_limit
def test(project: Project, database: str | Path | None = None, *, versions: list[str] | None = None,
         applied: int = 0, run_tests: bool = True, on_output: Callable[[str], None] | None = None,
         copied: dict[str, Any] | None = None) -> CheckResult:
    """Prove migrations safe on a fresh copy of ``database``: up, down, up again, checks, tests.

    :param applied: also prove the latest N applied migrations (reverted then re-applied on the copy).
    :param copied: a copy of the SQLite ``database`` made beforehand, to prove on while provably untouched
        (see ``lightnb.checks.check``).
    :returns: ``lightnb.checks.CheckResult`` with one verdict.
    """
    if is_postgres_url(database):
        return check(project, database_url=database, applied=applied, run_tests=run_tests, on_output=on_output)
    from lightnb.checks import check as prove
    return prove(project, database=database, versions=versions, applied=applied, run_tests=run_tests,
                 on_output=on_output, copied=copied)


def regenerate(project: Project, database: str | Path, *, write: bool = True,
               baseline: str | None = None) -> RegenerateResult:
    """Regenerate schema.rs from ``database`` (style kept) and check the model structs against it.

    :param write: write the schema files (False: only compute what would change).
    :param baseline: schema.rs as it was before the change under review (default: its text now);
        the schema diff starts from it and only what it lacks is planned for the models.
    """
    from lightnb import schema as schema_rs
    from lightnb.models import check_models, plan_models
    from lightnb.models.locate import models_dir, schema_file, src_root_for
    from lightnb.models.schema_rs import parse_schema
    from lightnb.results import RegenerateResult, SchemaFileChange

    targets = [project.resolve(section["file"]) for section in project.print_schema.values()
               if isinstance(section.get("file"), str)]
    before = {path: path.read_text(encoding="utf-8") if path.is_file() else "" for path in targets}
    if is_postgres(database):
        after = _regenerate_postgres(project, str(database), write=write)
    elif write:
        conn = sqlite.open_readonly(database)  # regeneration writes schema files, never the database
        try:
            schema_rs.regenerate_schema_files(project, conn, style=schema_style(project))
        finally:
            conn.close()
        after = {path: path.read_text(encoding="utf-8") for path in targets}
    else:
        conn = sqlite.open_readonly(database)
        try:
            report = schema_rs.check_schema_sync(project, conn, style=schema_style(project))
        finally:
            conn.close()
        after = {Path(f.path): f.expected for f in report.files}
    main_schema = schema_file(project)
    if baseline is not None:
        before[main_schema] = baseline
    files = tuple(SchemaFileChange(p, before[p], after.get(p, before[p])) for p in targets)
    text = after.get(main_schema, main_schema.read_text(encoding="utf-8") if main_schema.is_file() else "")
    folder = models_dir(project)
    if not folder.exists():
        return RegenerateResult(files, None, ())
    schema = parse_schema(text, path=main_schema)  # its path gives the Rust module the models import
    src_root = src_root_for(folder, project)
    drift = check_models(folder, schema, src_root=src_root)
    plan = plan_models(folder, schema, previous=before.get(main_schema) or None, src_root=src_root)
    return RegenerateResult(files, drift, plan.changes, plan.left_alone)


def _regenerate_postgres(project: Project, url: str, *, write: bool) -> dict[Path, str]:
    """Print every configured schema file from a PostgreSQL database (the database is only read); write them
    when ``write``. Return each file's new text."""
    from lightnb.backends.postgres import verbs
    from lightnb.schema.postgres import print_schemas_postgres
    _postgres_ready(project, url)
    if write:
        written = verbs.regenerate_schema_files(project, url, style=schema_style(project))
        return {path: path.read_text(encoding="utf-8") for path in written}
    configurations = verbs._schema_configurations(project, schema_style(project))
    return {Path(one.options.file): one.text for one in print_schemas_postgres(url, configurations)
            if one.options.file is not None}


@overload
def inspect(project: Project, result: RunResult | Change, table: None = None, *, rows: int = 10) -> Change: ...


@overload
def inspect(project: Project, result: RunResult | Change, table: str, *, rows: int = 10) -> Inspection: ...


def inspect(project: Project, result: RunResult | Change, table: str | None = None, *,
            rows: int = 10) -> Change | Inspection:
    """Show what a captured run/revert/redo did: schema diff, row counts, before/after previews.

    Everything is redacted with the project's settings.

    :param result: a result of :func:`run`, :func:`revert` or :func:`redo` called with ``capture``,
        or the ``lightnb.capture.Change`` already described from one (then only ``table`` is added).
    :param table: also inspect this table in depth (previews, row diff with samples, measured impact).
    :returns: ``lightnb.capture.Change`` (or ``lightnb.capture.Inspection`` when ``table`` is given).
    :raises WorkspaceError: when the result was not captured.
    """
    from lightnb import time_limit
    from lightnb.capture import Change, describe, inspect_change
    from lightnb.inspect.redact import Redactor
    redactor = Redactor.for_project(project)
    captured_on = result.result.before_copy if isinstance(result, Change) else result.before_copy
    with time_limit.configured(project.settings.sql_timeout):  # the measured impact runs the migrations' SQL
        if is_postgres_url(str(captured_on) if isinstance(captured_on, str) else None):
            from lightnb.backends.postgres import capture as postgres_capture
            found = result if isinstance(result, Change) else postgres_capture.describe(
                result, preview_rows=min(rows, 20), redactor=redactor)
            return found if table is None else postgres_capture.inspect_change(found, table, rows=rows,
                                                                              redactor=redactor)
        change = result if isinstance(result, Change) else describe(result, preview_rows=min(rows, 20),
                                                                     redactor=redactor)
        return change if table is None else inspect_change(change, table, rows=rows, redactor=redactor)


# --------------------------------------------------------------------------- the rest of the door
# Every other user action, one function each. The CLI and the panels call only these (and the
# result types of lightnb.results); the functions import the core they use when called, so a
# command loads only what its verb needs.



def open_project(start: str | Path = ".", *, database_url: str | None = None, migration_dir: str | Path | None = None,
                 config_file: str | Path | None = None) -> Project:
    """Find the Diesel project around ``start`` (diesel.toml, migrations, lightnb.toml, DATABASE_URL).

    :raises ProjectError: when the configuration cannot be read.
    """
    return Project.discover(start, database_url=database_url, migration_dir=migration_dir, config_file=config_file)


def require_migrations_dir(project: Project) -> None:
    """Raise diesel's error when the project's migrations folder does not exist.

    :raises MigrationError: naming the folder and where its name came from.
    """
    try:
        found = project.migrations_dir.is_dir()
    except OSError:  # a name too long, a link loop: not a folder diesel would find either
        found = False
    if not found:
        raise migration_files.missing_folder_error(project.migrations_dir, project.migrations_origin)


def open_workspace(project: Project, *, folder: str | Path | None = None) -> Workspace:
    """Return the project's workspace (default folder: ``.lightnb/`` beside diesel.toml).

    :raises WorkspaceError: when the folder holds no workspace.
    """
    from lightnb.workspace import Workspace
    return Workspace.open(Path(folder) if folder is not None else workspace_folder(project))


def workspace_status(project: Project, *, folder: str | Path | None = None) -> WorkspaceStatus:
    """Say where the workspace is and how it differs from the production it copies, now (read-only).

    :raises WorkspaceError: when the folder holds no workspace.
    """
    from lightnb.inspect.divergence import compare_with_production
    from lightnb.results import WorkspaceStatus
    workspace = open_workspace(project, folder=folder)
    return WorkspaceStatus(workspace, compare_with_production(workspace.path, workspace.production))


def following_progress(reporter: Callable[[Any], None] | None) -> AbstractContextManager[None]:
    """Send the progress of the long steps run inside the block (copies, a check's proof) to ``reporter``,
    which receives :class:`lightnb.progress.Progress` reports (a panel's bar; None: no one)."""
    from lightnb import progress
    return progress.reporting(reporter)


@contextmanager
def command(*, verbose: bool = False, progress_to: TextIO | None = None) -> Iterator[Ledger]:
    """Run one command: log every SQL statement when ``verbose``, keep the ledger of what the database
    went through (for the error line), and turn SIGTERM/SIGHUP into a clean stop.

    :param progress_to: draw a progress bar of long steps (copies, proofs, rehearsals) on this stream
        when it is a terminal (``LIGHTNB_PROGRESS=always|never`` decides otherwise).
    :raises UntranslatedDatabaseError: for a database driver error no module translated.
    """
    from lightnb import ledger as ledgers
    from lightnb import progress, signals, statement_log
    statement_log.configure(verbose=verbose)
    bar = progress.terminal_bar(progress_to) if progress_to is not None else None
    with ledgers.recording() as ledger, signals.unwinding_on_termination(redeliver=False), progress.reporting(bar):
        try:
            yield ledger
        except Exception as error:  # a driver's own error, labelled with its backend; anything else goes on
            label = driver_error_label(error)
            if label is None:
                raise
            raise UntranslatedDatabaseError(f"{label}: {error}") from error


def stopped(stop: BaseException) -> tuple[str, int]:
    """Name a stop (Ctrl-C, SIGTERM, SIGHUP) that was handled, for people, and give the shell's exit status for it.

    The process then ends with that status, even if the stop landed inside code built by ``exec``
    (:func:`lightnb.signals.forget_handled_interrupt`).
    """
    from lightnb import signals
    signals.forget_handled_interrupt()
    return signals.describe(stop), signals.exit_status(stop)


def mask_message(text: str) -> str:
    """Mask secret-shaped text in a message shown to people (errors, notes)."""
    from lightnb.inspect.redact import mask_message as mask
    return mask(text)


def is_bookkeeping(table: str) -> bool:
    """Tell whether ``table`` is diesel's or lightnb's own bookkeeping, not the user's."""
    from lightnb.catalog import is_bookkeeping as bookkeeping
    return bookkeeping(table)


CONVENTIONAL_NAME = re.compile(r"[a-z][a-z0-9_]*")


def name_advice(project: Project, name: str, *, mine: str | None = None) -> tuple[str, str]:
    """Check a migration name as it is typed; return ``(kind, message)``.

    ``kind`` is ``error`` for a name lightnb cannot create a folder for (empty, a path separator,
    ``..``, control characters, too long), ``hint`` for a name diesel accepts but that breaks the
    usual convention (lower case letters, digits and underscores, starting with a letter) or repeats
    an existing migration's name, and ``""`` for a good name.

    :param mine: a migration folder not to count as existing (the one just made under this name).
    :raises MigrationError: when the migrations folder cannot be read.
    """
    if not name:
        return "error", "Type a name saying what the change does, e.g. add_theme_to_user_settings."
    try:
        migration_files.validate_name(name)
    except LightnbError as error:
        return "error", str(error)
    if not CONVENTIONAL_NAME.fullmatch(name):
        odd = sorted({c for c in name if not ((c.islower() and c.isascii()) or c.isdigit() or c == "_")})
        reasons = (["has " + ", ".join(repr(c) for c in odd)] if odd else []) + \
            ([f"starts with {name[0]!r}"] if not name[0].isalpha() else [])
        return "hint", (f"diesel accepts this name, but it {' and '.join(reasons)}; migration names are usually "
                        f"lower case letters, digits and underscores, starting with a letter, e.g. "
                        f"{_conventional(name)}.")
    existing = [m.name.split("_", 1)[-1] for m in migration_files.discover(project.migrations_dir) if m.name != mine]
    if name in existing:
        return "hint", f"A migration named {name} already exists; diesel allows it, but a new name is clearer."
    return "", ""


def _conventional(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return re.sub(r"^[0-9_]+", "", cleaned) or "my_change"


def print_schema(project: Project, *, database_url: str | Path | None = None,
                 flags: Sequence[tuple[str, Any]] = (), style: str = "auto") -> PrintSchemaResult:
    """Print schema.rs of the database as diesel does: every configuration of ``[print_schema]``.

    The database is only read: one that does not exist reads as empty, as in diesel, and is not created.

    :param flags: the command line's options as ``(option, value)`` in the order given; a
        ``("schema_key", KEY)`` makes the options after it apply to ``[print_schema.KEY]`` only
        (diesel_spec.md §3), and table names come as ``("table_name", NAME)``.
    :param style: diesel output style (``auto``: the existing file's).
    """
    from lightnb.printed_schema import PrintSchemaResult
    from lightnb.schema.config import options_from_flags
    url = given_url(project, database_url)
    if url and is_postgres(url):
        from lightnb.schema.config import DEFAULT_STYLE
        from lightnb.schema.postgres import print_schemas_postgres
        configurations = options_from_flags(project.print_schema, project.config_dir, flag_groups(flags),
                                            style=DEFAULT_STYLE if style == "auto" else style)
        _postgres_ready(project, url)
        printed = print_schemas_postgres(url, configurations)
        return PrintSchemaResult("".join(p.text for p in printed), tuple(w for p in printed for w in p.warnings))
    from lightnb.schema.sync import printed_in_style
    if set(project.print_schema) <= {"default"}:
        # one configuration: diesel ignores --schema-key and applies every flag to it (config.rs)
        flags = [(option, value) for option, value in flags if option != "schema_key"]
    configurations = options_from_flags(project.print_schema, project.config_dir, flag_groups(flags))
    target = resolve_target(project, database_url=database_url, write=False)
    conn, notes = _open_to_print(target)
    try:  # diesel prints every configuration one after the other (diesel_spec.md §4.10)
        return PrintSchemaResult("".join(printed_in_style(conn, o, style)[2] for o in configurations), notes,
                                 target)
    finally:
        conn.close()


_SINGLE_FLAGS = ("with_docs_config", "column_sorting", "allow_tables", "patch_file", "schema")
_LIST_FLAGS = ("import_types", "custom_type_derives", "pg_domains")
_SWITCHES = ("only_tables", "except_tables", "with_docs", "integer_primary_key_is_bigint",
             "no_generate_missing_sql_type_definitions")


def flag_groups(flags: Sequence[tuple[str, Any]]) -> list[Any]:
    """Split print-schema options given in order into one ``FlagGroup`` per ``--schema-key`` (diesel_spec.md §3).

    A single-valued option keeps its first value in a group; list options collect every value.
    """
    from lightnb.schema.config import FlagGroup
    groups: list[dict[str, Any]] = [{"key": "default"}]
    for option, value in flags:
        if option == "schema_key":
            groups.append({"key": value})
            continue
        group = groups[-1]
        if option == "table_name":
            group.setdefault("table_names", []).append(value)
        elif option in _SWITCHES:
            group[option] = True
        elif option in _SINGLE_FLAGS:
            group.setdefault(option, value)
        elif option in _LIST_FLAGS:
            group.setdefault(option, []).append(value)
        elif option == "except_custom_type_definitions":
            group.setdefault(option, []).extend(value)
    for group in groups:
        for name in ("table_names", "except_custom_type_definitions", *_LIST_FLAGS):
            if name in group:
                group[name] = tuple(group[name])
        if "patch_file" in group:
            group["patch_file"] = Path(group["patch_file"]).resolve()
    return [FlagGroup(**group) for group in groups]


def check_schema(project: Project, *, database_url: str | Path | None = None, style: str = "auto",
                 fresh: bool = False) -> SchemaCheckResult:
    """Compare every configured schema file with what the database prints now (``print-schema --check``).

    :param fresh: compare with a throw-away database built by applying every migration instead.
    """
    from lightnb.printed_schema import SchemaCheckResult
    url = given_url(project, database_url)
    if url and is_postgres(url):
        return _check_schema_postgres(project, url, style=style, fresh=fresh)
    from lightnb.schema.sync import check_migrations_sync, check_schema_sync
    if fresh:
        report = check_migrations_sync(project, style=style)
        return SchemaCheckResult(str(report), report.in_sync, bool(report.files))
    target = resolve_target(project, database_url=database_url, write=False)
    conn, notes = _open_to_print(target)
    try:
        report = check_schema_sync(project, conn, style=style)
    finally:
        conn.close()
    return SchemaCheckResult(str(report), report.in_sync, bool(report.files), notes, target)


def _check_schema_postgres(project: Project, url: str, *, style: str, fresh: bool) -> SchemaCheckResult:
    from lightnb.printed_schema import SchemaCheckResult
    from lightnb.schema.config import DEFAULT_STYLE, options_from_flags
    from lightnb.schema.postgres import check_schema_files_postgres
    configurations = options_from_flags(project.print_schema, project.config_dir, [],
                                        style=DEFAULT_STYLE if style == "auto" else style)
    if not any(o.file is not None for o in configurations):
        return SchemaCheckResult("", False, configured=False)
    if fresh:
        from lightnb.backends.postgres.scratch import replayed_database
        with replayed_database(project.migrations_dir) as scratch:
            checks = check_schema_files_postgres(scratch, configurations)
    else:
        _postgres_ready(project, url)
        checks = check_schema_files_postgres(url, configurations)
    return SchemaCheckResult("\n".join("\n".join(c.lines()) for c in checks), all(c.in_sync for c in checks))


def _postgres_ready(project: Project, url: str) -> None:
    """Start the project's own PostgreSQL cluster when ``url`` names it and it is down (lightnb.toml
    ``[postgres] cluster``); it stops when this process ends."""
    from lightnb.backends.postgres.project_cluster import ensure_running
    ensure_running(project, url)


def _open_to_print(target: Target) -> tuple[Any, tuple[str, ...]]:
    """Open the database print-schema reads, and say when it does not exist (it then reads as empty)."""
    location = target.location
    if location is not None and location.memory:
        return sqlite.connect(location), ()
    if not os.path.lexists(target.path) and target.workspace is None:
        note = f"lightnb: database {target.path} does not exist (not created): it reads as empty"
        return sqlite.connect(":memory:"), (note,)
    return sqlite.open_readonly(target.path), ()  # print-schema only reads


def schema_option_choices() -> dict[str, tuple[str, ...]]:
    """Return the values print-schema's mode options accept (``with_docs_config``, ``allow_tables``,
    ``column_sorting``)."""
    from lightnb.schema.config import ALLOW_TABLES_MODES, COLUMN_SORTINGS, DOCS_MODES
    return {"with_docs_config": tuple(DOCS_MODES), "allow_tables": tuple(ALLOW_TABLES_MODES),
            "column_sorting": tuple(COLUMN_SORTINGS)}


def generate_from_schema(project: Project, name: str, *, database: str | Path | SqliteLocation | None = None,
                         schema_rs: str | Path | None = None, schema_key: str | None = None,
                         table_names: tuple[str, ...] = (), only_tables: bool = False, except_tables: bool = False,
                         integer_primary_key_is_bigint: bool = False, version: str | None = None,
                         style: str = "2.3", no_down: bool = False, prove: bool = True) -> Any:
    """Write a migration from the difference between schema.rs and the database (``generate --diff-schema``).

    A change SQLite cannot ALTER is written as a table rebuild; the pair is proven on a copy unless
    ``prove`` is False. The database is only read.

    :param database: default: the one :func:`resolve_target` picks.
    :returns: ``lightnb.diff_schema.DiffResult`` (its ``generated`` is the GenerateResult).
    """
    from lightnb import diff_schema
    if database is None:
        database = resolve_target(project, write=False).database
    if is_postgres(database):
        raise ProjectError("`migration generate --diff-schema` works on SQLite databases only for now; write the "
                           "PostgreSQL migration by hand (`lightnb migration generate NAME`), then check it with "
                           "`lightnb print-schema --check`.")
    if isinstance(database, str):
        database = Path(database)
    elif not isinstance(database, SqliteLocation):
        database = Path(database)
    return diff_schema.generate(project, name, database=database, schema_rs=schema_rs, schema_key=schema_key,
                                table_names=table_names, only_tables=only_tables, except_tables=except_tables,
                                integer_primary_key_is_bigint=integer_primary_key_is_bigint, version=version,
                                style=style, no_down=no_down, prove=prove)


def lint_report(project: Project, *, versions: Sequence[str] = (), database_url: str | Path | None = None,
                all: bool = False) -> LintResult:
    """Lint the pending migrations (or ``versions``, or ``all``) and say what was covered.

    :param versions: migration versions or folder names; default: the pending ones.
    """
    from lightnb.lint import config_from_settings
    from lightnb.lint.engine import lint_scope
    from lightnb.results import LintResult
    chosen = [migration_files.version_of(v) for v in versions] or None
    postgres = _postgres_rehearsal_source(project, database_url)
    if postgres is not None:
        return _lint_postgres(project, postgres, versions=chosen, all=all)
    database = lint_database(project, database_url)
    found = lint(project, versions=chosen, database=database, all=all)
    scope = None if chosen is not None else lint_scope(project.migrations_dir, database, all=all,
                                                       config=config_from_settings(project.settings))
    return LintResult(tuple(found), scope)


def lint_rules() -> list[tuple[str, str, str]]:
    """Return every lint rule as ``(id, one-line summary, default severity)``, sorted by id."""
    from lightnb.lint import load_rules
    from lightnb.lint.postgres_rules import RULES as POSTGRES_RULES
    return sorted([(r.id, r.summary, r.severity) for r in load_rules().values()]
                  + [(rule, summary, severity) for rule, (severity, summary) in POSTGRES_RULES.items()])


@_project_time_limit
def check(project: Project, *, database_url: str | Path | None = None, applied: int = 0, run_tests: bool = True,
          on_output: Callable[[str], None] | None = None) -> CheckResult:
    """Rehearse the pending migrations on a fresh copy of the project's database (or an empty one when it
    has none): up, down, up again, lint, integrity, the project's tests; one verdict.

    :raises LightnbError: for a negative ``applied``.
    """
    if applied < 0:
        raise LightnbError(f"--applied must be 0 or more, not {applied}.")
    postgres = _postgres_rehearsal_source(project, database_url)
    if postgres is not None:
        from lightnb.backends.postgres.check import check as check_postgres
        if postgres:
            _postgres_ready(project, postgres)  # production in the project's own cluster (the sample's)
        return check_postgres(project, source_url=postgres or None, workspace=workspace_folder(project),
                              run_tests=run_tests, on_output=on_output, applied=applied)
    try:
        database: Path | None = resolve_target(project, database_url=database_url, write=False).path
    except ProjectError:
        database = None  # no database anywhere: rehearse on an empty one
    return test(project, database, applied=applied, run_tests=run_tests, on_output=on_output)


def _postgres_rehearsal_source(project: Project, database_url: str | Path | None) -> str | None:
    """Return the PostgreSQL database a check copies (``""``: the project's local base), or None for SQLite."""
    from lightnb.backends import is_postgres_url
    from lightnb.layout import PG_SNAPSHOT_RECORD
    if database_url:
        return str(database_url) if is_postgres_url(str(database_url)) else None
    if (workspace_folder(project) / PG_SNAPSHOT_RECORD).is_file():  # a SQLite project loads no PostgreSQL driver
        from lightnb.backends.postgres.base import read_record
        if read_record(workspace_folder(project)) is not None:
            return ""
    return project.database_url if is_postgres_url(project.database_url) else None


def is_postgres_url(url: str | Path | None) -> bool:
    """Return True when ``url`` names a PostgreSQL database (``postgres://`` or ``postgresql://``)."""
    from lightnb.backends import is_postgres_url as postgres
    return url is not None and postgres(str(url))


def snapshot_postgres(project: Project, database_url: str, *, folder: str | Path | None = None) -> Any:
    """Copy a PostgreSQL production (only read, with pg_dump) into the project's private cluster as the
    local base that checks and rehearsals clone.

    :returns: ``lightnb.backends.postgres.base.BaseInfo`` (what was copied, how long it took).
    """
    from lightnb.backends.postgres.base import take_snapshot
    _postgres_ready(project, database_url)  # production in the project's own cluster (the sample's)
    return take_snapshot(database_url, Path(folder) if folder is not None else workspace_folder(project))


def postgres_workspace(project: Project, *, folder: str | Path | None = None) -> bool:
    """True when the workspace folder holds a PostgreSQL snapshot (or its private cluster)."""
    from lightnb.backends.postgres.base import is_postgres_workspace
    return is_postgres_workspace(Path(folder) if folder is not None else workspace_folder(project))


def snapshot_status_postgres(project: Project, *, folder: str | Path | None = None) -> Any:
    """What the PostgreSQL workspace's base copies, when it was taken, its tables, rows and size now.

    :returns: ``lightnb.backends.postgres.base.BaseStatus`` (its ``str`` is the CLI's text).
    """
    from lightnb.backends.postgres.base import base_status
    return base_status(Path(folder) if folder is not None else workspace_folder(project))


def discard_postgres(project: Project, *, folder: str | Path | None = None) -> str:
    """Drop lightnb's own databases of the workspace's private cluster (never production); say what went."""
    from lightnb.backends.postgres.base import discard_base
    return discard_base(Path(folder) if folder is not None else workspace_folder(project))


def sql_timeout(text: str) -> float | None:
    """Read a time limit for migration SQL lightnb runs by itself on a copy (``--sql-timeout``; None: no limit).

    :raises LightnbError: when it is not a number of seconds.
    """
    from lightnb import time_limit
    return time_limit.parse(text)


def use_sql_timeout(text: str) -> None:
    """Use the time limit ``text`` (``--sql-timeout``) for the rest of this process and in the processes it starts
    (a rehearsal's kernel): it becomes ``LIGHTNB_SQL_TIMEOUT``.

    :raises LightnbError: when it is not a number of seconds.
    """
    from lightnb import time_limit
    time_limit.parse(text)
    os.environ[time_limit.ENV] = text


def check_fail_on() -> tuple[str, ...]:
    """Return the values ``check --fail-on`` accepts (the lowest verdict that fails)."""
    from lightnb.checks import FAIL_ON
    return tuple(FAIL_ON)


def diff(project: Project | None, before: str | Path, after: str | Path, *, tables: Sequence[str] | None = None,
         sample: int = 5, reveal: bool = False) -> RowDiff:
    """Compare the rows and schema of two databases (both only read); sensitive values masked unless ``reveal``.

    :param project: whose lightnb.toml ``[redact]`` settings apply (None: the built-in words).
    """
    from lightnb.inspect.redact import Redactor
    from lightnb.inspect.row_diff import row_diff
    if is_postgres_url(before) or is_postgres_url(after):
        if not (is_postgres_url(before) and is_postgres_url(after)):
            raise ProjectError("diff compares two databases of one kind: give two postgres:// URLs (or two SQLite "
                               "files); copy one into the other's kind first.")
        from lightnb.backends.postgres.inspect import row_diff as postgres_row_diff
        for url in (before, after):
            if project is not None:
                _postgres_ready(project, str(url))
        return postgres_row_diff(str(before), str(after), tables=list(tables) if tables else None,
                                 sample=max(sample, 0), redactor=Redactor.for_project(project), reveal=reveal)
    return row_diff(before, after, tables=list(tables) if tables else None, sample=max(sample, 0),
                    redactor=Redactor.for_project(project), reveal=reveal)


def inspect_database(project: Project | None, database: str | Path | None = None, *, table: str | None = None,
                     mode: str = "head", rows: int = 20, where: str | None = None, fingerprint: bool = True,
                     reveal: bool = False) -> Snapshot | Preview:
    """Summarise a database (tables, rows, fingerprints) or preview one table or SELECT (read-only, redacted).

    :param database: default: the database the project's verbs act on (its workspace, else DATABASE_URL).
    :raises ProjectError: when no database is given and the project has none.
    """
    from lightnb.inspect.redact import Redactor
    if database is None:
        database = (str(project.database_url) if project is not None and is_postgres_url(project.database_url)
                    else _project_database(project))
    redactor = Redactor.for_project(project)
    if is_postgres(str(database)):
        from lightnb.backends import postgres
        from lightnb.backends.postgres import inspect as postgres_inspect
        if project is not None:
            _postgres_ready(project, str(database))
        with postgres.open_readonly(str(database)) as session:  # every transaction read-only
            if table:
                return postgres_inspect.preview(session, table, mode=mode, n=rows, where=where, redactor=redactor,
                                                reveal=reveal)
            return postgres_inspect.take_snapshot(session, label=_postgres_label(str(database)),
                                                  fingerprint=fingerprint, redactor=redactor)
    conn = sqlite.open_readonly(database)
    try:
        if table:
            from lightnb.inspect.preview import preview
            return preview(conn, table, mode=mode, n=rows, where=where, redactor=redactor, reveal=reveal)
        from lightnb.inspect.snapshot import take_snapshot
        return take_snapshot(conn, label=str(database), fingerprint=fingerprint, shown_fingerprints=True,
                             exact_fingerprints=False, redactor=redactor)
    finally:
        conn.close()


def _postgres_label(url: str) -> str:
    from lightnb.backends.postgres.url import redact
    return redact(url)


def _project_database(project: Project | None) -> Path:
    try:
        if project is None:
            raise ProjectError("no project")
        return resolve_target(project, write=False).path
    except ProjectError as error:
        raise ProjectError("No database given, and the project has no workspace or DATABASE_URL; pass "
                           "DATABASE.") from error


def preview_modes() -> tuple[str, ...]:
    """Return the row choices a preview accepts (``head``, ``tail``, ``random`` …)."""
    from lightnb.inspect.preview import MODES
    return tuple(MODES)


def verify(project: Project, database: str | Path, queries: Sequence[str], *, rows: int = 20) -> Verification:
    """Run read-only verification ``queries`` on ``database``; each result bounded and redacted."""
    from lightnb.inspect.preview import preview
    from lightnb.inspect.redact import Redactor
    from lightnb.results import Verification
    if is_postgres(database):
        from lightnb.backends import postgres
        from lightnb.backends.postgres.inspect import preview as postgres_preview
        _postgres_ready(project, str(database))
        redactor = Redactor.for_project(project)
        with postgres.open_readonly(str(database)) as session:  # every transaction read-only
            return Verification(tuple(queries), tuple(postgres_preview(session, q, n=rows, redactor=redactor)
                                                      for q in queries))
    conn = sqlite.open_readonly(database)
    try:
        redactor = Redactor.for_project(project)
        return Verification(tuple(queries), tuple(preview(conn, q, n=rows, redactor=redactor) for q in queries))
    finally:
        conn.close()


@_project_time_limit
def run_on_workspace(project: Project, workspace: Workspace | PostgresWorkspace, *, limit: int | None = None,
                     on_step: StepObserver | None = None, durable: bool = True, proved: Any = None) -> Change:
    """Apply the pending migrations (or the next ``limit``) to the workspace, keeping what they changed:
    snapshots before and after, a before copy, and redacted before/after previews.

    :param durable: False for a workspace in a private folder deleted once its work is done (a rehearsal's):
        its commits do not wait for the disk (see ``lightnb.migrate.migrate``).
    :param proved: the copy the Test step's proof handed over (``CheckResult.handed_over``): taken as the workspace
        when it provably is what running the pending migrations on it now would make (``Capture.proved``); else
        deleted, and the migrations run here. Not with ``limit``.

    The workbook's Inspect step follows: the impact it measures on the before copy is measured beside the
    migrations, on the other core, while they run (``Capture.impact``)."""
    from lightnb.capture import captured
    from lightnb.inspect.redact import Redactor
    from lightnb.results import Capture, PostgresWorkspace
    if isinstance(workspace, PostgresWorkspace):
        return inspect(project, run(project, workspace.url, capture=Capture(), limit=limit, on_step=on_step),
                       rows=5)
    if proved is not None and limit is not None:
        proved.discard()
        proved = None
    return captured(workspace, lambda db, capture: run(project, db, capture=capture, limit=limit, on_step=on_step,
                                                       durable=durable),
                    label="run", redactor=Redactor.for_project(project), impact=True, proved=proved)


def revert_on_workspace(project: Project, workspace: Workspace | PostgresWorkspace, *, number: int = 1,
                        on_step: StepObserver | None = None, durable: bool = True) -> Change:
    """Revert the latest ``number`` migrations of the workspace, keeping what the revert changed (``durable``, and
    the impact measured beside it: see :func:`run_on_workspace`)."""
    from lightnb.capture import captured
    from lightnb.inspect.redact import Redactor
    from lightnb.results import Capture, PostgresWorkspace
    if isinstance(workspace, PostgresWorkspace):
        return inspect(project, revert(project, workspace.url, capture=Capture(), number=number, on_step=on_step),
                       rows=5)
    return captured(workspace, lambda db, capture: revert(project, db, capture=capture, number=number,
                                                          on_step=on_step, durable=durable),
                    label="revert", redactor=Redactor.for_project(project), impact=True)


def models_fail_on() -> tuple[tuple[str, ...], str]:
    """Return the values ``models check --fail-on`` accepts, and its default."""
    from lightnb.models.drift import DEFAULT_FAIL_ON, FAIL_ON
    return tuple(FAIL_ON), DEFAULT_FAIL_ON


def check_models(project: Project, *, models_dir: str | Path | None = None, schema: str | Path | None = None,
                 from_database: bool = False) -> DriftReport:
    """Check the model structs against schema.rs (or, ``from_database``, the schema the database prints).

    :raises ModelDrift: when the models folder or schema.rs cannot be found or read.
    """
    from lightnb.models import check_models as check_structs
    from lightnb.models.locate import src_root_for
    folder, wanted = _model_inputs(project, models_dir, schema, from_database)
    return check_structs(folder, wanted, src_root=src_root_for(folder))


def plan_models(project: Project, *, models_dir: str | Path | None = None, schema: str | Path | None = None,
                from_database: bool = False, previous_schema: str | Path | None = None,
                tables: Sequence[str] | None = None, apply: bool = False, repository: bool = False) -> ModelsPlan:
    """Plan the fields and structs schema.rs calls for (new fields and structs, dropped fields removed,
    changed types rewritten); with ``apply``, write them (every file is checked before any is written).

    :param previous_schema: schema.rs before the migration: plan only what it lacks.
    :param repository: also write repository functions (get_/update_) for the new columns, or for
        every column of ``tables``.
    """
    from lightnb.models import load_schema
    from lightnb.models import plan_models as plan_structs
    from lightnb.models.locate import src_root_for
    from lightnb.results import ModelsPlan
    folder, wanted = _model_inputs(project, models_dir, schema, from_database)
    previous = load_schema(previous_schema) if previous_schema else None
    plan = plan_structs(folder, wanted, previous=previous, tables=list(tables) if tables else None,
                        src_root=src_root_for(folder))
    applied = apply_model_changes(plan.changes) if apply else ()
    code = _repository_code(project, folder, wanted, previous, tables) if repository else None
    return ModelsPlan(tuple(plan.changes), tuple(plan.left_alone), applied, code)


def apply_model_changes(changes: Sequence[ModelChange]) -> tuple[ModelChange, ...]:
    """Write planned model changes to their files; every target is checked before any file is written.

    :raises ModelDrift: when a model file changed since the plan or cannot be read; nothing is written.
    """
    from lightnb.models.scaffold import apply_change, read_model_file
    for change in changes:
        read_model_file(change.path)
    for change in changes:
        apply_change(change)
    return tuple(changes)


def _model_inputs(project: Project, models_dir: str | Path | None, schema: str | Path | None,
                  from_database: bool) -> tuple[Path, Any]:
    from lightnb.models import load_schema, locate, parse_schema
    folder = locate.models_dir(project, models_dir)
    if from_database and not schema:
        return folder, parse_schema(locate.schema_text_from_database(project))
    return folder, load_schema(locate.schema_file(project, schema))


def _repository_code(project: Project, models: Path, schema: Any, previous: Any,
                     tables: Sequence[str] | None) -> str:
    from lightnb.errors import ModelDrift
    from lightnb.models import locate, read_house_style, repository_for_migration, repository_functions
    from lightnb.models.repository import unique_foreign_keys
    style = read_house_style(locate.src_root_for(models, project),
                             exclude=(models, *((schema.path,) if schema.path is not None else ())))
    unique = locate.unique_columns(project)
    if previous is not None:
        blocks = repository_for_migration(previous, schema, style=style, unique=unique)
        return "\n".join(code for name, code in blocks.items() if not tables or name in tables)
    if not tables:
        raise ModelDrift("--repository needs --previous-schema FILE or --table T to know which columns")
    schema.require_tables(tables)
    out = []
    for name in tables:
        table = next(t for t in schema.tables if t.rust_name == name)
        keys = unique_foreign_keys(schema, name, unique.get(name, ()))
        out.append(repository_functions(table, style=style, unique_keys=keys))
    return "\n".join(out)


def setup(project: Project, *, database_url: str | None = None, config_file: str | Path | None = None,
          migrations_shown: str | None = None, on_step: StepObserver | None = None,
          default_migration: bool = True) -> None:
    """diesel's ``setup``: the migrations folder, diesel.toml, the database and its first run (on the
    workspace when there is one, never on production).

    :param default_migration: on PostgreSQL, write diesel's ``00000000000000_diesel_initial_setup``.
    """
    from lightnb import database
    database.setup(project, database_url=database_url, config_file=config_file, migrations_shown=migrations_shown,
                   on_step=on_step, default_migration=default_migration)


def database_setup(project: Project, *, database_url: str | None = None, on_step: StepObserver | None = None,
                   locked_schema: bool = False, default_migration: bool = True) -> None:
    """diesel's ``database setup``: create the database if needed, migrate a new one, regenerate schema files."""
    from lightnb import database
    database.database_setup(project, database_url=database_url, on_step=on_step, locked_schema=locked_schema,
                            default_migration=default_migration)


def database_reset(project: Project, *, database_url: str | None = None, on_step: StepObserver | None = None,
                   locked_schema: bool = False, default_migration: bool = True) -> None:
    """diesel's ``database reset``: drop the database, then ``database setup`` (never production)."""
    from lightnb import database
    database.database_reset(project, database_url=database_url, on_step=on_step, locked_schema=locked_schema,
                            default_migration=default_migration)


def database_drop(project: Project, *, database_url: str | None = None) -> None:
    """diesel's ``database drop``: delete the database file (never production)."""
    from lightnb import database
    database.database_drop(project, database_url=database_url)


def sample(dest: str | Path, *, users: int | None = None, seed: int | None = None,
           workspace: bool = True, backend: str = "sqlite") -> Any:
    """Create the sample Diesel project and its generated production database (and a workspace copy) in ``dest``.

    :param backend: ``sqlite`` (a :class:`SampleWorkbook`: production.db, a workspace copy), or
        ``postgres`` (a ``PostgresSample``: the PostgreSQL variant, a private cluster in the project's
        ``.lightnb/pg`` holding production and a copy; the cluster is stopped when this returns).
    """
    from lightnb import samples
    if backend == "postgres":
        from lightnb.backends.postgres.sample import sample_workbook
        return sample_workbook(dest, users=samples.DEFAULT_USERS if users is None else users,
                               seed=samples.DEFAULT_SEED if seed is None else seed, workspace=workspace)
    if backend != "sqlite":
        raise ProjectError(f"Unknown sample backend {backend!r}; use sqlite or postgres.")
    return samples.sample_workbook(dest, users=samples.DEFAULT_USERS if users is None else users,
                                   seed=samples.DEFAULT_SEED if seed is None else seed, workspace=workspace)


def sample_defaults() -> tuple[int, int]:
    """Return the sample's default number of users and random seed."""
    from lightnb import samples
    return samples.DEFAULT_USERS, samples.DEFAULT_SEED


def open_workbook(project_dir: str | Path | None = None, production_db: str | Path | None = None, *,
                  folder: str | Path | None = None, users: int = 2_000, exercise: bool = False,
                  workspace_dir: str | Path | None = None, backend: str = "sqlite",
                  copied: Mapping[str, Any] | None = None) -> WorkbookStart:
    """Open a workbook on a project with a fresh workspace copy of its production database.

    With no ``project_dir``, build the bundled sample (project and fake production database) in
    ``folder`` and work on that; ``exercise`` also writes its exercise migration (pending).

    :param production_db: default: ``production`` from lightnb.toml, else the existing workspace,
        else ``DATABASE_URL``.
    :param backend: ``sqlite``, or ``postgres``: the sample's PostgreSQL variant (production and the
        workspace database in the project's private cluster), or a PostgreSQL project whose
        ``DATABASE_URL`` names its workspace database (copied again from production).
    :param copied: the workspace copy of ``production_db`` made beforehand in ``workspace_dir`` as :func:`snapshot`
        makes it (``lightnb rehearse`` makes it while the notebook's kernel starts): ``state``, its file's committed
        state once copied, and ``steps``, what the copy took (``lightnb.progress.Progress`` fields). While the file
        is provably that copy, untouched since, it is opened instead of copied again, and the copy's steps are
        reported as if made here. With ``scratch`` true (``lightnb rehearse``: the copy's folder is its private scratch
        folder, deleted when the rehearsal ends), the workbook's steps do not wait for the disk when they commit
        to that copy (``WorkbookStart.scratch``).
    :raises LightnbError: when the project or the database cannot be found.
    """
    from lightnb.results import WorkbookStart
    if backend == "postgres" or (production_db is not None and is_postgres_url(production_db)):
        return _open_postgres_workbook(project_dir, production_db, folder=folder, users=users, exercise=exercise)
    if backend != "sqlite":
        raise ProjectError(f"Unknown workbook backend {backend!r}; use sqlite or postgres.")
    if project_dir is None:
        from lightnb import samples
        if folder is None:
            raise ProjectError("Give a project folder, or a folder to build the sample in.")
        project_dir, production_db = samples.sample_workbook(folder, users=users, workspace=False)
        if exercise:
            built = Project.discover(project_dir)
            created = generate(built, samples.EXERCISE.name).migration
            save_sql(built, created.name, up=samples.EXERCISE.up_sql, down=samples.EXERCISE.down_sql)
    project = Project.discover(project_dir)
    production: Path | None = Path(production_db).resolve() if production_db is not None else None
    if production is None:
        production = project.settings.production
    from lightnb.workspace import Workspace
    scratch = False
    if production is not None and workspace_dir is not None and copied is not None and \
            (made := Workspace.untouched(workspace_dir, production, copied["state"])) is not None:
        from lightnb import progress
        progress.replay(copied["steps"])
        workspace = made
        scratch = bool(copied.get("scratch"))
    elif production is not None:
        workspace = snapshot(project, database_url=production, folder=workspace_dir, replace=True)
    elif workspace_dir is None and (workspace_folder(project) / WORKSPACE_DB).is_file():
        workspace = Workspace.open(workspace_folder(project))
    else:
        workspace = snapshot(project, folder=workspace_dir, replace=True)
    from lightnb.models.locate import schema_file
    schema_path = schema_file(project)
    baseline = schema_path.read_text(encoding="utf-8") if schema_path.is_file() else ""
    applied: frozenset[str] = frozenset()
    if workspace.production is not None and Path(workspace.production).is_file():
        listing = list_migrations(project, workspace.production)
        applied = frozenset(m.version for m in listing.migrations if m.applied)
    return WorkbookStart(project, workspace, baseline, applied, scratch=scratch)


def _open_postgres_workbook(project_dir: str | Path | None, production_db: str | Path | None, *,
                            folder: str | Path | None, users: int, exercise: bool) -> WorkbookStart:
    """Open a workbook on a PostgreSQL project (the sample's variant when ``project_dir`` is None)."""
    from lightnb import samples
    from lightnb.backends.postgres.sample import sample_workbook as postgres_sample
    from lightnb.backends.postgres.workspace import fresh_workspace
    from lightnb.results import WorkbookStart
    if project_dir is None:
        if folder is None:
            raise ProjectError("Give a project folder, or a folder to build the sample in.")
        made = postgres_sample(folder, users=users, workspace=True)
        project_dir, production_db = made.project_dir, made.production_url
        if exercise:
            built = Project.discover(project_dir)
            created = generate(built, samples.EXERCISE.name).migration
            save_sql(built, created.name, up=samples.EXERCISE.up_sql, down=samples.EXERCISE.down_sql)
    project = Project.discover(project_dir)
    production = str(production_db) if production_db is not None else project.settings.get("production")
    if production is not None and not is_postgres_url(str(production)):
        raise ProjectError(f"The production database of a PostgreSQL workbook is a postgres:// URL, not "
                           f"{production}; pass production_db=URL (or set `production` in lightnb.toml).")
    if not is_postgres_url(project.database_url):
        raise ProjectError("A PostgreSQL workbook works on the database DATABASE_URL names (the project's .env); "
                           "set it to a database of lightnb's private cluster.")
    workspace = fresh_workspace(project, str(project.database_url), str(production) if production else None)
    from lightnb.models.locate import schema_file
    schema_path = schema_file(project)
    baseline = schema_path.read_text(encoding="utf-8") if schema_path.is_file() else ""
    applied: frozenset[str] = frozenset()
    if workspace.production is not None:
        listing = list_migrations(project, workspace.production)
        applied = frozenset(m.version for m in listing.migrations if m.applied)
    return WorkbookStart(project, workspace, baseline, applied)


def prepare_workbook(folder: str | Path, *, users: int = 2000) -> Path:
    """Build the sample in ``folder`` (once) and copy the workbook notebooks there with outputs cleared.

    :returns: the path of notebook 01 in ``folder``.
    """
    from lightnb.lab import prepare
    return prepare(Path(folder), users=users)


def lab_command(folder: str | Path, *, port: int, token: str, notebook: str | None = None,
                no_browser: bool = False) -> list[str]:
    """Return the command starting the workbook's JupyterLab on ``folder`` (127.0.0.1:``port``)."""
    from lightnb import lab
    return lab.lab_command(Path(folder), port=port, token=token, notebook=notebook or lab.NOTEBOOKS[0],
                           no_browser=no_browser)


def rehearse(project_dir: str | Path, production_db: str | Path | None, out_dir: str | Path, *,
             limit: int | None = None, run_tests: bool = False, timeout: int = 600) -> Rehearsal:
    """Rehearse the pending migrations headless (notebook 02) on copies of the project and of production;
    write the executed notebook and its HTML/Markdown report into ``out_dir``.

    :param production_db: a SQLite file or a ``postgres://`` URL (only read); None: ``production`` of the
        project's lightnb.toml.
    """
    from lightnb.rehearse import rehearse as rehearse_notebook
    start = Path(project_dir).resolve()
    if not start.is_dir():
        raise ProjectError(f"Project folder {start} does not exist; pass the folder holding diesel.toml.")
    project = Project.discover(start)
    if production_db is None:
        configured = project.settings.get("production")
        if not isinstance(configured, str) or not configured:
            raise ProjectError("No production database to rehearse on: pass --database PROD.db or --database-url "
                               "postgres://…, or set `production` in lightnb.toml.")
        production_db = configured if is_postgres_url(configured) else project.settings.production
    if is_postgres_url(production_db):
        from lightnb.backends.postgres.rehearsal import project_cluster_if_needed
        url = str(production_db)
        with project_cluster_if_needed(project, url):  # the sample's production lives in the project's cluster
            pending = [m.name for m in list_migrations(project, url).pending]  # read-only
            return rehearse_notebook(project, start, url, out_dir, pending=pending, limit=limit,
                                     run_tests=run_tests, timeout=timeout)
    assert production_db is not None
    production = sqlite.check_database_path(Path(production_db).resolve(), allow_empty=False)
    pending = [m.name for m in list_migrations(project, production).pending]
    return rehearse_notebook(project, start, production, out_dir, pending=pending, limit=limit, run_tests=run_tests,
                             timeout=timeout)


def report(notebook: str | Path, out_dir: str | Path, *, formats: Sequence[str] = ("html", "markdown"),
           project: Project | None = None) -> Report:
    """Export an executed notebook as a review report (HTML and/or Markdown) built from its panels' records.

    :param project: whose lightnb.toml ``[redact]`` settings apply to the outputs' tables.
    """
    from lightnb.inspect.redact import Redactor
    from lightnb.report import export
    return export(notebook, out_dir, formats=formats, redactor=Redactor.for_project(project))


def completions(parser: Any, shell: str) -> str:
    """Return a completion script for ``shell`` (bash, zsh, fish, powershell, elvish) of the command ``parser``."""
    from lightnb.completions import generate as script
    return script(parser, shell)


def completion_shells() -> tuple[str, ...]:
    """Return the shells :func:`completions` writes scripts for."""
    from lightnb.completions import SHELLS
    return tuple(SHELLS)
