"""Impact measured on a copy lightnb keeps (a capture's before copy), in place: no second copy, every byte kept.

And the foreign-key checks around a measurement look only at the tables the script can change.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightnb import scratch, steps
from lightnb.backends import sqlite as backend
from lightnb.inspect import impact as impact_module
from lightnb.inspect import measure_impact
from lightnb.project import Project
from lightnb.workspace import Workspace

BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, legacy TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), note TEXT);
INSERT INTO users (id, name, email, legacy) SELECT value, 'n' || value, 'e' || value || '@x', 'l' || value
  FROM generate_series(1, 3000);
INSERT INTO posts (user_id, body) SELECT 1 + value % 3000, hex(randomblob(64)) FROM generate_series(1, 6000);
INSERT INTO audit (user_id, note) VALUES (99999, 'an orphan from before');
"""
UP = """
ALTER TABLE users ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';
UPDATE users SET theme = 'dark' WHERE id % 3 = 0;
UPDATE posts SET body = upper(body) WHERE id % 2 = 0;
ALTER TABLE users DROP COLUMN legacy;
DELETE FROM users WHERE id > 2990;
"""


def _make(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(BASE.replace("generate_series(1, 3000)", _series(3000))
                       .replace("generate_series(1, 6000)", _series(6000)))
    conn.close()
    return path


def _series(n: int) -> str:
    return (f"(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < {n}) "
            f"SELECT * FROM s)")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kinds(impacts: list) -> list[tuple]:
    return [(i.index, i.kind, i.table, i.column, i.count, i.found) for i in impacts]


@pytest.fixture
def own_copy() -> Iterator[Path]:
    """A copy in a private scratch folder: a file lightnb made."""
    with scratch.folder("impact-test") as folder:
        yield _make(folder / "before.db")


def _no_copy(*_args: object, **_kwargs: object) -> Path:
    raise AssertionError("a second copy was made")


def test_in_place_measures_what_a_throwaway_copy_measures_and_keeps_every_byte(
        own_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = measure_impact(own_copy, UP)  # on a throwaway copy, as always
    digest, stat = _digest(own_copy), own_copy.stat()
    monkeypatch.setattr(backend, "copy_database", _no_copy)
    monkeypatch.setattr(impact_module, "_IN_PLACE_CACHE_KIB", 64)  # tiny cache: changed pages spill to the file
    measured = measure_impact(own_copy, UP, in_place=True)
    assert _kinds(measured) == _kinds(expected)
    assert ("orphans", "posts") in {(i.kind, i.table) for i in measured}  # posts of the deleted users
    assert _digest(own_copy) == digest and own_copy.stat().st_size == stat.st_size
    assert not Path(f"{own_copy}-journal").exists()


def test_a_failure_midway_leaves_the_copy_as_it_was(own_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = _digest(own_copy)
    monkeypatch.setattr(impact_module, "_IN_PLACE_CACHE_KIB", 64)

    def broken(self: object) -> None:
        raise RuntimeError("stopped halfway")

    monkeypatch.setattr(impact_module._Measurer, "judge_drops", broken)
    with pytest.raises(RuntimeError):
        measure_impact(own_copy, UP, in_place=True)
    assert _digest(own_copy) == digest
    assert not Path(f"{own_copy}-journal").exists()


def _spy_copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    made: list[Path] = []
    real = backend.copy_database

    def spy(source: Path, destination: Path, **kwargs: object) -> Path:
        made.append(Path(source))
        return real(source, destination, **kwargs)

    monkeypatch.setattr(backend, "copy_database", spy)
    return made


def test_a_file_lightnb_did_not_make_is_copied_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    production = _make(tmp_path / "production.db")
    digest, mtime = _digest(production), production.stat().st_mtime_ns
    made = _spy_copies(monkeypatch)
    measure_impact(production, UP, in_place=True)
    assert made == [production]
    assert _digest(production) == digest and production.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("script", [
    "UPDATE users SET name = 'x';\nCOMMIT;\nUPDATE users SET name = 'y';",
    "BEGIN;\nUPDATE users SET name = 'x';\nEND;",
    "PRAGMA user_version = 7;\nUPDATE users SET name = 'x';",
    "UPDATE users SET name = 'x';\nVACUUM;",
])
def test_a_script_that_acts_outside_one_transaction_is_measured_on_a_copy(
        own_copy: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    digest = _digest(own_copy)
    made = _spy_copies(monkeypatch)
    measure_impact(own_copy, script, in_place=True)  # a statement the copy cannot run is a measured failure
    assert made == [own_copy]
    assert _digest(own_copy) == digest


@pytest.mark.parametrize(("script", "word"), [
    ("UPDATE users SET name = 'x';\nCOMMIT;\nDELETE FROM users;", "COMMIT"),
    ("UPDATE users SET name = 'x';\nROLLBACK;\nDELETE FROM users;", "ROLLBACK"),
    ("UPDATE users SET name = 'x';\nEND;\nDELETE FROM users;", "COMMIT"),
])
def test_a_scripts_own_transaction_end_fails_as_its_statement_on_a_throwaway_copy(
        tmp_path: Path, script: str, word: str) -> None:
    """As in diesel's transaction: the statements before it are measured, it is the statement that fails, and
    nothing after it runs (before, the script's COMMIT ended the measurement's own transaction: a bare SQLite error)."""
    production = _make(tmp_path / "production.db")
    digest = _digest(production)
    impacts = measure_impact(production, script)
    error = next(i for i in impacts if i.kind == "error")
    assert error.index == 1 and f"{word} is not allowed" in error.message and "\n" not in error.message
    assert any(i.kind == "rows_updated" and i.index == 0 and i.count == 3000 for i in impacts)
    assert not any(i.index == 2 for i in impacts)
    assert _digest(production) == digest


def test_transaction_control_is_refused_in_place_even_past_the_first_look(own_copy: Path) -> None:
    digest = _digest(own_copy)
    with impact_module.measuring_in_place(own_copy, impact_module.DEFAULT_REDACTOR) as measure:
        impacts = measure("UPDATE users SET name = 'x';\nCOMMIT;\nDELETE FROM users;")
    error = next(i for i in impacts if i.kind == "error")
    assert error.index == 1 and "refused" in error.message
    assert _digest(own_copy) == digest


def test_inspecting_a_captured_run_measures_on_its_before_copy_without_copying_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "project" / "migrations" / "2024-01-01-000000_theme"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text(UP, encoding="utf-8")
    (folder / "down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (tmp_path / "project" / "diesel.toml").write_text("", encoding="utf-8")
    project = Project.discover(tmp_path / "project", environ={})
    production = _make(tmp_path / "production.db")
    workspace = Workspace.create(production, tmp_path / "ws")
    change = steps.run_on_workspace(project, workspace)
    before_copy = Path(change.result.before_copy)
    digest = _digest(before_copy)
    made = _spy_copies(monkeypatch)
    found = steps.inspect(project, change, "users")
    assert made == []
    assert ("values_lost", "users", "legacy") in {(i.kind, i.table, i.column) for i in found.impact}
    assert _digest(before_copy) == digest


# -- foreign-key checks: the tables the script can change, not the whole file -----------------------------


def _traced(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


def test_foreign_keys_are_checked_only_where_the_script_can_change_rows(own_copy: Path) -> None:
    conn = backend.open_scratch(own_copy)
    seen = _traced(conn)
    measure_impact(conn, "UPDATE posts SET user_id = user_id + 0 WHERE id < 10;")
    checks = [s for s in seen if "foreign_key_check" in s.lower()]
    assert checks and all("posts" in s for s in checks)  # never the whole file, never users or audit
    seen.clear()
    measure_impact(conn, "UPDATE posts SET body = 'z' WHERE id < 10;")  # no key column set: no row can break one
    conn.close()
    assert not [s for s in seen if "foreign_key_check" in s.lower()]


@pytest.mark.parametrize("script", [
    UP,
    "DROP TABLE users;",  # every child's rows lose their parent
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));\n"
    "INSERT INTO notes (user_id) VALUES (1), (424242);",  # a new table, born with an orphan
    "ALTER TABLE posts RENAME TO articles;\nDELETE FROM users WHERE id < 5;",  # a renamed child
    "PRAGMA writable_schema = ON;\nDELETE FROM users WHERE id < 5;",  # any table: the whole file
])
def test_orphans_are_what_a_whole_file_check_finds(own_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                    script: str) -> None:
    conn = backend.open_scratch(own_copy)
    try:
        restricted = measure_impact(conn, script)
        monkeypatch.setattr(impact_module, "touched_tables", lambda *_args, **_kwargs: None)
        whole = measure_impact(conn, script)
    finally:
        conn.close()
    orphans = [i for i in whole if i.kind == "orphans"]
    assert orphans or script.startswith(("ALTER TABLE posts", "PRAGMA"))
    assert _kinds(restricted) == _kinds(whole)


def test_foreign_keys_are_checked_once_when_the_script_leaves_no_violation(own_copy: Path) -> None:
    conn = backend.open_scratch(own_copy)
    seen = _traced(conn)
    measure_impact(conn, "UPDATE posts SET user_id = user_id + 0 WHERE id < 10;")
    conn.close()
    assert len([s for s in seen if "foreign_key_check" in s.lower()]) == 1  # after it; nothing to compare with


@pytest.mark.parametrize("keep", [False, True])
def test_violations_there_before_the_script_are_not_reported_as_its_orphans(own_copy: Path, keep: bool) -> None:
    conn = backend.open_scratch(own_copy)
    try:
        untouched = measure_impact(conn, "UPDATE audit SET note = 'seen';", keep=keep)
        assert not [i for i in untouched if i.kind == "orphans"]  # audit's orphan was there before
        grew = measure_impact(conn, "INSERT INTO audit (user_id, note) VALUES (77777, 'new'), (1, 'fine');", keep=keep)
        orphans = [i for i in grew if i.kind == "orphans"]
        assert [(i.table, i.count) for i in orphans] == [("audit", 1)]
        assert orphans[0].message.startswith("1 row(s) of audit reference a missing users row")
        assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == (3 if keep else 1)
    finally:
        conn.close()


def test_a_measurement_on_a_connection_commits_nothing(own_copy: Path) -> None:
    state = backend.committed_state(own_copy)
    conn = backend.open_scratch(own_copy)
    try:
        measure_impact(conn, "DELETE FROM posts WHERE id < 10;\nUPDATE users SET name = 'x' WHERE id = 1;")
        assert not conn.in_transaction
    finally:
        conn.close()
    assert backend.committed_state(own_copy) == state  # not even the same pages written back with a new counter


def test_a_copy_in_wal_mode_is_measured_on_a_copy(own_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sqlite3.connect(own_copy)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    made = _spy_copies(monkeypatch)
    measure_impact(own_copy, "UPDATE users SET name = 'x';", in_place=True)
    assert made == [own_copy]
