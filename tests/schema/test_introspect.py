"""SQLite catalogue -> schema records (diesel_spec.md §4.2–§4.8)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from lightnb.backends.sqlite import read_catalog
from lightnb.schema import (
    Column,
    ForeignKey,
    PrintSchemaOptions,
    SchemaError,
    introspect,
    introspect_tables,
    print_schema,
)
from lightnb.schema.config import TableFilter
from lightnb.schema.introspect import sql_type


def database(sql: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(sql)
    return conn


def test_tables_columns_keys_and_foreign_keys() -> None:
    conn = database("""
        CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT);
        CREATE TABLE posts (id INTEGER PRIMARY KEY, "type" TEXT NOT NULL, user_id INTEGER NOT NULL REFERENCES users);
        CREATE TABLE __hidden (id INTEGER PRIMARY KEY);
        CREATE TABLE SQLiteThing (id INTEGER PRIMARY KEY);
        CREATE VIEW v AS SELECT 1;
    """)
    posts, users = introspect_tables(read_catalog(conn))
    assert [users.sql_name, posts.sql_name] == ["users", "posts"]
    assert users.columns == (Column("id", "id", "Integer", False, "INTEGER"),
                             Column("email", "email", "Text", True, "TEXT"))
    assert users.column("email").diesel_type == "Nullable<Text>"
    assert posts.primary_key == ("id",) and posts.primary_key_rust == ("id",)
    assert posts.column("type").rust_name == "type_"
    assert posts.foreign_keys == (ForeignKey("posts", "users", "user_id", ("id",), "posts", "users", "user_id"),)


def test_filter_keeps_foreign_keys_of_every_table_for_duplicate_detection() -> None:
    conn = database("""
        CREATE TABLE a (id INTEGER PRIMARY KEY NOT NULL);
        CREATE TABLE b (id INTEGER PRIMARY KEY NOT NULL, a_id INTEGER REFERENCES a(id));
        CREATE TABLE c (id INTEGER PRIMARY KEY NOT NULL, a_id INTEGER REFERENCES a(id));
    """)
    schema = introspect(read_catalog(conn), PrintSchemaOptions(filter=TableFilter("except", ("^c$",))))
    assert [t.sql_name for t in schema.tables] == ["a", "b"]
    assert [(j.child_table, j.parent_table) for j in schema.joinables] == [("b", "a")]
    assert schema.groups == (("a", "b"),)
    assert schema.table_names == ("a", "b", "c")


def test_primary_key_in_column_order_not_declaration_order() -> None:
    conn = database("CREATE TABLE t (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (b, a));")
    assert introspect_tables(read_catalog(conn))[0].primary_key == ("a", "b")


def test_implicit_rowid_column_comes_first_and_is_not_null() -> None:
    (table,) = introspect_tables(read_catalog(database("CREATE TABLE t (oid TEXT, rowid TEXT);")))
    assert table.primary_key == ("_rowid_",)
    assert table.columns[0] == Column("_rowid_", "_rowid_", "Integer", False, "Integer", implicit=True)


def test_table_hiding_every_rowid_name_has_no_primary_key() -> None:
    conn = database("CREATE TABLE t (rowid TEXT, oid TEXT, _rowid_ TEXT);")
    with pytest.raises(SchemaError, match=r"^Diesel only supports tables with primary keys\. Table `t` has no"):
        print_schema(conn)


@pytest.mark.parametrize("declared", ["JSON", "UUID", "TIMESTAMP(3)", "STRING", "BIT"])
def test_unsupported_type(declared: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(f"Unsupported type: `{declared.lower()}`")):
        sql_type(declared)


def test_sqlite_rejects_schema_names() -> None:
    with pytest.raises(SchemaError, match="^sqlite cannot infer schema for databases other than the main"):
        print_schema(database(""), PrintSchemaOptions(schema="other"))


def test_empty_database() -> None:
    assert print_schema(database("")) == "// @generated automatically by Diesel CLI.\n"
    assert print_schema(database(""), PrintSchemaOptions(style="2.2")) == \
        "// @generated automatically by Diesel CLI.\n\n"


def test_catalogue_is_read_with_a_fixed_number_of_queries() -> None:
    statements = [f"CREATE TABLE t{i:03d} (id INTEGER PRIMARY KEY NOT NULL, name TEXT, "
                  f"parent_id INTEGER REFERENCES t{max(i - 1, 0):03d}(id));" for i in range(150)]
    conn = database("\n".join(statements))
    seen: list[str] = []  # top-level statements; pragma functions trace their inner reads as comments
    conn.set_trace_callback(lambda sql: None if sql.startswith("--") else seen.append(sql))
    text = print_schema(conn, PrintSchemaOptions(integer_primary_key_is_bigint=True))
    conn.set_trace_callback(None)
    assert text.count("diesel::table!") == 150 and text.count("diesel::joinable!") == 149
    assert len(seen) <= 5, seen
