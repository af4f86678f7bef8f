"""Bad inputs through the CLI: each one gives one clear line naming the problem and the fix.

For every case: the exit code is not 0, stderr holds exactly one line besides lightnb's
"working on workspace" notice, that line names the problem (a case-specific phrase) and a fix,
there is no traceback, and nothing changed on disk (every file of the project, its production
database and its workspace are hashed with their mtimes before and after).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_support import REPO, make_project, tree_mark, write_migration

from lightnb import steps
from lightnb.cli import main
from lightnb.project import Project
from lightnb.workspace import Workspace

NEW = "2024-02-01-000000-0000_add_tags"
NOTICE = "lightnb: working on workspace"
# Words that show the line says what to do, not only what went wrong.
FIX_WORDS = ("fix", "pass", "use", "give", "create", "restore", "remove", "rename", "write", "check",
             "choose", "add", "close", "retry", "reset", "save", "split", "set", "move", "open", "replace")


@dataclass(frozen=True)
class Case:
    """One bad input: how to set it up, the command line, and a phrase the error must contain."""

    id: str
    argv: list[str]
    needle: str
    setup: Callable[[Path], None] = lambda root: None


def _pending(up: str | bytes | None, down: str | None = "DROP TABLE IF EXISTS tags;\n") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        folder = write_migration(root / "migrations", NEW, None, down)
        if isinstance(up, bytes):
            (folder / "up.sql").write_bytes(up)
        elif up is not None:
            (folder / "up.sql").write_text(up, encoding="utf-8")
    return setup


def _applied(up: str, down: str | None, *, then: Callable[[Path], None] = lambda root: None) -> Callable[[Path], None]:
    """Write a migration and apply it to the workspace during setup (before hashing)."""
    def setup(root: Path) -> None:
        write_migration(root / "migrations", NEW, up, down)
        steps.run(Project.discover(root), root / ".lightnb" / "workspace.db", regenerate_schema=False)
        then(root)
    return setup


def _write(relative: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return setup


def _remove(relative: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        target = root / relative
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return setup


def _both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for step in setups:
            step(root)
    return setup


RUN = ["migration", "run", "--no-schema"]
REVERT = ["migration", "revert", "--no-schema"]
REDO = ["migration", "redo", "--no-schema"]
LIST = ["migration", "list"]
GEN = ["migration", "generate"]

CASES = [
    # --- SQL that SQLite rejects ------------------------------------------------------------------------
    Case("syntax_error", RUN, "syntax error", _pending("CREAT TABLE tags (id INTEGER);\n")),
    Case("unterminated_string", RUN, "unrecognized token",
         _pending("INSERT INTO accounts (owner, balance) VALUES ('dan, 1);\n")),
    Case("unterminated_comment_inside_statement", RUN, "incomplete input",
         _pending("CREATE TABLE tags (id /* the key INTEGER);\n")),
    Case("trigger_without_end", RUN, "incomplete input",
         _pending("CREATE TRIGGER t AFTER INSERT ON accounts BEGIN\n  UPDATE accounts SET balance = 0;\n")),
    Case("table_already_exists", RUN, "already exists", _pending("CREATE TABLE accounts (id INTEGER);\n")),
    Case("no_such_table", RUN, "no such table", _pending("INSERT INTO tags (name) VALUES ('x');\n")),
    Case("no_such_column", RUN, "no such column", _pending("UPDATE accounts SET colour = 'red';\n")),
    Case("not_null_violation", RUN, "NOT NULL constraint failed",
         _pending("INSERT INTO accounts (owner) VALUES ('dan');\n")),
    Case("unique_violation", RUN, "UNIQUE constraint failed",
         _pending("INSERT INTO accounts (owner, balance) VALUES ('ada', 1);\n")),
    Case("check_violation", RUN, "CHECK constraint failed", _pending("UPDATE accounts SET balance = -5;\n")),
    Case("drop_missing_column", RUN, "no such column", _pending("ALTER TABLE accounts DROP COLUMN colour;\n")),
    Case("vacuum_in_transaction", RUN, "VACUUM", _pending("VACUUM;\n")),
    Case("begin_inside_migration", RUN, "BEGIN is not allowed",
         _pending("BEGIN;\nCREATE TABLE tags (id INTEGER);\nCOMMIT;\n")),
    Case("commit_inside_migration", RUN, "COMMIT is not allowed",
         _pending("CREATE TABLE tags (id INTEGER);\nCOMMIT;\nINSERT INTO nope VALUES (1);\n")),
    Case("attach_another_database", RUN, "ATTACH of 'other.db' is refused",
         _pending("ATTACH DATABASE 'other.db' AS other;\n")),
    Case("second_statement_fails", RUN, "line 3",
         _pending("CREATE TABLE tags (id INTEGER);\n\nINSERT INTO tags VALUES (1, 2);\n")),
    # --- migration files ------------------------------------------------------------------------------------
    Case("empty_up_sql", RUN, "empty migration", _pending("")),
    Case("nul_byte", RUN, "NUL byte", _pending("CREATE TABLE tags (id INTEGER);\x00\n")),
    Case("not_utf8", RUN, "UTF-8", _pending(b"CREATE TABLE tags (name TEXT DEFAULT '\xff\xfe');\n")),
    Case("up_sql_is_a_folder", RUN, "is a folder",
         _both(_pending(None), _write("migrations/" + NEW + "/up.sql/x", ""))),
    Case("missing_up_sql", RUN, "has no up.sql", _pending(None)),
    Case("stray_folder", RUN, "has no up.sql", _write("migrations/notes/README.md", "# notes\n")),
    Case("duplicate_versions", RUN, "share version",
         _both(_pending("SELECT 1;\n"), _write("migrations/202402010000000000_twin/up.sql", "SELECT 1;\n"))),
    Case("missing_down_sql_on_revert", REVERT, "down.sql", _applied("CREATE TABLE tags (id INTEGER);\n", None)),
    Case("missing_down_sql_on_redo", REDO, "down.sql", _applied("CREATE TABLE tags (id INTEGER);\n", None)),
    Case("down_sql_fails", REVERT, "no such table",
         _applied("CREATE TABLE tags (id INTEGER);\n", "DROP TABLE tagz;\n")),
    Case("applied_migration_missing_on_disk", REVERT, "Unable to find migration version",
         _applied("CREATE TABLE tags (id INTEGER);\n", "DROP TABLE tags;\n", then=_remove("migrations/" + NEW))),
    Case("file_uri_with_a_host", REVERT + ["--database-url", "file://server/app.db"], "invalid uri authority"),
    # --- migration names and versions -----------------------------------------------------------------------
    Case("name_with_dotdot_slash", GEN + ["../escape"], "path separator"),
    Case("name_with_slash", GEN + ["users/create"], "path separator"),
    Case("name_with_backslash", GEN + ["users\\create"], "path separator"),
    Case("name_empty", GEN + [""], "name is empty"),
    Case("name_only_spaces", GEN + ["   "], "name is empty"),
    Case("name_with_control_character", GEN + ["bell\x07name"], "control characters"),
    Case("name_starting_with_dot", GEN + [".hidden"], "starts with '.'"),
    Case("name_too_long", GEN + ["x" * 300], "too long"),
    Case("unicode_name_with_traversal", GEN + ["créer/../../ütilisateurs"], "path separator"),
    Case("version_with_traversal", GEN + ["ok", "--version", "../1"], "not usable"),
    Case("version_already_exists", GEN + ["again", "--version", "2024-01-01-000000-0000"], "already exists"),
    Case("generate_without_migrations_folder", GEN + ["first"], "No such file or directory (os error 2) for",
         _remove("migrations")),
    # --- configuration ----------------------------------------------------------------------------------------
    Case("unknown_diesel_toml_key", LIST, "unknown field `lightnb`",
         _write("diesel.toml", '[migrations_directory]\ndir = "migrations"\n[lightnb]\nredact = true\n')),
    Case("unknown_print_schema_option", LIST, "unknown field `filee`",
         _write("diesel.toml", '[print_schema]\nfilee = "src/schema.rs"\n')),
    Case("diesel_toml_syntax_error", LIST, "TOML", _write("diesel.toml", "[print_schema\nfile = 1\n")),
    Case("migrations_directory_without_dir", LIST, "unknown field `path`, expected `dir`",
         _write("diesel.toml", '[migrations_directory]\npath = "migrations"\n')),
    Case("config_file_is_a_folder", LIST + ["--config-file", "migrations"], "Is a directory"),
    Case("lightnb_toml_syntax_error", LIST, "lightnb.toml", _write("lightnb.toml", "redact = \n")),
    Case("project_folder_missing", LIST + ["--project", "no/such/folder"], "does not exist"),
    Case("migration_dir_missing", RUN + ["--migration-dir", "nope"], "No such file or directory"),
    Case("migration_dir_is_a_file", RUN + ["--migration-dir", "diesel.toml"], "Not a directory"),
    # --- databases -------------------------------------------------------------------------------------------
    Case("missing_database_url", RUN, "The --database-url argument must be passed", _remove(".lightnb")),
    Case("postgres_url", LIST + ["--database-url", "postgres://localhost:1/app"], "No PostgreSQL server is running"),
    Case("memory_url", ["snapshot", "--database-url", ":memory:"], "in-memory"),
    Case("dotenv_mysql_url", LIST, "`mysql://` is not supported",
         _both(_remove(".lightnb"), _write(".env", "DATABASE_URL=mysql://localhost/app\n"))),
    Case("non_sqlite_file", LIST + ["--database-url", "notes.txt"], "not a",
         _write("notes.txt", "these are notes, not a database\n" * 40)),
    Case("folder_instead_of_database", LIST + ["--database-url", "migrations"], "is a folder"),
    Case("truncated_workspace", LIST, "not a valid SQLite database",
         lambda root: _truncate(root / ".lightnb" / "workspace.db")),
    Case("workspace_state_unreadable", LIST, "unreadable", _write(".lightnb/workspace.json", "{not json")),
    Case("snapshot_of_missing_production", ["snapshot", "--database-url", "missing.db", "--workspace-dir", "ws2"],
         "does not exist"),
    Case("snapshot_of_non_sqlite_file", ["snapshot", "--database-url", "notes.txt", "--workspace-dir", "ws2"],
         "not a SQLite database", _write("notes.txt", "plain text\n" * 40)),
    Case("snapshot_of_a_folder", ["snapshot", "--database-url", "migrations", "--workspace-dir", "ws2"],
         "is a folder"),
    Case("snapshot_over_production", ["snapshot", "--database-url", ".lightnb/workspace.db"],
         "overwrite production"),
    Case("snapshot_reset_without_workspace", ["snapshot", "--reset"], "No workspace", _remove(".lightnb")),
    Case("snapshot_status_without_workspace", ["snapshot", "--status"], "No workspace", _remove(".lightnb")),
]


def _truncate(path: Path) -> None:
    conn = __import__("sqlite3").connect(path)
    conn.execute("CREATE TABLE filler (x BLOB)")
    conn.executemany("INSERT INTO filler VALUES (randomblob(900))", [()] * 100)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_there_are_at_least_forty_distinct_bad_inputs():
    assert len({case.id for case in CASES}) == len(CASES) >= 40


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch) -> Path:
    """A project with an applied production database and a workspace, as the cwd; no diesel env vars."""
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    root, production = make_project(tmp_path / "app")
    Workspace.create(production, root / ".lightnb")
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_line_and_changes_nothing(project_dir, case, capsys):
    case.setup(project_dir)
    before = tree_mark(project_dir.parent)
    capsys.readouterr()

    code = main(case.argv)

    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(NOTICE)]
    assert code != 0
    assert "Traceback" not in err + out
    assert len(lines) == 1, err
    line = lines[0]
    assert case.needle.lower() in line.lower(), line
    assert any(word in line.lower() for word in FIX_WORDS), f"no fix named: {line}"
    assert tree_mark(project_dir.parent) == before


@pytest.mark.parametrize("case", [c for c in CASES
                                  if c.id in ("syntax_error", "missing_database_url", "name_too_long")],
                         ids=lambda c: c.id)
def test_bad_input_in_a_real_process_prints_no_traceback(project_dir, case):
    case.setup(project_dir)
    before = tree_mark(project_dir.parent)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-m", "lightnb", *case.argv], capture_output=True, text=True,
                            cwd=project_dir, env=env, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if not line.startswith(NOTICE)]) == 1
    assert tree_mark(project_dir.parent) == before


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("truncated_workspace", "workspace_state_unreadable")],
                         ids=lambda c: c.id)
def test_the_advised_command_repairs_a_broken_workspace(project_dir, case, capsys):
    case.setup(project_dir)
    assert main(case.argv) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    advised = line.split("`")[1].replace("PROD.db", "production.db").split()
    assert advised[0] == "lightnb"
    assert main(advised[1:]) == 0
    assert main(LIST) == 0
    assert "[X] 2024-01-02-000000-0000_create_posts" in capsys.readouterr().out
