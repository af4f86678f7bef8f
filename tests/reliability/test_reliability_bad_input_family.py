"""More bad inputs through every verb: odd paths, unreadable and non-UTF-8 files, folders where files go,
names too long for the file system, garbage configuration — each ends in one line, never a traceback.

Complements test_reliability_bad_inputs.py (same rules: exit code not 0, one line on stderr besides the
workspace notice, the case's phrase in it, nothing changed on disk). Failures that come after a
migration committed say so, and an unexpected exception still ends in one line that says what state
the database is in (the traceback only with --debug or LIGHTNB_DEBUG=1).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_support import applied, file_mark, make_project, tree_mark, write_migration

from lightnb import migrate, steps
from lightnb.cli import main
from lightnb.workspace import Workspace

NEW = "2024-02-01-000000-0000_add_tags"
NEW_VERSION = "202402010000000000"
POSTS = "2024-01-02-000000-0000_create_posts"
NOTICE = "lightnb: working on workspace"
TOO_LONG = "x" * 300  # longer than a file name may be (255 bytes)


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    needle: str
    setup: Callable[[Path], None] = lambda root: None


def _write(relative: str, data: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data, encoding="utf-8")
    return setup


def _link(relative: str, target: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return setup


def _folder(relative: str) -> Callable[[Path], None]:
    """Put a folder where a file of that name is read (replacing the file, if any)."""
    def setup(root: Path) -> None:
        path = root / relative
        if path.is_file():
            path.unlink()
        (path / "inside").mkdir(parents=True)
    return setup


def _both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda root: [setup(root) for setup in setups] and None


PENDING = _write(f"migrations/{NEW}/up.sql", "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n")
RUN, LIST = ["migration", "run", "--no-schema"], ["migration", "list"]

CASES = [
    # --- migration files ---------------------------------------------------------------------------
    Case("metadata_not_toml", RUN, "metadata.toml is not valid TOML",
         _both(PENDING, _write(f"migrations/{NEW}/metadata.toml", "run_in_transaction = = false\n"))),
    Case("metadata_quoted_boolean", RUN, "which is not true or false",
         _both(PENDING, _write(f"migrations/{NEW}/metadata.toml", 'run_in_transaction = "false"\n'))),
    Case("metadata_not_utf8", LIST, "metadata.toml is not valid UTF-8",
         _both(PENDING, _write(f"migrations/{NEW}/metadata.toml", b"run_in_transaction = f\xe4lse\n"))),
    Case("metadata_is_a_folder", LIST, "metadata.toml is a folder",
         _both(PENDING, _write(f"migrations/{NEW}/metadata.toml/x", ""))),
    Case("up_sql_dangling_link", RUN, "No such file",
         _link(f"migrations/{NEW}/up.sql", "/nonexistent/up.sql")),
    Case("up_sql_link_loop", RUN, "Too many levels of symbolic links", _link(f"migrations/{NEW}/up.sql", "up.sql")),
    Case("down_sql_not_utf8", ["migration", "revert", "--no-schema"], "not valid UTF-8",
         _write(f"migrations/{POSTS}/down.sql", b"DROP TABLE \xff;\n")),
    Case("down_sql_empty", ["migration", "redo", "--no-schema"], "empty migration",
         _write(f"migrations/{POSTS}/down.sql", "")),
    Case("migration_folder_link_loop", LIST, "Invalid migration directory",
         _link("migrations/2024-03-01-000000-0000_loop", "2024-03-01-000000-0000_loop")),
    # --- names and paths the file system refuses ------------------------------------------------------
    Case("migration_dir_name_too_long", LIST + ["--migration-dir", TOO_LONG], "File name too long (os error 36)"),
    Case("project_name_too_long", LIST + ["--project", TOO_LONG], "File name too long"),
    Case("database_name_too_long", LIST + ["--database-url", TOO_LONG + ".db"], "File name too long"),
    Case("database_in_a_link_loop", RUN + ["--database-url", "loop/x.db"], "Too many levels of symbolic links",
         _link("loop", "loop")),
    Case("check_of_a_database_in_a_link_loop", ["check", "--no-tests", "--database-url", "loop/x.db"],
         "loop/x.db", _link("loop", "loop")),
    Case("workspace_dir_name_too_long", ["snapshot", "--workspace-dir", TOO_LONG], "File name too long"),
    Case("sample_dest_name_too_long", ["sample", TOO_LONG], "File name too long"),
    # --- configuration and state files ---------------------------------------------------------------
    Case("patch_file_not_utf8", ["print-schema"], "did not contain valid UTF-8",
         _both(_write("diesel.toml", '[print_schema]\npatch_file = "schema.patch"\n'),
               _write("schema.patch", b"--- a\n+++ b\n@@ -1 +1 @@\n-\xff\n+x\n"))),
    Case("schema_rs_not_utf8_on_check", ["print-schema", "--check"], "is not UTF-8 text",
         _both(_write("diesel.toml", '[print_schema]\nfile = "src/schema.rs"\n'),
               _write("src/schema.rs", b"\xff\xfe"))),
    Case("schema_rs_not_utf8_on_run", ["migration", "run"], "is not UTF-8 text",
         _both(_write("diesel.toml", '[print_schema]\nfile = "src/schema.rs"\n'),
               _write("src/schema.rs", b"\xff\xfe"))),
    Case("diesel_toml_is_a_folder", LIST, "Encountered an IO error: Is a directory (os error 21) for `",
         _folder("diesel.toml")),
    Case("diesel_toml_is_a_folder_on_run", RUN, "(lightnb: diesel.toml must be a file", _folder("diesel.toml")),
    Case("lightnb_toml_is_a_folder", LIST, "lightnb.toml is a folder, not a file", _folder("lightnb.toml")),
    Case("lightnb_toml_is_a_folder_on_snapshot", ["snapshot", "--reset"], "lightnb.toml is a folder",
         _folder("lightnb.toml")),
    Case("workspace_state_is_a_list", LIST, "unreadable", _write(".lightnb/workspace.json", "[1, 2]\n")),
    Case("workspace_state_is_null", ["snapshot", "--status"], "unreadable",
         _write(".lightnb/workspace.json", "null\n")),
    Case("workspace_state_production_not_text", LIST, "unreadable",
         _write(".lightnb/workspace.json", '{"production": 5}\n')),
    Case("test_command_unclosed_quote", ["check"], "[test] command cannot be read",
         _write("lightnb.toml", "[test]\ncommand = \"cargo 'test\"\n")),
    Case("test_command_a_number", ["check"], "[test] command cannot be read",
         _write("lightnb.toml", "[test]\ncommand = 5\n")),
    Case("models_schema_not_utf8", ["models", "check", "--schema", "schema.rs"], "not valid UTF-8",
         _write("schema.rs", b"diesel::table! { t (id) { id -> Integer, \xff } }\n")),
    Case("lint_of_a_garbage_metadata", ["lint"], "metadata.toml is not valid TOML",
         _both(PENDING, _write(f"migrations/{NEW}/metadata.toml", "[unclosed\n"))),
    Case("check_of_a_garbage_metadata", ["check", "--no-tests"], "metadata.toml is not valid TOML",
         _both(PENDING, _write(f"migrations/{NEW}/metadata.toml", "[unclosed\n"))),
]


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch) -> Path:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE", "LIGHTNB_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(tmp_path / "scratch"))
    root, production = make_project(tmp_path / "app")
    Workspace.create(production, root / ".lightnb")
    monkeypatch.chdir(root)
    return root


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip() and not line.startswith(NOTICE)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_ends_in_one_line_and_changes_nothing(project_dir, case, capsys):
    case.setup(project_dir)
    before = tree_mark(project_dir)
    capsys.readouterr()

    code = main(case.argv)

    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err and "unexpected" not in err
    (line,) = _lines(err)
    assert case.needle in line, line
    assert tree_mark(project_dir) == before


@pytest.mark.parametrize("argv", [LIST, ["migration", "pending"]], ids=["list", "pending"])
@pytest.mark.parametrize("name", ["missing.db", "no/such/folder/x.db", "new\nline.db", "empty.db"])
def test_reading_verbs_never_create_or_write_a_database(project_dir, argv, name, capsys):
    if name == "empty.db":
        (project_dir / name).write_bytes(b"")
    before = tree_mark(project_dir)

    code = main(argv + ["--database-url", name])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert ("[ ] 2024-01-01-000000-0000_create_accounts" in out) if argv == LIST else (out == "true\n")
    assert tree_mark(project_dir) == before


@pytest.mark.parametrize("schema_file, needle", [(f"src/{TOO_LONG}.rs", "File name too long"),
                                                  ("src", "is a folder, not a regular file"),
                                                  ("src/schema.rs", "is not UTF-8 text")],
                         ids=["name_too_long", "a_folder", "not_utf8"])
def test_a_schema_file_that_cannot_be_written_stops_the_run_before_any_migration(project_dir, schema_file, needle,
                                                                               capsys):
    """Every schema target is checked before a migration runs: one line, and nothing is applied.

    (A failure that comes after a commit — a full disk while writing schema.rs — says what was committed:
    test_reliability_atomic_writes.py and test_an_unexpected_exception_is_one_line_with_the_database_state.)
    """
    (project_dir / "src").mkdir()
    (project_dir / "src" / "schema.rs").write_bytes(b"\xff\xfe")
    (project_dir / "diesel.toml").write_text(f'[print_schema]\nfile = "{schema_file}"\n', encoding="utf-8")
    PENDING(project_dir)
    production = file_mark(project_dir / "production.db")

    code = main(["migration", "run"])

    _, err = capsys.readouterr()
    assert code == 1
    (line,) = _lines(err)
    assert needle in line and "Traceback" not in err, line
    assert NEW_VERSION not in applied(project_dir / ".lightnb" / "workspace.db")
    assert file_mark(project_dir / "production.db") == production


def test_an_unexpected_exception_is_one_line_with_the_database_state(project_dir, monkeypatch, capsys):
    PENDING(project_dir)

    def broken(*_args, **_kwargs):
        raise RuntimeError("schema printer\nexploded")

    monkeypatch.setattr(migrate, "regenerate_schema_files", broken)
    code = main(["migration", "run"])

    _, err = capsys.readouterr()
    assert code == 1
    (line,) = _lines(err)
    assert line.startswith("error: unexpected RuntimeError: schema printer exploded;")
    assert f"applied {NEW}" in line and "--debug" in line and "LIGHTNB_DEBUG=1" in line

    monkeypatch.setenv("LIGHTNB_DEBUG", "1")
    write_migration(project_dir / "migrations", "2024-02-02-000000-0000_more", "SELECT 1;\n", "SELECT 1;\n")
    assert main(["migration", "run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "RuntimeError: schema printer" in err
    assert _lines(err)[-1].startswith("error: unexpected RuntimeError")


def test_an_unexpected_exception_before_any_migration_says_nothing_was_applied(project_dir, monkeypatch, capsys):
    monkeypatch.setattr(steps, "list_migrations", lambda *a, **k: {}["missing"])
    before = tree_mark(project_dir)

    code = main(["--debug", "migration", "list"])

    err = capsys.readouterr().err
    assert code == 1 and "Traceback" in err  # --debug
    # the quoted key is masked like any quoted value in an error line (it could be a row's value)
    assert _lines(err)[-1].startswith("error: unexpected KeyError: ") and \
        "; no migration was applied or reverted" in _lines(err)[-1]
    assert tree_mark(project_dir) == before
    assert not os.environ.get("LIGHTNB_DEBUG")


@pytest.mark.parametrize("value", ["-1", "-5", "x", ""])
def test_diff_sample_that_is_not_a_count_is_a_usage_error(project_dir, value, capsys):
    production = project_dir / "production.db"
    before = tree_mark(project_dir)
    with pytest.raises(SystemExit) as ended:
        main(["diff", str(production), str(production), "--sample", value])
    out, err = capsys.readouterr()
    assert ended.value.code == 2 and out == ""
    assert err.splitlines()[0] == (f"error: invalid value '{value}' for '--sample <N>': the number of sample rows "
                                   "to show, 0 or more"), err
    assert "Traceback" not in err and tree_mark(project_dir) == before
    assert main(["diff", str(production), str(production), "--sample", "0"]) == 0
