"""The rehearsal's two copies of production hold one state: the proof reads its state before the first migration
from the workspace (only read, while both files are provably untouched) instead of saving it again."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from lightnb import checks, rehearse, samples, steps
from lightnb.backends import sqlite
from lightnb.errors import LightnbError
from lightnb.project import Project
from lightnb.rehearse import _copies, copy_project
from lightnb.workspace import file_sha256

MIGRATIONS = {
    "safe": ("ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n"
             "UPDATE user_settings SET theme = 'dark' WHERE user_id % 3 = 0;\n",
             "ALTER TABLE user_settings DROP COLUMN theme;\n"),
    "lossy": ("UPDATE user_settings SET user_id = user_id WHERE 0;\nDELETE FROM oauth_connections WHERE id % 2 = 0;\n",
              "SELECT 1;\n"),
    "declared": ("DELETE FROM oauth_connections WHERE id % 2 = 0;\n",
                 "-- lightnb: irreversible: tokens purged by the provider\n"),
}


@pytest.fixture()
def rehearsal(tmp_path: Path) -> tuple[Project, Path, Path]:
    sample = samples.sample_workbook(tmp_path / "sample", users=60, workspace=False)
    copied = copy_project(Project.discover(sample.project_dir), sample.project_dir, tmp_path / "scratch" / "project")
    return Project.discover(copied), sample.production_db, tmp_path / "scratch"


def _add(project: Project, kind: str) -> None:
    up, down = MIGRATIONS[kind]
    steps.save_sql(project, steps.generate(project, kind).migration.name, up=up, down=down)


def _proof_copy(folder: Path, fresh: dict[str, Any]) -> dict[str, Any]:
    return {**fresh, "folder": str(folder / "check")}


def _saved_before(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the states the proof saves before up (as tables or whole)."""
    saved: list[str] = []
    for name in ("save_tables", "backup"):
        real = getattr(sqlite, name)

        def spy(conn: Any, path: Path, *args: Any, _real: Any = real, **kwargs: Any) -> Path:
            if Path(path).name.startswith("before-"):
                saved.append(Path(path).name)
            return _real(conn, path, *args, **kwargs)

        monkeypatch.setattr(sqlite, name, spy)
    return saved


def test_the_two_copies_name_one_state_only_while_production_holds_still(
        rehearsal: tuple[Project, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project, production, folder = rehearsal
    made, fresh = _copies(project.root, production, folder / "a")
    assert made is not None and fresh is not None
    assert fresh["same_as"] == {"path": str(folder / "a" / "workspace" / "workspace.db"), "state": made["state"]}

    real = rehearse._workspace_copy

    def written_between(*args: Any, **kwargs: Any) -> Any:
        copy = real(*args, **kwargs)
        conn = sqlite3.connect(production)  # the application commits between the two copies
        conn.execute("UPDATE users SET email = email")
        conn.commit()
        conn.close()
        return copy

    monkeypatch.setattr(rehearse, "_workspace_copy", written_between)
    _made, fresh = _copies(project.root, production, folder / "b")
    assert fresh is not None and "same_as" not in fresh


@pytest.mark.parametrize("kind", sorted(MIGRATIONS))
def test_the_proof_reads_the_state_before_up_from_the_workspace_with_the_same_verdict(
        rehearsal: tuple[Project, Path, Path], monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    project, production, folder = rehearsal
    _add(project, kind)
    expected = checks.check(project, database=production, run_tests=False)
    made, fresh = _copies(project.root, production, folder)
    assert fresh is not None and "same_as" in fresh
    workspace = Path(fresh["same_as"]["path"])
    digest = file_sha256(workspace)
    saved = _saved_before(monkeypatch)
    result = checks.check(project, database=production, run_tests=False, copied=_proof_copy(folder, fresh))
    assert saved == []  # the state before up was not saved again: the workspace holds it
    assert result.to_dict() == expected.to_dict()
    assert workspace.is_file() and file_sha256(workspace) == digest  # only read, kept
    assert steps.open_workbook(project.root, production, workspace_dir=workspace.parent, copied=made).workspace.path \
        == workspace.resolve()  # still the untouched copy the notebook opens


def test_a_workspace_written_since_is_not_read_as_the_state_before_up(
        rehearsal: tuple[Project, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project, production, folder = rehearsal
    _add(project, "safe")
    expected = checks.check(project, database=production, run_tests=False)
    _made, fresh = _copies(project.root, production, folder)
    assert fresh is not None
    conn = sqlite3.connect(fresh["same_as"]["path"])
    conn.execute("DELETE FROM user_settings WHERE user_id % 2 = 0")
    conn.commit()
    conn.close()
    saved = _saved_before(monkeypatch)
    result = checks.check(project, database=production, run_tests=False, copied=_proof_copy(folder, fresh))
    assert saved == ["before-1.db"]
    assert result.to_dict() == expected.to_dict()


def test_a_workspace_written_during_the_proof_stops_it(
        rehearsal: tuple[Project, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project, production, folder = rehearsal
    _add(project, "safe")
    _made, fresh = _copies(project.root, production, folder)
    assert fresh is not None
    real = checks.runner.apply

    def apply(conn: Any, migration: Any, direction: str, *args: Any, **kwargs: Any) -> Any:
        if direction == "down":  # another program writes the workspace while the proof compares with it
            other = sqlite3.connect(fresh["same_as"]["path"])
            other.execute("DELETE FROM user_settings WHERE user_id % 2 = 0")
            other.commit()
            other.close()
        return real(conn, migration, direction, *args, **kwargs)

    monkeypatch.setattr(checks.runner, "apply", apply)
    with pytest.raises(LightnbError, match="was written while the proof read it"):
        checks.check(project, database=production, run_tests=False, copied=_proof_copy(folder, fresh))


def test_the_violations_before_up_are_counted_in_the_workspace_by_a_reader_while_up_runs(
        rehearsal: tuple[Project, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project, production, folder = rehearsal
    conn = sqlite3.connect(production)  # production already holds rows whose user is gone: not the migration's doing
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM users WHERE id IN (SELECT user_id FROM user_settings ORDER BY user_id LIMIT 2)")
    conn.commit()
    conn.close()
    _add(project, "safe")
    expected = checks.check(project, database=production, run_tests=False)
    made, fresh = _copies(project.root, production, folder)
    assert fresh is not None and "same_as" in fresh
    counted: list[tuple[str, Path, dict[str, int]]] = []
    real = checks._fk_violations_in

    def spy(path: Path, touched: Any, opened: Any) -> dict[str, int]:
        found = real(path, touched, opened)
        counted.append((threading.current_thread().name, Path(path), found))
        return found

    monkeypatch.setattr(checks, "_fk_violations_in", spy)
    result = checks.check(project, database=production, run_tests=False, copied=_proof_copy(folder, fresh))
    assert counted == [(checks._Reader.NAME, Path(fresh["same_as"]["path"]), {"user_settings": 2})]
    # the two rows without their user were there before up: no new violation, as when the state is saved
    assert result.to_dict() == expected.to_dict()
    assert not any("foreign key" in r for r in result.migrations[-1].reasons), result.migrations[-1].reasons
