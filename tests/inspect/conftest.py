"""Fixtures for inspect tests: databases built from SQL on tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def make_db(tmp_path: Path) -> Callable[..., Path]:
    """Return ``make_db(name, sql, base=None)``: a database file (optionally a copy of ``base`` then ``sql``)."""

    def make(name: str, sql: str, base: Path | None = None) -> Path:
        path = tmp_path / name
        conn = sqlite3.connect(path)
        if base is not None:
            src = sqlite3.connect(base)
            src.backup(conn)
            src.close()
        conn.executescript(sql)
        conn.commit()
        conn.close()
        return path

    return make


@pytest.fixture
def connect() -> Iterator[Callable[[Path], sqlite3.Connection]]:
    """Return ``connect(path)`` opening autocommit connections that are all closed afterwards."""
    opened: list[sqlite3.Connection] = []

    def open_(path: Path | str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        conn.close()
