"""Where a project's model structs and schema.rs live."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import DatabaseError

if TYPE_CHECKING:
    from lightnb.project import Project


def models_dir(project: Project, given: str | Path | None = None) -> Path:
    """Return the models folder: ``given``, else ``models_dir`` in lightnb.toml, else ``src/models``.

    Falls back to ``src/models.rs`` when the project keeps its models in one file.
    """
    if given is not None:
        return Path(given)
    configured = project.settings.get("models_dir")
    if isinstance(configured, str):
        return project.resolve(configured)
    folder = project.config_dir / "src" / "models"
    single = project.config_dir / "src" / "models.rs"
    return single if not folder.exists() and single.is_file() else folder


def schema_file(project: Project, given: str | Path | None = None) -> Path:
    """Return schema.rs: ``given``, else ``[print_schema] file`` of diesel.toml, else ``src/schema.rs``."""
    if given is not None:
        return Path(given)
    configured = project.print_schema.get("default", {}).get("file")
    if isinstance(configured, str):
        return project.resolve(configured)
    return project.config_dir / "src" / "schema.rs"


def schema_text_from_database(project: Project) -> str:
    """Print schema.rs from the project's database (opened read-only), as diesel print-schema would.

    :raises DatabaseError: when the database cannot be opened.
    """
    from lightnb.schema import options_from_config, print_schema

    path = project.database_path()
    if not path.is_file():
        raise DatabaseError(f"database {path} not found; check --database-url or DATABASE_URL", path=path)
    options = options_from_config(project.print_schema.get("default", {}), project.config_dir)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return print_schema(conn, options)
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot read the schema of {path}: {error}; check that it is a SQLite "
                            f"database", path=path) from error
    finally:
        conn.close()


def src_root_for(models: Path, project: Project | None = None) -> Path:
    """Return the crate's ``src`` folder for module paths (the ``src`` above the models, if any)."""
    for parent in [models, *models.parents]:
        if parent.name == "src":
            return parent
    if project is not None and (project.config_dir / "src").is_dir():
        return project.config_dir / "src"
    return models.parent
