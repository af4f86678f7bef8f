"""The proof reads each state of the copy twice at once: SQLite's integrity and foreign-key checks in the
calling thread, the save or the comparison of the same committed state in a reader thread. The verdicts
are those of one reading after the other; a reader's failure surfaces as it did; Ctrl-C or SIGTERM during
the two readings stops both, and no thread, no saved state and no copy is left behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lightnb import checks, signals
from lightnb.backends import sqlite
from lightnb.checks import check
from lightnb.errors import LightnbError
from lightnb.project import Project
from lightnb.signals import Terminated
from tests.checks.test_checks import project

SCHEMA = """
CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
  run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users (id), body TEXT);
INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
INSERT INTO posts (user_id, body) VALUES (1, 'a'), (2, 'b');
"""
UP = "ALTER TABLE users ADD COLUMN nick TEXT;\nUPDATE users SET nick = upper(name);\n"
DOWN = "ALTER TABLE users DROP COLUMN nick;\n"
# A statement SQLite would run forever (an unbounded recursive CTE, streamed: constant memory).
FOREVER = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)"
READER = "lightnb-proof-reader"


def _project(tmp_path: Path, up: str = UP, down: str = DOWN) -> tuple[Project, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    prod = tmp_path / "prod.db"
    conn = sqlite3.connect(prod)
    conn.executescript(SCHEMA)
    conn.close()
    return project(tmp_path / "p", {"2024-02-01-000000_nick": (up, down)}), prod


@pytest.fixture
def scratch_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "scratch"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(folder))
    return folder


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == READER]


def test_each_state_is_checked_while_a_reader_saves_or_compares_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Each pair meets at a barrier: read one after the other, the first to arrive would wait alone and fail.
    meet = threading.Barrier(2, timeout=30)
    seen: list[tuple[str, bool]] = []
    real_keys, real_integrity, real_compare = checks._fk_violations, checks._integrity_problems, checks.compare_rows
    real_save = sqlite.save_tables

    def met(name: str) -> None:
        seen.append((name, threading.current_thread() is threading.main_thread()))
        meet.wait()

    def keys(conn: Any, touched: Any = None) -> int:
        if not any(name == "baseline" for name, _main in seen):
            met("baseline")  # the foreign keys before up, while the state before up is saved
        return real_keys(conn, touched)

    def integrity(conn: Any, touched: Any, *, quick: bool = False) -> list[str]:
        met("quick check" if quick else "integrity check")
        return real_integrity(conn, touched, quick=quick)

    def save(*args: Any, **options: Any) -> Path:
        met("save")
        return real_save(*args, **options)

    def compare(*args: Any, **options: Any) -> Any:
        met("compare")
        return real_compare(*args, **options)
    monkeypatch.setattr(checks, "_fk_violations", keys)
    monkeypatch.setattr(checks, "_integrity_problems", integrity)
    monkeypatch.setattr(checks, "compare_rows", compare)
    monkeypatch.setattr(sqlite, "save_tables", save, raising=False)
    proj, prod = _project(tmp_path)

    (only,) = check(proj, database=prod, run_tests=False).migrations

    assert only.verdict == "safe", only.reasons
    assert sorted(seen, key=lambda s: s[0]) == sorted([
        ("baseline", True), ("save", False),                 # before up
        ("integrity check", True), ("save", False),          # after up
        ("quick check", True), ("compare", False),           # after down
        ("quick check", True), ("compare", False),           # after up again
    ], key=lambda s: s[0])
    assert _readers() == []


@pytest.mark.parametrize("down, expected", [
    (DOWN, "safe"),
    ("UPDATE users SET name = 'x' WHERE id = 2;\nALTER TABLE users DROP COLUMN nick;\n", "unsafe"),
    ("DELETE FROM users WHERE id = 3;\nALTER TABLE users DROP COLUMN nick;\n", "unsafe"),
    ("ALTER TABLE users DROP COLUMN nick;\nUPDATE posts SET user_id = 9 WHERE id = 1;\n", "unsafe"),
], ids=["restores", "changes-a-row", "loses-a-row", "breaks-a-key"])
def test_the_verdict_and_its_reasons_are_those_of_one_reading_after_the_other(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, down: str, expected: str) -> None:
    proj, prod = _project(tmp_path / "together", down=down)
    together = check(proj, database=prod, run_tests=False)

    class OneAfterTheOther(checks._Reader[Any]):  # the work runs in the caller's thread as it is asked for
        def __enter__(self) -> Any:
            return self

        def result(self) -> Any:
            return self._work(lambda _conn: None)

        def __exit__(self, *exc: object) -> None:
            return None
    monkeypatch.setattr(checks, "_Reader", OneAfterTheOther)
    proj, prod = _project(tmp_path / "alone", down=down)
    alone = check(proj, database=prod, run_tests=False)

    assert together.migrations[0].verdict == expected
    assert together.to_text().replace("together", "alone") == alone.to_text()
    assert [{**m, "findings": None} for m in together.to_dict()["migrations"]] == \
        [{**m, "findings": None} for m in alone.to_dict()["migrations"]]


def test_a_reader_that_fails_fails_the_check_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        scratch_dir: Path) -> None:
    def compare(*_args: Any, **_options: Any) -> Any:
        raise LightnbError("cannot compare: the disk went away")
    monkeypatch.setattr(checks, "compare_rows", compare)
    proj, prod = _project(tmp_path)
    before = prod.read_bytes()

    with pytest.raises(LightnbError, match="the disk went away") as raised:
        check(proj, database=prod, run_tests=False)

    assert not isinstance(raised.value, sqlite.Error)
    assert _readers() == []
    assert list(scratch_dir.iterdir()) == []
    assert prod.read_bytes() == before


def test_an_error_of_the_checks_wins_over_the_reader_and_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  scratch_dir: Path) -> None:
    # one after the other, the integrity check's error came first and the save never ran
    started = threading.Event()
    stopped: list[str] = []

    real_save = sqlite.save_tables

    def save(source: Any, path: Path, tables: Any, *, opened: Callable[[sqlite.Connection], None]) -> Path:
        if Path(path).name.startswith("before-"):
            return real_save(source, path, tables, opened=opened)
        conn = sqlite.open_scratch()  # the state after up: saved until told to stop
        opened(conn)
        started.set()
        try:
            conn.execute(FOREVER).fetchall()
        except sqlite.OperationalError as error:
            stopped.append(str(error))
            raise
        finally:
            conn.close()
        raise AssertionError("not reached")

    def integrity(*_args: Any, **_options: Any) -> list[str]:
        assert started.wait(30)
        raise sqlite.DriverDatabaseError("database disk image is malformed")
    monkeypatch.setattr(sqlite, "save_tables", save, raising=False)
    monkeypatch.setattr(checks, "_integrity_problems", integrity)
    proj, prod = _project(tmp_path)

    with pytest.raises(sqlite.DriverDatabaseError, match="malformed"):
        check(proj, database=prod, run_tests=False)

    assert stopped == ["interrupted"]
    assert _readers() == []
    assert list(scratch_dir.iterdir()) == []


def test_a_definition_the_reader_cannot_save_alone_is_saved_whole(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb.errors import DatabaseError
    whole: list[str] = []
    real_backup = sqlite.backup

    def save(*_args: Any, **_options: Any) -> Path:
        raise DatabaseError("no such collation sequence: nocase2")

    def backup(conn: Any, path: Path, **options: Any) -> Path:
        whole.append(Path(path).name)
        return real_backup(conn, path, **options)
    monkeypatch.setattr(sqlite, "save_tables", save, raising=False)
    monkeypatch.setattr(sqlite, "backup", backup, raising=False)
    proj, prod = _project(tmp_path)

    (only,) = check(proj, database=prod, run_tests=False).migrations

    assert only.verdict == "safe", only.reasons
    assert whole == ["before-1.db", "after-1.db"]


@pytest.fixture
def plain_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM as in a plain Python program (a test runner's worker may differ), which lightnb takes
    over while it works."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGINT, previous)
    signal.signal(signal.SIGTERM, previous_term if previous_term is not None else signal.SIG_DFL)


@pytest.mark.parametrize("signum, stop", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)],
                         ids=["sigint", "sigterm"])
@pytest.mark.parametrize("waiting", [True, False], ids=["while-waiting", "while-checking"])
def test_a_stop_while_both_read_stops_both_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              scratch_dir: Path, plain_signals: None, signum: int,
                                                              stop: type, waiting: bool) -> None:
    started = threading.Event()
    stopped: list[str] = []
    real_integrity = checks._integrity_problems

    def compare(*_args: Any, opened: Callable[[sqlite.Connection], None], **_options: Any) -> Any:
        conn = sqlite.open_scratch()
        opened(conn)
        started.set()
        try:
            conn.execute(FOREVER).fetchall()
        except BaseException as error:
            stopped.append(str(error))
            raise
        finally:
            conn.close()

    def integrity(conn: Any, touched: Any, *, quick: bool = False) -> list[str]:
        if not quick:
            return real_integrity(conn, touched, quick=quick)
        assert started.wait(30)
        if waiting:  # the signal comes while this thread waits for the reader
            threading.Timer(0.2, os.kill, (os.getpid(), signum)).start()
            return real_integrity(conn, touched, quick=quick)
        # the signal comes while this thread runs a statement of its own
        threading.Timer(0.2, os.kill, (os.getpid(), signum)).start()
        conn.execute(FOREVER).fetchall()
        raise AssertionError("not reached")
    monkeypatch.setattr(checks, "compare_rows", compare)
    monkeypatch.setattr(checks, "_integrity_problems", integrity)
    proj, prod = _project(tmp_path)
    before = prod.read_bytes()

    with pytest.raises(KeyboardInterrupt) as raised, signals.unwinding_on_termination(redeliver=False):  # as the CLI
        check(proj, database=prod, run_tests=False)

    assert type(raised.value) is stop
    assert stopped == ["interrupted"]
    assert _readers() == []
    assert list(scratch_dir.iterdir()) == []  # the copy and every saved state are gone
    assert prod.read_bytes() == before
