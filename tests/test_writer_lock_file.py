"""The writer lock's file: a fresh one is written, never truncated (closing a truncated file makes ext4 wait
for its blocks to reach the disk, behind whatever else is being written, e.g. a snapshot's copy)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lightnb import runner, writer_lock


class _Spy:
    """A file handle that records its truncations."""

    def __init__(self, handle: Any, truncated: list[str]) -> None:
        self._handle = handle
        self._truncated = truncated

    def truncate(self, *args: Any) -> int:
        self._truncated.append(self._handle.name)
        return self._handle.truncate(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


@pytest.fixture()
def truncated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(writer_lock, "open", lambda *a, **k: _Spy(open(*a, **k), seen), raising=False)
    return seen


def test_a_fresh_lock_file_is_not_truncated(tmp_path: Path, truncated: list[str]) -> None:
    database = tmp_path / "app.db"
    with runner.writer_lock(database):
        assert Path(runner.lock_path(str(database))).read_text(encoding="utf-8") == f"{os.getpid()}\n"
    assert truncated == []
    assert not os.path.exists(runner.lock_path(str(database)))


def test_a_lock_file_left_by_a_killed_holder_is_emptied_first(tmp_path: Path, truncated: list[str]) -> None:
    database = tmp_path / "app.db"
    Path(runner.lock_path(str(database))).write_text("4194303 an old holder\n", encoding="utf-8")
    with runner.writer_lock(database):
        assert Path(runner.lock_path(str(database))).read_text(encoding="utf-8") == f"{os.getpid()}\n"
    assert truncated == [runner.lock_path(str(database))]
