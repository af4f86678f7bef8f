"""The proof's copy keeps its rollback journal between the proof's transactions (``journal_mode = PERSIST``):
no journal is made and deleted per commit, and the proof proves what it proved before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lightnb import checks, samples, steps
from lightnb.layout import SIDECARS
from lightnb.project import Project
from lightnb.workspace import file_sha256

SAFE = ("ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n"
        "UPDATE user_settings SET theme = 'dark' WHERE user_id % 3 = 0;\n",
        "ALTER TABLE user_settings DROP COLUMN theme;\n")
LOSSY = ("DELETE FROM oauth_connections WHERE id % 2 = 0;\n", "SELECT 1;\n")


@pytest.fixture()
def sample(tmp_path: Path) -> tuple[Project, Path]:
    made = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    return Project.discover(made.project_dir), made.production_db


def _add(project: Project, name: str, sql: tuple[str, str]) -> None:
    steps.save_sql(project, steps.generate(project, name).migration.name, up=sql[0], down=sql[1])


def _journals(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[int]]:
    """The proof connection's journal mode, and how many journals of its copy exist after each of its steps."""
    modes: list[str] = []
    after_steps: list[int] = []
    prove, step = checks._prove, checks._step

    def proving(conn: Any, *args: Any, **kwargs: Any) -> Any:
        modes.append(conn.execute("PRAGMA journal_mode").fetchone()[0])
        return prove(conn, *args, **kwargs)

    def stepping(conn: Any, *args: Any, **kwargs: Any) -> Any:
        done = step(conn, *args, **kwargs)
        after_steps.append(int(Path(f"{checks._path_of(conn)}-journal").is_file()))
        return done

    monkeypatch.setattr(checks, "_prove", proving)
    monkeypatch.setattr(checks, "_step", stepping)
    return modes, after_steps


def test_the_proofs_copy_keeps_its_journal_between_steps(
        sample: tuple[Project, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project, production = sample
    _add(project, "theme", SAFE)
    digest = file_sha256(production)
    modes, after_steps = _journals(monkeypatch)
    result = checks.check(project, database=production, run_tests=False)
    assert modes == ["persist"]
    assert after_steps == [1, 1, 1]  # up, down, up again: the journal stays (a deleted one reads 0)
    assert result.verdict == "safe"
    assert file_sha256(production) == digest  # only read
    assert [s for s in SIDECARS if Path(f"{production}{s}").exists()] == []  # nothing beside production


def test_the_proof_with_a_kept_journal_still_finds_lost_rows(
        sample: tuple[Project, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project, production = sample
    _add(project, "purge", LOSSY)
    modes, _ = _journals(monkeypatch)
    result = checks.check(project, database=production, run_tests=False)
    assert modes == ["persist"]
    assert result.verdict == "unsafe"
    assert any("does not restore the rows" in reason for m in result.migrations for reason in m.reasons)
