"""A large rowid-keyed comparison is counted in two rowid halves at once (this thread and a reader thread on
a connection of its own): the counts are exactly those of one pass, on every kind of change; it happens
only when a second connection provably reads the same committed states; a stop leaves no thread behind."""

from __future__ import annotations

import importlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lightnb.errors import DatabaseError
from lightnb.inspect import pages
from lightnb.inspect.row_diff import row_diff
from lightnb.reader import Reader
from tests.support.file_pairs import changed_copy

row_diff_module: Any = importlib.import_module("lightnb.inspect.row_diff")

COUNTER = "lightnb-row-counter"
FOREVER = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)"
# rowids with huge gaps: a few small ones, a run in the middle, and both ends of the 64-bit range
BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, score REAL, note);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO users SELECT i, 'user' || i, 'u' || i || '@example.org', i * 0.5,
                         CASE WHEN i % 7 = 0 THEN NULL ELSE i END FROM n;
INSERT INTO users SELECT 4000000000000 + id, name, email, score, note FROM users WHERE id <= 1500;
INSERT INTO users VALUES (-9223372036854775808, 'lowest', NULL, NULL, NULL),
                         (9223372036854775807, 'highest', 'h@example.org', 1, 'x');
"""
CHANGES = {
    "changes": "UPDATE users SET score = score + 1 WHERE id % 400 = 0; UPDATE users SET email = NULL WHERE id = 1234;"
               "UPDATE users SET note = '7' WHERE id = 7; UPDATE users SET note = 1.0 WHERE id = 1;",
    "adds and removes": "DELETE FROM users WHERE id % 9 = 0 OR id = 9223372036854775807;"
                        "INSERT INTO users VALUES (3500, 'new', NULL, NULL, NULL), (5000000000000, 'far', 'f', 2, 2);",
    "nulls": "UPDATE users SET name = NULL, score = NULL WHERE id % 450 = 0;"
             "UPDATE users SET note = 0 WHERE note IS NULL AND id % 350 = 0;",
    "column added": "ALTER TABLE users ADD COLUMN nick TEXT; UPDATE users SET nick = upper(name) WHERE id % 3 = 0;"
                    "UPDATE users SET score = -1 WHERE id % 17 = 0;",
    "column renamed": "ALTER TABLE users RENAME COLUMN email TO mail; UPDATE users SET mail = 'x' WHERE id % 19 = 0;"
                      "DELETE FROM users WHERE id BETWEEN 4000000000010 AND 4000000000020;",
    "table renamed": "ALTER TABLE users RENAME TO people; UPDATE people SET name = 'p' WHERE id % 23 = 0;",
}

PROVED = {"changes", "nulls"}  # changes that write a few pages only: the page proof narrows them to ranges


def _pair(folder: Path, change: str, *, journal: str = "delete") -> tuple[Path, Path]:
    return changed_copy(folder, BASE, change, journal=journal)  # shares the pages the change does not write


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "MIN_FILE_BYTES", 0)  # small files get the page proof (its ranges) too
    monkeypatch.setattr(pages, "MIN_FOREIGN_FILE_BYTES", 0)
    monkeypatch.setattr(pages, "CHUNK_PAGES", 16)


def _one_pass(before: Path, after: Path, **options: Any) -> dict[str, Any]:
    original = row_diff_module.SPLIT_ROWS
    row_diff_module.SPLIT_ROWS = 1 << 62
    try:
        return row_diff(before, after, reveal=True, sample=3, **options).to_dict()
    finally:
        row_diff_module.SPLIT_ROWS = original


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("path", ["whole table", "page ranges"])
@pytest.mark.parametrize("own", [False, True])
def test_the_halves_count_what_one_pass_counts(tmp_path: Path, small: None, halves: list[Any],
                                              monkeypatch: pytest.MonkeyPatch, change: str, path: str,
                                              own: bool) -> None:
    before, after = _pair(tmp_path, CHANGES[change])
    if path == "whole table":
        monkeypatch.setattr(row_diff_module, "_page_proof", lambda *_args: None)
    ranged: list[bool] = []
    real_in = row_diff_module._count_in
    monkeypatch.setattr(row_diff_module, "_count_in",
                        lambda *args: ranged.append(True) or real_in(*args))  # type: ignore[func-returns-value]
    expected = _one_pass(before, after, own=own)
    halves.clear()
    ranged.clear()

    split = row_diff(before, after, reveal=True, sample=3, own=own).to_dict()

    assert split == expected
    assert len(halves) == 2  # the table was counted in two halves
    # the page proof's ranges split in two lists of ranges, a whole table in two rowid spans
    assert all(isinstance(part, list if ranged else tuple) for _name, _conn, part in halves)
    if path == "page ranges" and change in PROVED:
        assert ranged
    elif path == "whole table":
        assert not ranged
    assert not any(t.name == COUNTER for t in threading.enumerate())


def test_the_two_halves_run_on_two_connections_in_two_threads(tmp_path: Path, halves: list[Any]) -> None:
    before, after = _pair(tmp_path, CHANGES["changes"])
    row_diff(before, after, sample=0)
    (first, second) = sorted(halves, key=lambda h: h[0] == COUNTER)
    assert first[0] == threading.current_thread().name and second[0] == COUNTER
    assert first[1] != second[1]  # its own connection
    lows, highs = zip(*(part for _name, _conn, part in (first, second)))
    assert first[2][1] + 1 == second[2][0]  # disjoint, adjacent halves: [min, mid], [mid + 1, max]
    assert (min(lows), max(highs)) == (-9223372036854775808, 9223372036854775807)


def test_the_ranges_split_in_two_by_rowid_span() -> None:
    split = row_diff_module._split_ranges
    assert split([(1, 10)]) == ([(1, 5)], [(6, 10)])
    assert split([(1, 2), (100, 103), (10**12, 10**12 + 3)]) == \
        ([(1, 2), (100, 102)], [(103, 103), (10**12, 10**12 + 3)])
    assert split([(1, 4), (9, 12)]) == ([(1, 4)], [(9, 12)])
    assert split([(5, 5)]) is None
    for ranges in ([(1, 1), (3, 3)], [(-5, 7), (20, 20), (30, 99)], [(0, 0), (2, 1000)]):
        first, second = split(ranges)
        rowids = [r for lo, hi in first + second for r in range(lo, hi + 1)]
        assert rowids == [r for lo, hi in ranges for r in range(lo, hi + 1)]  # every rowid once, in order
        assert first and second and abs(len(rowids) - 2 * sum(hi - lo + 1 for lo, hi in first)) <= 1


@pytest.mark.parametrize("case", ["wal", "without rowid", "small table"])
def test_only_a_comparison_a_second_reader_provably_sees_the_same_is_split(
        tmp_path: Path, halves: list[Any], monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    if case == "small table":
        monkeypatch.setattr(row_diff_module, "SPLIT_ROWS", 10_000)  # the table has 4,502 rows
        before, after = _pair(tmp_path, CHANGES["changes"])
    elif case == "wal":
        before, after = _pair(tmp_path, CHANGES["changes"], journal="wal")
    else:
        folder = tmp_path
        before, after = folder / "before.db", folder / "after.db"
        for path, extra in ((before, ""), (after, "UPDATE kv SET v = 'x' WHERE k % 3 = 0;")):
            conn = sqlite3.connect(path)
            conn.executescript("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID;"
                               "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)"
                               "INSERT INTO kv SELECT i, 'v' || i FROM n;" + extra)
            conn.close()
    found = row_diff(before, after, sample=0)
    assert halves == []
    assert sum(t.changed for t in found.tables) > 0


def test_an_error_of_the_second_half_surfaces_as_in_one_pass(tmp_path: Path, halves: list[Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _pair(tmp_path, CHANGES["changes"])
    real = row_diff_module._Split.count  # (the spy of ``halves``)

    def count(self: Any, conn: Any, parts: Any, one: Callable[[Any, Any], Any]) -> Any:
        def failing(c: Any, part: Any) -> Any:
            if threading.current_thread().name == COUNTER:
                raise DatabaseError("cannot read the before file")
            return one(c, part)
        return real(self, conn, parts, failing)

    monkeypatch.setattr(row_diff_module._Split, "count", count)
    with pytest.raises(DatabaseError, match="cannot read the before file"):
        row_diff(before, after, sample=0)
    assert not any(t.name == COUNTER for t in threading.enumerate())


def test_a_stop_during_the_split_stops_the_second_half_and_leaves_no_thread(
        tmp_path: Path, halves: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _pair(tmp_path, CHANGES["changes"])
    started = threading.Event()
    real = row_diff_module._Split.count

    def count(self: Any, conn: Any, parts: Any, one: Callable[[Any, Any], Any]) -> Any:
        def forever(c: Any, part: Any) -> Any:
            if threading.current_thread().name == COUNTER:
                started.set()
                return c.execute(FOREVER).fetchone()  # runs until the reader is told to stop
            assert started.wait(30)
            raise KeyboardInterrupt  # Ctrl-C in this thread, while the other half is counted
        return real(self, conn, parts, forever)

    monkeypatch.setattr(row_diff_module._Split, "count", count)
    with pytest.raises(KeyboardInterrupt):
        row_diff(before, after, sample=0)
    assert not any(t.name == COUNTER for t in threading.enumerate())


def test_a_reader_started_by_a_reader_stops_with_it(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sqlite3.connect(db).close()
    inner_started = threading.Event()
    threads: list[threading.Thread] = []

    def inner(opened: Callable[[Any], None]) -> Any:
        conn = sqlite3.connect(db, check_same_thread=False)
        opened(conn)
        inner_started.set()
        return conn.execute(FOREVER).fetchone()

    def outer(_opened: Callable[[Any], None]) -> Any:
        with Reader(inner) as child:
            threads.append(child._thread)
            return child.result()  # waits here: only the outer reader's stop can end the inner one

    with pytest.raises(RuntimeError, match="stop"), Reader(outer) as parent:
        assert inner_started.wait(30)
        raise RuntimeError("stop")
    assert not parent._thread.is_alive() and not threads[0].is_alive()
