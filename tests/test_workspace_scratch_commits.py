"""A rehearsal's workspace lives in its private scratch folder, deleted when it ends: its commits need not wait
for the disk. Only that copy, told so by how the rehearsal made it (never a path), commits that way; every
workspace a user keeps, and production (never written at all), keep SQLite's default.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lightnb import migrate as migrate_module
from lightnb import runner, samples, steps
from lightnb.errors import WorkspaceError
from lightnb.project import Project
from lightnb.rehearse import _copies, copy_project
from lightnb.workspace import Workspace, file_sha256

OFF = 0


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """SQLite's ``synchronous`` setting of the connection at each migration's commit."""
    seen: list[int] = []
    real = runner._close

    def spy(conn: Any, savepoint: str) -> None:
        seen.append(int(conn.execute("PRAGMA synchronous").fetchone()[0]))
        real(conn, savepoint)

    monkeypatch.setattr(runner, "_close", spy)
    return seen


def _project(tmp_path: Path) -> tuple[Project, Path]:
    folder = tmp_path / "migrations" / "2024-01-01-000000_add"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text("ALTER TABLE t ADD COLUMN c INTEGER NOT NULL DEFAULT 1;\n", encoding="utf-8")
    (folder / "down.sql").write_text("ALTER TABLE t DROP COLUMN c;\n", encoding="utf-8")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    db = tmp_path / "work.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');")
    conn.close()
    return Project.discover(tmp_path, environ={}), db


def test_a_run_waits_for_the_disk_unless_told_the_copy_is_thrown_away(tmp_path: Path, commits: list[int]) -> None:
    project, db = _project(tmp_path)
    kept = steps.run(project, db, regenerate_schema=False)
    assert commits and OFF not in commits
    assert migrate_module.NOT_DURABLE not in kept.notes
    steps.revert(project, db, regenerate_schema=False, durable=False)
    commits.clear()
    thrown = steps.run(project, db, regenerate_schema=False, durable=False)
    assert commits == [OFF]
    # its time is not production's: the result says so wherever it is shown
    assert migrate_module.NOT_DURABLE in thrown.notes and migrate_module.NOT_DURABLE in str(thrown)
    # nothing ran: nothing to say
    assert migrate_module.NOT_DURABLE not in steps.run(project, db, regenerate_schema=False, durable=False).notes
    # the setting is the connection's: nothing of it is stored in the file
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] != OFF
    finally:
        conn.close()


def test_production_is_refused_whatever_the_setting(tmp_path: Path, commits: list[int]) -> None:
    project, db = _project(tmp_path)
    (tmp_path / "lightnb.toml").write_text(f'production = "{db.name}"\n', encoding="utf-8")
    project = Project.discover(tmp_path, environ={})
    digest = file_sha256(db)
    with pytest.raises(WorkspaceError, match="production"):
        steps.run(project, db, regenerate_schema=False, durable=False)
    assert file_sha256(db) == digest and commits == []


@pytest.fixture
def rehearsal(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, Any] | None]:
    """A project and production copied as ``lightnb rehearse`` copies them, into its scratch folder."""
    sample = samples.sample_workbook(tmp_path / "sample", users=30, workspace=False)
    project = Project.discover(sample.project_dir)
    scratch = tmp_path / "scratch"
    copied = copy_project(project, sample.project_dir, scratch / "project")
    steps.save_sql(Project.discover(copied), steps.generate(Project.discover(copied), "widen").migration.name,
                   up="ALTER TABLE users ADD COLUMN nickname TEXT;", down="ALTER TABLE users DROP COLUMN nickname;")
    made, _fresh = _copies(copied, sample.production_db, scratch)
    return copied, sample.production_db, scratch / "workspace", made


def test_the_rehearsals_workspace_copy_says_it_is_thrown_away(rehearsal: Any) -> None:
    _copied, _production, _workspace, made = rehearsal
    assert made is not None and made["scratch"] is True


def test_the_workbook_on_the_rehearsals_copy_commits_without_waiting(rehearsal: Any, commits: list[int]) -> None:
    from lightnb.ui import workbook as open_workbook
    from lightnb.ui.revert import revert_panel
    from lightnb.ui.run import run_panel

    copied, production, workspace, made = rehearsal
    digest = file_sha256(production)
    wb = open_workbook(copied, production, workspace_dir=workspace, copied=made)
    assert wb.scratch
    panel = run_panel(wb, now=True)
    assert panel.result is not None and panel.result.result.migrations
    assert commits and set(commits) == {OFF}
    assert migrate_module.NOT_DURABLE in panel.result.result.notes
    # the panel's output, and the report made of it, say so beside the time
    assert migrate_module.NOT_DURABLE in panel.result._repr_markdown_()
    commits.clear()
    revert_panel(wb, now=True)
    assert commits and set(commits) == {OFF}
    assert file_sha256(production) == digest


@pytest.mark.parametrize("how", ["not_said", "written_since", "own_workspace"])
def test_every_other_workspace_commits_as_sqlite_does(rehearsal: Any, commits: list[int], how: str,
                                                      tmp_path: Path) -> None:
    from lightnb.ui import workbook as open_workbook
    from lightnb.ui.run import run_panel

    copied, production, workspace, made = rehearsal
    if how == "not_said":  # a copy made beforehand that does not say its folder is thrown away
        made = {k: v for k, v in made.items() if k != "scratch"}
    elif how == "written_since":  # no longer provably the rehearsal's copy: production is copied again
        conn = sqlite3.connect(workspace / "workspace.db")
        conn.execute("CREATE TABLE extra (x)")
        conn.close()
    else:  # the project's own workspace (.lightnb), as the interactive notebook opens it
        shutil.rmtree(workspace)
        workspace, made = None, None
    wb = open_workbook(copied, production, workspace_dir=workspace, copied=made)
    assert not wb.scratch
    panel = run_panel(wb, now=True)
    assert panel.result is not None and panel.result.result.migrations
    assert commits and OFF not in commits
    assert migrate_module.NOT_DURABLE not in panel.result.result.notes


def test_a_workspace_is_never_thrown_away_by_its_path(tmp_path: Path, commits: list[int]) -> None:
    # a workspace in a folder named like the rehearsal's, opened without the rehearsal's word, keeps the default
    project, db = _project(tmp_path)
    workspace = Workspace.create(db, tmp_path / "lightnb-rehearse-x" / "workspace")
    steps.run_on_workspace(project, workspace)
    assert commits and OFF not in commits
