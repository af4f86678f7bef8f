"""Snapshots taken while another process writes to production continuously.

The writer moves money between two tables in each transaction, so ``sum(left) + sum(right)`` is
constant, and appends one log row per transaction next to a counter. A snapshot that mixed two
points in time would break one of these invariants; a torn page would fail ``integrity_check``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from reliability_support import integrity

from lightnb.workspace import Workspace

TOTAL = 2 * 1500 * 1000
WRITER = textwrap.dedent("""
    import random, sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
    print("READY", flush=True)
    rng = random.Random(7)
    while True:
        a, b, amount = rng.randrange(1, 1501), rng.randrange(1, 1501), rng.randrange(1, 50)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE left_accounts SET balance = balance - ? WHERE id = ?", (amount, a))
            conn.execute("UPDATE right_accounts SET balance = balance + ? WHERE id = ?", (amount, b))
            conn.execute("INSERT INTO log (n, note) SELECT n, randomblob(64) FROM ticks")
            conn.execute("UPDATE ticks SET n = n + 1")
            conn.execute("COMMIT")
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        time.sleep(0.001)  # a busy application, not a lock-hogging loop (see the module docstring)
""")


def _production(path: Path, journal: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("BEGIN")
    for table in ("left_accounts", "right_accounts"):
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad BLOB)")
        conn.executemany(f"INSERT INTO {table} VALUES (?, 1000, randomblob(600))",
                         [(i,) for i in range(1, 1501)])
    conn.execute("CREATE TABLE log (n INTEGER PRIMARY KEY, note BLOB)")
    conn.execute("CREATE TABLE ticks (n INTEGER NOT NULL)")
    conn.execute("INSERT INTO ticks VALUES (0)")
    conn.execute("COMMIT")
    conn.close()


def _point_in_time(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        left = conn.execute("SELECT sum(balance) FROM left_accounts").fetchone()[0]
        right = conn.execute("SELECT sum(balance) FROM right_accounts").fetchone()[0]
        ticks = conn.execute("SELECT n FROM ticks").fetchone()[0]
        logged, last = conn.execute("SELECT count(*), coalesce(max(n), -1) FROM log").fetchone()
    finally:
        conn.close()
    assert left + right == TOTAL, "snapshot mixes two points in time (money created or lost)"
    assert logged == ticks and last == ticks - 1, "snapshot mixes two points in time (log vs counter)"
    return ticks


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_snapshots_under_concurrent_writes_are_consistent(tmp_path, journal):
    production = tmp_path / "production.db"
    _production(production, journal)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(production)], stdout=subprocess.PIPE, text=True)
    seen: list[int] = []
    try:
        assert writer.stdout.readline().strip() == "READY"
        time.sleep(0.2)
        workspace = Workspace.create(production, tmp_path / "ws")
        deadline = time.monotonic() + 4.0
        while len(seen) < 4 or (time.monotonic() < deadline and len(seen) < 12):
            if len(seen) % 2:
                workspace.reset()
                copy = workspace.path
            else:
                copy = Workspace.create(production, tmp_path / f"ws{len(seen)}").path
            assert integrity(copy) == "ok"
            seen.append(_point_in_time(copy))
            assert writer.poll() is None, "the writer died"
    finally:
        writer.kill()
        writer.wait(timeout=30)
    # The writer was killed, maybe mid-transaction: let "the application" recover its journal.
    sqlite3.connect(production).execute("SELECT count(*) FROM ticks").fetchone()
    assert seen == sorted(seen)
    assert seen[-1] > seen[0] > 0, "the writer made no progress between snapshots: not a concurrency test"
    assert integrity(production) == "ok"
    _point_in_time(production)
