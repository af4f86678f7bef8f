"""Notebooks 02 and 03 run headless with parameters (papermill); their reports show the panels' records, leak no
secret; a rehearsal leaves the project's tree as it found it."""

from __future__ import annotations

import re
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


def tree_state(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file below ``folder`` with its mode and content hash."""
    import hashlib
    return {str(p.relative_to(folder)): (p.stat().st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rehearse_cli_runs_notebook_02_on_a_copy(planted, tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    add_migration(planted.project_dir, "add_email_verified_to_users",
                  "ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;",
                  "ALTER TABLE users DROP COLUMN email_verified;")
    production_hash = file_sha256(planted.production_db)
    project_before = tree_state(planted.project_dir)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(planted.project_dir), "--database", str(planted.production_db),
                 "--out", str(out)])
    assert code == 0
    printed, errors = capfd.readouterr()
    assert f"Wrote {out / NOTEBOOK}" in printed and "rehearsed: " in printed
    assert "without encryption" not in errors and "WARNING" not in errors  # the kernel's transport is quiet
    assert tree_state(planted.project_dir) == project_before  # schema.rs was regenerated in the copy only
    assert file_sha256(planted.production_db) == production_hash  # production untouched
    executed = nbformat.read(out / NOTEBOOK, as_version=4)
    assert STATE_MIME in executed.metadata["widgets"]
    texts = [o.get("data", {}).get("text/plain", "") for c in executed.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]
    assert "<Test panel: verdict: safe>" in texts and "<Run panel: applied 1 migration(s)>" in texts
    html = assert_clean_report(out / "02_rehearse_on_production_copy.html")
    assert STATE_MIME not in html and "widget-view+json" not in html  # made from the records: no widget JS
    assert '<div class="lightnb-compare" data-table="users">' in html and "[redacted]" in html
    markdown = assert_clean_report(out / "02_rehearse_on_production_copy.md")
    assert "**Verdict: safe**" in markdown and "email_verified (new)" in markdown
    # the Run took the proof's copy (the migration ran there on the same state) instead of running it once more
    assert "Applied by the Test step's proof" in markdown


def test_rehearse_with_nothing_pending_says_so_and_writes_nothing(planted, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    project_before = tree_state(planted.project_dir)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(planted.project_dir), "--database", str(planted.production_db),
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 3 and printed.startswith("nothing to rehearse: every migration is already applied")
    assert "safe" not in printed and not out.exists()
    assert tree_state(planted.project_dir) == project_before


def test_rehearse_copies_a_migrations_folder_kept_outside_the_project(planted, tmp_path: Path) -> None:
    import shutil

    from lightnb.rehearse import copy_project

    project_dir = planted.project_dir
    shared = tmp_path / "shared" / "migrations"
    shutil.move(str(project_dir / "migrations"), shared)
    toml = project_dir / "diesel.toml"
    text = toml.read_text()
    assert '[migrations_directory]\ndir = "migrations"' in text
    schema_rs = (project_dir / "src" / "schema.rs").resolve()
    toml.write_text(text.replace('[migrations_directory]\ndir = "migrations"',
                                 f'[migrations_directory]\ndir = "{shared.as_posix()}"')
                    .replace('file = "src/schema.rs"', f"file = '{schema_rs.as_posix()}'"))
    (project_dir / "target").mkdir()
    (project_dir / "target" / "big.bin").write_bytes(b"x")
    (project_dir / "dev.db").write_bytes(b"SQLite format 3\x00")
    copied = copy_project(Project.discover(project_dir), project_dir, tmp_path / "copy")
    copy = Project.discover(copied)
    assert copied.name == project_dir.name and copy.migrations_dir.resolve() != shared.resolve()
    assert sorted(p.name for p in copy.migrations_dir.iterdir()) == sorted(p.name for p in shared.iterdir())
    assert not (copied / "target").exists() and not (copied / "dev.db").exists()
    assert (copied / "src" / "schema.rs").read_bytes() == schema_rs.read_bytes()
    written = copy.resolve(copy.print_schema["default"]["file"]).resolve()
    assert written == (copied / "src" / "schema.rs").resolve()  # runs in the copy write the copy's schema.rs


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


def test_rehearse_refuses_a_schema_file_it_could_not_redirect_to_the_copy(planted, tmp_path: Path,
                                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import lightnb.rehearse as rehearse_module
    from lightnb.errors import ProjectError

    toml = planted.project_dir / "diesel.toml"
    schema_rs = (planted.project_dir / "src" / "schema.rs").resolve()
    toml.write_text(toml.read_text().replace('file = "src/schema.rs"', f'file = "{schema_rs.as_posix()}"'))
    monkeypatch.setattr(rehearse_module, "_rebase_config", lambda *args: None)  # as if the path could not be found
    before = schema_rs.read_bytes()
    with pytest.raises(ProjectError, match="print_schema file .* cannot be redirected"):
        rehearse_module.copy_project(Project.discover(planted.project_dir), planted.project_dir, tmp_path / "copy")
    assert schema_rs.read_bytes() == before


def test_document_notebook_03_with_parameters_exports_html_and_markdown(planted, tmp_path: Path) -> None:
    executed = tmp_path / "03.ipynb"
    papermill.execute_notebook(
        str(notebooks_dir() / "03_document_a_data_change.ipynb"), str(executed), cwd=str(tmp_path),
        kernel_name="python3", progress_bar=False,
        parameters={"project_dir": str(planted.project_dir), "production_db": str(planted.production_db),
                    "verification": ["SELECT id, email, password_hash, display_name FROM users WHERE id <= 3"]})
    nb = nbformat.read(executed, as_version=4)
    assert STATE_MIME in nb.metadata["widgets"]
    report = export(executed, tmp_path / "report")
    # the panels' records, and the line the copy of production left when the workbook opened
    assert report.records == 8 and report.html is not None and report.markdown is not None
    html = assert_clean_report(report.html)
    assert STATE_MIME not in html and 'data-panel="Sign-off"' in html and "[redacted]" in html
    markdown = assert_clean_report(report.markdown)
    assert "Data change for review" in markdown and "<style" not in markdown
    assert re.search(r"Workspace copy: copying \S+\.db: [\d.]+ [KM]iB in \d+\.\d s", markdown)
    assert "<Verify panel" not in markdown and "<Run panel" not in markdown  # records, not the text form
    affected = _section(markdown, "## Affected rows", "## Verification")
    assert "##### user_settings" in affected and "| ~~en-US~~ → nl-NL |" in affected
    assert "**Schema changes**" in affected and "table added: locale_fix_backup" in affected
    assert re.search(r"\| user_settings \| (\d+) \| \1 \| \d+ row\(s\) updated \|", affected)
    verified = _section(markdown, "## Verification", "## Sign-off")
    assert "SELECT id, email, password_hash, display_name FROM users WHERE id <= 3" in verified
    assert "| id | email | password_hash | display_name |" in verified and verified.count("[redacted]") == 6
    assert "**Verdict: safe**" in _section(markdown, "## Reversibility", "## Affected rows")
    assert "- [ ] Approved to run on production" in markdown


def _section(markdown: str, start: str, end: str) -> str:
    return markdown.split(start, 1)[1].split(end, 1)[0]


def test_export_refuses_to_write_a_leaking_report(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"contact {SECRET_EMAIL}")])
    with pytest.raises(Exception, match="secret"):
        export(nb, tmp_path, name="leak", secrets=[SECRET_EMAIL])
    assert not (tmp_path / "leak.html").exists()



def test_rehearse_masks_the_columns_the_project_redacts(planted, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A column masked only by the project's [redact] settings is masked in every file a rehearsal writes,
    also in outputs no panel made (a plain DataFrame)."""
    canary = "Zelda Quokkafeather-7c1"
    settings = planted.project_dir / "lightnb.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "[redact]\n", '[redact]\ncolumns = ["users.display_name"]\n'), encoding="utf-8")
    conn = sqlite3.connect(planted.production_db)
    with conn:
        conn.execute("UPDATE users SET display_name = ? WHERE id <= 3", (canary,))
    conn.close()
    add_migration(planted.project_dir, "add_bio_to_users", "ALTER TABLE users ADD COLUMN bio TEXT;",
                  "ALTER TABLE users DROP COLUMN bio;")
    # a workbook notebook 02 of the team's own that shows production rows as a plain DataFrame
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    parameters = nbformat.v4.new_code_cell('project_dir = ""\nproduction_db = ""\nworkspace_dir = ""\nlimit = None\n'
                                           'run_project_tests = False')
    parameters.metadata["tags"] = ["parameters"]
    shown = nbformat.v4.new_code_cell(
        "import sqlite3, pandas as pd\n"
        "pd.read_sql('SELECT id, display_name FROM users ORDER BY id LIMIT 5', "
        "sqlite3.connect(f'file:{production_db}?mode=ro', uri=True))")
    nbformat.write(nbformat.v4.new_notebook(cells=[parameters, shown],
                                            metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                     "display_name": "Python 3"}}),
                   notebooks / NOTEBOOK)
    monkeypatch.setenv("LIGHTNB_NOTEBOOKS", str(notebooks))
    out = tmp_path / "out"
    # this notebook prints no verdict (exit 1): only what it wrote matters here
    main(["rehearse", "--project", str(planted.project_dir), "--database", str(planted.production_db),
          "--out", str(out)])
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in written} >= {NOTEBOOK, "02_rehearse_on_production_copy.html"}
    for path in written:
        assert canary.encode() not in path.read_bytes(), f"{path.name} shows a column the project redacts"
    assert "display_name" in (out / NOTEBOOK).read_text(encoding="utf-8")  # the table is there, masked
