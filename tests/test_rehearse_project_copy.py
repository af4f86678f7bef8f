"""What a rehearsal copies of the project: every migration folder, whatever its name; database files left out."""

from __future__ import annotations

from pathlib import Path

from lightnb.project import Project
from lightnb.rehearse import copy_project
from tests.support.builder import ProjectBuilder


def test_a_migration_folder_named_like_a_database_file_is_copied(tmp_path: Path) -> None:
    names = ["2024-01-01-000000_add-journal", "2024-01-02-000000_rotate-wal", "2024-01-03-000000_split_users.db"]
    builder = ProjectBuilder(tmp_path / "app")
    for name in names:
        builder.migration(name, "SELECT 1;\n", "SELECT 1;\n")
    root = builder.build()
    (root / "app.db").write_bytes(b"SQLite format 3\x00")
    (root / "app.db-wal").write_bytes(b"")
    (root / "metadata").mkdir()
    (root / "metadata" / "seed.sqlite3").write_bytes(b"x")
    copied = copy_project(Project.discover(root), root, tmp_path / "copy")
    assert sorted(p.name for p in (copied / "migrations").iterdir()) == sorted(names)
    assert all((copied / "migrations" / n / "up.sql").is_file() for n in names)
    assert not (copied / "app.db").exists() and not (copied / "app.db-wal").exists()
    assert not (copied / "metadata" / "seed.sqlite3").exists()
