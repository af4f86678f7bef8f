"""The workbook's verbs as plain functions: generate, run, revert, redo, list, pending, snapshot.

The CLI, the widgets and the notebooks call only these. Each takes a :class:`Project` (and a
database target) and returns a result object from :mod:`lightnb.results`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb import migrations as migration_files
from lightnb import production as production_guard
from lightnb import runner
from lightnb.errors import FileWriteError, MigrationError, ProjectError, WorkspaceError
from lightnb.files import write_text_atomic
from lightnb.project import Project, SqliteLocation, sqlite_location
from lightnb.results import (GenerateResult, ListResult, MigrationStatus, RegenerateResult, RunResult,
                             SchemaFileChange)
from lightnb.workspace import DEFAULT_DIRNAME, WORKSPACE_DB, Workspace, backup, check_database_file

if TYPE_CHECKING:
    from lightnb.runner import StepObserver


@dataclass(frozen=True)
class Target:
    """The database a verb acts on: a workspace copy, or a database the user named explicitly."""

    path: Path
    workspace: Workspace | None = None
    location: SqliteLocation | None = None  # the URL as SQLite opens it (URI parameters, in memory)

    @property
    def database(self) -> Path | SqliteLocation:
        """What to hand to the steps: the URL's location when it has parameters or lives in memory."""
        if self.location is not None and (self.location.parameters or self.location.memory):
            return self.location
        return self.path


def workspace_folder(project: Project) -> Path:
    """Return the project's default workspace folder (``.lightnb/`` beside diesel.toml)."""
    return project.config_dir / DEFAULT_DIRNAME


def resolve_target(project: Project, *, database_url: str | Path | None = None, write: bool = True) -> Target:
    """Decide which database a verb acts on.

    An explicit ``database_url`` wins. Otherwise, when the project has a workspace, the workspace
    stands in for the production database it copies: a ``DATABASE_URL`` naming that production
    (or nothing at all) means the workspace, so production is never written by accident. A
    ``DATABASE_URL`` naming any other database (say, a rehearsal copy) is used as diesel would.

    :param write: the verb may write the database: refuse the project's declared production.
    :raises ProjectError: when there is no database at all.
    :raises WorkspaceError: when a writing verb names the production database.
    """
    if database_url:
        location = sqlite_location(str(database_url), base=Path.cwd())
        explicit = location.path if location.path is not None else Path(":memory:")
        if write and location.path is not None:
            refuse_production(project, explicit)
        return Target(explicit, location=location)
    folder = workspace_folder(project)
    configured_location = project.database_location() if project.database_url else None
    configured = configured_location.path if configured_location is not None else None
    if configured_location is not None and configured is None:
        return Target(Path(":memory:"), location=configured_location)
    if (folder / WORKSPACE_DB).is_file():
        workspace = Workspace.open(folder)
        if configured is None or production_guard.same_file(configured, workspace.path) or \
                production_guard.copied_into(folder, configured):
            return Target(workspace.path, workspace)
    if configured is None:
        return Target(project.database_path())  # raises the "no database" error
    if write:
        refuse_production(project, configured)
    return Target(configured, location=configured_location)


def refuse_production(project: Project, database: Path) -> None:
    """Raise when ``database`` is a production database of the project (it is only ever read).

    Production follows the project wherever its configuration is read from: see
    :mod:`lightnb.production`.

    :raises WorkspaceError: naming the file and what to do instead.
    """
    production_guard.refuse_production(project, database)


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
    check_database_file(production, allow_empty=False)
    workspace = Workspace.create(production, folder, verify=verify, protect=workspace_protects(project))
    production_guard.record_workspace(project, workspace.folder, workspace.production)
    return workspace


def reset(project: Project, *, folder: str | Path | None = None, database_url: str | Path | None = None,
          verify: bool = False) -> Workspace:
    """Copy production again over the project's workspace (it loses whatever was applied to it).

    :param database_url: copy this database instead, and record it as the workspace's production
        from now on (``snapshot --reset --database-url OTHER.db``).
    :raises WorkspaceError: when there is no workspace, or nothing to copy.
    """
    folder = Path(folder) if folder is not None else workspace_folder(project)
    workspace = Workspace.open(folder)
    if database_url:
        production = production_path(project, database_url)
        check_database_file(production, allow_empty=False)
        workspace = Workspace.create(production, folder, verify=verify, protect=workspace_protects(project))
    elif workspace.production is None:
        raise WorkspaceError("This workspace has no production database to copy; pass --database-url PROD.db "
                             "to copy that one into it.")
    else:
        workspace.reset(verify=verify)
    production_guard.record_workspace(project, workspace.folder, workspace.production)
    return workspace


def discard(project: Project, *, folder: str | Path | None = None):  # type: ignore[no-untyped-def]
    """Delete what lightnb made in the workspace folder (and the folder, if lightnb made it).

    :returns: ``lightnb.workspace.Discarded``.
    :raises WorkspaceError: when the folder holds no workspace.
    """
    folder = Path(folder) if folder is not None else workspace_folder(project)
    return Workspace.open(folder).discard(protect=workspace_protects(project))


def workspace_protects(project: Project) -> list[Path]:
    """Return what a workspace folder may never be nor hold: the project's folders and productions."""
    folders = [project.root, project.config_dir, project.migrations_dir]
    if project.config_file is not None:
        folders.append(project.config_file)
    return folders + [p.path for p in production_guard.productions(project)]


def _refuse_to_replace_a_healthy_workspace(project: Project, folder: Path,
                                           database_url: str | Path | None) -> None:
    """A plain snapshot never throws away a working workspace (it may hold applied work)."""
    if not (folder / WORKSPACE_DB).is_file():
        return
    try:
        existing = Workspace.open(folder)
    except WorkspaceError:
        return  # a broken workspace may be replaced: that is the advised repair
    if production_path(project, database_url).resolve() == existing.path.resolve():
        return  # let Workspace.create explain that it would overwrite production
    raise WorkspaceError(f"A workspace already exists in {folder} and may hold work you applied; use "
                         f"`lightnb snapshot --reset` to copy production over it, or --discard first.")


def production_path(project: Project, database_url: str | Path | None = None) -> Path:
    """Return the production database: the argument, else lightnb.toml's ``production``, else DATABASE_URL."""
    if database_url:
        return project.with_database(str(database_url)).database_path()
    configured = project.settings.get("production")
    if isinstance(configured, str) and configured:
        return project.resolve_setting(configured)
    return project.database_path()


def generate(project: Project, name: str, *, version: str | None = None, style: str = "2.3",
             no_down: bool = False) -> GenerateResult:
    """Create a new migration folder with diesel's template up.sql and down.sql."""
    migration = migration_files.generate(project.migrations_dir, name, version=version, style=style,
                                         no_down=no_down, origin=project.migrations_origin)
    files = (migration.up_path,) + ((migration.down_path,) if migration.down_path else ())
    return GenerateResult(migration, files)


def list_migrations(project: Project, database: str | Path | SqliteLocation) -> ListResult:
    """Return every migration with its applied state on ``database``."""
    found = migration_files.discover(project.migrations_dir)
    if isinstance(database, SqliteLocation) and database.memory:
        conn = runner.connect(database)  # a fresh in-memory database, as diesel opens it
        try:
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


CAPTURE_COPY_LIMIT = 512 * 1024 * 1024  # keep a "before" copy for row diffs up to this size


@dataclass(frozen=True)
class Capture:
    """How much of the "before" state a step keeps for the inspect step.

    :param snapshot: take schema/row-count/fingerprint snapshots before and after.
    :param copy: keep a full copy of the database as it was before (``"auto"``: when it is at most
        :data:`CAPTURE_COPY_LIMIT` bytes), for row diffs and before/after previews.
    :param folder: where copies go (default: a ``captures`` folder beside the database).
    :param fingerprint: hash every row into the snapshots (``"auto"``: only when no before copy is
        kept; with a copy, the inspect step compares rows exactly, set-wise in SQLite, when asked,
        so a run does not pay for two full passes over the data).
    """

    snapshot: bool = True
    copy: bool | str = "auto"
    folder: Path | None = None
    fingerprint: bool | str = "auto"


def _applied_read_only(project: Project, database: Path) -> list[str]:
    """Read applied versions without writing anything (no tracking table means nothing applied).

    A missing database holds nothing applied: diesel would create it empty and list every migration
    as pending, which is what this returns, without creating it (a listing never writes). A database
    that needs a write to be read (a hot journal to roll back) is opened for writing, except a
    production database of the project, which is never written.

    :raises DatabaseError: when the path is not a regular SQLite file.
    """
    from lightnb.errors import DatabaseError
    from lightnb.workspace import open_readonly
    try:
        os.lstat(database)
    except FileNotFoundError:
        return []
    except OSError as error:  # a name too long, a link loop: not a database anyone could open
        raise DatabaseError(f"Cannot open database {database}: {error.strerror}; check --database-url or "
                            f"DATABASE_URL.", path=database) from error
    check_database_file(database)
    if database.stat().st_size == 0:
        return []  # an empty file is an empty database: nothing applied
    try:
        conn = open_readonly(database)
    except DatabaseError:
        journal = Path(f"{database}-journal")
        hot = journal.is_file() and journal.stat().st_size > 0
        if not hot or production_guard.find_production(project, database) is not None:
            raise
        conn = runner.connect(database)
    try:
        has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (runner.TRACKING_TABLE,)).fetchone()
        # No tracking table yet: nothing is applied (diesel would create the table; reading need not).
        return [row[0] for row in conn.execute(f"SELECT version FROM {runner.TRACKING_TABLE}")] \
            if has_table else []
    finally:
        conn.close()


def run(project: Project, database: str | Path | SqliteLocation, *, limit: int | None = None,
        on_step: StepObserver | None = None, regenerate_schema: bool = True,
        locked_schema: bool = False, capture: Capture | None = None, style: str | None = None) -> RunResult:
    """Apply every pending migration (or the next ``limit``) to ``database``.

    :param capture: take before/after snapshots (and a before copy) for the inspect step.
    :raises SqlError: naming the migration, file, line and statement that failed; that migration is
        rolled back completely and the tracking table does not claim it.
    """
    return _migrate(project, database, "up", lambda conn, found, hook, observe: runner.run_pending(
        conn, found, on_step=observe, on_applied=hook, limit=limit),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style)


def revert(project: Project, database: str | Path | SqliteLocation, *, number: int = 1, all: bool = False,
           on_step: StepObserver | None = None, regenerate_schema: bool = True,
           locked_schema: bool = False, capture: Capture | None = None, style: str | None = None) -> RunResult:
    """Revert the latest ``number`` migrations (or all) of ``database``."""
    return _migrate(project, database, "down", lambda conn, found, hook, observe: runner.revert(
        conn, found, number=number, all=all, on_step=observe, on_applied=hook),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style)


def redo(project: Project, database: str | Path | SqliteLocation, *, number: int = 1, all: bool = False,
         on_step: StepObserver | None = None, regenerate_schema: bool = True,
         locked_schema: bool = False, capture: Capture | None = None, style: str | None = None) -> RunResult:
    """Revert then re-apply the latest ``number`` migrations (or all), atomically."""
    return _migrate(project, database, "redo", lambda conn, found, hook, observe: runner.redo(
        conn, found, number=number, all=all, on_step=observe, on_applied=hook),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style)


def _migrate(project: Project, database: str | Path | SqliteLocation, direction: str,  # type: ignore[no-untyped-def]
             action, *, regenerate_schema: bool, locked_schema: bool, capture: Capture | None,
             on_step: StepObserver | None, style: str | None = None) -> RunResult:
    found = migration_files.discover(project.migrations_dir)
    location = database if isinstance(database, SqliteLocation) else None
    path = Path(":memory:") if location is not None and location.path is None else \
        (location.path if location is not None and location.path is not None else Path(database))
    if location is None or location.path is not None:
        refuse_production(project, path)
    conn = runner.connect(location if location is not None else path)
    if regenerate_schema and not locked_schema:
        try:  # before any migration runs: a schema file that may not be written stops the step whole
            from lightnb.schema.sync import check_schema_targets
            check_schema_targets(project, conn, protected=[path])
        except BaseException:
            conn.close()
            raise
    started = time.perf_counter()
    per_migration: list[tuple[str, str, object]] = []
    # snapshots print fingerprints that leave out what the project masks (its [redact] settings and lineage)
    redactor = _project_redactor(project) if capture is not None and capture.snapshot else None

    def observe(event: runner.StepEvent) -> None:
        if event.kind == "done" and capture is not None and capture.snapshot:
            # schema and row counts after each migration (cheap: no row hashing)
            label = f"after {event.direction} {event.migration.name}"
            per_migration.append((event.migration.name, event.direction,
                                  _snapshot_of(conn, label, False, redactor=redactor)))
        if on_step is not None:
            on_step(event)

    observe.statements = on_step is not None and getattr(on_step, "statements", True)  # type: ignore[attr-defined]
    try:
        before, before_copy = _capture_before(conn, path, direction, capture, redactor)
        done = action(conn, found, _checksum_hook(path), observe)
        files: tuple[Path, ...] = ()
        if regenerate_schema:
            try:
                files = regenerate_schema_files(project, conn, locked=locked_schema, style=style)
            except FileWriteError as error:
                did = f"{len(done)} migration(s) {'reverted' if direction == 'down' else 'applied'}" \
                    if done else "No migration changed"
                raise FileWriteError(f"{did} on {path}, but the schema file was not regenerated: {error} Once "
                                     f"fixed, regenerate it with `lightnb print-schema > {error.path}`.",
                                     path=error.path) from error
        after = (_snapshot_of(conn, f"after {direction}", _fingerprints(capture, before_copy), redactor=redactor)
                 if capture and capture.snapshot else None)
    finally:
        conn.close()
    return RunResult(direction=direction, database=path, migrations=tuple(done),
                     seconds=time.perf_counter() - started, before=before, after=after,
                     before_copy=before_copy, schema_files=files, per_migration=tuple(per_migration))


def _capture_before(conn, path: Path, direction: str,  # type: ignore[no-untyped-def]
                    capture: Capture | None, redactor=None) -> tuple[object, Path | None]:
    if capture is None:
        return None, None
    size = path.stat().st_size if path.exists() else 0
    keep = capture.copy if isinstance(capture.copy, bool) else size <= CAPTURE_COPY_LIMIT
    copy = None
    if keep:
        folder = capture.folder or path.parent / "captures"
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}"
        copy = backup(conn, folder / f"before-{direction}-{stamp}.db")
    before = (_snapshot_of(conn, f"before {direction}", _fingerprints(capture, copy), redactor=redactor)
              if capture.snapshot else None)
    return before, copy


def _fingerprints(capture: Capture, before_copy: Path | None) -> bool:
    if isinstance(capture.fingerprint, bool):
        return capture.fingerprint
    return before_copy is None


def _snapshot_of(conn, label: str, fingerprint: bool = True, *, redactor=None):  # type: ignore[no-untyped-def]
    """A snapshot whose printed fingerprints leave out the columns ``redactor`` masks (the project's)."""
    from lightnb.inspect import take_snapshot
    return take_snapshot(conn, label=label, fingerprint=fingerprint, shown_fingerprints=redactor is not None,
                         redactor=redactor)


def _project_redactor(project: Project):  # type: ignore[no-untyped-def]
    from lightnb.inspect.redact import Redactor
    return Redactor.for_project(project)


def _checksum_hook(database: Path):  # type: ignore[no-untyped-def]
    """Return the hook that records migration checksums in lightnb's sidecar table.

    Only in lightnb's own workspaces: a database the user names explicitly is left exactly as
    diesel_cli would leave it (its tracking table and nothing else of ours).
    """
    from lightnb.workspace import STATE_FILE
    if database.name != WORKSPACE_DB or not (database.parent / STATE_FILE).is_file():
        return None
    try:
        from lightnb.lint import hygiene
    except ImportError:
        return None
    return getattr(hygiene, "on_applied", None)


SCHEMA_STYLES = ("auto", "2.1", "2.2", "2.3")


def schema_style(project: Project, style: str | None = None) -> str:
    """Return the diesel output style to print schema.rs in: ``style``, else lightnb.toml's
    ``[schema] style``, else ``auto`` (keep the style of the existing file).

    :raises ProjectError: for an unknown style.
    """
    chosen = style or (project.settings.get("schema") or {}).get("style") or "auto"
    if chosen not in SCHEMA_STYLES:
        raise ProjectError(f"Unknown schema style {chosen!r} (lightnb.toml [schema] style or --style); "
                           f"use one of {', '.join(SCHEMA_STYLES)}.")
    return chosen


def regenerate_schema_files(project: Project, conn, *, locked: bool = False,  # type: ignore[no-untyped-def]
                            style: str | None = None) -> tuple[Path, ...]:
    """Regenerate every configured schema file as diesel does after run/revert/redo (§2.9).

    :param locked: check instead of writing; raise SchemaOutOfSync when a file would change.
    :param style: diesel output style (default: :func:`schema_style`).
    """
    style = schema_style(project, style)
    try:
        from lightnb import schema
    except ImportError as error:  # pragma: no cover - schema is part of the package
        raise ProjectError("print-schema is unavailable in this installation; reinstall lightnb.") from error
    if locked:
        report = schema.check_schema_sync(project, conn, style=style)
        if not report.in_sync:
            from lightnb.errors import SchemaOutOfSync
            paths = ", ".join(str(f.path) for f in report.files if not f.in_sync)
            raise SchemaOutOfSync(f"Command would result in changes to `{paths}`. Rerun the command "
                                  f"locally, and commit the changes.", diff=report.diff)
        return ()
    return tuple(schema.regenerate_schema_files(project, conn, style=style))


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


def lint(project: Project, *, versions: list[str] | None = None,  # type: ignore[no-untyped-def]
         database: str | Path | None = None, all: bool = False):
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
    return lint_project(project.migrations_dir, versions=versions, config=config_from_settings(project.settings),
                        database=lint_database(project, database), pending_only=not all)


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


def lint_sql(project: Project, up: str, down: str | None = None, *, name: str = "migration",  # type: ignore[no-untyped-def]
             run_in_transaction: bool = True):
    """Lint SQL being edited, against the history of the project's earlier migrations.

    :param name: the migration's folder name; the history is every migration whose version sorts
        before its version (byte order, as :func:`lightnb.migrations.discover` orders them).
    :param run_in_transaction: whether the migration runs in a transaction (metadata.toml).
    """
    from lightnb.lint import config_from_settings
    from lightnb.lint import lint_sql as lint_text
    version = migration_files.version_of(name).encode("utf-8")
    history = [m.up_sql() for m in migration_files.discover(project.migrations_dir)
               if m.version.encode("utf-8") < version]
    return lint_text(up, down, history=history, config=config_from_settings(project.settings), name=name,
                     run_in_transaction=run_in_transaction)


def test(project: Project, database: str | Path | None = None, *, versions: list[str] | None = None,
         applied: int = 0, run_tests: bool = True, on_output=None):  # type: ignore[no-untyped-def]
    """Prove migrations safe on a fresh copy of ``database``: up, down, up again, checks, tests.

    :param applied: also prove the latest N applied migrations (reverted then re-applied on the copy).
    :returns: ``lightnb.checks.CheckResult`` with one verdict.
    """
    from lightnb.checks import check
    return check(project, database=database, versions=versions, applied=applied, run_tests=run_tests,
                 on_output=on_output)


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
    from lightnb.workspace import open_readonly

    targets = [project.resolve(section["file"]) for section in project.print_schema.values()
               if isinstance(section.get("file"), str)]
    before = {path: path.read_text(encoding="utf-8") if path.is_file() else "" for path in targets}
    if write:
        conn = open_readonly(database)  # regeneration writes schema files, never the database
        try:
            schema_rs.regenerate_schema_files(project, conn, style=schema_style(project))
        finally:
            conn.close()
        after = {path: path.read_text(encoding="utf-8") for path in targets}
    else:
        conn = open_readonly(database)
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


def inspect(project: Project, result, table: str | None = None, *, rows: int = 10):  # type: ignore[no-untyped-def]
    """Show what a captured run/revert/redo did: schema diff, row counts, before/after previews.

    Everything is redacted with the project's settings.

    :param result: a result of :func:`run`, :func:`revert` or :func:`redo` called with ``capture``,
        or the ``lightnb.capture.Change`` already described from one (then only ``table`` is added).
    :param table: also inspect this table in depth (previews, row diff with samples, measured impact).
    :returns: ``lightnb.capture.Change`` (or ``lightnb.capture.Inspection`` when ``table`` is given).
    :raises WorkspaceError: when the result was not captured.
    """
    from lightnb.capture import Change, describe, inspect_change
    from lightnb.inspect.redact import Redactor
    redactor = Redactor.for_project(project)
    change = result if isinstance(result, Change) else describe(result, preview_rows=min(rows, 20),
                                                                 redactor=redactor)
    return change if table is None else inspect_change(change, table, rows=rows, redactor=redactor)
