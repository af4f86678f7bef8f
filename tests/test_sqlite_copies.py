"""Copies of a database file: the bytes copied in the kernel into a file lightnb made, never into one it
truncates (on ext4 the close of a truncated-then-written file waits for the disk: as long again as the copy)."""

from __future__ import annotations

import builtins
import importlib
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lightnb.backends import sqlite


def _database(path: Path, rows: int = 2000) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(os.urandom(200),) for _ in range(rows)])
    conn.commit()
    conn.close()
    return path


def test_a_copy_never_truncates_its_destination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _database(tmp_path / "prod.db")
    truncating: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def watched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode and str(file).endswith(".db"):
            truncating.append(f"open({Path(str(file)).name}, {mode})")
        return real_open(file, mode, *args, **kwargs)

    def watched_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_TRUNC:
            truncating.append(f"os.open({Path(str(path)).name}, O_TRUNC)")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watched_open)
    monkeypatch.setattr(os, "open", watched_os_open)
    copy = sqlite.copy_database(source, tmp_path / "ws" / "workspace.db")
    monkeypatch.undo()
    assert truncating == [], truncating
    assert copy.read_bytes() == source.read_bytes()


def test_copy_bytes_copies_exactly_over_empty_and_longer_files(tmp_path: Path) -> None:
    from lightnb.backends.sqlite.files import copy_bytes
    source = tmp_path / "src"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    fresh = tmp_path / "fresh"
    copy_bytes(source, fresh)
    assert fresh.read_bytes() == source.read_bytes()
    longer = tmp_path / "longer"
    longer.write_bytes(b"x" * (5 * 1024 * 1024))
    copy_bytes(source, longer)
    assert longer.read_bytes() == source.read_bytes()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    copy_bytes(empty, longer)
    assert longer.read_bytes() == b""


def test_a_file_system_that_clones_files_copies_the_database_at_once(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """As cp: a clone (btrfs, XFS) when the file system makes one, no byte copy then; else the bytes are copied."""
    from lightnb.backends.sqlite import copies, files

    source = tmp_path / "prod.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO things (name) VALUES (?)", [(f"thing {i}",) for i in range(500)])
    conn.close()
    cloned: list[int] = []

    def clone(source_fd: int, dest_fd: int) -> bool:  # what FICLONE leaves: the same bytes, in one call
        os.write(dest_fd, os.pread(source_fd, os.fstat(source_fd).st_size, 0))
        cloned.append(dest_fd)
        return True

    def no_byte_copy(*args: object) -> int:
        raise AssertionError("the bytes were copied after a clone")

    monkeypatch.setattr(files, "_clone", clone)
    monkeypatch.setattr(files.os, "copy_file_range", no_byte_copy, raising=False)
    copies.copy_database(source, tmp_path / "copy.db")
    assert cloned and (tmp_path / "copy.db").read_bytes() == source.read_bytes()
    monkeypatch.undo()
    copies.copy_database(source, tmp_path / "copy2.db")  # this file system: a clone, else the bytes copied
    assert (tmp_path / "copy2.db").read_bytes() == source.read_bytes()


def test_ctrl_c_stops_a_restore_between_two_runs_of_pages_and_leaves_the_database_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copies: Any = importlib.import_module("lightnb.backends.sqlite.copies")
    saved = _database(tmp_path / "saved.db", rows=3000)  # about 170 pages of 4 KiB
    target = _database(tmp_path / "copy.db", rows=10)
    monkeypatch.setattr(copies, "RESTORE_PAGES", 16, raising=False)
    runs: list[int] = []

    def between(status: int, remaining: int, total: int) -> None:
        runs.append(remaining)
        if len(runs) == 3:
            raise KeyboardInterrupt  # what Python's SIGINT handler raises, run between two runs of pages

    monkeypatch.setattr(copies, "_between_runs", between, raising=False)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        with pytest.raises(KeyboardInterrupt):
            sqlite.restore(conn, saved)
        assert len(runs) == 3 and runs[-1] > 0  # stopped with pages left to copy
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (10,)  # as it was
        monkeypatch.setattr(copies, "_between_runs", lambda *_: None)
        sqlite.restore(conn, saved)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (3000,)
    finally:
        conn.close()
