"""Style detection, schema regeneration, the out-of-sync check, and ``lightnb print-schema``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lightnb.backends import sqlite
from lightnb.cli import main
from lightnb.project import Project
from lightnb.samples import copy_sample_project
from lightnb.schema import (
    PrintSchemaOptions,
    check_migrations_sync,
    check_schema_sync,
    detect_style,
    print_schema,
    regenerate_schema_files,
)
from lightnb.schema.style import style_of_file
from tests.support.builder import ProjectBuilder, make_database

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, email TEXT);\n"
POSTS = "CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users(id));\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


def printed(sql: str, style: str) -> str:
    conn = sqlite3.connect(":memory:")
    conn.executescript(sql)
    return print_schema(conn, PrintSchemaOptions(style=style))


def project_with(tmp_path: Path, sql: str, config: str | None = None) -> tuple[Project, Path]:
    builder = ProjectBuilder(tmp_path / "app") if config is None else ProjectBuilder(tmp_path / "app", config=config)
    root = builder.migration("2024-01-01-000000-0000_init", sql, "").build()
    database = make_database(tmp_path / "app.db", sql)
    return Project.discover(root, database_url=str(database), environ={}), database


def test_detect_style_from_the_allow_tables_layout() -> None:
    assert detect_style(printed(USERS + POSTS, "2.3")) == "2.3"
    assert detect_style(printed(USERS + POSTS, "2.2")) == "2.2"
    assert detect_style(printed(USERS, "2.3")) is None  # one table: both styles print the same
    assert detect_style(printed("", "2.2")) == "2.2"
    assert detect_style(printed("", "2.3")) == "2.3"


def test_style_of_missing_file_is_the_default(tmp_path: Path) -> None:
    assert style_of_file(tmp_path / "nope.rs") == "2.3"


def test_regenerate_keeps_the_style_of_each_file(tmp_path: Path) -> None:
    project, database = project_with(tmp_path, USERS + POSTS)
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    # An older file printed by diesel 2.2 (two tables: its layout shows the style).
    schema_rs.write_text(printed(USERS + "CREATE TABLE a (id INTEGER PRIMARY KEY);", "2.2"), encoding="utf-8")
    conn = sqlite3.connect(database)
    assert regenerate_schema_files(project, conn) == [schema_rs]
    assert schema_rs.read_text(encoding="utf-8") == printed(USERS + POSTS, "2.2")
    assert regenerate_schema_files(project, conn, style="2.3") == [schema_rs]
    assert schema_rs.read_text(encoding="utf-8") == printed(USERS + POSTS, "2.3")
    conn.close()


def test_regenerate_writes_every_configured_file_and_creates_folders(tmp_path: Path) -> None:
    config = ('[print_schema]\nfile = "src/schema.rs"\n\n[print_schema.users_only]\n'
              'file = "gen/users.rs"\nfilter = { only_tables = ["^users$"] }\n')
    project, database = project_with(tmp_path, USERS + POSTS, config)
    conn = sqlite3.connect(database)
    written = regenerate_schema_files(project, conn)
    conn.close()
    assert written == [project.config_dir / "src/schema.rs", project.config_dir / "gen/users.rs"]
    assert "posts" not in written[1].read_text(encoding="utf-8")


def test_check_names_tables_columns_types_and_order(tmp_path: Path) -> None:
    project, database = project_with(tmp_path, USERS + POSTS)
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    drifted = USERS.replace("email TEXT", "email TEXT NOT NULL").replace("name TEXT NOT NULL, email", "email")
    schema_rs.write_text(printed(drifted.replace("email TEXT NOT NULL", "email TEXT NOT NULL, name TEXT NOT NULL")
                                 + "CREATE TABLE stray (id INTEGER PRIMARY KEY NOT NULL);", "2.3"),
                         encoding="utf-8")
    conn = sqlite3.connect(database)
    report = check_schema_sync(project, conn)
    conn.close()
    assert not report.in_sync
    assert report.findings == [
        "table `stray` is in schema.rs but no migration creates it",
        "table `posts` is created by the migrations but missing from schema.rs",
        "users.email: type Text in file, Nullable<Text> in database",
        "users: column order differs: file has id, email, name; database has id, name, email",
    ]
    assert report.files[0].diff.startswith(f"--- {schema_rs}\n+++ database (print-schema)\n")
    assert str(report).startswith("table `stray` is in schema.rs")


def test_check_ignores_a_missing_final_newline_like_diesel(tmp_path: Path) -> None:
    project, database = project_with(tmp_path, USERS)
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    schema_rs.write_text(printed(USERS, "2.3").rstrip("\n"), encoding="utf-8")
    conn = sqlite3.connect(database)
    assert check_schema_sync(project, conn).in_sync
    conn.close()


def test_check_migrations_sync_reports_a_migration_that_fails(tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path / "app").migration("1_a", USERS, "")
            .migration("2_b", "ALTER TABLE users ADD COLUMN name TEXT;", "").build())
    report = check_migrations_sync(Project.discover(root, environ={}))
    assert not report.in_sync
    assert report.findings[0].startswith("the migrations do not apply to a fresh database: Failed to run 2_b")
    assert "duplicate column name: name" in report.findings[0]


def test_sample_backend_schema_regenerates_byte_identical(tmp_path: Path) -> None:
    root = copy_sample_project(tmp_path / "sample")
    committed = (root / "src" / "schema.rs").read_text(encoding="utf-8")
    project = Project.discover(root, environ={})
    assert check_migrations_sync(project).in_sync
    from lightnb import migrations, runner
    conn = sqlite.connect(tmp_path / "sample.db")
    runner.run_pending(conn, migrations.discover(project.migrations_dir))
    assert regenerate_schema_files(project, conn) == [root / "src" / "schema.rs"]
    conn.close()
    assert (root / "src" / "schema.rs").read_text(encoding="utf-8") == committed


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_with_flags_and_positionals_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, database = project_with(tmp_path, USERS + POSTS)
    base = ["print-schema", "--project", str(project.root), "--database-url", str(database)]
    code, out, _ = cli(capsys, *base, "-o", "users", "--style", "2.2")
    assert code == 0 and "posts" not in out and "users (id)" in out
    code, out, _ = cli(capsys, *base, "-e", "posts", "--with-docs", "--column-sorting", "name")
    assert code == 0 and "/// The `email` column of the `users` table." in out
    assert out.index("email ->") < out.index("id ->") and "posts" not in out
    code, out, _ = cli(capsys, *base, "posts", "--style", "2.3")  # names without -o/-e are ignored
    assert out.endswith("diesel::allow_tables_to_appear_in_same_query!(posts, users,);\n")


def test_cli_schema_key_groups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = "[print_schema.first]\n[print_schema.second]\n"
    project, database = project_with(tmp_path, USERS + POSTS, config)
    code, out, _ = cli(capsys, "print-schema", "--project", str(project.root), "--database-url", str(database),
                       "--schema-key", "first", "-o", "users", "--schema-key", "second", "-o", "posts",
                       "--with-docs")
    assert code == 0
    default, first, second = out.split("// @generated automatically by Diesel CLI.\n")[1:]
    assert "users (id)" in first and "posts" not in first and "///" not in first
    assert "users (id)" in default and "posts (id)" in default
    assert "posts (id)" in second and "users (id)" not in second and "/// Representation" in second
    code, _, err = cli(capsys, "print-schema", "--project", str(project.root), "--database-url", str(database),
                       "--schema-key", "third")
    assert code == 1 and err.startswith("No `[print_schema.third]` entries in your diesel.toml")


def test_cli_check_prints_findings_then_diff_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, database = project_with(tmp_path, USERS)
    base = ["print-schema", "--project", str(project.root), "--database-url", str(database), "--check"]
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    schema_rs.write_text(printed(USERS.replace("email TEXT", "email TEXT NOT NULL"), "2.3"), encoding="utf-8")
    code, out, _ = cli(capsys, *base)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "users.email: type Text in file, Nullable<Text> in database"
    assert lines[2].startswith("--- ") and "-        email -> Text," in lines
    schema_rs.write_text(printed(USERS, "2.3"), encoding="utf-8")
    assert cli(capsys, *base) == (0, f"{schema_rs} is up to date.\n", "")
    assert cli(capsys, *base, "--fresh")[0] == 0


def test_cli_unsupported_type_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, database = project_with(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON);")
    code, out, err = cli(capsys, "print-schema", "--project", str(project.root), "--database-url", str(database))
    assert code == 1 and out == ""
    assert err.startswith("Unsupported type: `json`") and err.count("\n") == 1


@pytest.mark.parametrize("attribute", ["#[max_length = 255]", "#[max_length = 0xff]", "#[max_length = 40u32]"])
def test_check_reports_a_max_length_sqlite_never_prints(tmp_path: Path, attribute: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """SQLite reports no column length, so any #[max_length] in schema.rs differs from what print-schema prints."""
    sql = USERS.replace("name TEXT NOT NULL", "name VARCHAR(255) NOT NULL")
    project, database = project_with(tmp_path, sql)
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    expected = printed(sql, "2.3")
    assert "max_length" not in expected
    schema_rs.write_text(expected.replace("        name -> Text,", f"        {attribute}\n        name -> Text,"),
                         encoding="utf-8")
    conn = sqlite3.connect(database)
    report = check_schema_sync(project, conn)
    conn.close()
    length = int(attribute.split("= ")[1].rstrip("]u32"), 0)
    assert report.findings == [f"users.name: #[max_length = {length}] in schema.rs, no #[max_length] in database "
                               "(SQLite reports no column length: print-schema never prints #[max_length])"]
    assert main(["print-schema", "--check", "--project", str(project.config_dir),
                 "--database-url", str(database)]) != 0
    assert f"#[max_length = {length}] in schema.rs" in capsys.readouterr().out
