"""The placeholder literal lint's fixes write for "some value of this column" follows SQLite's affinity rule."""

from __future__ import annotations

import sqlite3

import pytest

from lightnb.lint.columns import placeholder


@pytest.mark.parametrize("declared, literal", [
    ("INTEGER", "0"), ("BIGINT", "0"), ("VARCHAR(40)", "''"), ("TEXT", "''"), ("CLOB", "''"),
    ("BLOB", "X''"), ("", "X''"), ("  ", "X''"), ("REAL", "0.0"), ("DOUBLE PRECISION", "0.0"),
    ("FLOAT", "0.0"), ("NUMERIC", "0"), ("DECIMAL(10,2)", "0"), ("BOOLEAN", "0"), ("DATETIME", "0"),
])
def test_placeholder_has_the_storage_class_sqlite_gives_the_column(declared, literal):
    assert placeholder(declared) == literal
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE t (c {declared})")
    conn.execute(f"INSERT INTO t VALUES ({literal})")
    stored = conn.execute("SELECT typeof(c) FROM t").fetchone()[0]
    expected = {"0": "integer", "0.0": "real", "''": "text", "X''": "blob"}[literal]
    assert stored == expected
