"""The rehearsal's workspace copy is made while the notebook's kernel starts; the notebook opens that copy only
while its file is provably untouched since (else it copies production again), and says what the copy took."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lightnb import samples, steps
from lightnb.backends import sqlite
from lightnb.project import Project
from lightnb.rehearse import _workspace_copy, copy_project
from lightnb.workspace import file_sha256


@pytest.fixture()
def made(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, Any]]:
    sample = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    project = Project.discover(sample.project_dir)
    copied = copy_project(project, sample.project_dir, tmp_path / "scratch" / "project")
    production_hash = file_sha256(sample.production_db)
    workspace = tmp_path / "scratch" / "workspace"
    copy = _workspace_copy(copied, sample.production_db, workspace)
    assert copy is not None
    assert file_sha256(sample.production_db) == production_hash  # production only read
    return copied, sample.production_db, workspace, copy


def test_the_copy_made_beforehand_is_opened_while_untouched(made) -> None:  # type: ignore[no-untyped-def]
    copied, production, workspace, copy = made
    inode = os.stat(workspace / "workspace.db").st_ino
    [step] = copy["steps"]
    assert step["label"] == f"copying {production.name}" and step["done"] == production.stat().st_size
    started = steps.open_workbook(copied, production, workspace_dir=workspace, copied=copy)
    assert started.workspace.path == (workspace / "workspace.db").resolve()
    assert os.stat(started.workspace.path).st_ino == inode  # opened, not copied again
    assert started.production_applied  # what production has applied, read as on a fresh copy


def test_a_copy_written_since_is_not_trusted_production_is_copied_again(made) -> None:  # type: ignore[no-untyped-def]
    copied, production, workspace, copy = made
    conn = sqlite.connect(workspace / "workspace.db")
    conn.execute("DELETE FROM users WHERE id IN (SELECT id FROM users LIMIT 3)")
    conn.close()
    started = steps.open_workbook(copied, production, workspace_dir=workspace, copied=copy)
    assert file_sha256(started.workspace.path) == file_sha256(production)  # a fresh copy again


def test_a_copy_of_another_production_is_not_opened(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copied, production, workspace, copy = made
    other = tmp_path / "other.db"
    other.write_bytes(production.read_bytes())
    inode = os.stat(workspace / "workspace.db").st_ino
    started = steps.open_workbook(copied, other, workspace_dir=workspace, copied=copy)
    assert started.workspace.production == other.resolve()
    assert os.stat(started.workspace.path).st_ino != inode


def test_the_workbook_cell_says_what_the_copy_made_beforehand_took(made, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from lightnb.progress import Progress
    from lightnb.ui.workbook import open_workbook

    copied, production, workspace, copy = made
    shown: list[list[str]] = []
    from lightnb.ui import progress as ui_progress
    original = ui_progress.ShownSteps.close

    def close(self, ok: bool) -> None:  # type: ignore[no-untyped-def]
        shown.append(list(self.lines))
        original(self, ok)

    monkeypatch.setattr(ui_progress.ShownSteps, "close", close)
    inode = os.stat(workspace / "workspace.db").st_ino
    open_workbook(copied, production, workspace_dir=workspace, copied=copy)
    assert os.stat(workspace / "workspace.db").st_ino == inode
    # the line the cell keeps is the copy's own, as if it had been made in the cell
    assert shown == [[Progress(**{**copy["steps"][0], "finished": True}).summary()]]
    assert shown[0][0].startswith(f"copying {production.name}: ")


def _copies_made(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders every new workspace copy of production is made in from now on, in order."""
    from lightnb.workspace import Workspace

    created: list[Path] = []
    original = Workspace.create

    def create(production, folder, **kw):  # type: ignore[no-untyped-def]
        created.append(Path(folder))
        return original(production, folder, **kw)

    monkeypatch.setattr(Workspace, "create", create)
    return created


def _proof_copy(made) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    copied, production, workspace, _ = made
    folder = workspace.parent / "check"
    fresh = _workspace_copy(copied, production, folder, record=False)
    assert fresh is not None
    return {**fresh, "folder": str(folder)}


def test_the_proof_runs_on_the_copy_made_beforehand_then_deletes_it(made, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from lightnb import checks, progress

    copied, production, _, _ = made
    project = Project.discover(copied)
    steps.save_sql(project, steps.generate(project, "theme").migration.name,
                   up="ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n",
                   down="ALTER TABLE user_settings DROP COLUMN theme;\n")
    expected = checks.check(project, database=production, run_tests=False)
    fresh = _proof_copy(made)
    created = _copies_made(monkeypatch)
    seen: list[str] = []
    with progress.reporting(lambda report: seen.append(report.summary()) if report.finished else None):
        result = checks.check(project, database=production, run_tests=False, copied=fresh)
    assert created == []  # no copy of production made: the one made beforehand was proven on
    assert not (Path(fresh["folder"]) / "workspace.db").exists()  # and it is gone: no second proof starts from it
    assert result.to_dict() == expected.to_dict()
    # the copy's own line comes first, as when the proof makes it
    assert seen[0] == progress.Progress(**{**fresh["steps"][0], "finished": True}).summary()
    # a second proof finds no copy made beforehand: it makes its own
    assert checks.check(project, database=production, run_tests=False, copied=fresh).to_dict() == expected.to_dict()
    assert len(created) == 1


def test_a_proof_copy_written_since_is_not_proven_on(made, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from lightnb import checks

    copied, production, _, _ = made
    fresh = _proof_copy(made)
    conn = sqlite.connect(Path(fresh["folder"]) / "workspace.db")
    conn.execute("DELETE FROM users WHERE id IN (SELECT id FROM users LIMIT 3)")
    conn.close()
    created = _copies_made(monkeypatch)
    checks.check(Project.discover(copied), database=production, run_tests=False, copied=fresh)
    assert len(created) == 1  # a fresh copy of production, not the file written since


def test_the_proof_copy_is_gone_at_once_and_deleted_off_the_callers_thread(  # type: ignore[no-untyped-def]
        made, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from lightnb import checks

    copied, production, _, _ = made
    project = Project.discover(copied)
    steps.save_sql(project, steps.generate(project, "theme").migration.name,
                   up="ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n",
                   down="ALTER TABLE user_settings DROP COLUMN theme;\n")
    fresh = _proof_copy(made)
    folder = Path(fresh["folder"])
    deleted: list[tuple[str, bool]] = []
    original = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.parent == folder:
            deleted.append((self.name, threading.current_thread() is threading.main_thread()))
        original(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    checks.check(project, database=production, run_tests=False, copied=fresh)
    assert not (folder / "workspace.db").exists()  # no second proof can start from it
    for thread in threading.enumerate():
        if thread.name == "lightnb-check-cleanup":
            thread.join()
    assert deleted and all(not on_main for _name, on_main in deleted)  # the caller went on meanwhile
    assert not [p for p in folder.iterdir() if p.suffix == ".db" or "workspace.db" in p.name]
