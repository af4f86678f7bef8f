"""Telling whether a large keyed table changed joins the before table's rows in two rowid halves at once (this
thread and a reader thread on a connection of its own), as the row diff counts: the answer is exactly that of
one pass, wherever the difference is; it is split only when a second connection provably reads the same
committed states, and only a table whose rows a rowid orders."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

import pytest

from lightnb.inspect.row_diff import changed_tables
from tests.support.file_pairs import changed_copy

row_diff_module: Any = importlib.import_module("lightnb.inspect.row_diff")

COUNTER = "lightnb-row-counter"
BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT UNIQUE, score REAL, note);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO users SELECT i, 'user' || i, 'u' || i || '@example.org', i * 0.5,
                         CASE WHEN i % 7 = 0 THEN NULL ELSE i END FROM n;
INSERT INTO users SELECT 4000000000000 + id, name, 'far' || email, score, note FROM users WHERE id <= 1500;
CREATE TABLE tags (user_id INTEGER, tag TEXT);
INSERT INTO tags SELECT id % 50, 't' || (id % 3) FROM users;
"""
# each change touches users in one place only: the first rowid half, the second, or both
CHANGES = {
    "none": "",
    "lowest row": "UPDATE users SET name = 'x' WHERE id = 1;",
    "highest row": "UPDATE users SET score = score + 1 WHERE id = 4000000001500;",
    "a storage class": "UPDATE users SET note = '14' WHERE id = 14;",
    "integer to real": "UPDATE users SET note = 1.0 WHERE id = 1;",
    "a null": "UPDATE users SET email = NULL WHERE id = 4000000000007;",
    "a row removed": "DELETE FROM users WHERE id = 2999;",
    "a row added": "INSERT INTO users VALUES (3500, 'new', NULL, NULL, NULL);",
    "a row removed, another added": "DELETE FROM users WHERE id = 10; INSERT INTO users VALUES (11000, 'user10', "
                                    "'u10@example.org', 5.0, 10);",
    "rows renumbered": "UPDATE users SET id = id + 1000000 WHERE id > 4000000000000;",
    "column added": "ALTER TABLE users ADD COLUMN nick TEXT; UPDATE users SET nick = upper(name);",
    "column dropped": "ALTER TABLE users DROP COLUMN note;",
}


def _pair(folder: Path, change: str, *, journal: str = "delete", base: str = BASE) -> tuple[Path, Path]:
    return changed_copy(folder, base, change, journal=journal)


def _one_pass(before: Path, after: Path, tables: list[str]) -> list[str]:
    original = row_diff_module.SPLIT_ROWS
    row_diff_module.SPLIT_ROWS = 1 << 62
    try:
        return changed_tables(before, after, tables)
    finally:
        row_diff_module.SPLIT_ROWS = original


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_halves_answer_what_one_pass_answers(tmp_path: Path, halves: list[Any], change: str) -> None:
    before, after = _pair(tmp_path, CHANGES[change])
    expected = _one_pass(before, after, ["users", "tags"])
    assert halves == []

    found = changed_tables(before, after, ["users", "tags"])

    assert found == expected == ([] if change in ("none", "column added", "column dropped") else ["users"])
    # users joined in two halves (tags has no key: grouped), unless the row counts already differ
    counted = change not in ("a row removed", "a row added")
    assert sorted(name for name, _conn, _part in halves) == \
        (sorted([threading.current_thread().name, COUNTER]) if counted else [])
    assert not any(t.name == COUNTER for t in threading.enumerate())


def test_the_halves_are_two_adjacent_rowid_spans_on_two_connections(tmp_path: Path, halves: list[Any]) -> None:
    before, after = _pair(tmp_path, CHANGES["highest row"])
    assert changed_tables(before, after, ["users"]) == ["users"]
    (first, second) = sorted(halves, key=lambda h: h[0] == COUNTER)
    assert first[0] == threading.current_thread().name and second[0] == COUNTER
    assert first[1] != second[1]  # its own connection
    assert first[2][1] + 1 == second[2][0]
    assert (first[2][0], second[2][1]) == (1, 4000000001500)  # the before table's rowids, all of them


@pytest.mark.parametrize("case", ["wal", "without rowid", "a column called rowid", "no unique key", "small table",
                                  "keyed by text", "integer primary key desc"])
def test_only_a_keyed_rowid_table_a_second_reader_provably_sees_the_same_is_split(
        tmp_path: Path, halves: list[Any], monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    table, change = "users", CHANGES["highest row"]
    base = BASE
    if case == "small table":
        monkeypatch.setattr(row_diff_module, "SPLIT_ROWS", 10_000)  # the table has 4,500 rows
    elif case == "without rowid":
        base = BASE.replace("score REAL, note);", "score REAL, note) WITHOUT ROWID;")
    elif case == "a column called rowid":
        base = BASE.replace("note);", "note, rowid INTEGER);").replace("INSERT INTO users SELECT",
                                                                      "INSERT INTO users (id, name, email, score, "
                                                                      "note) SELECT")
    elif case == "keyed by text":  # found by its own index, not by rowid: read in one pass
        base = BASE.replace("id INTEGER PRIMARY KEY", "id TEXT PRIMARY KEY").replace("email TEXT UNIQUE", "email TEXT")
        change = "UPDATE users SET score = score + 1 WHERE id = '4000000001500';"
    elif case == "integer primary key desc":  # SQLite's quirk: not the rowid, a key with an index of its own
        base = BASE.replace("id INTEGER PRIMARY KEY", "id INTEGER PRIMARY KEY DESC").replace("email TEXT UNIQUE",
                                                                                             "email TEXT")
    elif case == "no unique key":
        table, change = "tags", "UPDATE tags SET tag = 'z' WHERE rowid = 4000;"
    before, after = _pair(tmp_path, change, journal="wal" if case == "wal" else "delete", base=base)

    assert changed_tables(before, after, [table]) == [table]
    assert halves == []
