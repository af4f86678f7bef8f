"""Workspace folders: never one that is, or holds, the project or production; discard removes only lightnb's files.

Families: ``--workspace-dir`` spelled as the project folder, a folder above it, production's
folder, through symbolic links, relative or absolute, with ``..``; discarding workspaces in
folders lightnb did or did not make, with user files, old-style workspaces in dangerous places,
and a workspace.db that is a link to production; ``snapshot --reset --database-url OTHER``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from guard_support import cli, make_scene, one_line_error, project_tree, rows
from reliability_support import file_mark, tree_mark


def _dangerous(scene, tmp_path):  # type: ignore[no-untyped-def]
    """Workspace folders that would put the project or production in reach of a discard."""
    (tmp_path / "link-to-app").symlink_to(scene.root)
    (tmp_path / "link-to-data").symlink_to(scene.production.parent)
    return {
        "dotdot": "..",
        "dot": ".",
        "project_absolute": str(scene.root),
        "project_with_dotdot": f"../{scene.root.name}/src/..",
        "grandparent": "../..",
        "root_folder": "/",
        "production_folder": str(scene.production.parent),
        "production_folder_relative": os.path.relpath(scene.production.parent, scene.root),
        "symlink_to_project": str(tmp_path / "link-to-app"),
        "symlink_to_production_folder": str(tmp_path / "link-to-data"),
        "tmp_holding_both": str(tmp_path),
    }


DANGEROUS = ["dotdot", "dot", "project_absolute", "project_with_dotdot", "grandparent", "root_folder",
             "production_folder", "production_folder_relative", "symlink_to_project",
             "symlink_to_production_folder", "tmp_holding_both"]


@pytest.mark.parametrize("where", DANGEROUS)
def test_snapshot_refuses_a_workspace_folder_holding_the_project_or_production(tmp_path, capsys, monkeypatch,
                                                                              where) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    folder = _dangerous(scene, tmp_path)[where]
    scene.freeze()
    everything = tree_mark(tmp_path)
    code, out, err = cli(capsys, "snapshot", "--database-url", str(scene.production), "--workspace-dir", folder)
    one_line_error(code, err)
    assert "workspace folder" in err
    assert tree_mark(tmp_path) == everything, "something was written"
    code, out, err = cli(capsys, "snapshot", "--discard", "--workspace-dir", folder)
    one_line_error(code, err)  # there is no workspace there: nothing to discard, nothing deleted
    assert tree_mark(tmp_path) == everything
    scene.assert_untouched()


def test_the_reported_attack_dotdot_then_discard_deletes_nothing(tmp_path, capsys, monkeypatch) -> None:
    """The issue's sequence, with production beside the project as in the report."""
    scene = make_scene(tmp_path, production="production.db")
    monkeypatch.chdir(scene.root)
    scene.freeze()
    before = tree_mark(tmp_path)
    assert cli(capsys, "snapshot", "--database-url", "../production.db", "--workspace-dir", "..")[0] == 1
    assert cli(capsys, "snapshot", "--discard", "--workspace-dir", "..")[0] == 1
    assert tree_mark(tmp_path) == before
    scene.assert_untouched()


def _old_style_workspace(folder: Path, production: Path) -> None:
    """A workspace as older lightnb versions left it (no record of who made the folder)."""
    import shutil
    shutil.copyfile(production, folder / "workspace.db")
    (folder / "workspace.json").write_text(json.dumps({"production": str(production), "created_at": 1}))


@pytest.mark.parametrize("where", ["production_folder", "tmp_holding_both", "project_absolute"])
def test_discarding_an_old_workspace_in_a_dangerous_folder_removes_only_its_files(tmp_path, capsys, monkeypatch,
                                                                                 where) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    folder = Path(_dangerous(scene, tmp_path)[where])
    scene.freeze()
    _old_style_workspace(folder, scene.production)
    before = {k: v for k, v in tree_mark(tmp_path).items() if not k.endswith(("workspace.db", "workspace.json"))}
    code, out, err = cli(capsys, "snapshot", "--discard", "--workspace-dir", str(folder))
    assert code == 0, err
    assert "kept the folder" in out
    assert tree_mark(tmp_path) == before
    assert not (folder / "workspace.db").exists() and not (folder / "workspace.json").exists()
    scene.assert_untouched(project=where != "project_absolute")


@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_discard_never_deletes_production_linked_as_the_workspace(tmp_path, capsys, monkeypatch, link) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    folder = tmp_path / "ws"
    folder.mkdir()
    if link == "hard":
        os.link(scene.production, folder / "workspace.db")
    else:
        (folder / "workspace.db").symlink_to(scene.production)
    (folder / "workspace.json").write_text(json.dumps({"production": str(scene.production)}))
    scene.freeze()
    code, out, err = cli(capsys, "snapshot", "--discard", "--workspace-dir", str(folder))
    assert code == 0, err
    assert scene.production.is_file()
    scene.assert_untouched()


def test_discard_of_a_folder_lightnb_made_removes_it(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    folder = tmp_path / "work space é" / "ws"
    scene.freeze()
    assert cli(capsys, "snapshot", "--database-url", str(scene.production), "--workspace-dir", str(folder))[0] == 0
    assert cli(capsys, "migration", "run", "--database-url", str(folder / "workspace.db"))[0] == 0
    code, out, err = cli(capsys, "snapshot", "--discard", "--workspace-dir", str(folder))
    assert code == 0 and out.strip() == f"Discarded workspace {folder}"
    assert not folder.exists() and folder.parent.is_dir()  # only the folder lightnb made
    scene.assert_untouched(project=False)


def test_discard_keeps_files_it_did_not_make_and_their_folder(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    (folder / "captures").mkdir()
    (folder / "captures" / "diagram.png").write_bytes(b"\x89PNG")
    assert cli(capsys, "snapshot", "--database-url", str(scene.production), "--workspace-dir", str(folder))[0] == 0
    from lightnb import steps
    from lightnb.capture import captured
    from lightnb.project import Project
    from lightnb.workspace import Workspace
    project = Project.discover(scene.root, environ={})
    captured(Workspace.open(folder), lambda db, c: steps.run(project, db, capture=c, regenerate_schema=False),
             label="run")
    assert list((folder / "captures" / "run").glob("before-*.db"))
    code, out, err = cli(capsys, "snapshot", "--discard", "--workspace-dir", str(folder))
    assert code == 0 and "kept the folder" in out
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == \
        ["captures", "captures/diagram.png", "notes.txt"]


def test_discard_of_the_default_workspace_keeps_the_project_record(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path).freeze()
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    assert cli(capsys, "snapshot", "--discard")[0] == 0
    assert (scene.root / ".lightnb" / "workspaces.json").is_file()
    assert not (scene.root / ".lightnb" / "workspace.db").exists()
    code, out, err = cli(capsys, "migration", "run", "--database-url", str(scene.production))
    one_line_error(code, err)  # still production, though its workspace is gone
    assert "production database" in err
    scene.assert_untouched(project=False)


def test_a_foreign_workspace_db_is_never_copied_over(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    folder = tmp_path / "theirs"
    folder.mkdir()
    (folder / "workspace.db").write_bytes(b"SQLite format 3\x00" + bytes(4080))
    before = file_mark(folder / "workspace.db")
    code, out, err = cli(capsys, "snapshot", "--database-url", str(scene.production), "--workspace-dir", str(folder))
    one_line_error(code, err)
    assert file_mark(folder / "workspace.db") == before


# ------------------------------------------------------------------- snapshot --reset --database-url


def test_reset_with_a_database_url_copies_it_and_records_it_as_production(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    other = make_scene(tmp_path / "second").production
    import sqlite3
    conn = sqlite3.connect(other)
    conn.execute("INSERT OR REPLACE INTO app_kv VALUES ('which', 'other')")
    conn.commit()
    conn.close()
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    scene.freeze()
    code, out, err = cli(capsys, "snapshot", "--reset", "--database-url", str(other))
    assert code == 0, err
    assert out.strip() == (f"Reset workspace {scene.root / '.lightnb' / 'workspace.db'} from {other} "
                           f"(it was a copy of {scene.production})")
    workspace = scene.root / ".lightnb" / "workspace.db"
    assert rows(workspace, "SELECT v FROM app_kv WHERE k = 'which'") == [("other",)]
    assert cli(capsys, "snapshot", "--status")[1].splitlines()[0].endswith(f"(copy of {other})")
    for production in (other, scene.production):  # both stay protected
        code, out, err = cli(capsys, "migration", "run", "--database-url", str(production))
        one_line_error(code, err)
    scene.assert_untouched(project=False)


@pytest.mark.parametrize("flag", ["--discard", "--status"])
def test_database_url_with_discard_or_status_is_refused(tmp_path, capsys, monkeypatch, flag) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    code, out, err = cli(capsys, "snapshot", flag, "--database-url", "other.db")
    one_line_error(code, err)
    assert (scene.root / ".lightnb" / "workspace.db").is_file()


def test_project_tree_is_untouched_by_snapshot_reset_discard(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    before = project_tree(scene.root)
    for argv in (["snapshot", "--database-url", str(scene.production)], ["snapshot", "--reset"],
                 ["snapshot", "--status"], ["snapshot", "--discard"]):
        assert cli(capsys, *argv)[0] == 0
    assert project_tree(scene.root) == before
