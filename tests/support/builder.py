"""ProjectBuilder: write a tiny Diesel project on disk for a test (after diesel's project_builder.rs)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lightnb.project import Project


class ProjectBuilder:
    """Build ``<root>/diesel.toml`` and ``migrations/<name>/{up,down}.sql``.

    :param root: folder to build in (usually ``tmp_path``).
    """

    def __init__(self, root: Path, *, config: str | None = '[print_schema]\nfile = "src/schema.rs"\n\n'
                                                             '[migrations_directory]\ndir = "migrations"\n') -> None:
        self.root = Path(root)
        self.config = config
        self._migrations: list[tuple[str, str | None, str | None, str | None]] = []

    def migration(self, name: str, up: str | None, down: str | None = None, *,
                  metadata: str | None = None) -> ProjectBuilder:
        """Add a migration folder; ``None`` for a file means "do not create it"."""
        self._migrations.append((name, up, down, metadata))
        return self

    def build(self) -> Path:
        """Write everything and return the project root."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.config is not None:
            (self.root / "diesel.toml").write_text(self.config, encoding="utf-8")
        migrations = self.root / "migrations"
        migrations.mkdir(exist_ok=True)
        for name, up, down, metadata in self._migrations:
            folder = migrations / name
            folder.mkdir()
            if up is not None:
                (folder / "up.sql").write_text(up, encoding="utf-8")
            if down is not None:
                (folder / "down.sql").write_text(down, encoding="utf-8")
            if metadata is not None:
                (folder / "metadata.toml").write_text(metadata, encoding="utf-8")
        return self.root


def make_database(path: Path, sql: str) -> Path:
    """Create a SQLite database from a script (outside lightnb, as another program would)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return path


def content_of(path: Path) -> tuple[list[tuple], dict[str, list[tuple]]]:
    """Return (schema rows, rows of every table ordered) of a database: its content, not its bytes."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        rows = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    finally:
        conn.close()
    return schema, rows


def file_state(path: Path) -> tuple[str, int]:
    """Return (sha256, mtime_ns) of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def one_change_project(root: Path, up: str, schema: str, *, down: str = "SELECT 1;\n",
                       metadata: str | None = None) -> tuple[Project, Path]:
    """A project with one pending migration (``up``) and its database ``root/work.db`` made from ``schema``."""
    from lightnb.project import Project

    ProjectBuilder(root, config="").migration("2024-01-01-000000_change", up, down, metadata=metadata).build()
    return Project.discover(root, environ={}), make_database(root / "work.db", schema)
