"""Fixtures for the model tests: a copy of the plantlog backend, and snapshot files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def plantlog(tmp_path: Path) -> Path:
    """Return a fresh copy of the plantlog sample backend (diesel.toml, schema.rs, src/models/)."""
    target = tmp_path / "plantlog"
    shutil.copytree(FIXTURES / "plantlog", target)
    return target


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    """Compare text with ``snapshots/<name>``; write it (and fail) when missing or when
    LIGHTNB_UPDATE_SNAPSHOTS=1, so that a new snapshot is always reviewed once."""

    def compare(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if not path.exists() or os.environ.get("LIGHTNB_UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            existed = path.exists() and path.read_text(encoding="utf-8") == text
            path.write_text(text, encoding="utf-8")
            if not existed:
                pytest.fail(f"snapshot {name} written; review it and run the test again")
        assert text == path.read_text(encoding="utf-8")

    return compare
