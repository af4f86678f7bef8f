"""Reading production never creates or changes a file beside it, in any journal mode.

SQLite opens a WAL database, even read-only, by creating ``-wal``/``-shm`` owned by whoever reads
it (the application, running as another user, then fails with "attempt to write a readonly
database"). Family: production in rollback-journal mode, in WAL mode with no ``-wal``, with a
``-wal`` and ``-shm`` left by a stopped application, and held open by a running application —
for every verb that reads production (snapshot, reset, list, pending, print-schema, lint, check,
inspect, diff) — comparing the listing of production's folder and the bytes and times of every
file beside it before and after, and checking that the copy has the rows committed in the -wal.
A WAL production in a read-only folder is still copied.
"""

from __future__ import annotations

import os

import pytest
from guard_support import Application, cli, leave_wal, make_scene, rows
from reliability_support import Frozen

MODES = ["rollback", "wal_no_wal_file", "wal_left_by_stopped_app", "wal_held_by_running_app"]


def _scene(tmp_path, mode):  # type: ignore[no-untyped-def]
    scene = make_scene(tmp_path, journal="delete" if mode == "rollback" else "wal")
    app = None
    if mode == "wal_left_by_stopped_app":
        leave_wal(scene.production)
    elif mode == "wal_held_by_running_app":
        app = Application(scene.production)
    if mode != "rollback":
        os.utime(scene.production, ns=(1_600_000_000_000_000_000,) * 2)
    return scene, app


def _expect_wal_row(mode: str) -> list[tuple]:
    return [("committed",)] if mode in ("wal_left_by_stopped_app", "wal_held_by_running_app") else []


VERBS = {
    "snapshot": lambda s: ["snapshot", "--database-url", str(s.production)],
    "list": lambda s: ["migration", "list", "--database-url", str(s.production)],
    "pending": lambda s: ["migration", "pending", "--database-url", str(s.production)],
    "print-schema": lambda s: ["print-schema", "--database-url", str(s.production)],
    "print-schema-check": lambda s: ["print-schema", "--check", "--database-url", str(s.production)],
    "lint": lambda s: ["lint", "--database-url", str(s.production)],
    "check": lambda s: ["check", "--no-tests", "--database-url", str(s.production)],
    "inspect": lambda s: ["inspect", str(s.production)],
    "inspect-table": lambda s: ["inspect", str(s.production), "--table", "app_kv"],
    "diff": lambda s: ["diff", str(s.production), str(s.production)],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize("mode", MODES)
def test_reading_production_leaves_nothing_beside_it(tmp_path, capsys, monkeypatch, mode, verb) -> None:
    scene, app = _scene(tmp_path, mode)
    monkeypatch.chdir(scene.root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        scene.freeze()
        code, out, err = cli(capsys, *VERBS[verb](scene))
        assert "Traceback" not in err
        assert code in (0, 1), err
        if verb in ("snapshot", "list", "pending", "print-schema", "inspect", "inspect-table", "diff"):
            assert code == 0, err
        scene.assert_untouched(project=False)
        if verb == "snapshot":
            workspace = scene.root / ".lightnb" / "workspace.db"
            assert rows(workspace, "SELECT v FROM app_kv WHERE k = 'only_in_wal'") == _expect_wal_row(mode)
            assert rows(workspace, "PRAGMA integrity_check") == [("ok",)]
        if verb == "inspect-table" and _expect_wal_row(mode):
            assert "only_in_wal" in out
    finally:
        if app is not None:
            app.stop()


@pytest.mark.parametrize("mode", MODES)
def test_reset_and_check_copy_what_the_application_committed(tmp_path, capsys, monkeypatch, mode) -> None:
    scene, app = _scene(tmp_path, mode)
    monkeypatch.chdir(scene.root)
    try:
        scene.freeze()
        assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
        assert cli(capsys, "migration", "run")[0] == 0
        assert cli(capsys, "snapshot", "--reset")[0] == 0
        workspace = scene.root / ".lightnb" / "workspace.db"
        assert rows(workspace, "SELECT v FROM app_kv WHERE k = 'only_in_wal'") == _expect_wal_row(mode)
        assert ("2024-02-01-000000-0000_add_note",) not in rows(workspace, "SELECT version FROM "
                                                                           "__diesel_schema_migrations")
        scene.assert_untouched(project=False)
    finally:
        if app is not None:
            app.stop()


@pytest.mark.parametrize("mode", ["wal_no_wal_file", "wal_left_by_stopped_app"])
def test_a_wal_production_in_a_read_only_folder_is_still_copied(tmp_path, capsys, monkeypatch, mode) -> None:
    scene, _app = _scene(tmp_path, mode)
    monkeypatch.chdir(scene.root)
    scene.freeze()
    with Frozen(scene.production.parent):
        code, out, err = cli(capsys, "snapshot", "--database-url", str(scene.production))
        assert code == 0, err
        assert cli(capsys, "print-schema", "--database-url", str(scene.production))[0] == 0
        assert cli(capsys, "migration", "list", "--database-url", str(scene.production))[0] == 0
    scene.assert_untouched(project=False)
    workspace = scene.root / ".lightnb" / "workspace.db"
    assert rows(workspace, "SELECT v FROM app_kv WHERE k = 'only_in_wal'") == _expect_wal_row(mode)


def test_a_running_application_keeps_writing_while_lightnb_reads(tmp_path, capsys, monkeypatch) -> None:
    """The application's own -shm is only locked (shared, as SQLite's readers do), never changed."""
    import sqlite3
    scene, app = _scene(tmp_path, "wal_held_by_running_app")
    monkeypatch.chdir(scene.root)
    try:
        assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
        conn = sqlite3.connect(scene.production, timeout=5)
        conn.execute("INSERT OR REPLACE INTO app_kv VALUES ('after', 'yes')")
        conn.commit()
        conn.close()
    finally:
        app.stop()
    assert cli(capsys, "snapshot", "--reset")[0] == 0
    assert rows(scene.root / ".lightnb" / "workspace.db", "SELECT v FROM app_kv WHERE k = 'after'") == [("yes",)]


def test_a_hot_journal_on_production_is_one_line_and_left_for_its_owner(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    journal = scene.production.with_name(scene.production.name + "-journal")
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + bytes(504))  # a journal header: hot
    scene.freeze()
    code, out, err = cli(capsys, "snapshot", "--database-url", str(scene.production))
    assert "Traceback" not in err
    scene.assert_untouched(project=False)


def test_a_production_beside_an_old_workspace_is_still_read_untouched(tmp_path, capsys, monkeypatch) -> None:
    """Files named like lightnb's own beside production do not make production one of lightnb's copies."""
    import json
    import shutil
    scene, _app = _scene(tmp_path, "wal_left_by_stopped_app")
    monkeypatch.chdir(scene.root)
    folder = scene.production.parent
    shutil.copyfile(scene.production, folder / "other.db")
    (folder / "workspace.db").write_bytes(b"")
    (folder / "workspace.json").write_text(json.dumps({"production": None}))
    captures = folder / "captures"
    captures.mkdir()
    scene.freeze()
    for argv in (["snapshot", "--database-url", str(scene.production)],
                 ["print-schema", "--database-url", str(scene.production)]):
        assert cli(capsys, *argv)[0] == 0
    scene.assert_untouched(project=False)
