"""``migration generate --diff-schema``: diesel 2.3.12's SQL byte for byte, a rebuild where SQLite needs one.

Every case is one of diesel_cli's own (tests/migration_generate.rs ``test_generate_migration``,
inputs and snapshots in tests/generate_migrations/<case>/{schema.rs,sqlite/initial_schema.sql,
sqlite/up.sql/expected.snap,sqlite/down.sql/expected.snap}, diesel.toml for the config run),
rewritten here as fixtures. Like diesel's test (insta), up.sql/down.sql are compared after trimming
trailing whitespace; the generation rules are diesel_cli src/migrations/diff_schema.rs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.diesel_parity.conftest import tables
from tests.support.builder import file_state

UP = "-- Your SQL goes here\n"
DOWN = "-- This file should undo anything in `up.sql`\n"
USERS_ID_NAME = "table! {\n    users {\n        id -> Integer,\n        name -> Text,\n    }\n}\n"
TABLE_ABC = ("CREATE TABLE table_a(id INTEGER NOT NULL PRIMARY KEY, code TEXT NOT NULL);\n"
             "CREATE TABLE table_b(id INTEGER NOT NULL PRIMARY KEY);\n"
             "CREATE TABLE table_c(id INTEGER NOT NULL PRIMARY KEY);")
TABLE_A_SCRIPT = "diesel::table! {\n    table_a (id) {\n        id -> Integer,\n        script -> Text,\n    }\n}\n"
ALTER_A_UP = "ALTER TABLE `table_a` DROP COLUMN `code`;\nALTER TABLE `table_a` ADD COLUMN `script` TEXT NOT NULL;\n"
ALTER_A_DOWN = "ALTER TABLE `table_a` DROP COLUMN `script`;\nALTER TABLE `table_a` ADD COLUMN `code` TEXT NOT NULL;\n"
ALL_TYPES = [("bool_column", "Boolean", "BOOLEAN"), ("integer_column", "Integer", "INTEGER"),
             ("small_int_col", "SmallInt", "SMALLINT"), ("big_int_col", "BigInt", "BIGINT"),
             ("binary_col", "Binary", "BINARY"), ("text_col", "Text", "TEXT"), ("double_col", "Double", "DOUBLE"),
             ("float_col", "Float", "FLOAT"), ("numeric_col", "Numeric", "NUMERIC"), ("date_col", "Date", "DATE"),
             ("timestamp_col", "Timestamp", "TIMESTAMP"), ("time_col", "Time", "TIME"),
             ("float4_col", "Float4", "FLOAT4"), ("small_int2_col", "Smallint", "SMALLINT"),
             ("int2_col", "Int2", "INT2"), ("int4_col", "Int4", "INT4"), ("int8_col", "Int8", "INT8"),
             ("big_int2_col", "Bigint", "BIGINT"), ("float8_col", "Float8", "FLOAT8"),
             ("decimal_col", "Decimal", "DECIMAL"), ("varchar_col", "VarChar", "VARCHAR"),
             ("varchar2_col", "Varchar", "VARCHAR"), ("char_col", "Char", "CHAR"),
             ("tinytext_col", "Tinytext", "TINYTEXT"), ("mediumtext_col", "Mediumtext", "MEDIUMTEXT"),
             ("tinyblob_col", "Tinyblob", "TINYBLOB"), ("blob_col", "Blob", "BLOB"),
             ("longblob_col", "Longblob", "LONGBLOB"), ("mediumblob_col", "Mediumblob", "MEDIUMBLOB"),
             ("varbinary_col", "Varbinary", "VARBINARY")]

# case -> (schema.rs, initial_schema.sql, CLI args, diesel.toml or None, expected up body, expected down body)
CASES = {
    "diff_add_table": (USERS_ID_NAME, "", [], None,
                       "CREATE TABLE `users`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`name` TEXT NOT NULL\n);\n",
                       "DROP TABLE IF EXISTS `users`;\n"),
    "diff_add_table_all_the_types": (
        "table! {\n    all_the_types(id) {\n        id -> Integer,\n"
        + "".join(f"        {c} -> {t},\n" for c, t, _ in ALL_TYPES) + "    }\n}\n", "", [], None,
        "CREATE TABLE `all_the_types`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n"
        + ",\n".join(f"\t`{c}` {s} NOT NULL" for c, _, s in ALL_TYPES) + "\n);\n",
        "DROP TABLE IF EXISTS `all_the_types`;\n"),
    "diff_add_table_composite_key": (
        "table! {\n    users(id, other_key) {\n        id -> Integer,\n        other_key -> Integer,\n"
        "        name -> Text,\n    }\n}\n", "", [], None,
        "CREATE TABLE `users`(\n\t`id` INTEGER NOT NULL,\n\t`other_key` INTEGER NOT NULL,\n\t`name` TEXT NOT NULL,\n"
        "\tPRIMARY KEY(`id`, `other_key`)\n);\n", "DROP TABLE IF EXISTS `users`;\n"),
    "diff_add_table_sqlite_rowid_column": (
        "table! {\n    users {\n        id -> BigInt,\n        name -> Text,\n    }\n}\n", "",
        ["--sqlite-integer-primary-key-is-bigint"], None,
        "CREATE TABLE `users`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`name` TEXT NOT NULL\n);\n",
        "DROP TABLE IF EXISTS `users`;\n"),
    "diff_add_table_with_fk": (
        "diesel::table! {\n    users(user_id) {\n        user_id -> Integer,\n        name -> Text,\n    }\n}\n\n"
        "diesel::table! {\n    posts(post_id) {\n        post_id -> Integer,\n        title -> Text,\n"
        "        body -> Nullable<Text>,\n        foreign_key_user_id -> Integer,\n    }\n}\n\n"
        "diesel::joinable!(posts -> users (foreign_key_user_id));\n",
        "CREATE TABLE `users`(\n\t`user_id` INTEGER NOT NULL PRIMARY KEY,\n\t`name` TEXT NOT NULL\n);", [], None,
        "\nCREATE TABLE `posts`(\n\t`post_id` INTEGER NOT NULL PRIMARY KEY,\n\t`title` TEXT NOT NULL,\n"
        "\t`body` TEXT,\n\t`foreign_key_user_id` INTEGER NOT NULL,\n"
        "\tFOREIGN KEY (`foreign_key_user_id`) REFERENCES `users`(`user_id`)\n);\n",
        "\nDROP TABLE IF EXISTS `posts`;\n"),
    "diff_alter_table_add_column": (
        "table! {\n    users {\n        id -> Integer,\n        name -> Text,\n        hair_color -> Nullable<Text>,\n"
        "    }\n}\n", "CREATE TABLE users(id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL);", [], None,
        "ALTER TABLE `users` ADD COLUMN `hair_color` TEXT;\n", "ALTER TABLE `users` DROP COLUMN `hair_color`;\n"),
    "diff_alter_table_drop_column": (
        "table! {\n    users {\n        id -> Integer,\n    }\n}\n",
        "CREATE TABLE users(id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL);", [], None,
        "ALTER TABLE `users` DROP COLUMN `name`;\n", "ALTER TABLE `users` ADD COLUMN `name` TEXT NOT NULL;\n"),
    "diff_drop_table": (
        "", "CREATE TABLE users(id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL);", [], None,
        "DROP TABLE IF EXISTS `users`;\n",
        "CREATE TABLE `users`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`name` TEXT NOT NULL\n);\n"),
    "diff_drop_table_all_the_types": (
        "", "CREATE TABLE test(\n       id INTEGER NOT NULL PRIMARY KEY,\n       name TEXT,\n       number REAL,\n"
            "       blob BLOB NOT NULL\n);\n\nCREATE TABLE test2(\n       id INTEGER NOT NULL PRIMARY KEY,\n"
            "       bigint BIGINT NOT NULL,\n       number UNSIGNED BIG INT NOT NULL,\n       text VARCHAR(255),\n"
            "       clob CLOB,\n       other_text NATIVE CHARACTER(70),\n       double DOUBLE,\n"
            "       double2 DOUBLE PRECISION,\n       float FLOAT,\n       numeric NUMERIC,\n       date DATE,\n"
            "       timestamp TIMESTAMP,\n       datetime DATETIME,\n       decimal DECIMAL(10,5)\n);", [], None,
        "DROP TABLE IF EXISTS `test`;\nDROP TABLE IF EXISTS `test2`;\n",
        "CREATE TABLE `test`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`name` TEXT,\n\t`number` FLOAT,\n"
        "\t`blob` BINARY NOT NULL\n);\n\nCREATE TABLE `test2`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n"
        "\t`bigint` BIGINT NOT NULL,\n\t`number` BIGINT NOT NULL,\n\t`text` TEXT,\n\t`clob` TEXT,\n"
        "\t`other_text` TEXT,\n\t`double` DOUBLE,\n\t`double2` DOUBLE,\n\t`float` FLOAT,\n\t`numeric` DOUBLE,\n"
        "\t`date` DATE,\n\t`timestamp` TIMESTAMP,\n\t`datetime` TIMESTAMP,\n\t`decimal` DOUBLE\n);\n"),
    "diff_drop_table_composite_key": (
        "", "CREATE TABLE users(id INTEGER NOT NULL, other_key INTEGER NOT NULL, name TEXT NOT NULL, "
            "PRIMARY KEY(id, other_key));", [], None,
        "DROP TABLE IF EXISTS `users`;\n",
        "CREATE TABLE `users`(\n\t`id` INTEGER NOT NULL,\n\t`other_key` INTEGER NOT NULL,\n\t`name` TEXT NOT NULL,\n"
        "\tPRIMARY KEY(`id`, `other_key`)\n);\n"),
    "diff_drop_table_with_fk": (
        USERS_ID_NAME, "CREATE TABLE users(id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL);\n"
                       "CREATE TABLE posts(id INTEGER NOT NULL PRIMARY KEY, title TEXT NOT NULL, "
                       "user_id INTEGER NOT NULL REFERENCES users);", [], None,
        "DROP TABLE IF EXISTS `posts`;\n",
        "CREATE TABLE `posts`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`title` TEXT NOT NULL,\n"
        "\t`user_id` INTEGER NOT NULL,\n\tFOREIGN KEY (`user_id`) REFERENCES `users`(`id`)\n);\n"),
    "diff_except_tables": (TABLE_A_SCRIPT, TABLE_ABC, ["-e", "table_b", "table_c"],
                           '[print_schema]\nfilter = { except_tables = ["table_b", "table_c"] }\n',
                           ALTER_A_UP, ALTER_A_DOWN),
    "diff_only_tables": (TABLE_A_SCRIPT, TABLE_ABC, ["-o", "table_a"],
                         '[print_schema]\nfilter = { only_tables = ["table_a"] }\n', ALTER_A_UP, ALTER_A_DOWN),
}


def _generate(project: Path, run, case: str, args: list[str]):  # type: ignore[no-untyped-def]
    schema_rs, initial, _, _, _, _ = CASES[case]
    (project / "schema.rs").write_text(schema_rs)
    if initial.strip():
        conn = sqlite3.connect(project / "test.db")
        conn.executescript(initial.strip())
        conn.close()
    assert run("setup").code == 0
    result = run("migration", "generate", case, "--version=12345", f"--diff-schema={project / 'schema.rs'}", *args)
    assert result.code == 0, result
    folder = project / "migrations" / f"12345_{case}"
    return result, (folder / "up.sql").read_text(), (folder / "down.sql").read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_sql_is_diesels(project: Path, run, case: str) -> None:
    """diesel_cli tests/migration_generate.rs run 1 (CLI arguments), then `migration run` and `redo` succeed."""
    _, _, args, _, up_body, down_body = CASES[case]
    result, up, down = _generate(project, run, case, args)
    assert up.rstrip() == (UP + up_body).rstrip() and up.endswith("\n")
    assert down.rstrip() == (DOWN + down_body).rstrip() and down.endswith("\n")
    assert result.out == f"Creating migrations/12345_{case}/up.sql\nCreating migrations/12345_{case}/down.sql\n"
    assert "proof on a copy of" in result.err  # the pair was rehearsed and the verdict reported
    assert run("migration", "run").code == 0
    assert run("migration", "redo").code == 0


@pytest.mark.parametrize("case", ["diff_except_tables", "diff_only_tables"])
def test_filter_from_diesel_toml(project: Path, run, case: str) -> None:
    """diesel_cli tests/migration_generate.rs run 2: the filter comes from the case's diesel.toml."""
    (project / "diesel.toml").write_text(CASES[case][3])
    _, up, down = _generate(project, run, case, [])
    assert up.rstrip() == (UP + ALTER_A_UP).rstrip() and down.rstrip() == (DOWN + ALTER_A_DOWN).rstrip()


def test_exact_bytes_of_one_difference(project: Path, run) -> None:
    """diff_schema.rs appends "\\n" after each difference's SQL, and generate_sql_migration writes the template
    first."""
    _, up, down = _generate(project, run, "diff_add_table", [])
    assert up == UP + "CREATE TABLE `users`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`name` TEXT NOT NULL\n);\n\n"
    assert down == DOWN + "DROP TABLE IF EXISTS `users`;\n"


def test_bigint_flag_needs_diff_schema(project: Path, run) -> None:
    """cli.rs: --sqlite-integer-primary-key-is-bigint `.requires("SCHEMA_RS")` → clap error, exit 2."""
    (project / "migrations").mkdir()
    result = run("migration", "generate", "x", "--sqlite-integer-primary-key-is-bigint")
    assert result.code == 2 and result.err.startswith("error: ") and not list((project / "migrations").glob("*_x"))


def test_bare_diff_schema_uses_print_schema_file_and_unknown_key_is_diesels_error(project: Path, run) -> None:
    """migrations/mod.rs: bare --diff-schema reads print_schema.file of the schema key; an unknown
    key is `No `[print_schema.KEY]` entries in your diesel.toml`; a config without `file` gives empty SQL."""
    (project / "src").mkdir()
    (project / "src" / "schema.rs").write_text(USERS_ID_NAME)
    (project / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n')
    (project / "migrations").mkdir()
    result = run("migration", "generate", "--diff-schema", "create_users", "--version=1")
    assert result.code == 0, result
    assert "CREATE TABLE `users`" in (project / "migrations" / "1_create_users" / "up.sql").read_text()
    result = run("migration", "generate", "again", "--diff-schema", "--schema-key", "other", "--version=2")
    assert result.code == 1 and result.err.startswith("No `[print_schema.other]` entries in your diesel.toml")
    (project / "diesel.toml").write_text("[print_schema]\n")
    assert run("migration", "generate", "empty", "--diff-schema", "--version=3").code == 0
    assert (project / "migrations" / "3_empty" / "up.sql").read_text() == UP


def test_changed_primary_key_is_refused(project: Path, run) -> None:
    """diff_schema.rs: `Cannot change primary keys with --diff-schema yet`, nothing written."""
    conn = sqlite3.connect(project / "test.db")
    conn.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    conn.close()
    (project / "schema.rs").write_text("table! {\n    users (name) {\n        id -> Integer,\n"
                                       "        name -> Text,\n    }\n}\n")
    (project / "migrations").mkdir()
    result = run("migration", "generate", "pk", f"--diff-schema={project / 'schema.rs'}")
    assert result.code == 1 and result.err.startswith("Cannot change primary keys with --diff-schema yet")
    assert list((project / "migrations").iterdir()) == []


def _users_with_data(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, age TEXT, "
                       "code TEXT NOT NULL); CREATE INDEX users_code ON users(code);"
                       "INSERT INTO users VALUES (1, 'ann', '12', 'x'), (2, 'bob', NULL, 'y');")
    conn.close()


def test_a_change_sqlite_cannot_alter_is_a_rebuild_proven_on_a_copy(project: Path, run) -> None:
    """A type change (diesel: DROP + ADD COLUMN, which empties the column) and a drop of an indexed column
    (diesel: DROP COLUMN, which SQLite refuses) are written as one table rebuild; the database is only read."""
    _users_with_data(project / "test.db")
    before = file_state(project / "test.db")
    (project / "schema.rs").write_text("diesel::table! {\n    users (id) {\n        id -> Integer,\n"
                                       "        name -> Text,\n        age -> Nullable<Integer>,\n"
                                       "        nickname -> Nullable<Text>,\n    }\n}\n")
    (project / "migrations").mkdir()
    result = run("migration", "generate", "change_users", "--version=7", f"--diff-schema={project / 'schema.rs'}")
    assert result.code == 0, result
    up = (project / "migrations" / "7_change_users" / "up.sql").read_text()
    down = (project / "migrations" / "7_change_users" / "down.sql").read_text()
    assert "Rebuild table users" in up and '"age" INTEGER' in up and "DROP COLUMN" not in up
    assert "CREATE TABLE \"_lightnb_new_users\" (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, age TEXT, " \
           "code TEXT NOT NULL)" in down and "CREATE INDEX users_code ON users(code);" in down
    assert "table users is written as a table rebuild" in result.err
    # the verdict is measured: code's values are lost by the drop, and the proof says so
    assert "proof on a copy of" in result.err and ": unsafe" in result.err and "code" in result.err
    assert file_state(project / "test.db") == before
    assert run("migration", "run").code == 0
    conn = sqlite3.connect(project / "test.db")
    assert conn.execute("SELECT id, name, age, typeof(age), nickname FROM users ORDER BY id").fetchall() == [
        (1, "ann", 12, "integer", None), (2, "bob", None, "null", None)]
    conn.close()


def test_a_change_diesel_can_make_stays_diesels(project: Path, run) -> None:
    """Adding a nullable column to a table with rows: ALTER TABLE works on SQLite, so the SQL is diesel's."""
    _users_with_data(project / "test.db")
    (project / "schema.rs").write_text("diesel::table! {\n    users (id) {\n        id -> Integer,\n"
                                       "        name -> Text,\n        age -> Nullable<Text>,\n        code -> Text,\n"
                                       "        nickname -> Nullable<Text>,\n    }\n}\n")
    (project / "migrations").mkdir()
    result = run("migration", "generate", "nick", "--version=8", f"--diff-schema={project / 'schema.rs'}")
    assert result.code == 0
    assert (project / "migrations" / "8_nick" / "up.sql").read_text() == \
        UP + "ALTER TABLE `users` ADD COLUMN `nickname` TEXT;\n\n"
    assert "rebuild" not in result.err and ": safe" in result.err
    assert "users" in tables(project / "test.db")
