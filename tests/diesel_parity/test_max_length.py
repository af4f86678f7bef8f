"""``#[max_length = N]`` in schema.rs, read as diesel_cli 2.3.12 reads it.

diesel_table_macro_syntax src/lib.rs ``ColumnDef::parse`` takes ``#[max_length = N]`` (syn ``LitInt``);
diesel_cli src/infer_schema_internals/data_structures.rs ``ColumnType::for_column_def`` parses it as a
u64; src/migrations/diff_schema.rs ``is_same_type`` compares it (``ty.max_length != tpe.max_length``)
and ``generate_column_type_name`` writes ``TYPE(N)``. On SQLite the database side never has one
(src/infer_schema_internals/sqlite.rs builds ``ColumnInformation`` with ``max_length: None``), so a
schema.rs column with ``#[max_length]`` always differs from the database, as in diesel.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lightnb.backends.sqlite import read_catalog
from lightnb.diff_schema import diesel_sql, diff_tables
from lightnb.models.schema_rs import parse_schema
from lightnb.schema import introspect

UP = "-- Your SQL goes here\n"
DOWN = "-- This file should undo anything in `up.sql`\n"


def users_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);"
                       "INSERT INTO users VALUES (1, 'ann'), (2, 'bob');")
    conn.close()


def users_rs(attribute: str = "") -> str:
    return (f"diesel::table! {{\n    users (id) {{\n        id -> Integer,\n{attribute}"
            f"        name -> Text,\n    }}\n}}\n")


def test_a_new_table_writes_the_length_as_diesel(project: Path, run) -> None:
    """diff_schema.rs `generate_create_table` → `generate_column_type_name`: ``VARCHAR(80)``, then NOT NULL."""
    (project / "schema.rs").write_text("diesel::table! {\n    posts (id) {\n        id -> Integer,\n"
                                       "        #[max_length = 80]\n        title -> Varchar,\n"
                                       "        #[max_length = 0x10]\n        code -> Nullable<Text>,\n    }\n}\n")
    (project / "migrations").mkdir()
    result = run("migration", "generate", "posts", "--version=1", f"--diff-schema={project / 'schema.rs'}")
    assert result.code == 0, result
    assert (project / "migrations" / "1_posts" / "up.sql").read_text() == UP + (
        "CREATE TABLE `posts`(\n\t`id` INTEGER NOT NULL PRIMARY KEY,\n\t`title` VARCHAR(80) NOT NULL,\n"
        "\t`code` TEXT(16)\n);\n\n")


def test_a_length_in_schema_rs_is_a_change_of_the_column(project: Path) -> None:
    """diff_schema.rs `is_same_type`: the database's ``Text`` (no length) is not schema.rs's ``Text`` with
    ``max_length = 255``: diesel drops and re-adds the column (``TEXT(255) NOT NULL``), down.sql the reverse."""
    users_db(project / "test.db")
    conn = sqlite3.connect(project / "test.db")
    db_tables = list(introspect(read_catalog(conn)).tables)
    conn.close()
    (diff,) = diff_tables(db_tables, parse_schema(users_rs("        #[max_length = 255]\n")))
    assert [(old.sql_name, new.max_length) for old, new in diff.changed] == [("name", 255)]
    assert diesel_sql(diff, bigint=False) == (
        "ALTER TABLE `users` DROP COLUMN `name`;\nALTER TABLE `users` ADD COLUMN `name` TEXT(255) NOT NULL;\n",
        "ALTER TABLE `users` DROP COLUMN `name`;\nALTER TABLE `users` ADD COLUMN `name` TEXT NOT NULL;\n")
    (same,) = diff_tables(db_tables, parse_schema(users_rs()))
    assert (same.changed, same.added, same.removed) == ([], [], [])


def test_the_length_change_keeps_the_rows(project: Path, run) -> None:
    """Where diesel's DROP + ADD COLUMN would empty `name` (and fail: NOT NULL without a default), lightnb
    writes the table rebuild, proven on a copy; the rows keep their names."""
    users_db(project / "test.db")
    (project / "schema.rs").write_text(users_rs("        #[max_length = 255]\n"))
    (project / "migrations").mkdir()
    result = run("migration", "generate", "name_length", "--version=2", f"--diff-schema={project / 'schema.rs'}")
    assert result.code == 0, result
    up = (project / "migrations" / "2_name_length" / "up.sql").read_text()
    assert '"name" TEXT(255) NOT NULL' in up and "table users is written as a table rebuild" in result.err
    assert run("migration", "run").code == 0
    conn = sqlite3.connect(project / "test.db")
    assert conn.execute("SELECT id, name FROM users ORDER BY id").fetchall() == [(1, "ann"), (2, "bob")]
    conn.close()


def test_a_length_that_is_not_an_integer_is_diesels_error(project: Path, run) -> None:
    """diesel_table_macro_syntax `take_lit` fails with syn's ``Invalid `#[sql_name = "max_length"]` attribute``
    (sic), which diff_schema.rs returns through ``?`` as `Error::SynError`: ``Failed to parse schema: {0}``;
    a literal over u64 is `Error::ColumnLiteralParseError` (``Column length literal can't be parsed as u64:
    {0}``, with Rust's ``number too large to fit in target type``). Nothing is written."""
    users_db(project / "test.db")
    (project / "migrations").mkdir()
    for attribute, text in (
            ('        #[max_length = "255"]\n',
             'Failed to parse schema: Invalid `#[sql_name = "max_length"]` attribute'),
            ("        #[max_length = 99999999999999999999]\n",
             "Column length literal can't be parsed as u64: number too large to fit in target type")):
        (project / "schema.rs").write_text(users_rs(attribute))
        result = run("migration", "generate", "bad", f"--diff-schema={project / 'schema.rs'}")
        assert result.code == 1 and result.err.startswith(text + " (lightnb: "), result.err
        assert result.err.count("\n") == 1
    assert list((project / "migrations").iterdir()) == []


def test_the_schema_file_reader_keeps_the_length() -> None:
    """Read leniently (print-schema comparing a file with the database), the attribute is kept too."""
    (table,) = parse_schema(users_rs("        #[max_length = 1_000]\n"), strict=False).tables
    assert [(c.sql_name, c.type_text, c.max_length) for c in table.columns] == [
        ("id", "Integer", None), ("name", "Text", 1000)]
