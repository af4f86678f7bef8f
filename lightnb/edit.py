"""Read and write a migration's up.sql and down.sql (the workbook's edit step)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lightnb import migrations as migration_files
from lightnb.errors import MigrationError
from lightnb.migrations import Migration
from lightnb.project import Project


def find_migration(project: Project, version_or_name: str | None = None) -> Migration:
    """Return the migration named by version or folder name, or the newest one when None.

    :raises MigrationError: when the project has no migrations, or none matches.
    """
    found = migration_files.discover(project.migrations_dir)
    if not found:
        raise MigrationError(f"No migrations in {project.migrations_dir}; create one with "
                             f"`lightnb migration generate NAME`.")
    if version_or_name is None:
        return found[-1]
    for migration in found:
        if version_or_name in (migration.version, migration.name, migration.path.name):
            return migration
    raise MigrationError(f"No migration {version_or_name!r} in {project.migrations_dir}; "
                         f"`lightnb migration list` shows the names.")


def load_sql(migration: Migration) -> tuple[str, str | None]:
    """Return ``(up_sql, down_sql)`` of ``migration`` (down is None when it has no down.sql)."""
    return migration.up_sql(), (migration.down_sql() if migration.down_path else None)


def save_sql(migration: Migration, *, up: str | None = None, down: str | None = None) -> tuple[Path, ...]:
    """Write ``up`` and/or ``down`` into the migration's files atomically; return the files written.

    Each file is replaced in one step (write to a temporary file, then rename), so an
    interrupted save never leaves half a file.

    :raises MigrationError: when a file cannot be written, or ``down`` is given for a migration
        created without a down.sql.
    """
    written: list[Path] = []
    if up is not None:
        written.append(_write(migration.up_path, up))
    if down is not None:
        path = migration.down_path or migration.path / "down.sql"
        written.append(_write(path, down))
    return tuple(written)


def _write(path: Path, text: str) -> Path:
    if not text.endswith("\n"):
        text += "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as error:
        raise MigrationError(f"Cannot write {path}: {error.strerror}; check the folder's permissions.",
                             path=path) from error
    return path
