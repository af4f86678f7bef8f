"""A captured run keeps its "before" copy at any size (no size cliff); only a full disk falls back."""

from __future__ import annotations

import shutil
import sqlite3
from collections import namedtuple
from pathlib import Path

import pytest

from lightnb import steps
from lightnb.project import Project


def _project(tmp_path: Path) -> tuple[Project, Path]:
    folder = tmp_path / "migrations" / "2024-01-01-000000_touch"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text("UPDATE t SET v = v + 1;\n", encoding="utf-8")
    (folder / "down.sql").write_text("UPDATE t SET v = v - 1;\n", encoding="utf-8")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    db = tmp_path / "work.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t (v) VALUES (1), (2);")
    conn.close()
    return Project.discover(tmp_path, environ={}), db


def test_auto_keeps_a_copy_and_hashes_nothing(tmp_path: Path) -> None:
    project, db = _project(tmp_path)
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    assert result.before_copy is not None and Path(result.before_copy).is_file()
    assert all(t.fingerprint is None for t in result.before.tables)


def test_a_disk_without_room_falls_back_to_fingerprints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, db = _project(tmp_path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(1 << 30, 1 << 30, 1024))
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    assert result.before_copy is None
    assert all(t.fingerprint is not None for t in result.before.tables)
