"""`lightnb rehearse` without --database takes production from lightnb.toml; with neither, one line says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb import samples, steps
from lightnb.cli import main
from lightnb.project import Project
from lightnb.rehearse import NOTEBOOK
from lightnb.workspace import file_sha256

pytestmark = pytest.mark.timeout(180)


def test_rehearse_takes_production_from_lightnb_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = samples.sample_workbook(tmp_path / "sample", users=80, workspace=False)
    project = Project.discover(made.project_dir)
    configured = project.settings.production
    assert configured is not None and configured.resolve() == made.production_db.resolve()
    created = steps.generate(project, samples.EXERCISE.name).migration
    steps.save_sql(project, created.name, up=samples.EXERCISE.up_sql, down=samples.EXERCISE.down_sql)
    production = file_sha256(made.production_db)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(made.project_dir), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "verdict: safe" in printed
    assert f"(on a copy of {made.production_db.resolve()})" in printed and (out / NOTEBOOK).is_file()
    assert file_sha256(made.production_db) == production


def test_rehearse_without_any_production_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "app"
    (root / "migrations").mkdir(parents=True)
    (root / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["rehearse", "--project", str(root), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No production database to rehearse on" in err and "--database-url" in err
    assert not out.exists()


def test_database_and_database_url_are_exclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["rehearse", "--database", "a.db", "--database-url", "postgres://u@h/db", "--out", str(tmp_path)])
    assert stopped.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_a_run_that_fails_on_the_copy_fails_the_rehearsal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The proof alone says safe; the run step cannot regenerate the schema file: the rehearsal is not safe."""
    made = samples.sample_workbook(tmp_path / "sample", users=80, workspace=False)
    project = Project.discover(made.project_dir)
    created = steps.generate(project, samples.EXERCISE.name).migration
    steps.save_sql(project, created.name, up=samples.EXERCISE.up_sql, down=samples.EXERCISE.down_sql)
    (made.project_dir / "src" / "schema_dir").mkdir()
    diesel_toml = made.project_dir / "diesel.toml"
    diesel_toml.write_text(diesel_toml.read_text(encoding="utf-8").replace(
        'file = "src/schema.rs"', 'file = "src/schema_dir"'), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(made.project_dir), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "verdict: unsafe" in captured.out
    html = (out / NOTEBOOK).with_suffix(".html").read_text(encoding="utf-8")
    assert "schema_dir" in html  # the Run panel's line says why, in the report
