"""Property tests: random SQLite schemas through print-schema (diesel_spec.md §4, §7).

Schemas are drawn from the spec's type-mapping examples (with random letter case), nullable or
not, several primary-key shapes (rowid fallback, rowid alias, composite, WITHOUT ROWID), odd table
and column names, and foreign keys (to the primary key, to other columns, without column, to a
missing table, self references). Invariants checked on each:

* the output parses as Rust (tree-sitter) in both styles when no name holds a quote;
* every table and every column appears, with the type the spec's mapping gives;
* the output does not depend on the order the tables were created in;
* 2.1 prints like 2.2 when every table has a key, else fails like 2.1 did;
* 2.2 and 2.3 differ only where §7 says: the allow-tables layout and the empty schema, unless a
  name triggers a 2.3-only rule (a column named like its table, a column ``table``, a quote);
* each ``table!`` block is independent of the table filter, and ``joinable!`` lines follow §4.7.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightnb.models._syntax import parse_rust
from lightnb.models.schema_rs import parse_schema
from lightnb.schema import PrintSchemaOptions, SchemaError, layout, print_schema
from lightnb.schema.config import TableFilter
from lightnb.schema.naming import column_rust_name, table_rust_name

# (declared type, diesel type) pairs from diesel_spec.md §4.5's worked examples.
TYPES = [
    ("INTEGER", "Integer"), ("INT", "Integer"), ("MEDIUMINT", "Integer"), ("INT4", "Integer"),
    ("POINT", "Integer"), ("INTERVAL", "Integer"), ("PRINTER", "Integer"), ("INTERNAL_TEXT", "Integer"),
    ("BIGINT", "BigInt"), ("UNSIGNED BIG INT", "BigInt"), ("INT8", "BigInt"),
    ("SMALLINT", "SmallInt"), ("INT2", "SmallInt"),
    ("TINYINT", "Bool"), ("TINYINT(1)", "Bool"), ("BOOLEAN", "Bool"), ("BOOL", "Bool"),
    ("TEXT", "Text"), ("VARCHAR", "Text"), ("VARCHAR(255)", "Text"), ("CHAR(10)", "Text"),
    ("CHARACTER", "Text"), ("NCHAR", "Text"), ("NVARCHAR(100)", "Text"), ("CLOB", "Text"),
    ("BLOB", "Binary"), ("BINARY(16)", "Binary"), ("VARBINARY", "Binary"), ("", "Binary"),
    ("REAL", "Float"), ("FLOAT", "Float"),
    ("DOUBLE", "Double"), ("DOUBLE PRECISION", "Double"), ("NUMERIC", "Double"), ("DECIMAL(10,2)", "Double"),
    ("DATETIME", "Timestamp"), ("TIMESTAMP", "Timestamp"), ("DATE", "Date"), ("TIME", "Time"),
]
TABLE_NAMES = ["users", "posts", "User", "comments", "quote'table", "self", "a b", "type", "ünï",
               "x-y", "posts2", "Tags", "order_items", "very_long_table_name_number_one"]
COLUMN_NAMES = ["id", "name", "fn", "created at", "is_nullable", "columns", "x-y", "é", "user_id",
                "Type", "rowid", "oid", "_rowid_", "posts", "value", "__dunder", "Self", "parent_id"]


@dataclass(frozen=True)
class Col:
    name: str
    declared: str
    expected: str
    not_null: bool
    references: tuple[str, str | None] | None  # (table, column or None)


@dataclass(frozen=True)
class Tab:
    name: str
    columns: tuple[Col, ...]
    primary_key: tuple[str, ...]  # () = no explicit key
    without_rowid: bool

    def sql(self) -> str:
        parts = []
        for c in self.columns:
            text = f"{_q(c.name)} {c.declared}".rstrip()
            if c.not_null:
                text += " NOT NULL"
            if c.references is not None:
                parent, target = c.references
                text += f" REFERENCES {_q(parent)}" + (f"({_q(target)})" if target else "")
            parts.append(text)
        if self.primary_key:
            parts.append("PRIMARY KEY (" + ", ".join(_q(k) for k in self.primary_key) + ")")
        tail = " WITHOUT ROWID" if self.without_rowid else ""
        return f'CREATE TABLE {_q(self.name)} ({", ".join(parts)}){tail};'


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c.lower() for c, f in zip(text, flips))


@st.composite
def schemas(draw: st.DrawFn, quotes: bool = False) -> list[Tab]:
    names = draw(st.lists(st.sampled_from(TABLE_NAMES + (['q"t#'] if quotes else [])), min_size=1,
                          max_size=5, unique_by=str.lower))
    tables = []
    for name in names:
        pool = COLUMN_NAMES + (['say "hi"'] if quotes else [])
        col_names = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=5, unique_by=str.lower))
        shape = draw(st.sampled_from(["none", "single", "composite", "without_rowid"]))
        key: tuple[str, ...] = ()
        if shape == "single" or (shape in ("composite", "without_rowid") and len(col_names) < 2):
            key = (col_names[0],)
        elif shape in ("composite", "without_rowid"):
            key = tuple(draw(st.permutations(col_names))[:2])
        without_rowid = shape == "without_rowid"
        columns = []
        for col in col_names:
            declared, expected = draw(st.sampled_from(TYPES))
            if without_rowid and col in key and declared == "":
                declared, expected = "INTEGER", "Integer"
            references = None
            if '"' not in col and draw(st.integers(0, 3)) == 0:
                parent = draw(st.sampled_from(names + ["missing"]))
                target = draw(st.sampled_from([None, "id", "name"]))
                references = (parent, target)
            columns.append(Col(col, _random_case(draw, declared), expected, draw(st.booleans()), references))
        tables.append(Tab(name, tuple(columns), key, without_rowid))
    return tables


def error_nodes(text: str) -> list[tuple[int, int]]:
    """Return where tree-sitter-rust finds an ERROR or MISSING node (same rule as lightnb.models._syntax)."""
    stack, found = [parse_rust(text)], []
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append((node.start_point[0] + 1, node.start_point[1]))
        stack.extend(node.children)
    return found


def build(tables: list[Tab]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for table in tables:
        conn.execute(table.sql())
    return conn


def _has_rowid_fallback(table: Tab) -> bool:
    return not table.primary_key


def _expected_columns(table: Tab) -> list[tuple[str, str]]:
    """Return (SQL name, rendered type) of every column diesel prints, in order (§4.3–§4.5)."""
    columns = []
    for c in table.columns:
        nullable = not c.not_null and not (table.without_rowid and c.name in table.primary_key)
        columns.append((c.name, f"Nullable<{c.expected}>" if nullable else c.expected))
    if _has_rowid_fallback(table):
        taken = {c.name for c in table.columns}
        implicit = next((n for n in ("rowid", "oid", "_rowid_") if n not in taken), None)
        if implicit is not None:
            columns.insert(0, (implicit, "Integer"))
    return columns


def _printable(tables: list[Tab]) -> bool:
    return all(t.primary_key or {"rowid", "oid", "_rowid_"} - {c.name for c in t.columns} for t in tables)


def _table_blocks(text: str) -> list[str]:
    return ["diesel::table! {" + part.split("\n}\n")[0] + "\n}\n" for part in text.split("diesel::table! {")[1:]]


def _uses_23_only_rules(tables: list[Tab]) -> bool:
    for table in tables:
        rust = table_rust_name(table.name)
        for c in table.columns:
            if c.name in ("table", rust) or '"' in c.name or '"' in table.name:
                return True
    return False


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(schemas())
def test_output_parses_and_lists_every_table_and_column(tables: list[Tab]) -> None:
    conn = build(tables)
    if not _printable(tables):
        return
    for style in ("2.3", "2.2"):
        text = print_schema(conn, PrintSchemaOptions(style=style))
        assert error_nodes(text) == [], text
        assert text.endswith("\n") and not text.endswith("\n\n\n")
        printed = parse_schema(text, strict=False)
        assert [t.sql_name for t in printed.tables] == sorted(t.name for t in tables), "byte order of names"
        for table in tables:
            in_file = printed.table_named(table.name)
            assert in_file is not None
            assert [(c.sql_name, c.type_text) for c in in_file.columns] == _expected_columns(table)
            assert in_file.rust_name == table_rust_name(table.name, style)
            rust = in_file.rust_name
            assert [c.rust_name for c in in_file.columns] == [
                column_rust_name(name, rust, style) for name, _ in _expected_columns(table)]


@FAST
@given(schemas(), st.randoms(use_true_random=False))
def test_creation_order_does_not_matter(tables: list[Tab], rng) -> None:
    if not _printable(tables):
        return
    shuffled = list(tables)
    rng.shuffle(shuffled)
    assert print_schema(build(tables)) == print_schema(build(shuffled))


@FAST
@given(schemas())
def test_styles_differ_only_in_allow_tables_layout(tables: list[Tab]) -> None:
    if not _printable(tables) or _uses_23_only_rules(tables):
        return
    conn = build(tables)
    text_23 = print_schema(conn, PrintSchemaOptions(style="2.3"))
    text_22 = print_schema(conn, PrintSchemaOptions(style="2.2"))
    groups = parse_schema(text_23, strict=False).groups
    if not groups:
        # the only difference left: rustfmt drops the blank line of an empty schema (never here)
        assert text_22 == text_23
        return
    normalised = text_23
    for group in groups:
        normalised = normalised.replace(group.text + "\n", layout.allow_tables_vertical(group.names))
    assert normalised == text_22


@FAST
@given(schemas(quotes=True))
def test_quotes_in_names_give_raw_strings_in_23(tables: list[Tab]) -> None:
    if not _printable(tables):
        return
    text = print_schema(build(tables), PrintSchemaOptions(style="2.3"))
    assert error_nodes(text) == [], text
    printed = parse_schema(text, strict=False)
    assert sorted(t.sql_name for t in printed.tables) == sorted(t.name for t in tables)
    for table in tables:
        in_file = printed.table_named(table.name)
        assert in_file is not None
        assert [c.sql_name for c in in_file.columns] == [n for n, _ in _expected_columns(table)]


@FAST
@given(schemas(), st.sets(st.sampled_from(TABLE_NAMES), max_size=3))
def test_table_blocks_do_not_depend_on_the_filter(tables: list[Tab], only: set[str]) -> None:
    if not _printable(tables):
        return
    conn = build(tables)
    everything = _table_blocks(print_schema(conn))
    patterns = tuple(f"^{re.escape(name)}$" for name in sorted(only))
    filtered = print_schema(conn, PrintSchemaOptions(filter=TableFilter("only", patterns)))
    blocks = _table_blocks(filtered)
    assert all(block in everything for block in blocks)
    assert len(blocks) == len([t for t in tables if t.name in only])


@FAST
@given(schemas())
def test_joinables_follow_the_foreign_key_rules(tables: list[Tab]) -> None:
    if not _printable(tables):
        return
    conn = build(tables)
    printed = parse_schema(print_schema(conn), strict=False)
    records = [(t.name, c.references[0], c) for t in tables for c in t.columns if c.references]
    pairs = Counter(frozenset((child, parent)) for child, parent, _ in records)
    expected = []
    for child, parent, column in records:
        parent_table = next((t for t in tables if t.name == parent), None)
        if parent_table is None or parent == child or pairs[frozenset((child, parent))] != 1:
            continue
        taken = {c.name for c in parent_table.columns}
        key = parent_table.primary_key or tuple(n for n in ("rowid", "oid", "_rowid_") if n not in taken)[:1]
        target = column.references[1] or (key[0] if len(key) == 1 else None)
        if len(key) != 1 or target != key[0]:
            continue
        rust_column = column.name + "_" if column.name in ("fn", "is_nullable", "columns", "Self") or (
            column.name.startswith("__")) else column.name
        expected.append((table_rust_name(child), table_rust_name(parent), rust_column))
    assert sorted((j.child, j.parent, j.column) for j in printed.joinables) == sorted(expected)


@FAST
@given(schemas())
def test_bigint_option_only_turns_integer_into_bigint(tables: list[Tab]) -> None:
    if not _printable(tables):
        return
    conn = build(tables)
    for style in ("2.2", "2.3"):
        plain = print_schema(conn, PrintSchemaOptions(style=style)).split("\n")
        big = print_schema(conn, replace(PrintSchemaOptions(style=style), integer_primary_key_is_bigint=True))
        big_lines = big.split("\n")
        assert len(plain) == len(big_lines)
        for before, after in zip(plain, big_lines):
            assert before == after or before.replace("Integer", "BigInt") == after


@FAST
@given(schemas())
def test_21_prints_like_22_when_every_table_has_a_key(tables: list[Tab]) -> None:
    conn = build(tables)
    if not all(t.primary_key for t in tables):
        with pytest.raises(SchemaError, match="has no primary key"):
            print_schema(conn, PrintSchemaOptions(style="2.1"))
        return
    for docs in ("no-doc-comments", "database-comments-fallback-to-auto-generated-doc-comment"):
        assert (print_schema(conn, PrintSchemaOptions(style="2.1", with_docs=docs))
                == print_schema(conn, PrintSchemaOptions(style="2.2", with_docs=docs)))
