"""print-schema --check on PostgreSQL: a schema file compared with the database by structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.cli import main
from lightnb.schema.postgres import print_schema_postgres
from lightnb.schema.structure import compare_structure, fold_type
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

SCHEMA = """CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR(40) NOT NULL, age INT2, tags TEXT[]);
CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id INT NOT NULL REFERENCES users, body TEXT);"""

# Written by hand: its own order and comments, diesel's aliases spelled differently.
HAND_WRITTEN = """// maintained by hand
diesel::table! {
    posts (id) {
        id -> BigInt,
        user_id -> Integer,
        body -> Nullable<diesel::sql_types::Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
        age -> Nullable<SmallInt>,
        tags -> Nullable<Array<Nullable<Text>>>,
    }
}

diesel::joinable!(posts -> users (user_id));
"""


@pytest.mark.parametrize(("text", "nullable", "folded"), [
    ("Int4", False, "Integer"), ("Nullable<Int8>", True, "BigInt"), ("diesel::sql_types::Varchar", False, "Text"),
    ("Nullable<Array<Nullable<Bpchar>>>", True, "Array<Nullable<Text>>"), ("Bytea", False, "Binary"),
    ("Timestamptz", False, "Timestamptz"), ("Int4range", False, "Range<Integer>"),
    ("sql_types::MyEnum", False, "MyEnum"), ("Nullable < Float8 >", True, "Double"),
])
def test_diesel_aliases_are_folded(text: str, nullable: bool, folded: str) -> None:
    assert (fold_type(text).nullable, fold_type(text).folded) == (nullable, folded)


def test_a_hand_written_file_with_the_same_structure_is_in_sync(pg_database: PgDatabase) -> None:
    pg_database.execute(SCHEMA)
    from lightnb.backends.postgres.catalog import read_schema
    with pg_database.connect() as conn:
        schema = read_schema(conn)
    drift = compare_structure(HAND_WRITTEN, schema)
    assert drift.in_sync and drift.lines() == []
    changed = (HAND_WRITTEN.replace("        age -> Nullable<SmallInt>,\n", "")
               .replace("name -> Text,", "name -> Nullable<Text>,\n        nickname -> Text,")
               .replace("user_id -> Integer", "user_id -> BigInt").replace("posts (id)", "posts (id, user_id)")
               .replace("        id -> Integer,\n        name",
                        "        name -> Text,\n        id -> Integer,\n        x")
               + "diesel::table! {\n    ghosts (id) {\n        id -> Int4,\n    }\n}\n")
    drift = compare_structure(changed, schema)
    assert not drift.in_sync
    assert drift.lines() == [
        "table `ghosts` is in schema.rs but not in the database",
        "posts.user_id: type BigInt in schema.rs, Integer in the database",
        "posts: primary key (id, user_id) in schema.rs, (id) in the database",
        "users.x: column is in schema.rs but not in the database",
        "users.nickname: column is in schema.rs but not in the database",
        "users.age: column is in the database but missing from schema.rs",
        "users: column order differs from the first column: schema.rs has name, id; the database has id, name",
    ]


def test_cli_check_and_fresh_check_on_postgres(pg_database: PgDatabase, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = ProjectBuilder(tmp_path).migration("2024-01-01-000000_init", SCHEMA, "DROP TABLE posts, users;").build()
    (root / "src").mkdir()
    schema_rs = root / "src" / "schema.rs"
    schema_rs.write_text(HAND_WRITTEN, encoding="utf-8")
    pg_database.execute(SCHEMA)
    args = ["print-schema", "--check", "--project", str(root), "--database-url", pg_database.url]

    assert main(args) == 0
    assert "schema.rs: in sync (tables, columns, types, nullability and primary keys match" in capsys.readouterr().out
    schema_rs.write_text(print_schema_postgres(pg_database.url), encoding="utf-8")
    assert main(args) == 0 and "in sync (identical to print-schema)" in capsys.readouterr().out

    schema_rs.write_text(HAND_WRITTEN.replace("        body -> Nullable<diesel::sql_types::Text>,\n", ""))
    assert main([*args, "--fresh"]) == 1  # replayed in a throw-away cluster, not the database given
    out = capsys.readouterr().out
    assert "out of sync" in out and "posts.body: column is in the database but missing from schema.rs" in out
    pg_database.execute("ALTER TABLE posts DROP COLUMN body")
    assert main(args) == 0 and main([*args, "--fresh"]) == 1
