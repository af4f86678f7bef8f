"""Database URLs read as diesel's SQLite connection opens them (diesel sqlite/connection/raw.rs
`RawConnection::establish`: `sqlite://` → `file:`, then sqlite3_open_v2 with SQLITE_OPEN_URI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.errors import ProjectError
from lightnb.project import sqlite_location
from lightnb.statement_log import mask_literals, wanted

BASE = Path("/work/app")


@pytest.mark.parametrize(("url", "path", "parameters", "read_only"), [
    ("app.db", BASE / "app.db", "", False),
    ("my%20db.db", BASE / "my%20db.db", "", False),          # a plain path is literal
    ("file:my%20db.db", BASE / "my db.db", "", False),        # a URI is percent-decoded
    ("file:app.db?mode=ro", BASE / "app.db", "mode=ro", True),
    ("file:app.db?immutable=1#frag", BASE / "app.db", "immutable=1", True),
    ("file:///srv/app.db?cache=shared", Path("/srv/app.db"), "cache=shared", False),
    ("file://localhost/srv/app.db", Path("/srv/app.db"), "", False),
    ("sqlite://app.db?mode=ro", BASE / "app.db", "mode=ro", True),
    ("file:a%zz.db", BASE / "a%zz.db", "", False),            # not an escape: kept
])
def test_files(url: str, path: Path, parameters: str, read_only: bool) -> None:
    location = sqlite_location(url, base=BASE)
    assert (location.path, location.parameters, location.read_only) == (path, parameters, read_only)
    target, is_uri = location.open_target()
    assert is_uri == bool(parameters) and (target == str(path) or target.endswith("?" + parameters))


@pytest.mark.parametrize("url", [":memory:", "file::memory:?cache=shared", "file:x.db?mode=memory", "file:", ""])
def test_in_memory(url: str) -> None:
    assert sqlite_location(url, base=BASE).memory


def test_foreign_host_and_other_backends_are_refused() -> None:
    with pytest.raises(ProjectError, match="invalid uri authority: server"):
        sqlite_location("file://server/app.db")
    with pytest.raises(ProjectError, match="not SQLite"):
        sqlite_location("postgres://localhost/app")


def test_log_switch_and_masking() -> None:
    assert not wanted(False, {}) and wanted(True, {}) and wanted(False, {"DIESEL_LOG": "diesel_cli=debug"})
    assert not wanted(False, {"DIESEL_LOG": "info"})
    assert mask_literals("INSERT INTO t VALUES ('it''s', X'00ff', 3)") == "INSERT INTO t VALUES ('…', '…', 3)"
