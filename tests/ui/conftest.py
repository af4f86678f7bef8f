"""Fixtures for panel tests: a small sample workbook on tmp_path (no kernel involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb import samples
from lightnb.ui import Workbook, open_workbook


@pytest.fixture
def workbook(tmp_path: Path) -> Workbook:
    """The bundled sample (60 users) with a fresh workspace copy."""
    return open_workbook(folder=tmp_path / "sample", users=60)


@pytest.fixture
def exercise() -> samples.Exercise:
    """The guided notebook's exercise: add user_settings.theme with a default."""
    return samples.EXERCISE
