"""diesel 2.1 / 2.2 / 2.3 output rules (diesel_spec.md §7) and keeping the style of an existing file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lightnb.project import Project
from lightnb.schema import (
    PrintSchemaOptions,
    SchemaError,
    check_schema_sync,
    detect_style,
    print_schema,
    regenerate_schema_files,
)
from lightnb.schema.naming import column_rust_name, debug_string, is_reserved, rust_string
from lightnb.schema.style import choose_style
from tests.support.builder import ProjectBuilder, make_database

HEADER = "// @generated automatically by Diesel CLI.\n"


def printed(sql: str, style: str, **options: object) -> str:
    conn = sqlite3.connect(":memory:")
    conn.executescript(sql)
    try:
        return print_schema(conn, PrintSchemaOptions(style=style, **options))  # type: ignore[arg-type]
    finally:
        conn.close()


def test_debug_string_escapes_like_rust() -> None:
    assert debug_string('a"b') == '"a\\"b"'
    assert debug_string("back\\slash") == '"back\\\\slash"'
    assert debug_string("tab\there\nnul\0") == '"tab\\there\\nnul\\0"'
    assert debug_string("bell\x07") == '"bell\\u{7}"'
    assert debug_string("it's é") == '"it\'s é"'


def test_sql_name_strings_per_version() -> None:
    assert rust_string('a"b', "2.1", column=True) == '"a\\"b"'
    assert rust_string('a"b', "2.1") == '"a"b"'  # 2.1 wrote table names raw
    assert rust_string('a"b', "2.2", column=True) == '"a"b"'
    assert rust_string('a"b', "2.3", column=True) == 'r#"a"b"#'


def test_table_is_reserved_and_table_named_columns_renamed_only_in_23() -> None:
    assert is_reserved("table", "2.3") and not is_reserved("table", "2.2") and not is_reserved("table", "2.1")
    assert column_rust_name("users", "users", "2.3") == "users_"
    assert column_rust_name("users", "users", "2.2") == "users"
    assert column_rust_name("users", "users", "2.1") == "users"


NO_KEY = "CREATE TABLE log (message TEXT NOT NULL);"


def test_21_has_no_rowid_fallback() -> None:
    assert "log (rowid) {\n        rowid -> Integer," in printed(NO_KEY, "2.2")
    with pytest.raises(SchemaError, match="Diesel only supports tables with primary keys. Table log has no"):
        printed(NO_KEY, "2.1")


def test_21_joinable_to_a_table_without_key_needs_none() -> None:
    sql = ("CREATE TABLE a (id INTEGER PRIMARY KEY NOT NULL);"
           "CREATE TABLE b (id INTEGER PRIMARY KEY NOT NULL, log_id INTEGER REFERENCES log);" + NO_KEY)
    # 2.2+: the reference without column resolves to log's rowid, so a joinable is printed.
    assert "diesel::joinable!(b -> log (log_id));" in printed(sql, "2.2")
    # 2.1 prints the two tables it can when log is filtered out, and no joinable to log.
    from lightnb.schema.config import TableFilter
    text = printed(sql, "2.1", filter=TableFilter("except", ("^log$",)))
    assert "joinable" not in text and "b (id)" in text


BIGINT = ("CREATE TABLE parent_records_of_the_team (id INTEGER PRIMARY KEY);\n"
          "CREATE TABLE child_records_of_the_team_x (id INTEGER PRIMARY KEY NOT NULL,"
          " parent_id INTEGER NOT NULL REFERENCES parent_records_of_the_team(id));\n")


def test_bigint_option_per_version() -> None:
    v21, v22, v23 = (printed(BIGINT, s, integer_primary_key_is_bigint=True) for s in ("2.1", "2.2", "2.3"))
    assert "id -> Nullable<Integer>" in v21 and "BigInt" not in v21  # no such option in 2.1
    assert "id -> Nullable<BigInt>" in v22 and "parent_id -> Integer" in v22  # rowid alias only
    assert "parent_id -> BigInt" in v23  # 2.3: foreign keys to a rowid table too


def test_21_and_22_print_the_same_for_ordinary_schemas() -> None:
    sql = BIGINT + "CREATE TABLE t (id INTEGER PRIMARY KEY, \"fn\" TEXT, \"a b\" REAL);"
    assert printed(sql, "2.1") == printed(sql, "2.2")
    assert printed(sql, "2.1", with_docs="database-comments-fallback-to-auto-generated-doc-comment") == printed(
        sql, "2.2", with_docs="database-comments-fallback-to-auto-generated-doc-comment")


def test_detect_a_21_file_by_its_escaped_column_names() -> None:
    sql = 'CREATE TABLE a (id INTEGER PRIMARY KEY, "say ""hi""" TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY);'
    v21 = printed(sql, "2.1")
    assert '#[sql_name = "say \\"hi\\""]' in v21
    assert detect_style(v21) == "2.1"
    assert detect_style(printed(sql, "2.3")) == "2.3"
    # a 2.1 file without escapes reads as 2.2, which prints it byte for byte the same
    assert detect_style(printed("CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (x INT PRIMARY KEY);",
                                "2.1")) == "2.2"


def test_detect_style_from_a_column_named_like_its_table() -> None:
    sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, notes TEXT, \"table\" TEXT);"
    v22, v23 = printed(sql, "2.2"), printed(sql, "2.3")
    assert "        notes -> Nullable<Text>," in v22 and "        table -> Nullable<Text>," in v22
    assert '#[sql_name = "notes"]\n        notes_ ->' in v23 and '#[sql_name = "table"]\n        table_ ->' in v23
    assert detect_style(v22) == "2.2" and detect_style(v23) == "2.3"


def test_choose_style_prefers_what_the_file_shows_then_the_closest_output() -> None:
    v22 = HEADER + "\nline a\nline b\n"
    assert choose_style(HEADER + "\n", {"2.3": HEADER, "2.2": HEADER + "\n"}) == "2.2"
    assert choose_style(v22, {"2.3": v22.replace("b", "B"), "2.2": v22}) == "2.2"
    assert choose_style(v22, {"2.3": v22, "2.2": v22}) == "2.3"  # a tie keeps the default


def _project(tmp_path: Path, sql: str) -> tuple[Project, Path]:
    config = ('[print_schema]\nfile = "src/schema.rs"\nsqlite_integer_primary_key_is_bigint = true\n\n'
              '[migrations_directory]\ndir = "migrations"\n')
    root = ProjectBuilder(tmp_path / "app", config=config).migration("1_init", sql, "").build()
    database = make_database(tmp_path / "app.db", sql)
    return Project.discover(root, database_url=str(database), environ={}), database


def test_a_22_file_the_layout_cannot_tell_keeps_22_by_its_content(tmp_path: Path) -> None:
    # Long table names: both versions print the allow-tables invocation vertically, so only the
    # FK column (BigInt in 2.3, Integer in 2.2) tells the versions apart.
    project, database = _project(tmp_path, BIGINT)
    v22 = printed(BIGINT, "2.2", integer_primary_key_is_bigint=True)
    assert detect_style(v22) is None and v22 != printed(BIGINT, "2.3", integer_primary_key_is_bigint=True)
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    schema_rs.write_text(v22, encoding="utf-8")
    conn = sqlite3.connect(database)
    try:
        report = check_schema_sync(project, conn)
        assert report.in_sync and report.files[0].style == "2.2"
        regenerate_schema_files(project, conn)
        assert schema_rs.read_text(encoding="utf-8") == v22
        assert not check_schema_sync(project, conn, style="2.3").in_sync
    finally:
        conn.close()


def test_a_style_that_cannot_print_the_database_is_not_a_candidate(tmp_path: Path) -> None:
    # 2.1 fails on a table without primary key; auto must still settle on 2.2/2.3.
    sql = NO_KEY + "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);"
    project, database = _project(tmp_path, sql)
    schema_rs = project.config_dir / "src" / "schema.rs"
    schema_rs.parent.mkdir()
    v22 = printed(sql, "2.2", integer_primary_key_is_bigint=True)
    schema_rs.write_text(v22.replace("log (rowid)", "log (oid)"), encoding="utf-8")
    conn = sqlite3.connect(database)
    try:
        report = check_schema_sync(project, conn)
    finally:
        conn.close()
    assert not report.in_sync and report.files[0].style == "2.2"
    assert report.findings == ["log: primary key (oid) in file, (rowid) in database"]


def test_cli_style_21(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb.cli import main

    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    project, database = _project(tmp_path, NO_KEY)
    base = ["print-schema", "--project", str(project.root), "--database-url", str(database)]
    assert main([*base, "--style", "2.1"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("Diesel only supports tables with primary keys. Table log has")
    assert err.count("\n") == 1
    assert main([*base, "--style", "2.2"]) == 0
    assert "log (rowid)" in capsys.readouterr().out
