"""diesel's ``setup`` and ``database setup|reset|drop`` for SQLite, guarded like ``migration run``.

Behaviour and output follow diesel_cli 2.3.12 (``src/main.rs`` ``run_setup_command``,
``run_database_command``; ``src/database.rs``; diesel_spec.md §2.10–§2.11):

* ``setup``: create the migrations folder (``Creating migrations directory at: …`` and a ``.keep``),
  write the default diesel.toml when there is none, then create the database
  (``Creating database: …``) and, when it has no ``__diesel_schema_migrations`` table yet, run every
  migration (``Running migration …``). No schema regeneration.
* ``database setup``: the database part of ``setup``, then regenerate the schema files.
* ``database reset``: drop, then ``database setup``.
* ``database drop``: delete the database file (``Dropping database: …``) when it exists.

Which database (decided in :func:`lightnb.target.resolve_database`): an explicit, non-empty
``--database-url`` as diesel reads it; otherwise the project's workspace (``.lightnb/workspace.db``)
when there is one, even after a drop; otherwise ``DATABASE_URL``. The project's declared production
database is refused for every spelling of its path, and a file that is not a SQLite database is
never deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from lightnb import migrate
from lightnb import migrations as migration_files
from lightnb.backends import sqlite
from lightnb.backends.sqlite import SQLITE_HEADER
from lightnb.catalog import TRACKING_TABLE
from lightnb.errors import DatabaseError, LightnbError, ProjectError, with_advice
from lightnb.project import CONFIG_NAME, Project, config_file_path, find_project_root
from lightnb.records import replace
from lightnb.runner import StepObserver
from lightnb.target import DatabaseTarget, given_url, refuse_production, resolve_database
from lightnb.target import resolve_database as resolve  # its name here before it moved to lightnb.target

# diesel_cli src/default_files/diesel.toml, byte for byte (2.2.0+).
DEFAULT_DIESEL_TOML = (
    "# For documentation on how to configure this file,\n"
    "# see https://diesel.rs/guides/configuring-diesel-cli\n"
    "\n"
    "[print_schema]\n"
    'file = "src/schema.rs"\n'
    'custom_type_derives = ["diesel::query_builder::QueryId", "Clone"]\n'
    "\n"
    "[migrations_directory]\n"
    'dir = "migrations"\n'
)

Say = Callable[[str], None]


def _postgres_url(project: Project, database_url: str | None) -> str | None:
    """Return the PostgreSQL URL the verb acts on (``--database-url``, else DATABASE_URL), or None for SQLite."""
    from lightnb.backends import is_postgres_url
    url = given_url(project, database_url)
    return url if url and is_postgres_url(url) else None


def _refuse(project: Project, target: DatabaseTarget) -> None:
    for path in {target.path, target.drop_path, target.diesel_path} - {None}:
        assert path is not None
        refuse_production(project, path.resolve() if not path.is_absolute() else path)


def setup(project: Project, *, database_url: str | None = None, config_file: str | Path | None = None,
          migrations_shown: str | None = None, say: Say = print, on_step: StepObserver | None = None,
          default_migration: bool = True) -> None:
    """diesel's top-level ``setup`` (no schema regeneration).

    :param config_file: the ``--config-file`` given, if any (where the default diesel.toml goes).
    :param migrations_shown: how to name the migrations folder in ``Creating migrations directory at:``
        (diesel prints ``--migration-dir``/``MIGRATION_DIRECTORY`` as given).
    """
    folder = _migrations_folder(project)
    if folder.exists():
        gitkeep = folder / ".gitkeep"
        if gitkeep.is_file() and not gitkeep.is_symlink():
            gitkeep.unlink()  # diesel's clean-up of older diesel_cli versions
    else:
        shown = migrations_shown if migrations_shown is not None and project.migrations_origin in (
            "argument", "environment") else str(folder)
        say(f"Creating migrations directory at: {shown}")
        _create_folder(folder)
    _write_default_config(project, folder, config_file)
    if (url := _postgres_url(project, database_url)) is not None:
        from lightnb.backends.postgres import verbs
        verbs.setup_database(project, url, folder, say=say, on_step=on_step, default_migration=default_migration)
        return
    target = resolve_database(project, database_url)
    setup_database(project, target, folder, say=say, on_step=on_step, regenerate=False)


def _migrations_folder(project: Project) -> Path:
    if project.migrations_origin != "default":
        return project.migrations_dir
    root = find_project_root(Path.cwd())
    if root is None:
        raise ProjectError(with_advice(
            f"Unable to find diesel.toml or Cargo.toml in {migration_files.rust_debug(str(Path.cwd()))} or any "
            f"parent directories.", "run it in the Rust project, or create diesel.toml there"))
    return root / "migrations"


def _create_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".keep").touch()
    except OSError as error:
        raise LightnbError(with_advice(f"Encountered an IO error: {error.strerror} (os error {error.errno}) for "
                                       f"`{folder}`", "choose a writable folder"), path=folder) from error


def _write_default_config(project: Project, folder: Path, given: str | Path | None) -> None:
    path = config_file_path(Path.cwd(), given)
    if path.exists():
        return
    root = find_project_root(Path.cwd())
    if root is None:
        raise ProjectError(with_advice(
            f"Unable to find diesel.toml or Cargo.toml in {migration_files.rust_debug(str(Path.cwd()))} or any "
            f"parent directories.", "run it in the Rust project, or create diesel.toml there"))
    relative = _relative(folder, root).replace("\\", "\\\\")
    text = DEFAULT_DIESEL_TOML.replace('dir = "migrations"', f'dir = "{relative}"')
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _relative(target: Path, base: Path) -> str:
    """diesel's ``convert_absolute_path_to_relative`` (both canonicalised)."""
    relative = os.path.relpath(target.resolve(), base.resolve())
    return "" if relative == "." else relative


def database_setup(project: Project, *, database_url: str | None = None, say: Say = print,
                   on_step: StepObserver | None = None, locked_schema: bool = False,
                   default_migration: bool = True) -> None:
    """diesel's ``database setup``: create the database, migrate it if new, regenerate the schema files."""
    if (url := _postgres_url(project, database_url)) is not None:
        from lightnb.backends.postgres import verbs
        verbs.setup_database(project, url, _existing_migrations(project), say=say, on_step=on_step, regenerate=True,
                             locked_schema=locked_schema, default_migration=default_migration)
        return
    target = resolve_database(project, database_url)
    setup_database(project, target, _existing_migrations(project), say=say, on_step=on_step, regenerate=True,
                   locked_schema=locked_schema)


def database_reset(project: Project, *, database_url: str | None = None, say: Say = print,
                   on_step: StepObserver | None = None, locked_schema: bool = False,
                   default_migration: bool = True) -> None:
    """diesel's ``database reset``: drop, then ``database setup``."""
    if (url := _postgres_url(project, database_url)) is not None:
        from lightnb.backends.postgres import verbs
        folder = _existing_migrations(project)
        verbs.drop(project, url, say=say)
        verbs.setup_database(project, url, folder, say=say, on_step=on_step, regenerate=True,
                             locked_schema=locked_schema, default_migration=default_migration)
        return
    target = resolve_database(project, database_url)
    folder = _existing_migrations(project)
    drop(project, target, say=say)
    setup_database(project, target, folder, say=say, on_step=on_step, regenerate=True, locked_schema=locked_schema)


def _existing_migrations(project: Project) -> Path:
    if project.migrations_origin == "default":
        raise migration_files.missing_folder_error(project.migrations_dir, project.migrations_origin)
    return project.migrations_dir


def database_drop(project: Project, *, database_url: str | None = None, say: Say = print) -> None:
    """diesel's ``database drop``."""
    if (url := _postgres_url(project, database_url)) is not None:
        from lightnb.backends.postgres import verbs
        verbs.drop(project, url, say=say)
        return
    drop(project, resolve_database(project, database_url), say=say)


def drop(project: Project, target: DatabaseTarget, *, say: Say = print) -> None:
    """Delete the database file when it exists, as diesel does (its raw URL used as a path)."""
    _refuse(project, target)
    path = target.drop_path
    if not path.exists():
        return
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise DatabaseError(f"Refusing to drop {path}: it is not a SQLite database (lightnb deletes "
                                    f"only SQLite files); check DATABASE_URL or --database-url.", path=path)
    say(f"Dropping database: {target.shown}")
    try:
        path.unlink()
    except OSError as error:
        raise LightnbError(with_advice(f"Encountered an IO error: {error.strerror} (os error {error.errno}) for "
                                       f"`{path}`", "check the path and its permissions"), path=path) from error
    for suffix in ("-journal", "-wal", "-shm"):  # SQLite's side files of the deleted database
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def setup_database(project: Project, target: DatabaseTarget, migrations_dir: Path, *, say: Say = print,
                   on_step: StepObserver | None = None, regenerate: bool = False, locked_schema: bool = False) -> None:
    """Create the database if needed, then run every migration when it has no tracking table yet.

    diesel_cli database.rs ``setup_database``; ``regenerate`` adds ``database setup``'s schema
    regeneration (main.rs ``regenerate_schema_if_file_specified``).
    """
    _refuse(project, target)
    if target.diesel_path is None or not target.diesel_path.exists():
        say(f"Creating database: {target.shown}")
    conn = sqlite.connect(target.location)
    try:
        has_table = sqlite.has_table(conn, TRACKING_TABLE)
        if has_table and regenerate:
            migrate.regenerate_schema_files(project, conn, locked=locked_schema)
    finally:
        conn.close()
    if has_table:
        return
    if target.location.memory:
        # diesel opens a new connection, so a new in-memory database, for each step
        migrate.run(_with_migrations(project, migrations_dir), target.location, on_step=on_step,
                  regenerate_schema=regenerate, locked_schema=locked_schema)
        return
    if not migrations_dir.is_dir():
        raise migration_files.missing_folder_error(migrations_dir, project.migrations_origin)
    database = target.location if target.location.parameters else target.path
    assert database is not None
    migrate.run(_with_migrations(project, migrations_dir), database, on_step=on_step,
              regenerate_schema=regenerate, locked_schema=locked_schema)


def _with_migrations(project: Project, folder: Path) -> Project:
    if folder == project.migrations_dir:
        return project
    return replace(project, migrations_dir=folder)


__all__ = ["CONFIG_NAME", "DEFAULT_DIESEL_TOML", "DatabaseTarget", "database_drop", "database_reset",
           "database_setup", "drop", "resolve", "setup", "setup_database"]
