"""Notebooks 02 and 03 run headless with parameters (papermill); their reports embed widget state, leak no secret."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import nbformat
import papermill
import pytest

from lightnb import samples, steps
from lightnb.cli import main
from lightnb.project import Project
from lightnb.rehearse import NOTEBOOK, notebooks_dir
from lightnb.report import STATE_MIME, export
from lightnb.workspace import file_sha256

pytestmark = pytest.mark.timeout(180)

SECRET_EMAIL = "canary.9f3b2c@leak.example"
SECRET_HASH = "$argon2id$v=19$m=65536,t=3,p=4$CANARYSALT$CANARYHASHVALUE9f3b2c"


@pytest.fixture
def planted(tmp_path: Path) -> samples.SampleWorkbook:
    """A small sample whose production database holds a planted secret in user 1's row."""
    made = samples.sample_workbook(tmp_path / "sample", users=120, workspace=False)
    conn = sqlite3.connect(made.production_db)
    with conn:
        conn.execute("UPDATE users SET email = ?, password_hash = ? WHERE id = 1", (SECRET_EMAIL, SECRET_HASH))
    conn.close()
    return made


def add_migration(project_dir: Path, name: str, up: str, down: str) -> None:
    project = Project.discover(project_dir)
    created = steps.generate(project, name).migration
    steps.save_sql(project, created.name, up=up, down=down)


def assert_clean_report(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert SECRET_EMAIL not in text and "CANARYHASHVALUE" not in text
    return text


def test_rehearse_cli_runs_notebook_02_on_a_copy(planted, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    add_migration(planted.project_dir, "add_email_verified_to_users",
                  "ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;",
                  "ALTER TABLE users DROP COLUMN email_verified;")
    production_hash = file_sha256(planted.production_db)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(planted.project_dir), "--database", str(planted.production_db),
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out / NOTEBOOK}" in printed
    assert file_sha256(planted.production_db) == production_hash  # production untouched
    executed = nbformat.read(out / NOTEBOOK, as_version=4)
    assert STATE_MIME in executed.metadata["widgets"]
    texts = [o.get("data", {}).get("text/plain", "") for c in executed.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]
    assert "<Test panel: verdict: safe>" in texts and "<Run panel: applied 1 migration(s)>" in texts
    html = assert_clean_report(out / "02_rehearse_on_production_copy.html")
    assert html.count(STATE_MIME) == 1 and 'data-table=\\"users\\"' in html and "[redacted]" in html
    assert_clean_report(out / "02_rehearse_on_production_copy.md")


def test_rehearse_of_a_missing_database_is_one_line(planted, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["rehearse", "--project", str(planted.project_dir), "--database", str(tmp_path / "missing.db"),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "missing.db does not exist" in err and len(err.strip().splitlines()) == 1


def test_rehearse_of_a_failing_migration_writes_the_report_and_fails(planted, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    add_migration(planted.project_dir, "broken", "ALTER TABLE users ADD COLUMN x TEXT;\nUPDATE nowhere SET a = 1;",
                  "ALTER TABLE users DROP COLUMN x;")
    production_hash = file_sha256(planted.production_db)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(planted.project_dir), "--database", str(planted.production_db),
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1 and "verdict: unsafe" in printed
    assert (out / "02_rehearse_on_production_copy.html").is_file()
    html = assert_clean_report(out / "02_rehearse_on_production_copy.html")
    assert "no such table: nowhere" in html
    assert not list(out.rglob("*.db"))  # the unredacted workspace copy never lands in OUTDIR
    assert file_sha256(planted.production_db) == production_hash


def test_document_notebook_03_with_parameters_exports_html_and_markdown(planted, tmp_path: Path) -> None:
    executed = tmp_path / "03.ipynb"
    papermill.execute_notebook(
        str(notebooks_dir() / "03_document_a_data_change.ipynb"), str(executed), cwd=str(tmp_path),
        kernel_name="python3", progress_bar=False,
        parameters={"project_dir": str(planted.project_dir), "production_db": str(planted.production_db),
                    "verification": ["SELECT id, email, password_hash, display_name FROM users WHERE id <= 3"]})
    nb = nbformat.read(executed, as_version=4)
    assert STATE_MIME in nb.metadata["widgets"]
    report = export(executed, tmp_path / "report", fetch_js=False)
    assert report.widget_state and report.html is not None and report.markdown is not None
    html = assert_clean_report(report.html)
    assert html.count(STATE_MIME) == 1 and "lightnb-signoff" in html and "[redacted]" in html
    markdown = assert_clean_report(report.markdown)
    assert "Data change for review" in markdown and "<style" not in markdown
    assert "<Verify panel" not in markdown and "<Run panel" not in markdown  # panels show content, not text form
    affected = _section(markdown, "## Affected rows", "## Verification")
    assert 'data-table="user_settings"' in affected and "<del>en-US</del> → nl-NL" in affected
    assert "<b>Schema changes</b>" in affected and "table added: locale_fix_backup" in affected
    verified = _section(markdown, "## Verification", "## Sign-off")
    assert "SELECT id, email, password_hash, display_name FROM users WHERE id &lt;= 3" in verified
    assert "<th>password_hash</th>" in verified and verified.count("<td>[redacted]</td>") == 6
    assert "Verdict: safe" in _section(markdown, "## Reversibility", "## Affected rows")
    assert "- [ ] Approved to run on production" in markdown


def _section(markdown: str, start: str, end: str) -> str:
    return markdown.split(start, 1)[1].split(end, 1)[0]


def test_export_refuses_to_write_a_leaking_report(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"contact {SECRET_EMAIL}")])
    with pytest.raises(Exception, match="secret"):
        export(nb, tmp_path, name="leak", secrets=[SECRET_EMAIL], fetch_js=False)
    assert not (tmp_path / "leak.html").exists()
