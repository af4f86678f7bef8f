"""`lightnb lint` and lint_project(database=…) measure impact and read what ran, never writing the database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lightnb import runner
from lightnb.backends import sqlite
from lightnb.cli import main
from lightnb.errors import DatabaseError, MigrationError
from lightnb.lint import lint_project
from lightnb.lint.rules.hygiene import checksum_hook
from lightnb.migrations import discover
from lightnb.workspace import Workspace

USERS = ("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL);\n"
         "CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT NOT NULL);\n")
ROWS = ("INSERT INTO users (email) VALUES ('a@x'), ('b@x'), ('c@x');\n"
        "INSERT INTO notes (body) VALUES ('n1'), ('n2');\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make(folder: Path, name: str, up: str, down: str = "SELECT 1;\n") -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "up.sql").write_text(up, encoding="utf-8")
    (folder / name / "down.sql").write_text(down, encoding="utf-8")


def project(tmp_path: Path) -> Path:
    """A Diesel project whose database ran the first two migrations; two more are pending."""
    root = tmp_path / "app"
    migrations = root / "migrations"
    (root / "diesel.toml").parent.mkdir(parents=True)
    (root / "diesel.toml").write_text('[migrations_directory]\ndir = "migrations"\n', encoding="utf-8")
    make(migrations, "2024-01-01-000000_schema", USERS, "DROP TABLE notes;\nDROP TABLE users;\n")
    make(migrations, "2024-01-02-000000_rows", ROWS, "DELETE FROM notes;\nDELETE FROM users;\n")
    make(migrations, "2024-01-03-000000_purge_notes", "DELETE FROM notes;\n")
    make(migrations, "2024-01-04-000000_purge_users", "DELETE FROM users WHERE id > 1;\n")
    conn = sqlite.connect(tmp_path / "production.db")
    for migration in discover(migrations)[:2]:
        runner.apply(conn, migration, "up", on_applied=checksum_hook)
    conn.close()
    return root


def destructive(findings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.migration.split("_", 1)[1]: f.message for f in findings if f.rule == "destructive"}


def test_each_pending_migration_is_measured_in_the_state_before_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    database = tmp_path / "production.db"
    before = sha256(database)
    found = destructive(lint_project(root / "migrations", database=database))
    assert found == {
        "purge_notes": "DELETE from notes without WHERE (measured on the workspace copy: 2 row(s) of notes deleted)",
        # measured after purge_notes ran on the copy; users rows are still all there
        "purge_users": "DELETE from users (measured on the workspace copy: 2 row(s) of users deleted)",
    }
    assert sha256(database) == before


def test_applied_migrations_are_not_measured_on_the_state_after_them(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "migrations" / "2024-01-02-000000_rows" / "up.sql").write_text(ROWS + "DELETE FROM notes;\n")
    findings = lint_project(root / "migrations", database=tmp_path / "production.db",
                            versions=["20240102000000"])
    assert destructive(findings) == {"rows": "DELETE from notes without WHERE"}
    # and the project rules read the database: the file changed after it ran
    assert [(f.rule, f.migration) for f in findings if f.rule == "checksum-changed"] == [
        ("checksum-changed", "2024-01-02-000000_rows")]


def test_a_pending_migration_that_fails_stops_the_measuring(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "migrations" / "2024-01-03-000000_purge_notes" / "up.sql").write_text(
        "DELETE FROM notes;\nINSERT INTO missing VALUES (1);\n")
    found = destructive(lint_project(root / "migrations", database=tmp_path / "production.db"))
    # the state before it cannot be reached: said, not left for the reader to guess
    assert found["purge_users"] == ("DELETE from users (not measured: 2024-01-03-000000_purge_notes, pending before "
                                    "it, does not run on the workspace copy)")


def test_a_missing_database_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    with pytest.raises(DatabaseError, match="does not exist"):
        lint_project(root / "migrations", database=tmp_path / "nope.db")


def test_cli_lints_with_the_workspace_and_never_changes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    workspace = Workspace.create(tmp_path / "production.db", root / ".lightnb")
    hashes = sha256(workspace.path), sha256(tmp_path / "production.db")
    assert main(["lint", "--project", str(root), "--format", "json"]) == 1
    messages = [f["message"] for f in json.loads(capsys.readouterr().out) if f["rule"] == "destructive"]
    assert messages[0] == ("DELETE from notes without WHERE (measured on the workspace copy: "
                           "2 row(s) of notes deleted)")
    assert (sha256(workspace.path), sha256(tmp_path / "production.db")) == hashes


def test_cli_database_url_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    other = sqlite.connect(tmp_path / "other.db")
    for migration in discover(root / "migrations")[:2]:
        runner.apply(other, migration, "up")
    other.execute("DELETE FROM notes WHERE id > 1")
    other.close()
    before = sha256(tmp_path / "other.db")
    main(["lint", "--project", str(root), "--database-url", str(tmp_path / "other.db"), "20240103000000"])
    out = capsys.readouterr().out
    assert "(measured on the workspace copy: 1 row(s) of notes deleted)" in out
    assert sha256(tmp_path / "other.db") == before


def test_cli_without_any_database_still_lints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    assert main(["lint", "--project", str(root)]) == 1
    assert "error[destructive] 2024-01-03-000000_purge_notes/up.sql:1: DELETE from notes without WHERE\n" \
        in capsys.readouterr().out


def test_unknown_version_names_it_and_the_closest_migrations(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    assert main(["lint", "--project", str(root), "20240105000000"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("No migration with version '20240105000000' to lint; closest: 2024-01-0")
    with pytest.raises(MigrationError, match="'1234'.*closest: 2024-"):
        lint_project(root / "migrations", versions=["1234"])
