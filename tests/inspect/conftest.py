"""Fixtures for inspect tests: databases built from SQL on tmp_path."""

from __future__ import annotations

import importlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
def halves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, Any]]:
    """Each half a split comparison reads (see ``lightnb.inspect.row_diff._Split``): (thread name, connection
    id, its part), once a split is forced (threshold 0)."""
    row_diff_module: Any = importlib.import_module("lightnb.inspect.row_diff")
    seen: list[tuple[str, int, Any]] = []
    lock = threading.Lock()
    real = row_diff_module._Split.count

    def count(self: Any, conn: Any, parts: Any, one: Callable[[Any, Any], Any]) -> Any:
        def spied(c: Any, part: Any) -> Any:
            with lock:
                seen.append((threading.current_thread().name, id(c), part))
            return one(c, part)
        return real(self, conn, parts, spied)

    monkeypatch.setattr(row_diff_module._Split, "count", count)
    monkeypatch.setattr(row_diff_module, "SPLIT_ROWS", 0)
    return seen

