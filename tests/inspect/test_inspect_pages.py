"""The row diff compares a large table row by row only where the two files' pages differ.

Every case compares the diff taken with the page proof against the same diff taken row by row over
the whole table: they must be equal, whatever the change did to the pages (in-place updates, rows
spilling onto overflow pages, freed and reused pages, a rebuild, a new column).
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lightnb.backends import sqlite as backend
from lightnb.inspect import row_diff
from lightnb.layout import STATE_FILE, WORKSPACE_DB

pages = importlib.import_module("lightnb.inspect.pages")
row_diff_module = importlib.import_module("lightnb.inspect.row_diff")

BASE = """
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total INTEGER, note BLOB);
CREATE TABLE events (kind TEXT, payload BLOB);
CREATE TABLE docs (id INTEGER PRIMARY KEY, body BLOB);
CREATE INDEX orders_customer ON orders (customer);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO orders SELECT i, 'c' || (i % 97), i * 7, randomblob(300) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO events SELECT 'k' || (i % 5), randomblob(200) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO docs SELECT i, zeroblob(20000) FROM n;
"""

CHANGES = {
    "update a few rows": "UPDATE orders SET total = total + 1 WHERE id % 250 = 0;",
    "update an indexed column": "UPDATE orders SET customer = 'moved' WHERE id BETWEEN 100 AND 110;",
    # same size: SQLite overwrites the row in place, its overflow pages too, and the leaf stays the same
    "same-size change on an overflow page": "UPDATE docs SET body = CAST(zeroblob(19999) || x'01' AS BLOB) "
                                           "WHERE id = 7;",
    "delete then insert into freed pages": "DELETE FROM orders WHERE id BETWEEN 500 AND 900; "
                                          "INSERT INTO orders SELECT id + 5000, customer, total, note FROM orders "
                                          "WHERE id < 200;",
    "rows without a key": "UPDATE events SET kind = 'changed' WHERE rowid % 300 = 0; "
                          "DELETE FROM events WHERE rowid BETWEEN 10 AND 20;",
    "table rebuilt": "CREATE TABLE o2 (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total INTEGER, note BLOB); "
                     "INSERT INTO o2 SELECT * FROM orders; UPDATE o2 SET total = 0 WHERE id = 5; DROP TABLE orders; "
                     "ALTER TABLE o2 RENAME TO orders;",
    "column added": "ALTER TABLE orders ADD COLUMN flag INTEGER NOT NULL DEFAULT 0; "
                    "UPDATE orders SET flag = 1 WHERE id = 42;",
    "update most rows": "UPDATE orders SET total = total + 1 WHERE id % 3 = 0;",
    # many key ranges, the removed rows only in the last ones: the samples read ranges batch by batch
    "spread updates, deletes at the end": "UPDATE orders SET total = total + 1 WHERE id % 97 = 0; "
                                         "DELETE FROM orders WHERE id > 2950;",
    # keys at both ends of the rowid's range: long and negative varints in the interior pages
    "extreme keys": "INSERT INTO orders SELECT -9223372036854775808 + id, customer, total, note FROM orders "
                    "WHERE id <= 400; INSERT INTO orders SELECT 9223372036854775807 - id, customer, total, note "
                    "FROM orders WHERE id BETWEEN 1 AND 400; UPDATE orders SET total = 0 WHERE id % 50 = 0;",
    "nothing": "SELECT 1;",
}


@pytest.fixture
def small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "MIN_FILE_BYTES", 0)
    monkeypatch.setattr(pages, "MIN_FOREIGN_FILE_BYTES", 0)
    monkeypatch.setattr(pages, "CHUNK_PAGES", 16)  # many runs of pages: the threads share them
    monkeypatch.setattr(row_diff_module, "FIRST_RANGES", 2)  # samples read the ranges in several batches


def _whole(before: Path, after: Path, **options: object) -> dict:
    original = pages.MIN_FILE_BYTES, pages.MIN_FOREIGN_FILE_BYTES
    pages.MIN_FILE_BYTES = pages.MIN_FOREIGN_FILE_BYTES = 1 << 62
    try:
        return row_diff(before, after, reveal=True, sample=3, **options).to_dict()  # type: ignore[arg-type]
    finally:
        pages.MIN_FILE_BYTES, pages.MIN_FOREIGN_FILE_BYTES = original


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("own", [False, True])
def test_the_page_proof_gives_the_whole_comparison(make_db, small_files, change: str, own: bool) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES[change], base=before)
    proved = row_diff(before, after, reveal=True, sample=3, own=own).to_dict()
    assert proved == _whole(before, after, own=own)


def test_the_proof_narrows_the_comparison_to_the_pages_that_differ(make_db, small_files,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update a few rows"], base=before)
    seen: list[object] = []
    real = row_diff_module._count_in

    def spy(conn, plan, known, ranges, *args):  # type: ignore[no-untyped-def]
        seen.append((plan.table, list(ranges)))
        return real(conn, plan, known, ranges, *args)

    monkeypatch.setattr(row_diff_module, "_count_in", spy)
    diff = row_diff(before, after, tables=["orders"], sample=0)
    assert diff.table("orders").changed == 12
    [(table, ranges)] = seen
    assert table == "orders" and 1 <= len(ranges) <= 12
    assert all(any(lo <= key <= hi for lo, hi in ranges) for key in range(250, 3001, 250))
    assert sum(min(hi, 3000) - max(lo, 1) + 1 for lo, hi in ranges) < 3000 // 4


def test_a_changed_overflow_page_under_an_unchanged_leaf_is_not_missed(make_db, small_files) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["same-size change on an overflow page"], base=before)
    conn = backend.open_readonly(after)
    backend.attach_readonly(conn, before, "lnb_before")
    try:
        assert pages.compare_pages(conn, ["docs"], before="lnb_before") is None  # the overflow page is not accounted
    finally:
        conn.close()
    docs = row_diff(before, after, tables=["docs"], sample=0).table("docs")
    assert (docs.changed, docs.unchanged) == (1, 39)


def test_no_proof_for_a_wal_database(make_db, small_files, tmp_path: Path) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", "PRAGMA journal_mode = WAL; " + CHANGES["update a few rows"], base=before)
    conn = sqlite3.connect(after)
    assert pages.compare_pages(conn, ["orders"], before="main") is None  # the pages are in the -wal
    conn.close()
    assert row_diff(before, after, tables=["orders"]).table("orders").changed == 12


def test_only_lightnb_files_are_memory_mapped(make_db, tmp_path: Path) -> None:
    user = make_db("user.db", BASE)
    workspace = tmp_path / "project" / ".lightnb"
    workspace.mkdir(parents=True)
    (workspace / STATE_FILE).write_text("{}", encoding="utf-8")
    own = make_db(f"project/.lightnb/{WORKSPACE_DB}", BASE)
    for path, expected in ((user, False), (own, True)):
        conn = backend.open_readonly(path)
        try:
            with backend.mapped(conn):
                assert (conn.execute("PRAGMA mmap_size").fetchone()[0] > 0) is expected, path
            with backend.mapped(conn, own=True):  # the caller's word: its copy, or the database it migrates
                assert conn.execute("PRAGMA mmap_size").fetchone()[0] > 0
            assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 0
        finally:
            conn.close()


TRUNCATED_DURING_DIFF = textwrap.dedent("""
    import importlib, os, sys
    from lightnb.errors import LightnbError
    from lightnb.inspect import row_diff
    module = importlib.import_module("lightnb.inspect.row_diff")
    before, after = sys.argv[1], sys.argv[2]
    real = module._count

    def truncating(conn, plan, known):
        def cut():  # another program cuts the file while the rows are being compared
            os.truncate(before, 4096)
            conn.set_progress_handler(None, 0)
            return 0
        conn.set_progress_handler(cut, 2000)
        return real(conn, plan, known)

    module._count = truncating
    try:
        row_diff(before, after, tables=["orders"], sample=0)
    except (LightnbError, Exception) as error:
        print("error:", type(error).__name__)
        sys.exit(3)
    print("no error")
""")


def test_a_file_cut_short_during_a_diff_is_an_error_not_a_crash(make_db) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update a few rows"], base=before)
    done = subprocess.run([sys.executable, "-c", TRUNCATED_DURING_DIFF, str(before), str(after)],
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    assert done.returncode != -7, "SIGBUS: the file was memory-mapped"  # signal.SIGBUS on Linux
    assert done.returncode in (0, 3), done.stderr


def test_when_most_leaves_differ_the_rows_are_compared_whole(make_db, small_files,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update most rows"], base=before)
    monkeypatch.setattr(row_diff_module, "_count_in", lambda *args: pytest.fail("ranges used"))
    conn = backend.open_readonly(after)
    backend.attach_readonly(conn, before, "lnb_before")
    try:
        assert pages.compare_pages(conn, ["orders"], before="lnb_before") is None
    finally:
        conn.close()
    assert row_diff(before, after, tables=["orders"], sample=0).table("orders").changed == 1000


def test_samples_read_only_the_first_key_ranges(make_db, small_files, monkeypatch: pytest.MonkeyPatch) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update a few rows"], base=before)
    read: list[int] = []
    real = row_diff_module.ranges_json

    def spy(ranges):  # type: ignore[no-untyped-def]
        read.append(len(ranges))
        return real(ranges)

    monkeypatch.setattr(row_diff_module, "ranges_json", spy)
    diff = row_diff(before, after, tables=["orders"], sample=2, reveal=True)
    found = diff.table("orders")
    assert found.changed == 12 and [item["key"]["id"] for item in found.samples["changed"]] == [250, 500]
    assert read[0] >= 12  # the counts read every range that differs; the two samples only the first two
    assert read[1:] == [2]


@pytest.mark.parametrize("page_size", [4096, 512])
def test_long_and_negative_keys_bound_the_ranges_as_sqlite_stores_them(make_db, small_files, page_size: int) -> None:
    """Interior cells' keys of every varint length (1 to 9 bytes, negative ones too) bound each leaf's
    rows, through one level of interior pages or several (small pages)."""
    before = make_db("before.db", f"PRAGMA page_size = {page_size};" + BASE)
    after = make_db("after.db", CHANGES["extreme keys"], base=before)
    conn = sqlite3.connect(after)
    try:
        [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'orders'").fetchall()
        assert conn.execute("SELECT min(id), max(id) FROM orders").fetchone() == (-(1 << 63) + 1, (1 << 63) - 2)
    finally:
        conn.close()
    fd = os.open(after, os.O_RDONLY)
    try:
        header = pages._header(fd)
        tree = pages._tree(fd, root, header)
        assert len(tree.levels) >= (1 if page_size == 4096 else 2)
        keys = _leaf_keys(after, tree.leaves.tolist())
        import numpy as np

        for leaf in tree.leaves.tolist():
            differing = np.zeros(header.pages + 1, dtype=bool)
            differing[leaf] = True
            [(lo, hi)] = pages._ranges(tree, differing)
            smallest, largest = keys[leaf]
            assert lo <= smallest <= largest <= hi, (leaf, lo, hi, keys[leaf])
            assert all(k[1] < lo or k[0] > hi for page, k in keys.items() if page != leaf)  # no other leaf's rows
        if len(tree.levels) >= 2:  # a differing interior page: the whole range under it is compared
            interior = tree.levels[-1].pages.tolist()
            differing = np.zeros(header.pages + 1, dtype=bool)
            differing[interior[len(interior) // 2]] = True
            [(lo, hi)] = pages._ranges(tree, differing)
            assert any(lo <= k[0] and k[1] <= hi for k in keys.values())
            assert all(k[1] < lo or k[0] > hi or lo <= k[0] <= k[1] <= hi for k in keys.values())
    finally:
        os.close(fd)
    assert row_diff(before, after, reveal=True, sample=3).to_dict() == _whole(before, after)


def test_samples_stop_once_every_changed_row_is_found(make_db, small_files, monkeypatch: pytest.MonkeyPatch) -> None:
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update a few rows"], base=before)
    asked: list[tuple[str, int | None]] = []
    real = row_diff_module._iter_kind

    def spy(conn, plan, kind, limit, *args, **options):  # type: ignore[no-untyped-def]
        if options.get("batched", True):
            asked.append((kind, limit))
        return real(conn, plan, kind, limit, *args, **options)

    monkeypatch.setattr(row_diff_module, "_iter_kind", spy)
    found = row_diff(before, after, tables=["orders"], sample=50, reveal=True).table("orders")
    assert len(found.samples["changed"]) == found.changed == 12
    assert asked == [("changed", 12)]  # the last batch of ranges is not read for rows that are not there


def _leaf_keys(path: Path, leaves: list[int]) -> dict[int, tuple[int, int]]:
    """Each table leaf page with its smallest and largest rowid, decoded here cell by cell."""
    def varint(data: bytes, at: int) -> tuple[int, int]:
        value = 0
        for i in range(8):
            value = (value << 7) | (data[at + i] & 0x7F)
            if data[at + i] < 0x80:
                return value, at + i + 1
        return (value << 8) | data[at + 8], at + 9

    found = {}
    with open(path, "rb") as handle:
        data = handle.read()
    size = int.from_bytes(data[16:18], "big")
    for leaf in leaves:
        page = data[(leaf - 1) * size:leaf * size]
        assert page[0] == 0x0D
        count = int.from_bytes(page[3:5], "big")
        keys = []
        for i in range(count):
            at = int.from_bytes(page[8 + 2 * i:10 + 2 * i], "big")
            _payload, at = varint(page, at)
            key, _ = varint(page, at)
            keys.append(key - (1 << 64) if key >= 1 << 63 else key)
        found[leaf] = (min(keys), max(keys))
    return found


def test_the_proof_does_not_read_the_environment(make_db, small_files, monkeypatch: pytest.MonkeyPatch) -> None:
    """How the pages are read is the proof's own choice: no variable of the environment changes it."""
    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update a few rows"], base=before)
    expected = row_diff(before, after, reveal=True, sample=3, own=True).to_dict()
    read: list[str] = []
    environ = type("Environ", (dict,), {"get": lambda self, key, default=None: read.append(key) or default,
                                        "__getitem__": lambda self, key: read.append(key) or "MADV_NORMAL"})
    monkeypatch.setattr(pages.os, "environ", environ(os.environ))
    assert row_diff(before, after, reveal=True, sample=3, own=True).to_dict() == expected
    assert read == []


def test_ctrl_c_during_the_page_comparison_stops_its_threads(make_db, small_files,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The threads comparing runs of pages stop after the run they read when the waiting thread is stopped,
    instead of reading every run before the stop is raised."""
    import signal
    import threading
    import time

    before = make_db("before.db", BASE)
    after = make_db("after.db", CHANGES["update a few rows"], base=before)
    monkeypatch.setattr(pages, "CHUNK_PAGES", 1)  # one run per page: hundreds of runs
    read: list[int] = []
    real = pages._Blocks.block

    def slow_block(self: object, first: int, count: int) -> object:
        read.append(first)
        time.sleep(0.005)
        return real(self, first, count)  # type: ignore[arg-type]

    monkeypatch.setattr(pages._Blocks, "block", slow_block)
    conn = backend.open_readonly(after)
    backend.attach_readonly(conn, before, "lnb_before")
    try:
        began = time.monotonic()
        assert pages.compare_pages(conn, ["orders"], before="lnb_before") is not None
        whole, took = len(read), time.monotonic() - began
        read.clear()
        timer = threading.Timer(took / 4, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                pages.compare_pages(conn, ["orders"], before="lnb_before")
                time.sleep(took * 2)  # (the stop comes here if the comparison ended before it)
        finally:
            timer.cancel()
    finally:
        conn.close()
    assert whole > 200
    assert len(read) < whole * 0.7  # stopped mid-way: the runs after the stop were not read
