"""Foreign keys are checked only in the tables where a row may have come to violate one.

What the statements may have written is what SQLite's authorizer saw them prepare (triggers and foreign-key actions
included); a table none of them inserted into, whose key columns none of them set, whose parent lost no row and
kept its referenced columns, and whose definitions did not change, keeps its violations. Anything uncertain checks
every table, as before. The measured impact reports the same orphans either way.
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lightnb.backends import sqlite as backend
from lightnb.inspect.impact import measure_impact
from lightnb.inspect.kept_keys import key_suspects
from tests.support.builder import make_database

impact_module = importlib.import_module("lightnb.inspect.impact")

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), buyer TEXT REFERENCES users (email),
                     total INTEGER NOT NULL, note TEXT);
CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders (id));
CREATE TRIGGER tagged AFTER UPDATE OF label ON tags BEGIN INSERT INTO audit (order_id) VALUES (9999); END;
INSERT INTO users (id, email, name) VALUES (1, 'a@example.com', 'ann'), (2, 'b@example.com', 'bob'),
                                           (3, 'c@example.com', 'cy');
INSERT INTO orders (user_id, buyer, total) VALUES (1, 'a@example.com', 10), (2, 'b@example.com', 20),
                                                  (3, 'c@example.com', 30);
INSERT INTO tags (label) VALUES ('x'), ('y');
INSERT INTO audit (order_id) VALUES (1);
"""

# each case: the statements, and the tables they may have given a row violating a key (None: every table)
CASES = {
    "column_added_and_filled": ("ALTER TABLE orders ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n"
                                "UPDATE orders SET theme = 'dark', note = 'n' WHERE id % 2 = 0;", set()),
    "child_key_set": ("UPDATE orders SET user_id = 77 WHERE id = 1;", {"orders"}),
    "child_key_set_in_another_case": ("UPDATE orders SET User_Id = 2 WHERE id = 1;", {"orders"}),
    "child_rows_added": ("INSERT INTO orders (user_id, total) VALUES (1, 5);", {"orders"}),
    "parent_rows_removed": ("DELETE FROM users WHERE id = 3;", {"orders"}),
    "parent_key_set": ("UPDATE users SET email = 'z@example.com' WHERE id = 2;", {"orders"}),
    "parent_other_column_set": ("UPDATE users SET name = upper(name);", set()),
    "parent_rowid_set_by_name": ("UPDATE users SET rowid = rowid + 100 WHERE id = 1;", {"orders"}),
    "a_trigger_adds_rows": ("UPDATE tags SET label = 'z' WHERE id = 1;", {"audit"}),
    "rows_removed_from_a_child": ("DELETE FROM orders WHERE id = 2;", {"audit"}),
    "column_added_with_a_key": ("ALTER TABLE tags ADD COLUMN owner INTEGER REFERENCES users (id);", None),
    "table_renamed": ("ALTER TABLE tags RENAME TO labels;", None),
    "replace_resolution": ("INSERT OR REPLACE INTO users (id, email, name) VALUES (1, 'a@example.com', 'x');", None),
    "index_dropped_on_a_parent": ("CREATE INDEX users_name ON users (name);", {"orders"}),
    "writable_schema": ("PRAGMA writable_schema = ON;\nPRAGMA writable_schema = OFF;", None),
}


def _database(tmp_path: Path) -> Path:
    return make_database(tmp_path / "work.db", SCHEMA)


def _suspects(path: Path, sql: str) -> frozenset[str] | None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        before = backend.read_catalog(conn)
        writes = backend.Writes()
        backend.guard.install(conn, writes=writes)
        conn.execute("BEGIN")
        conn.executescript(sql) if "PRAGMA" in sql else [conn.execute(s.text) for s in backend.split(sql)]
        after = backend.read_catalog(conn)
        return key_suspects(writes, [before, after], [sql])
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_only_the_tables_a_statement_can_break_a_key_in_are_suspects(tmp_path: Path, case: str) -> None:
    sql, expected = CASES[case]
    assert _suspects(_database(tmp_path), sql) == (frozenset(expected) if expected is not None else None)


def test_a_generated_column_follows_what_the_update_names(tmp_path: Path) -> None:
    path = _database(tmp_path)
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE shipments (id INTEGER PRIMARY KEY, base INTEGER, "
                       "order_id INTEGER GENERATED ALWAYS AS (base + 1) REFERENCES orders (id));"
                       "INSERT INTO shipments (base) VALUES (0);")
    conn.close()
    assert _suspects(path, "UPDATE shipments SET base = 500;") == {"shipments"}


def test_nothing_followed_means_every_table(tmp_path: Path) -> None:
    assert key_suspects(None, [], ["UPDATE users SET name = 'x';"]) is None


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The tables each foreign-key check of the measurement looked at (None: every table)."""
    seen: list[Any] = []
    real = impact_module._foreign_key_check

    def spy(conn: Any, tables: Any) -> Any:
        seen.append(None if tables is None else sorted(t.lower() for t in tables))
        return real(conn, tables)

    monkeypatch.setattr(impact_module, "_foreign_key_check", spy)
    return seen


def _orphans(impacts: list[Any]) -> list[tuple[str | None, int]]:
    return [(i.table, i.count) for i in impacts if i.kind == "orphans"]


def test_a_migration_that_cannot_break_a_key_checks_none(tmp_path: Path, checked: list[Any]) -> None:
    impacts = measure_impact(_database(tmp_path), CASES["column_added_and_filled"][0])
    assert checked == [] and _orphans(impacts) == []


@pytest.mark.parametrize(("sql", "orphans"), [
    ("UPDATE orders SET user_id = 77 WHERE id = 1;", [("orders", 1)]),
    ("PRAGMA foreign_keys = OFF;\nDELETE FROM users WHERE id = 3;", [("orders", 2)]),
    ("UPDATE tags SET label = 'z' WHERE id = 1;", [("audit", 1)]),
    ("UPDATE users SET rowid = rowid + 100 WHERE id = 1;", [("orders", 1)]),
])
def test_the_orphans_a_migration_makes_are_still_reported(tmp_path: Path, checked: list[Any], sql: str,
                                                          orphans: list[tuple[str, int]]) -> None:
    impacts = measure_impact(_database(tmp_path), sql)
    assert _orphans(impacts) == orphans
    assert checked and all(c is None or set(c) >= {t for t, _n in orphans} for c in checked)
