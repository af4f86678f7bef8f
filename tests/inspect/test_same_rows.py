"""The exact, set-wise row comparison that check, capture and divergence rely on (row_diff.same_rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lightnb.inspect.row_diff import changed_tables, same_rows


def _pair(tmp_path: Path, before_sql: str, after_sql: str) -> tuple[Path, Path]:
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    for path, sql in ((before, before_sql), (after, after_sql)):
        conn = sqlite3.connect(path)
        conn.executescript(sql)
        conn.close()
    return before, after


KEYED = "CREATE TABLE t (id INTEGER PRIMARY KEY, v);"
UNKEYED = "CREATE TABLE t (a, b);"


@pytest.mark.parametrize("schema", [KEYED, UNKEYED, "CREATE TABLE t (id TEXT PRIMARY KEY, v);",
                                    "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, v) WITHOUT ROWID;"])
@pytest.mark.parametrize(("before_rows", "after_rows", "same"), [
    ("(1, 'x'), (2, 'y')", "(2, 'y'), (1, 'x')", True),       # order does not matter
    ("(1, 'x'), (2, 'y')", "(1, 'x'), (2, 'z')", False),      # a value changed
    ("(1, 1), (2, 'y')", "(1, 1.0), (2, 'y')", False),        # same number, other storage class
    ("(1, 'a'), (2, 'y')", "(1, 'A'), (2, 'y')", False),      # letter case
    ("(1, NULL), (2, 'y')", "(1, NULL), (2, 'y')", True),     # NULL equals NULL here
    ("(1, NULL), (2, 'y')", "(1, ''), (2, 'y')", False),
    ("(1, 'x'), (2, 'y')", "(1, 'x')", False),                # a row fewer
    ("(1, X'00'), (2, 'y')", "(1, CAST(X'00' AS TEXT)), (2, 'y')", False),  # blob is not text
])
def test_same_rows_is_exact(tmp_path: Path, schema: str, before_rows: str, after_rows: str, same: bool) -> None:
    before, after = _pair(tmp_path, f"{schema} INSERT INTO t VALUES {before_rows};",
                          f"{schema} INSERT INTO t VALUES {after_rows};")
    assert (changed_tables(before, after) == []) is same


def test_duplicates_are_counted(tmp_path: Path) -> None:
    """Without a key, rows are a multiset: (x, x, y) is not (x, y, y)."""
    before, after = _pair(tmp_path, f"{UNKEYED} INSERT INTO t VALUES (1, 'x'), (1, 'x'), (2, 'y');",
                          f"{UNKEYED} INSERT INTO t VALUES (1, 'x'), (2, 'y'), (2, 'y');")
    assert changed_tables(before, after) == ["t"]


def test_nullable_text_key_may_repeat(tmp_path: Path) -> None:
    """A rowid table's TEXT PRIMARY KEY may hold NULL twice: the join shortcut must not be taken."""
    schema = "CREATE TABLE t (k TEXT PRIMARY KEY, v);"
    before, after = _pair(tmp_path, f"{schema} INSERT INTO t VALUES (NULL, 'x'), (NULL, 'x'), ('b', 'y');",
                          f"{schema} INSERT INTO t VALUES (NULL, 'x'), ('b', 'y'), ('c', 'z');")
    assert changed_tables(before, after) == ["t"]


def test_nocase_key_compares_binary(tmp_path: Path) -> None:
    schema = "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY COLLATE NOCASE, v);"
    before, after = _pair(tmp_path, f"{schema} INSERT INTO t VALUES ('a', 1), ('b', 2);",
                          f"{schema} INSERT INTO t VALUES ('A', 1), ('b', 2);")
    assert changed_tables(before, after) == ["t"]


def test_columns_by_name_and_rebuild(tmp_path: Path) -> None:
    """A table rebuilt with its columns in another order and new rowids is unchanged."""
    before, after = _pair(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, a, b); INSERT INTO t VALUES (1, 'x', 2);",
                          "CREATE TABLE t (b, a, id INTEGER PRIMARY KEY); INSERT INTO t VALUES (2, 'x', 1);")
    assert changed_tables(before, after) == []
    conn = sqlite3.connect(after)
    conn.execute("ATTACH DATABASE ? AS lnb_before", (str(before),))
    assert same_rows(conn, "t", "t", [("id", "id"), ("a", "a"), ("b", "b")])
    assert not same_rows(conn, "t", "t", [("a", "b")])
    conn.close()


@pytest.mark.parametrize(("before_type", "after_type", "before_value", "after_value", "same"), [
    ("INTEGER", "INTEGER", "1", "1.0", True),     # INTEGER affinity stores 1.0 as 1: the same value
    ("REAL", "REAL", "1", "1.0", True),           # REAL affinity stores 1 as 1.0
    ("NUMERIC", "NUMERIC", "'1'", "1", True),     # a well-formed number is stored as one
    ("TEXT", "TEXT", "1", "'1'", True),           # TEXT affinity stores text
    ("TEXT", "TEXT", "X'31'", "'1'", False),      # a blob is not text
    ("INTEGER", "INTEGER", "'1x'", "1", False),   # text that is no number stays text
    ("INTEGER", "REAL", "1", "1", False),         # other affinities: 1 is not 1.0
    ("", "", "1", "1.0", False),                  # no affinity: kept as given
    ("BLOB", "BLOB", "1", "1.0", False),
    ("ANY", "ANY", "1", "1.0", True),             # ANY outside STRICT is NUMERIC affinity
])
def test_storage_classes_compare_by_affinity(tmp_path: Path, before_type: str, after_type: str,
                                             before_value: str, after_value: str, same: bool) -> None:
    before, after = _pair(tmp_path, f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {before_type}); "
                                    f"INSERT INTO t VALUES (1, {before_value});",
                          f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {after_type}); "
                          f"INSERT INTO t VALUES (1, {after_value});")
    assert (changed_tables(before, after) == []) is same


def test_a_strict_any_column_keeps_its_storage_class(tmp_path: Path) -> None:
    if sqlite3.sqlite_version_info < (3, 37, 0):
        pytest.skip("STRICT tables need SQLite 3.37")
    schema = "CREATE TABLE t (id INTEGER PRIMARY KEY, v ANY) STRICT;"
    before, after = _pair(tmp_path, f"{schema} INSERT INTO t VALUES (1, 1);",
                          f"{schema} INSERT INTO t VALUES (1, 1.0);")
    assert changed_tables(before, after) == ["t"]


def test_storage_classes_are_compared_only_where_a_value_could_hide_in_another(tmp_path: Path) -> None:
    before, after = _pair(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, x);"
                                    "INSERT INTO t VALUES (1, 2, 'a', 3);",
                          "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, x);"
                          "INSERT INTO t VALUES (1, 2, 'a', 3);")
    conn = sqlite3.connect(after)
    conn.execute("ATTACH DATABASE ? AS lnb_before", (str(before),))
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    assert same_rows(conn, "t", "t", [("id", "id"), ("n", "n"), ("s", "s"), ("x", "x")])
    conn.close()
    join = " ".join(s for s in seen if " JOIN " in s)
    assert join
    assert "typeof(a.\"x\")" in join  # no affinity: 3 and 3.0 both possible
    assert "typeof(a.\"n\")" not in join and "typeof(a.\"s\")" not in join
