"""Shared pytest fixtures: conformance corpora location, and connection hygiene."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.postgres import pg_cluster, pg_database  # noqa: F401  (fixtures for every test folder)

REPO = Path(__file__).resolve().parents[1]


def conformance_root() -> Path:
    """Return where the shared conformance corpora live (may not exist)."""
    env = os.environ.get("LIGHTNB_CONFORMANCE_DIR")
    return Path(env) if env else REPO.parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The conformance corpora folder; skips the test cleanly when it is absent."""
    root = conformance_root()
    if not root.is_dir():
        pytest.skip(f"conformance corpora not found at {root} (set LIGHTNB_CONFORMANCE_DIR)")
    return root
