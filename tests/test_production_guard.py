"""The declared production database is never written, whichever way it is named; settings never leak."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb import steps
from lightnb.cli import main
from lightnb.errors import WorkspaceError
from lightnb.project import Project
from tests.support.builder import ProjectBuilder, file_state, make_database


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = (ProjectBuilder(tmp_path / "app", config=None)
            .migration("1_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT);\n"
                                  "INSERT INTO users (nickname) VALUES ('zorro-secret-nick');",
                       "DROP TABLE users;")
            .build())
    make_database(tmp_path / "prod.db", "CREATE TABLE keep (x);")
    (root / "lightnb.toml").write_text('production = "../prod.db"\n[redact]\ncolumns = ["users.nickname"]\n')
    return root


def test_database_url_naming_production_without_workspace_is_refused(app: Path, monkeypatch, capsys) -> None:
    production = app.parent / "prod.db"
    state = file_state(production)
    monkeypatch.chdir(app)
    monkeypatch.setenv("DATABASE_URL", "../prod.db")
    assert main(["migration", "run"]) == 1
    assert "production database, which lightnb only reads" in capsys.readouterr().err
    assert main(["migration", "list"]) == 0  # reading is allowed, and writes nothing
    assert file_state(production) == state
    with pytest.raises(WorkspaceError):
        steps.run(Project.discover(app), production)
    with pytest.raises(WorkspaceError):
        steps.revert(Project.discover(app), production)
    assert file_state(production) == state


def test_listing_a_database_without_tracking_table_writes_nothing(app: Path) -> None:
    other = make_database(app.parent / "other.db", "CREATE TABLE t (x);")
    state = file_state(other)
    result = steps.list_migrations(Project.discover(app), other)
    assert [m.applied for m in result.migrations] == [False]
    assert file_state(other) == state


def test_project_redaction_reaches_check_and_lint(app: Path, tmp_path: Path) -> None:
    project = Project.discover(app)
    db = tmp_path / "work.db"
    steps.run(project, db, regenerate_schema=False)
    (app / "migrations" / "2_lossy").mkdir()
    (app / "migrations" / "2_lossy" / "up.sql").write_text("ALTER TABLE users ADD COLUMN age INTEGER;\n")
    (app / "migrations" / "2_lossy" / "down.sql").write_text(
        "ALTER TABLE users DROP COLUMN age;\nDELETE FROM users;\n")
    text = steps.test(project, db, run_tests=False).to_text()
    assert "rows that differ" in text and "zorro-secret-nick" not in text
    (app / "migrations" / "2_lossy" / "up.sql").write_text("DELETE FROM users;\n")
    findings = steps.lint(project, database=db)
    assert any(f.rule == "destructive" for f in findings)
    assert all("zorro-secret-nick" not in f.message for f in findings)


def test_diff_refuses_to_guess_when_settings_are_broken(app: Path, tmp_path: Path, capsys) -> None:
    a = make_database(tmp_path / "a.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT);"
                                         "INSERT INTO users VALUES (1, 'zorro-secret-nick');")
    b = make_database(tmp_path / "b.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT);"
                                         "INSERT INTO users VALUES (1, 'zorro-secret-nick-2');")
    assert main(["diff", str(a), str(b), "--project", str(app)]) == 0
    assert "zorro-secret-nick" not in capsys.readouterr().out
    (app / "lightnb.toml").write_text("[redact\n")
    assert main(["diff", str(a), str(b), "--project", str(app)]) == 1
    out, err = capsys.readouterr()
    assert "zorro-secret-nick" not in out and "lightnb.toml" in err


def test_preview_note_masks_literals_of_the_filter(tmp_path: Path) -> None:
    import sqlite3

    from lightnb.inspect.preview import preview
    conn = sqlite3.connect(make_database(tmp_path / "x.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
                                                            "INSERT INTO users (email) VALUES ('ann@example.org');"))
    shown = preview(conn, "users", where="email = 'ann@example.org'", reveal=True)  # a masked column: only revealed
    assert len(shown.frame) == 1 and "ann@example.org" not in shown.note and "email = '…'" in shown.note
