"""A WAL database's copy folds its -wal itself, page for page what SQLite's own checkpoint of that copy gives.

Each state below is read as a snapshot reads it (the -shm's index headers, then the file, then the
-wal) and folded both ways: by :func:`lightnb.backends.sqlite.wal.fold` and by SQLite (the copy and
its -wal opened and ``wal_checkpoint(TRUNCATE)``-ed, with no -shm: SQLite's recovery). The bytes must
be equal.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lightnb.backends.sqlite import files, wal

State = tuple[bytes, bytes, bytes]  # database file, -wal, -shm index headers


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _state(db: Path) -> State:
    """Read the three files in a snapshot's order: the index first, the -wal last."""
    index = _read(Path(f"{db}-shm"))[:96]
    return _read(db), _read(Path(f"{db}-wal")), index


def _by_sqlite(folder: Path, state: State) -> bytes:
    folder.mkdir(parents=True)
    copy = folder / "copy.db"
    copy.write_bytes(state[0])
    Path(f"{copy}-wal").write_bytes(state[1])
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return copy.read_bytes()


def _folded(folder: Path, state: State) -> tuple[bool, bytes]:
    folder.mkdir(parents=True)
    copy = folder / "copy.db"
    copy.write_bytes(state[0])
    done = wal.fold(copy, state[1], state[2])
    assert not Path(f"{copy}-wal").exists() and not Path(f"{copy}-shm").exists()
    return done, copy.read_bytes()


def _same_as_sqlite(tmp_path: Path, state: State, *, fast: bool = True) -> bytes:
    expected = _by_sqlite(tmp_path / "sqlite", state)
    done, ours = _folded(tmp_path / "ours", state)
    assert done is fast
    if done:
        assert len(ours) == len(expected)
        assert ours == expected
    return expected


@contextmanager
def _live(db: Path, page_size: int = 4096) -> Iterator[sqlite3.Connection]:
    """An application's connection in WAL mode that never checkpoints on its own and stays open."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {page_size}")
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield conn
    finally:
        conn.close()


def _fill(conn: sqlite3.Connection, rows: int, *, start: int = 0, size: int = 300) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?, randomblob(?))", [(start + i, size) for i in range(rows)])
    conn.execute("COMMIT")


def _written_by_a_writer_that_exits_without_closing(folder: Path, sql: str) -> Path:
    """A WAL database of 300 rows, checkpointed, then changed by ``sql`` in a process that exits without closing:
    its -wal (and -shm) stay behind with that change, as an application killed mid-way leaves them."""
    db = folder / "app.db"
    with _live(db) as conn:
        _fill(conn, 300)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    script = ("import os, sqlite3, sys\nconn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
              "conn.execute('PRAGMA wal_autocheckpoint = 0')\nconn.execute(sys.argv[2])\nos._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(db), sql], check=True)
    return db


def _index_after(conn: sqlite3.Connection, db: Path, checkpointed: int, logged: int) -> bytes:
    """Fill ``db`` with ``checkpointed`` rows moved into its file and ``logged`` more left in its log; return the
    first bytes of its -shm (the wal-index headers) as they are then."""
    _fill(conn, checkpointed)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _fill(conn, logged, start=1000)
    return _read(Path(f"{db}-shm"))[:96]


def _committed_after_the_index_was_read(folder: Path, *updates: str) -> tuple[State, bytes]:
    """A WAL database (300 rows checkpointed, 20 more in the log), the first bytes of its -shm as they were then,
    and its files after ``updates`` were committed, each in its own transaction, once that index was read."""
    db = folder / "app.db"
    with _live(db) as conn:
        index = _index_after(conn, db, 300, 20)
        for update in updates:
            conn.execute(update)
        return _state(db), index


def _rows(data: bytes, folder: Path) -> list[tuple[int, int]]:
    folder.mkdir(parents=True)
    copy = folder / "check.db"
    copy.write_bytes(data)
    conn = sqlite3.connect(copy)
    try:
        return conn.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM t").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("page_size", [512, 1024, 4096, 65536])
def test_committed_transactions_fold_as_sqlite_s_checkpoint(tmp_path: Path, page_size: int) -> None:
    db = tmp_path / "app.db"
    with _live(db, page_size) as conn:
        _fill(conn, 400)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _fill(conn, 300, start=1000)  # the database grows in the WAL
        conn.execute("UPDATE t SET body = randomblob(100) WHERE id % 7 = 0")
        state = _state(db)
    assert len(state[1]) > 32
    _same_as_sqlite(tmp_path, state)


def test_an_empty_wal_and_one_that_holds_only_its_header(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with _live(db) as conn:
        _fill(conn, 50)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the log is emptied, the index restarted
        empty = _state(db)
        _fill(conn, 5, start=100)
        database, log, _ = _state(db)
    assert empty[1] == b""
    assert _same_as_sqlite(tmp_path / "header", (database, log[:32], empty[2])) == database
    copy = files.consistent_copy(db, tmp_path / "copy.db")
    assert copy.read_bytes() == _by_sqlite(tmp_path / "sqlite", _state(db))


def test_a_database_that_shrank_in_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with _live(db) as conn:
        conn.execute("PRAGMA auto_vacuum = FULL")
        conn.execute("VACUUM")
        _fill(conn, 2000)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("DELETE FROM t WHERE id >= 200")  # auto_vacuum: the commit records a smaller file
        state = _state(db)
    expected = _same_as_sqlite(tmp_path, state)
    assert len(expected) < len(state[0])


def test_an_uncommitted_tail_is_left_out(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with _live(db) as conn:
        _fill(conn, 300)
        conn.execute("PRAGMA cache_size = 2")  # a long transaction spills its pages into the WAL
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t VALUES (?, randomblob(400))", [(5000 + i,) for i in range(500)])
        state = _state(db)
        conn.execute("ROLLBACK")
    committed = _same_as_sqlite(tmp_path, state)
    assert _rows(committed, tmp_path / "rows") == [(300, 300 * 300)]


def test_a_restarted_wal_ignores_the_older_generation_s_frames(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with _live(db) as conn:
        _fill(conn, 600)  # many frames
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # all backfilled: the next writer restarts the log
        conn.execute("UPDATE t SET body = x'00' WHERE id = 3")  # a few frames, new salts, old frames after them
        state = _state(db)
    frame = 24 + 4096
    assert len(state[1]) > 32 + 10 * frame
    first, stale = struct.unpack_from(">II", state[1], 32 + 8), struct.unpack_from(">II", state[1], 32 + 9 * frame + 8)
    assert first != stale, "the older generation's frames are still in the file"
    _same_as_sqlite(tmp_path, state)


def test_a_stale_index_of_a_writer_that_is_gone(tmp_path: Path) -> None:
    """The application exited without closing (its -shm stays, nobody holds it): SQLite would recover."""
    db = _written_by_a_writer_that_exits_without_closing(tmp_path,
                                                         "UPDATE t SET body = randomblob(50) WHERE id % 3 = 0")
    _same_as_sqlite(tmp_path, _state(db))


def test_transactions_committed_after_the_index_was_read_are_checked_and_kept(tmp_path: Path) -> None:
    later, index = _committed_after_the_index_was_read(tmp_path, "UPDATE t SET body = x'01' WHERE id = 5",
                                                       "UPDATE t SET body = x'02' WHERE id = 250")
    state = (later[0], later[1], index)
    folded = _same_as_sqlite(tmp_path, state)
    conn = sqlite3.connect(":memory:")
    conn.execute("ATTACH ? AS f", (str(tmp_path / "ours" / "copy.db"),))
    assert conn.execute("SELECT body FROM f.t WHERE id IN (5, 250) ORDER BY id").fetchall() == [(b"\x01",), (b"\x02",)]
    conn.close()
    assert folded


def test_a_torn_or_corrupt_last_transaction_is_dropped_as_sqlite_drops_it(tmp_path: Path) -> None:
    later, index = _committed_after_the_index_was_read(tmp_path, "UPDATE t SET body = x'01' WHERE id = 5")
    torn = (later[0], later[1][:-100], index)  # the last frame half written
    _same_as_sqlite(tmp_path / "torn", torn)
    broken = bytearray(later[1])
    broken[-10] ^= 0xFF  # its page does not match its checksum
    _same_as_sqlite(tmp_path / "corrupt", (later[0], bytes(broken), index))
    for case in ("torn", "corrupt"):
        assert (tmp_path / case / "ours" / "copy.db").read_bytes() == \
            (tmp_path / case / "sqlite" / "copy.db").read_bytes()


@pytest.mark.parametrize("damage", ["no index", "torn index", "other generation", "index ahead of the log",
                                    "bad log header", "short log"])
def test_whatever_the_fast_path_cannot_prove_is_left_to_sqlite(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "app.db"
    with _live(db) as conn:
        _fill(conn, 200)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _fill(conn, 50, start=1000)
        database, log, index = _state(db)
    if damage == "no index":
        index = b""
    elif damage == "torn index":
        index = index[:20] + bytes([index[20] ^ 1]) + index[21:]  # the two copies differ
    elif damage == "other generation":
        index = index[:32] + bytes(8) + index[40:]  # salts of no log
    elif damage == "index ahead of the log":
        log = log[:32 + 4120]
    elif damage == "bad log header":
        log = log[:4] + struct.pack(">I", 3007001) + log[8:]
    else:
        log = log[:20]
    assert not wal.fold(tmp_path / "unused.db", log, index or None)
    _same_as_sqlite(tmp_path, (database, log, index), fast=False)


def test_a_long_committed_tail_after_the_index_is_left_to_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with _live(db) as conn:
        index = _index_after(conn, db, 100, 10)
        _fill(conn, (wal.TAIL_LIMIT + 10) * 10, start=5000)
        later = _state(db)
    _same_as_sqlite(tmp_path, (later[0], later[1], index), fast=False)


def test_a_snapshot_copy_of_a_database_in_use_folds_its_wal_without_sqlite(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy is made self-contained from the -wal in memory: no -wal is written beside it, SQLite does
    not open it, and it reads as SQLite's checkpoint of the same files."""
    db = tmp_path / "app.db"
    with _live(db) as conn:
        _fill(conn, 400)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("UPDATE t SET body = randomblob(10) WHERE id % 5 = 0")
        state = _state(db)
        opened: list[str] = []
        real_connect = sqlite3.connect

        def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
            opened.append(str(args[0]))
            return real_connect(*args, **kwargs)

        made: list[str] = []
        real_open = os.open

        def tracked_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
            if flags & os.O_CREAT:
                made.append(os.fspath(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(files.sqlite3, "connect", connect)
        monkeypatch.setattr(files.os, "open", tracked_open)
        (tmp_path / "out").mkdir()
        copy = files.consistent_copy(db, tmp_path / "out" / "copy.db")
        monkeypatch.undo()
    assert opened == []
    assert not any(name.endswith(("-wal", "-shm")) for name in made), made
    assert copy.read_bytes() == _by_sqlite(tmp_path / "sqlite", state)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.db"]


def test_a_wal_without_its_shm_is_checkpointed_by_sqlite_into_the_copy(tmp_path: Path) -> None:
    """No -shm (nobody ever had it open here, or it was removed): nothing to lock, no index; the copy is
    checked unchanged by its stamps, and SQLite's recovery folds the log into it."""
    db = _written_by_a_writer_that_exits_without_closing(tmp_path, "DELETE FROM t WHERE id % 2 = 0")
    Path(f"{db}-shm").unlink()
    state = _state(db)
    assert state[2] == b"" and len(state[1]) > 32
    (tmp_path / "out").mkdir()
    copy = files.consistent_copy(db, tmp_path / "out" / "copy.db")
    assert copy.read_bytes() == _by_sqlite(tmp_path / "sqlite", state)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.db"]
    assert _rows(copy.read_bytes(), tmp_path / "rows") == [(150, 150 * 300)]
