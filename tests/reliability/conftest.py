"""Fixtures of the reliability suite: a project whose production database is guarded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_support import FileMark, file_mark, make_project


@dataclass
class GuardedProject:
    """A Diesel project on disk whose production file must never change."""

    root: Path
    production: Path
    mark: FileMark

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"

    def assert_production_untouched(self) -> None:
        """Fail unless production's bytes, mtime and size are as they were, and no sidecar appeared."""
        assert file_mark(self.production) == self.mark, "production database changed"
        for suffix in ("-journal", "-wal"):
            sidecar = Path(str(self.production) + suffix)
            assert not sidecar.exists() or sidecar.stat().st_size == 0, f"{sidecar.name} written"


@pytest.fixture
def guarded(tmp_path: Path) -> GuardedProject:
    """A project with two applied migrations; production's SHA-256 and mtime are checked at teardown."""
    root, production = make_project(tmp_path / "app")
    # Age the file so an accidental write would change its mtime even on coarse clocks.
    os.utime(production, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    project = GuardedProject(root, production, file_mark(production))
    yield project
    project.assert_production_untouched()
