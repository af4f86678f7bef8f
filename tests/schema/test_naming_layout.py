"""Rust names, string literals and the rustfmt layout model (diesel_spec.md §4.1, §4.9, §4.11)."""

from __future__ import annotations

import pytest

from lightnb.schema.layout import (
    ALLOW_TABLES,
    allow_tables_raw,
    allow_tables_rustfmt,
    allow_tables_vertical,
    rust_tokens_valid,
    tidy,
)
from lightnb.schema.naming import column_rust_name, joinable_column_name, rust_string, table_rust_name
from lightnb.schema.print_schema import doc_lines


@pytest.mark.parametrize(("sql", "rust"), [
    ("users", "users"), ("self", "self_"), ("Self", "Self_"), ("SELF", "SELF"), ("table", "table_"),
    ("__x", "__x_"), ("__x_", "__x_"), ("user-has::complex>>>role", "user_has_complex_role"),
    ("created at", "created_at"), ("é", "_"), ("_a__b_", "_a__b_"), ("a b__c", "a_b_c"),
    ("1st", "1st"),
])
def test_table_rust_name(sql: str, rust: str) -> None:
    assert table_rust_name(sql) == rust


def test_table_is_reserved_only_since_23() -> None:
    assert table_rust_name("table", "2.2") == "table"
    assert column_rust_name("table", "t", "2.2") == "table"


def test_column_named_like_its_table_gets_underscore_in_23_only() -> None:
    assert column_rust_name("users", "users") == "users_"
    assert column_rust_name("users", "users", "2.2") == "users"
    assert column_rust_name("users", "users_") == "users"


def test_joinable_column_is_not_sanitised() -> None:
    assert joinable_column_name("user id") == "user id"
    assert joinable_column_name("type") == "type_"


@pytest.mark.parametrize(("name", "literal"), [
    ("plain", '"plain"'), ("it's", '"it\'s"'), ('a"b', 'r#"a"b"#'), ('#a"b#', 'r###"#a"b#"###'),
    ("back\\slash", 'r#"back\\slash"#'),  # raw string: diesel's verbatim text would not compile
])
def test_rust_string(name: str, literal: str) -> None:
    assert rust_string(name) == literal


def test_rust_string_22_never_escapes() -> None:
    assert rust_string('a"b', "2.2") == '"a"b"'


def test_allow_tables_single_line_up_to_52_characters_of_names() -> None:
    names = ["a" * 25, "b" * 25]  # 52 characters joined: still one line (101 wide with ",);")
    assert allow_tables_rustfmt(names) == f"{ALLOW_TABLES}{names[0]}, {names[1]},);\n"
    assert len(allow_tables_rustfmt(names).rstrip("\n")) == 101
    longer = ["a" * 25, "b" * 26]
    assert allow_tables_rustfmt(longer) == allow_tables_vertical(longer)


def test_allow_tables_packs_short_names_within_99_columns() -> None:
    names = [f"t{i:02d}" for i in range(30)]
    lines = allow_tables_rustfmt(names).splitlines()
    assert lines[0] == ALLOW_TABLES and lines[-1] == ");"
    assert all(len(line) <= 99 for line in lines)
    assert lines[1] == "    " + " ".join(f"t{i:02d}," for i in range(19))
    assert lines[2] == "    " + " ".join(f"t{i:02d}," for i in range(19, 30))


def test_allow_tables_vertical_when_a_name_is_longer_than_10() -> None:
    names = ["a"] * 20 + ["eleven_char"]
    assert allow_tables_rustfmt(names) == allow_tables_vertical(names)


def test_allow_tables_raw_glues_names() -> None:
    assert allow_tables_raw(["a", "b"]) == f"{ALLOW_TABLES}\n    a,b,);\n"


def test_tidy_strips_trailing_space_and_blank_lines() -> None:
    assert tidy("// x\n\n") == "// x\n"
    assert tidy("a  \nb\n\n\n") == "a\nb\n"


@pytest.mark.parametrize(("text", "valid"), [
    ('#[sql_name = "a\\nb"] x', True),
    ('#[sql_name = "a\\qb"] x', False),
    ('#[sql_name = "a\\x7f"]', True),
    ('#[sql_name = "a\\x80"]', False),
    ('#[sql_name = "a\\u{1F600}"]', True),
    ('#[sql_name = "unterminated]', False),
    ('#[sql_name = r#"a"b"#] x', True),
    ("diesel::joinable!(a -> b (user id));", True),
    ("diesel::joinable!(a -> b (user)id));", False),
    ("diesel::joinable!(a -> b (weird`name));", False),
    ("diesel::joinable!(a -> b (x // comment));", False),
    ("/// doc with a bare \r carriage return", False),
    ("// @generated automatically by Diesel CLI.\n", True),
])
def test_rust_tokens_valid(text: str, valid: bool) -> None:
    assert rust_tokens_valid(text) is valid


def test_doc_lines_trim_like_rust() -> None:
    # Rust's trim() keeps U+001F, which Python's strip() would remove; a trailing CR goes, and
    # str::lines() gives no empty line after a final line ending.
    assert doc_lines("\u3000a\u00a0\n\x1fb\r\n", "") == ["/// a", "/// \x1fb"]
    assert doc_lines("a\n\n  b\n\n", "    ") == ["    /// a", "    ///", "    /// b", "    ///"]
    assert doc_lines("", "") == []
