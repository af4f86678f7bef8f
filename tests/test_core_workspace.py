import sqlite3
from pathlib import Path

import pytest

from lightnb.backends.sqlite import open_readonly
from lightnb.errors import DatabaseError, WorkspaceError
from lightnb.workspace import Workspace, check_database_file
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


# ---------------------------------------------------------------- what lightnb made, and only that


def test_state_says_whether_lightnb_made_the_folder(tmp_path: Path, production: Path) -> None:
    import json
    made = Workspace.create(production, tmp_path / "new")
    existing = tmp_path / "existing"
    existing.mkdir()
    kept = Workspace.create(production, existing)
    assert json.loads((made.folder / "workspace.json").read_text())["made_folder"] is True
    assert json.loads((kept.folder / "workspace.json").read_text())["made_folder"] is False
    made.reset()  # a reset keeps what the state says
    assert json.loads((made.folder / "workspace.json").read_text())["made_folder"] is True


def test_discard_removes_the_folder_only_when_lightnb_made_it_and_it_is_empty(tmp_path: Path,
                                                                             production: Path) -> None:
    made = Workspace.create(production, tmp_path / "made")
    assert made.discard().folder_removed and not (tmp_path / "made").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    result = Workspace.create(production, existing).discard()
    assert not result.folder_removed and existing.is_dir() and not any(existing.iterdir())
    again = Workspace.create(production, tmp_path / "made2")
    (again.folder / "mine.txt").write_text("x")
    result = again.discard()
    assert not result.folder_removed and result.kept == ("mine.txt",) and "kept the folder" in str(result)


def test_discard_never_removes_a_production_linked_into_the_folder(tmp_path: Path, production: Path) -> None:
    import os
    workspace = Workspace.create(production, tmp_path / "ws")
    workspace.path.unlink()
    os.link(production, workspace.path)
    state = file_state(production)
    workspace.discard()
    assert file_state(production) == state


def test_create_refuses_folders_holding_production_or_protected_paths(tmp_path: Path, production: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    with pytest.raises(WorkspaceError, match="holds"):
        Workspace.create(production, tmp_path)
    with pytest.raises(WorkspaceError, match="is "):
        Workspace.create(production, project, protect=[project])
    with pytest.raises(WorkspaceError, match="holds"):
        Workspace.create(production, tmp_path, protect=[project])
    assert not (tmp_path / "workspace.db").exists() and not (project / "workspace.db").exists()
    Workspace.create(production, project / ".lightnb", protect=[project])  # inside the project is fine


def test_create_never_overwrites_a_workspace_db_lightnb_did_not_make(tmp_path: Path, production: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir()
    theirs = make_database(folder / "workspace.db", "CREATE TABLE mine(x);")
    state = file_state(theirs)
    with pytest.raises(WorkspaceError, match="not a workspace lightnb made"):
        Workspace.create(production, folder)
    assert file_state(theirs) == state


def test_production_must_be_a_non_empty_sqlite_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(DatabaseError, match="empty"):
        Workspace.create(empty, tmp_path / "ws")
    with pytest.raises(DatabaseError, match="character device"):
        Workspace.create("/dev/null", tmp_path / "ws")


def _wal_production(path: Path) -> Path:
    import subprocess
    import sys
    make_database(path, "PRAGMA journal_mode=wal; CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                        "INSERT INTO users(name) VALUES ('ann');")
    subprocess.run([sys.executable, "-c", "import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1], "
                    "isolation_level=None); c.execute('PRAGMA wal_autocheckpoint=0'); "
                    "c.execute(\"INSERT INTO users(name) VALUES ('wal-only')\"); os._exit(0)", str(path)], check=True)
    return path


def test_a_wal_production_is_copied_without_touching_anything_beside_it(tmp_path: Path) -> None:
    import os
    (tmp_path / "data").mkdir()
    prod = _wal_production(tmp_path / "data" / "prod.db")
    beside = {name: file_state(prod.parent / name) for name in os.listdir(prod.parent)}
    assert set(beside) == {"prod.db", "prod.db-wal", "prod.db-shm"}
    workspace = Workspace.create(prod, tmp_path / "ws")
    assert content_of(workspace.path)[1]["users"] == [(1, "ann"), (2, "wal-only")]
    conn = open_readonly(prod)
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (2,)
    conn.close()
    assert {name: file_state(prod.parent / name) for name in os.listdir(prod.parent)} == beside


def test_the_private_copy_of_a_wal_database_is_removed_when_the_connection_closes(tmp_path: Path) -> None:
    prod = _wal_production(tmp_path / "prod.db")
    conn = open_readonly(prod)
    copy = Path(conn.execute("PRAGMA database_list").fetchone()[2])
    assert copy != prod and copy.is_file() and conn.source == prod
    conn.close()
    assert not copy.parent.exists()


def test_file_state_proves_a_database_unchanged_without_reading_it(tmp_path: Path) -> None:
    """The unchanged-production proof: size, inode, times and SQLite's change counter; hashes only for WAL."""
    import os
    import sqlite3

    from lightnb.workspace import file_state

    db = tmp_path / "prod.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'aaaa');")
    conn.close()
    first = file_state(db)
    assert first.digests is None                       # rollback journal: no hashing
    assert file_state(db).same_as(first)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE t SET v = 'bbbb'")            # same size, a commit
    conn.commit()
    conn.close()
    second = file_state(db)
    assert not second.same_as(first) and second.size == first.size
    data = bytearray(db.read_bytes())
    data[-20] ^= 0xFF                                  # a write outside SQLite, times set back afterwards
    stat = db.stat()
    db.write_bytes(bytes(data))
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not file_state(db).same_as(second)


def test_file_state_of_a_wal_database_hashes(tmp_path: Path) -> None:
    import sqlite3

    from lightnb.workspace import file_state

    db = tmp_path / "wal.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE TABLE t (v)")
    conn.commit()
    state = file_state(db)
    assert state.digests is not None and state.same_as(file_state(db))
    conn.execute("INSERT INTO t VALUES (1)")           # lands in the -wal: the main file does not move
    conn.commit()
    assert not file_state(db).same_as(state)
    conn.close()


def test_a_snapshot_flushes_the_record_that_guards_production_not_its_scratch_copy(
        tmp_path: Path, production: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy is written like `cp` (not flushed); its state file, describing it, is not flushed either
    (each flush after the copy's writes costs a journal commit); the project's record of production is."""
    import os

    from lightnb import steps
    from lightnb.project import Project
    project_dir = tmp_path / "project"
    (project_dir / "migrations").mkdir(parents=True)
    (project_dir / "diesel.toml").write_text("", encoding="utf-8")
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    workspace = steps.snapshot(Project.discover(project_dir, environ={}), database_url=production)
    assert content_of(workspace.path) == content_of(production)
    assert flushed, "the record of workspaces (the production guard's) is flushed"
    assert all("workspaces.json" in path or os.path.isdir(path) for path in flushed), flushed
    assert not any("workspace.json" in path or "workspace.db" in path for path in flushed), flushed


@pytest.mark.parametrize("wal", [False, True])
def test_production_is_recorded_and_flushed_even_when_its_copy_is_interrupted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wal: bool) -> None:
    """The record is written beside the copy (from before its first byte) and finished whatever happens to it:
    a Ctrl-C during the copy leaves no half copy, and production known as production."""
    import os

    from lightnb import steps, target
    from lightnb.backends.sqlite import copies, files
    from lightnb.project import Project
    prod = _wal_production(tmp_path / "prod.db") if wal else make_database(
        tmp_path / "prod.db", "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);")
    project_dir = tmp_path / "project"
    (project_dir / "migrations").mkdir(parents=True)
    (project_dir / "diesel.toml").write_text("", encoding="utf-8")
    project = Project.discover(project_dir, environ={})
    flushed: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd))[1])

    def interrupted(source: object, dest: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "copy_bytes", interrupted)
    monkeypatch.setattr(copies, "copy_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        steps.snapshot(project, database_url=prod)
    assert any(path.endswith("workspaces.json") or "workspaces.json." in path for path in flushed), flushed
    folder = project_dir / ".lightnb"
    assert not (folder / "workspace.db").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".copy-")]
    monkeypatch.undo()
    with pytest.raises(Exception, match="production database"):
        target.refuse_production(project, prod)


def test_a_record_that_cannot_be_written_fails_the_snapshot_once_the_copy_is_made(
        tmp_path: Path, production: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record's error, raised in its own thread, reaches the caller (after the copy, as before)."""
    import threading

    from lightnb import steps
    from lightnb.project import Project
    project_dir = tmp_path / "project"
    (project_dir / "migrations").mkdir(parents=True)
    (project_dir / "diesel.toml").write_text("", encoding="utf-8")
    threads: list[str] = []

    def unwritable(project: object, folder: object, prod: object) -> None:
        threads.append(threading.current_thread().name)
        raise WorkspaceError("Cannot record the workspace: read-only record")

    monkeypatch.setattr(steps, "record_workspace", unwritable)
    with pytest.raises(WorkspaceError, match="Cannot record the workspace"):
        steps.snapshot(Project.discover(project_dir, environ={}), database_url=production)
    assert threads and threads[0] != threading.main_thread().name
    assert content_of(project_dir / ".lightnb" / "workspace.db") == content_of(production)
