"""The migration benchmark times each contender on a fresh copy already on the disk, as a user's database is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import cases


def test_a_flushed_fresh_copy_is_written_to_the_disk_before_the_timed_run(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = tmp_path / "seed.db", tmp_path / "run" / "migration.db"
    target.parent.mkdir()
    source.write_bytes(b"seed" * 1024)
    Path(f"{target}-journal").write_bytes(b"left over")
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(handle: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{handle}"))
        real_fsync(handle)

    monkeypatch.setattr(os, "fsync", fsync)
    cases._fresh(source, target)()
    assert synced == []  # the other rows' copies are left to the kernel, as before
    cases._fresh(source, target, flushed=True)()
    assert target.read_bytes() == source.read_bytes()
    assert not Path(f"{target}-journal").exists()
    assert synced == [str(target), str(target.parent)]  # the file, then its folder's entry
