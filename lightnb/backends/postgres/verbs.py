"""diesel's migration and database verbs on a PostgreSQL database, named by a ``postgres://`` URL.

``migration run|revert|redo|list|pending``, ``setup`` and ``database setup|reset|drop`` as diesel_cli
2.3 does them on PostgreSQL (diesel_spec.md §2, diesel_cli ``database.rs``):

* each migration runs in its own transaction with the INSERT (or DELETE) of its version, unless its
  metadata.toml says ``run_in_transaction = false``; a redo runs in one outer transaction (the
  migrations become savepoints) unless one of them says ``run_in_transaction = false``;
* the database is created on the server the URL names (``CREATE DATABASE`` from the ``postgres``
  database, ``Creating database: NAME``) and dropped the same way (``Dropping database: NAME``);
* after ``run``/``revert``/``redo`` and ``database setup|reset`` every configured schema file is
  regenerated from the database (``--locked-schema`` compares instead).

A database the project declares as production (``production`` in lightnb.toml) is never written.
Listing never writes: a database without ``__diesel_schema_migrations`` has nothing applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from lightnb import migrations as migration_files
from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.connect import ConnectError, connect, settle, transaction
from lightnb.backends.postgres.guard import refuse_escapes
from lightnb.backends.postgres.initial_setup import INITIAL_SETUP_VERSION, write_initial_setup
from lightnb.backends.postgres.migrate import (
    applied_versions,
    create_database_if_missing,
    ensure_tracking_table,
    has_tracking_table,
    run_migration,
    sql_error,
)
from lightnb.backends.postgres.project_cluster import ensure_running
from lightnb.errors import (
    DatabaseBusyError,
    FileWriteError,
    MigrationError,
    SchemaOutOfSync,
    WorkspaceError,
    with_advice,
)
from lightnb.files import write_text_atomic
from lightnb.listing import ListResult, MigrationStatus
from lightnb.migrations import Migration
from lightnb.project import Project
from lightnb.run_result import RunResult
from lightnb.runner import TRACKING_TABLE, StepEvent, StepObserver

Say = Callable[[str], None]
_DELETE_VERSION = f"DELETE FROM {TRACKING_TABLE} WHERE version = %s"
# One lightnb migrates a database at a time: a session-level advisory lock (per database), released
# when the connection closes, whatever happens.
_WRITER_LOCK = "SELECT pg_try_advisory_lock(hashtext('lightnb: migrating'))"
# The server releases a session's locks only after its client has gone: a command that starts just as the
# last one ends may find the lock still held for a moment, so it asks again for a short while.
_WRITER_WAIT = 2.0


def _take_writer_lock(conn: Any) -> bool:
    deadline = time.monotonic() + _WRITER_WAIT
    while conn.execute(_WRITER_LOCK).fetchone() != (True,):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True

__all__ = ["INITIAL_SETUP_VERSION", "database_label", "drop", "list_migrations", "redo",
           "refuse_production", "regenerate_schema_files", "revert", "run", "setup_database"]


def database_label(url: str) -> str:
    """Return how results name a PostgreSQL database: ``postgres://HOST/NAME`` without the password."""
    return pgurl.redact(url)


def _identity(url: str) -> tuple[str, str, str]:
    params = pgurl.parse(url)
    return (params.get("host") or params.get("hostaddr") or "", params.get("port") or "5432",
            pgurl.database_of(params))


def refuse_production(project: Project, url: str) -> None:
    """Raise when ``url`` names the project's production database (``production`` in lightnb.toml).

    :raises WorkspaceError: one line naming the database and what to do instead.
    """
    production = project.settings.get("production")
    if not isinstance(production, str) or not pgurl.is_url(production):
        return
    if _identity(production) == _identity(url):
        raise WorkspaceError(f"Refusing to write {pgurl.describe(url)}: it is the project's production database "
                             f"(`production` in lightnb.toml); run the migrations on a copy of it instead.")


def _event(on_step: StepObserver | None, kind: str, migration: Migration, direction: str) -> None:
    if on_step is not None:
        on_step(StepEvent(kind, migration, direction))  # type: ignore[arg-type]


def _revert_one(conn: psycopg.Connection[Any], migration: Migration) -> None:
    """Run down.sql and delete the version's row: in one transaction unless ``run_in_transaction = false``."""
    script = migration.down_sql()
    if not script:
        raise MigrationError(f"Failed to run {migration.name} with: Attempted to run an empty migration; "
                             f"write its SQL in {migration.down_path}.", path=migration.down_path,
                             version=migration.version)
    refuse_escapes(migration, script, "down.sql")

    def apply() -> None:
        try:
            conn.execute(script.encode("utf-8"), prepare=False)  # diesel's batch_execute
        except psycopg.Error as error:
            raise sql_error(migration, script, error, "down.sql") from error
        conn.execute(_DELETE_VERSION, (migration.version,))

    if migration.run_in_transaction:
        with transaction(conn):
            apply()
    else:
        try:
            apply()
        except BaseException:
            settle(conn)
            raise


def _require(migrations: Sequence[Migration], version: str) -> Migration:
    found = migration_files.find(list(migrations), version)
    if found is None:
        raise MigrationError(with_advice(
            f"Unable to find migration version {version} to revert in the migrations directory.",
            f"restore its folder, or remove the row from {TRACKING_TABLE} if it is gone for good"), version=version)
    return found


def _apply_up(conn: psycopg.Connection[Any], migration: Migration, on_step: StepObserver | None) -> None:
    _event(on_step, "migration", migration, "up")
    run_migration(conn, migration)
    _event(on_step, "done", migration, "up")


def _apply_down(conn: psycopg.Connection[Any], migration: Migration, on_step: StepObserver | None) -> None:
    _event(on_step, "migration", migration, "down")
    _revert_one(conn, migration)
    _event(on_step, "done", migration, "down")


def _run_pending(conn: psycopg.Connection[Any], migrations: Sequence[Migration], *, limit: int | None,
                 on_step: StepObserver | None) -> list[Migration]:
    done = set(applied_versions(conn))
    todo = [m for m in migrations if m.version not in done]
    if limit is not None:
        todo = todo[:limit]
    for migration in todo:
        _apply_up(conn, migration, on_step)
    return todo


def _revert(conn: psycopg.Connection[Any], migrations: Sequence[Migration], *, number: int, all: bool,
            on_step: StepObserver | None) -> list[Migration]:
    reverted = []
    for _ in range(len(applied_versions(conn)) if all else max(0, number)):
        versions = applied_versions(conn)
        if not versions:
            break
        migration = _require(migrations, versions[0])
        _apply_down(conn, migration, on_step)
        reverted.append(migration)
    return reverted


def _redo(conn: psycopg.Connection[Any], migrations: Sequence[Migration], *, number: int, all: bool,
          on_step: StepObserver | None) -> list[Migration]:
    versions = applied_versions(conn)
    chosen = versions if all else versions[: max(0, number)]
    if not chosen:
        return []
    # diesel decides the outer transaction from the folders it finds (diesel_cli migrations/mod.rs)
    found = [m for m in (migration_files.find(list(migrations), v) for v in chosen) if m is not None]
    outer = builtins_all(m.run_in_transaction for m in found)

    def work() -> list[Migration]:
        targets = []
        for version in chosen:
            migration = _require(migrations, version)
            _apply_down(conn, migration, on_step)
            targets.append(migration)
        again = sorted(targets, key=lambda m: m.version.encode("utf-8"))
        for migration in again:
            _apply_up(conn, migration, on_step)
        return again

    if outer:
        with conn.transaction():  # the migrations' own transactions become savepoints
            return work()
    return work()


def builtins_all(values: Any) -> bool:
    """``all()`` (the verbs' keyword argument ``all`` shadows the builtin in this module's functions)."""
    return all(values)


def _migrate(project: Project, url: str, direction: str,
             action: Callable[[psycopg.Connection[Any], list[Migration]], list[Migration]], *,
             regenerate_schema: bool, locked_schema: bool, style: str | None) -> RunResult:
    refuse_production(project, url)
    found = migration_files.discover(project.migrations_dir)
    ensure_running(project, url)
    if regenerate_schema and not locked_schema:
        _writable_schema_files(project)  # before any migration runs
    started = time.perf_counter()
    with connect(url) as conn:
        if not _take_writer_lock(conn):
            raise DatabaseBusyError(f"Another lightnb is migrating {pgurl.describe(url)}; wait for it to finish, "
                                    f"then run again — this command changed nothing.")
        ensure_tracking_table(conn)  # diesel creates it before reading what is applied
        done = action(conn, found)
    files: tuple[Path, ...] = ()
    if regenerate_schema:
        try:
            files = regenerate_schema_files(project, url, locked=locked_schema, style=style)
        except FileWriteError as error:
            did = (f"{len(done)} migration(s) {'reverted' if direction == 'down' else 'applied'}" if done
                   else "No migration changed")
            raise FileWriteError(f"{did} on {pgurl.describe(url)}, but the schema file was not regenerated: "
                                 f"{error} Once fixed, regenerate it with `lightnb print-schema > {error.path}`.",
                                 path=error.path) from error
    return RunResult(direction=direction, database=database_label(url), migrations=tuple(done),
                     seconds=time.perf_counter() - started, schema_files=files)


def run(project: Project, url: str, *, limit: int | None = None, on_step: StepObserver | None = None,
        regenerate_schema: bool = True, locked_schema: bool = False, style: str | None = None) -> RunResult:
    """Apply every pending migration (or the next ``limit``), each in its own transaction.

    :raises SqlError: naming the migration, file and line; that migration left nothing behind.
    :raises ConnectError: when the server cannot be reached or refuses the connection.
    """
    return _migrate(project, url, "up", lambda conn, found: _run_pending(conn, found, limit=limit, on_step=on_step),
                    regenerate_schema=regenerate_schema, locked_schema=locked_schema, style=style)


def revert(project: Project, url: str, *, number: int = 1, all: bool = False, on_step: StepObserver | None = None,
           regenerate_schema: bool = True, locked_schema: bool = False, style: str | None = None) -> RunResult:
    """Revert the latest ``number`` migrations (or all), newest first, each in its own transaction."""
    return _migrate(project, url, "down",
                    lambda conn, found: _revert(conn, found, number=number, all=all, on_step=on_step),
                    regenerate_schema=regenerate_schema, locked_schema=locked_schema, style=style)


def redo(project: Project, url: str, *, number: int = 1, all: bool = False, on_step: StepObserver | None = None,
         regenerate_schema: bool = True, locked_schema: bool = False, style: str | None = None) -> RunResult:
    """Revert then re-apply the latest ``number`` migrations (or all), in one transaction when possible."""
    return _migrate(project, url, "redo",
                    lambda conn, found: _redo(conn, found, number=number, all=all, on_step=on_step),
                    regenerate_schema=regenerate_schema, locked_schema=locked_schema, style=style)


def list_migrations(project: Project, url: str) -> ListResult:
    """Return every migration with its applied state; nothing is written (no table: nothing applied)."""
    found = migration_files.discover(project.migrations_dir)
    ensure_running(project, url)
    with connect(url, read_only=True) as conn:
        has_table = has_tracking_table(conn)
        applied = set(applied_versions(conn)) if has_table else set()
    known = {m.version for m in found}
    return ListResult(
        database=database_label(url),
        migrations=tuple(MigrationStatus(m.name, m.version, m.version in applied, m.down_path is not None)
                         for m in found),
        applied_missing_on_disk=tuple(sorted(applied - known)),
    )


def _schema_configurations(project: Project, style: str) -> list[Any]:
    from lightnb.schema.config import configurations
    from lightnb.schema.style import resolve_style
    chosen = []
    for options in configurations(project.print_schema, Path(project.config_dir)):
        if options.file is not None:
            chosen.append(replace(options, style=resolve_style(style, options.file)))
    return chosen


def _writable_schema_files(project: Project) -> list[Any]:
    """Check that every configured schema file may be written (never a database, never a folder)."""
    from lightnb.schema.target import check_schema_target
    configurations = _schema_configurations(project, "2.3")
    for options in configurations:
        check_schema_target(options.file)
    return configurations


def regenerate_schema_files(project: Project, url: str, *, locked: bool = False,
                            style: str | None = None) -> tuple[Path, ...]:
    """Regenerate every configured schema file from the database, as diesel does after a migration (§2.9).

    :param locked: compare instead of writing (``--locked-schema``); raise when a file would change.
    :param style: diesel output style; ``auto`` (default) keeps each existing file's style.
    :raises SchemaOutOfSync: with ``locked``, naming the files that differ, with the diff.
    :raises FileWriteError: when a target is not a schema file, or cannot be written.
    """
    from lightnb.schema.postgres import print_schemas_postgres
    chosen = style or (project.settings.get("schema") or {}).get("style") or "auto"
    if not locked:
        _writable_schema_files(project)
    configurations = _schema_configurations(project, chosen)
    if not configurations:
        return ()
    printed = print_schemas_postgres(url, configurations)
    if locked:
        differing: list[str] = []
        diff: list[str] = []
        for one in printed:
            path = one.options.file
            assert path is not None
            existing = path.read_text(encoding="utf-8") if path.is_file() else ""
            if existing.splitlines() != one.text.splitlines():
                import difflib  # only a locked schema that differs shows a diff
                differing.append(str(path))
                diff += difflib.unified_diff(existing.splitlines(keepends=True), one.text.splitlines(keepends=True),
                                             fromfile=path.name, tofile="new schema")
        if differing:
            raise SchemaOutOfSync(f"Command would result in changes to `{', '.join(differing)}`. Rerun the "
                                  f"command locally, and commit the changes.", diff="".join(diff))
        return ()
    written: list[Path] = []
    for one in printed:
        path = one.options.file
        assert path is not None
        write_text_atomic(path, one.text, newline="\n", what="schema file")
        written.append(path)
    return tuple(written)


def _has_tracking_table(url: str) -> bool:
    with connect(url) as conn:
        return has_tracking_table(conn)


def setup_database(project: Project, url: str, migrations_dir: Path, *, say: Say = print,
                   on_step: StepObserver | None = None, regenerate: bool = False, locked_schema: bool = False,
                   default_migration: bool = True) -> None:
    """diesel's ``setup_database`` on PostgreSQL: create the database on the server when it does not exist
    (``Creating database: NAME``), write diesel's initial-setup migration (unless ``default_migration`` is
    False or it exists), then run every migration when ``__diesel_schema_migrations`` does not exist yet.

    :param regenerate: regenerate the schema files afterwards (``database setup|reset``).
    """
    refuse_production(project, url)
    ensure_running(project, url)
    create_database_if_missing(url, announce=say)
    if default_migration:
        migrations_dir.mkdir(parents=True, exist_ok=True)
        write_initial_setup(migrations_dir)
    if _has_tracking_table(url):
        if regenerate:
            regenerate_schema_files(project, url, locked=locked_schema)
        return
    if not migrations_dir.is_dir():
        raise migration_files.missing_folder_error(migrations_dir, project.migrations_origin)
    with_folder = project if migrations_dir == project.migrations_dir else replace_migrations(project, migrations_dir)
    run(with_folder, url, on_step=on_step, regenerate_schema=regenerate, locked_schema=locked_schema)


def replace_migrations(project: Project, folder: Path) -> Project:
    """Return the project with another migrations folder."""
    return Project(project.root, project.config_file, project.config_dir, folder, project.print_schema,
                   project.database_url, project.settings, project.migrations_origin)


def drop(project: Project, url: str, *, say: Say = print) -> None:
    """diesel's ``database drop`` on PostgreSQL: ``DROP DATABASE IF EXISTS`` from the ``postgres`` database
    (``template1`` when the URL names ``postgres``), saying ``Dropping database: NAME`` when it exists.

    :raises ConnectError: when the server cannot be reached, or refuses the drop (one line, what to do).
    """
    refuse_production(project, url)
    ensure_running(project, url)
    name = pgurl.database_of(pgurl.parse(url))
    admin = pgurl.with_database(url, "template1" if name == "postgres" else "postgres")
    with connect(admin) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if not exists:
            return
        say(f"Dropping database: {name}")
        try:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            advice = ("close the other sessions on it (psql, the application) and drop again"
                      if "being accessed by other users" in reason else
                      "use a role that owns it, or drop it by hand")
            raise ConnectError(f"Cannot drop database `{name}` on {pgurl.where(pgurl.parse(url))}: {reason}; "
                               f"{advice}.") from error


def applied_on(url: str) -> list[str]:
    """Return the versions applied on a database, newest first (none when it has no tracking table)."""
    with connect(url, read_only=True) as conn:
        if not has_tracking_table(conn):
            return []
        return applied_versions(conn)
