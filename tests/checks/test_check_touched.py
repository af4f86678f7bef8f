"""Check looks where the migration can reach: the tables its SQL names, their triggers and foreign-key
children; the proof stays exact there, and a table reached only through a trigger or a cascade is seen."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lightnb.checks import check
from lightnb.inspect.touched import touched_tables
from lightnb.project import Project
from tests.checks.test_checks import project
from tests.support.builder import make_database
from tests.support.spies import spy_counts

SCHEMA = '''
CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
  run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users (id)
  ON DELETE CASCADE, body TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE TABLE "Odd ""Name""" (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE untouched (id INTEGER PRIMARY KEY, v TEXT);
CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN INSERT INTO audit (what) VALUES ('user changed'); END;
INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob');
INSERT INTO posts (user_id, body) VALUES (1, 'hello'), (2, 'world');
INSERT INTO untouched (v) VALUES ('a');
'''


def _production(tmp_path: Path) -> Path:
    return make_database(tmp_path / "prod.db", SCHEMA)


def test_touched_follows_names_triggers_and_children(tmp_path: Path) -> None:
    conn = sqlite3.connect(_production(tmp_path))
    touched = touched_tables(conn, ["UPDATE Users SET name = upper(name);"])
    assert touched is not None
    assert "users" in touched and "USERS" in touched
    assert "audit" in touched            # the trigger on users writes it
    assert "posts" in touched            # a child of users (its key may cascade or break)
    assert "untouched" not in touched
    assert 'Odd "Name"' not in touched
    quoted = touched_tables(conn, ['DELETE FROM "Odd ""Name""";'])
    assert quoted is not None and 'Odd "Name"' in quoted
    created = touched_tables(conn, ["CREATE TABLE fresh (id INTEGER PRIMARY KEY);"])
    assert created is not None and "fresh" in created and "users" not in created
    assert touched_tables(conn, ["PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = sql;"]) is None
    conn.close()


def _check(tmp_path: Path, up: str, down: str):  # type: ignore[no-untyped-def]
    prod = _production(tmp_path)
    proj: Project = project(tmp_path / "project", {"2024-02-01-000000_change": (up, down)})
    return check(proj, database=prod, run_tests=False)


def test_a_row_changed_through_a_trigger_is_seen(tmp_path: Path) -> None:
    """down.sql puts the names back, but the trigger's audit rows stay: not a faithful undo."""
    result = _check(tmp_path, "UPDATE users SET name = name || '!';\n",
                    "UPDATE users SET name = substr(name, 1, length(name) - 1);\n")
    (only,) = result.migrations
    assert only.verdict == "unsafe"
    assert any(d.startswith("audit:") for d in only.row_differences), only.row_differences


def test_same_count_other_values_is_seen_without_fingerprints(tmp_path: Path) -> None:
    result = _check(tmp_path, "UPDATE untouched SET v = 'b';\n", "UPDATE untouched SET v = 'A';\n")
    (only,) = result.migrations
    assert only.verdict == "unsafe"
    assert only.row_differences == ("untouched: same row count, different content — 0 row(s) added, 0 removed, "
                                    "1 changed (v 1)",)


def test_a_faithful_migration_is_safe(tmp_path: Path) -> None:
    result = _check(tmp_path, "ALTER TABLE posts ADD COLUMN title TEXT;\nUPDATE posts SET title = body;\n",
                    "ALTER TABLE posts DROP COLUMN title;\n")
    (only,) = result.migrations
    assert only.verdict == "safe", only.reasons


def test_new_foreign_key_violation_in_a_child_is_seen(tmp_path: Path) -> None:
    """foreign_keys off: deleting a parent leaves a child pointing nowhere; the per-table check finds it."""
    result = _check(tmp_path, "DELETE FROM users WHERE id = 2;\n", "INSERT INTO users (id, name) VALUES (2, 'bob');\n")
    (only,) = result.migrations
    assert any("foreign key check after up" in r for r in only.reasons), only.reasons


def test_a_down_that_leaves_a_child_pointing_nowhere_is_caught_after_down(tmp_path: Path) -> None:
    result = _check(tmp_path, "ALTER TABLE users ADD COLUMN nick TEXT;\n",
                    "DELETE FROM users WHERE id = 2;\nALTER TABLE users DROP COLUMN nick;\n")
    (only,) = result.migrations
    assert only.verdict == "unsafe"
    assert any("foreign key check after down: 1 new violation(s)" in r for r in only.reasons), only.reasons


def test_a_redo_that_differs_has_its_foreign_keys_checked(tmp_path: Path) -> None:
    # up points a post at a missing user, chosen by how often it ran: up again moves another; checked again
    result = _check(tmp_path, "UPDATE posts SET user_id = 3 WHERE id = (SELECT count(*) FROM audit) + 1;\n"
                              "INSERT INTO audit (what) VALUES ('moved');\n",
                    "UPDATE posts SET user_id = id WHERE user_id = 3;\n")
    (only,) = result.migrations
    assert only.redo_differences, only
    assert any("foreign key check after up again: 1 new violation(s)" in r for r in only.reasons), only.reasons


def test_states_a_proof_compares_are_checked_once_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb import checks
    integrity: list[bool] = []
    keys: list[str] = []
    real_integrity, real_keys = checks._integrity_problems, checks._fk_counts

    def counted_integrity(conn, touched, *, quick=False):  # type: ignore[no-untyped-def]
        integrity.append(quick)
        return real_integrity(conn, touched, quick=quick)

    def counted_keys(conn, tables):  # type: ignore[no-untyped-def]
        keys.append("checked")
        return real_keys(conn, tables)
    monkeypatch.setattr(checks, "_integrity_problems", counted_integrity)
    monkeypatch.setattr(checks, "_fk_counts", counted_keys)
    result = _check(tmp_path,
                    "ALTER TABLE posts ADD COLUMN title TEXT;\nUPDATE posts SET user_id = user_id WHERE id > 0;\n",
                    "ALTER TABLE posts DROP COLUMN title;\n")
    assert result.migrations[0].verdict == "safe"
    # in full after up; after down and up again (states proven equal to checked ones) a quick check
    assert integrity == [False, True, True]
    assert len(keys) == 2  # before up (the baseline) and after up; equal states have equal violations


def test_a_migration_that_sets_no_key_checks_keys_only_before_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb import checks
    keys: list[Any] = []
    real_keys = checks._fk_counts

    def counted_keys(conn, tables):  # type: ignore[no-untyped-def]
        keys.append(tables)
        return real_keys(conn, tables)
    monkeypatch.setattr(checks, "_fk_counts", counted_keys)
    result = _check(tmp_path, "ALTER TABLE posts ADD COLUMN title TEXT;\nUPDATE posts SET title = body;\n",
                    "ALTER TABLE posts DROP COLUMN title;\n")
    assert result.migrations[0].verdict == "safe"
    assert len(keys) == 1  # the baseline: a column added and filled cannot make a row violate a key


def test_a_table_the_migration_cannot_change_is_counted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = spy_counts(monkeypatch)
    result = _check(tmp_path, "ALTER TABLE posts ADD COLUMN title TEXT;\nUPDATE posts SET title = body;\n",
                    "ALTER TABLE posts DROP COLUMN title;\n")
    assert result.migrations[0].verdict == "safe"
    assert counted.count("untouched") == 0  # compared with nothing: it keeps its rows whatever the migration does
    assert counted.count("posts") == 4
