"""Where a project's model structs and schema.rs live."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.backends import backend_for, is_postgres_url
from lightnb.errors import DatabaseError, LightnbError, ModelDrift

if TYPE_CHECKING:
    from lightnb.project import Project


def models_dir(project: Project, given: str | Path | None = None) -> Path:
    """Return the models folder: ``given``, else ``models_dir`` in lightnb.toml, else ``src/models``.

    Falls back to ``src/models.rs`` when the project keeps its models in one file.

    :raises ProjectError: when ``models_dir`` in lightnb.toml is not a text path.
    :raises ModelDrift: when the path is a file that is not Rust source.
    """
    if given is not None:
        return _models_path(Path(given), "--models-dir")
    configured = project.settings.models_dir
    if configured is not None:
        return _models_path(project.resolve(configured), "models_dir in lightnb.toml")
    folder = project.config_dir / "src" / "models"
    single = project.config_dir / "src" / "models.rs"
    return single if not folder.exists() and single.is_file() else folder


def _models_path(path: Path, origin: str) -> Path:
    if path.is_file() and path.suffix != ".rs":
        raise ModelDrift(f"{origin} {path} is a file, not a models folder or a .rs file; give the folder "
                         f"holding the model structs (e.g. src/models)", path=path)
    return path


def schema_file(project: Project, given: str | Path | None = None) -> Path:
    """Return schema.rs: ``given``, else ``[print_schema] file`` of diesel.toml, else ``src/schema.rs``."""
    if given is not None:
        return Path(given)
    configured = project.print_schema.get("default", {}).get("file")
    if isinstance(configured, str):
        return project.resolve(configured)
    return project.config_dir / "src" / "schema.rs"


def schema_text_from_database(project: Project) -> str:
    """Print schema.rs from the project's database (opened read-only), as diesel print-schema would:
    a SQLite file, or the database a ``postgres://`` URL names.

    :raises DatabaseError: when the database cannot be opened.
    """
    from lightnb.schema import options_from_config, print_schema

    url = project.database_url
    if is_postgres_url(url):
        assert url is not None  # is_postgres_url says so
        from lightnb.backends.postgres.project_cluster import ensure_running
        from lightnb.schema.postgres import print_schema_postgres  # read-only session
        ensure_running(project, url)
        return print_schema_postgres(url, options_from_config(project.print_schema.get("default", {}),
                                                              project.config_dir))
    path = project.database_path()
    if not path.is_file():
        raise DatabaseError(f"database {path} not found; check --database-url or DATABASE_URL", path=path)
    options = options_from_config(project.print_schema.get("default", {}), project.config_dir)
    conn = backend_for(path).open_readonly(path)
    try:
        return print_schema(conn, options)
    finally:
        conn.close()


def unique_columns(project: Project) -> dict[str, tuple[str, ...]]:
    """Return, per table, the columns a UNIQUE constraint or index covers alone (read-only catalogue).

    The catalogue is read through the backend the database URL selects (a SQLite file, or the database
    a ``postgres://`` URL names, the project's own cluster started if it is the project's). Empty when
    the project's database is not there or cannot be read: callers then fall back to the primary key.
    """
    url = project.database_url
    target: str | Path
    if is_postgres_url(url):
        assert url is not None  # is_postgres_url says so
        from lightnb.backends.postgres.project_cluster import ensure_running
        target = url
        try:
            ensure_running(project, url)
        except LightnbError:
            return {}
    else:
        try:
            target = project.database_path()
        except LightnbError:
            return {}
        if not target.is_file():
            return {}
    backend = backend_for(url or "")
    try:
        conn = backend.open_readonly(target)
    except (LightnbError, backend.Error):
        return {}
    try:
        catalog = backend.read_catalog(conn)
    except (LightnbError, backend.Error):
        return {}
    finally:
        conn.close()
    out: dict[str, tuple[str, ...]] = {}
    for table in catalog.tables:
        single = tuple(i.columns[0] for i in table.indexes if i.unique and not i.partial and len(i.columns) == 1)
        if single:
            out[table.name] = single
    return out


def src_root_for(models: Path, project: Project | None = None) -> Path:
    """Return the crate's ``src`` folder for module paths (the ``src`` above the models, if any)."""
    for parent in [models, *models.parents]:
        if parent.name == "src":
            return parent
    if project is not None and (project.config_dir / "src").is_dir():
        return project.config_dir / "src"
    return models.parent
