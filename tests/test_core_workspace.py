import sqlite3
from pathlib import Path

import pytest

from lightnb.errors import DatabaseError, WorkspaceError
from lightnb.workspace import Workspace, check_database_file, open_readonly
from tests.support.builder import content_of, file_state, make_database


@pytest.fixture
def production(tmp_path: Path) -> Path:
    return make_database(tmp_path / "prod.db", "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                                               "INSERT INTO users(name) VALUES ('ann'), ('bob');")


def test_workspace_copies_content_and_never_touches_production(tmp_path: Path, production: Path) -> None:
    state = file_state(production)
    workspace = Workspace.create(production, tmp_path / "ws")
    assert content_of(workspace.path) == content_of(production)
    conn = workspace.connect()
    conn.execute("DELETE FROM users")
    conn.close()
    assert content_of(workspace.path) != content_of(production)
    workspace.reset()
    assert content_of(workspace.path) == content_of(production)
    assert file_state(production) == state


def test_production_is_opened_read_only(production: Path) -> None:
    conn = open_readonly(production)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM users")
    conn.close()


def test_reopen_workspace_and_copy_to(tmp_path: Path, production: Path) -> None:
    Workspace.create(production, tmp_path / "ws")
    again = Workspace.open(tmp_path / "ws")
    assert again.production == production.resolve()
    copy = again.copy_to(tmp_path / "before.db")
    assert content_of(copy) == content_of(production)
    with pytest.raises(WorkspaceError, match="No workspace"):
        Workspace.open(tmp_path / "nowhere")


def test_bad_production_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("hello, I am not a database at all")
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        check_database_file(text)
    with pytest.raises(DatabaseError, match="does not exist"):
        Workspace.create(tmp_path / "missing.db", tmp_path / "ws")
    with pytest.raises(DatabaseError, match="is a folder"):
        Workspace.create(tmp_path, tmp_path / "ws2")
    assert not (tmp_path / "ws" / "workspace.db").exists()


def test_corrupt_production_is_reported(tmp_path: Path, production: Path) -> None:
    data = bytearray(production.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    broken = tmp_path / "broken.db"
    broken.write_bytes(bytes(data))
    with pytest.raises(DatabaseError):
        Workspace.create(broken, tmp_path / "ws")


def test_workspace_refuses_to_overwrite_production(tmp_path: Path, production: Path) -> None:
    target = tmp_path / "same"
    target.mkdir()
    prod = make_database(target / "workspace.db", "CREATE TABLE t(x);")
    with pytest.raises(WorkspaceError, match="overwrite production"):
        Workspace.create(prod, target)


def test_empty_workspace(tmp_path: Path) -> None:
    workspace = Workspace.create(None, tmp_path / "ws")
    assert workspace.path.is_file()
    assert content_of(workspace.path) == ([], {})
