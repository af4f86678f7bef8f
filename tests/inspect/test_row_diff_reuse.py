"""One row diff per pair of database states: the inspect step measures once, and starts from the run's.

Inspecting a table after a captured run needs its row diff twice (revealed, to pick the rows the preview
shows; redacted, to be shown), and the run already measured it when it described what changed. The
counts are measured once, and the run's are taken while both files are provably in the committed
states they were measured on (same file, size, times, SQLite's change counter); any write to either
file in between measures again. What is shown stays exactly what two separate diffs showed: the
redacted samples masked as before, secrets copied into other columns included.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.capture import keep_row_diff, kept_row_diff
from lightnb.inspect.redact import Redactor
from lightnb.project import Project
from tests.support.builder import one_change_project

row_diff_module = importlib.import_module("lightnb.inspect.row_diff")

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, api_token TEXT,
                    password_hash TEXT NOT NULL, score INTEGER NOT NULL DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), total INTEGER NOT NULL,
                     note TEXT);
CREATE TABLE tags (name TEXT PRIMARY KEY, uses INTEGER NOT NULL) WITHOUT ROWID;
"""

MIGRATIONS = {
    "update_insert_delete": """
UPDATE users SET name = upper(name), api_token = 'tok-new-' || id WHERE id % 3 = 0;
INSERT INTO users (name, email, api_token, password_hash) VALUES ('late', 'late@example.com', 'tok-late', 'h');
DELETE FROM orders WHERE id % 7 = 0;
UPDATE tags SET uses = uses + 1 WHERE name < 'tag-05';
""",
    "secret_copied_to_a_new_column": """
ALTER TABLE orders ADD COLUMN owner_token TEXT;
UPDATE orders SET owner_token = (SELECT api_token FROM users WHERE users.id = orders.user_id),
                  note = (SELECT email FROM users WHERE users.id = orders.user_id) WHERE id % 2 = 0;
""",
    "rebuild_with_a_renamed_column": """
CREATE TABLE users_new (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT NOT NULL, api_token TEXT,
                        password_hash TEXT NOT NULL, score INTEGER NOT NULL DEFAULT 0);
INSERT INTO users_new SELECT id, name, email, api_token, password_hash, score + 1 FROM users WHERE id <> 4;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
""",
}


def _project(tmp_path: Path, up: str) -> tuple[Project, Path]:
    project, db = one_change_project(tmp_path, up, SCHEMA)
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO users (name, email, api_token, password_hash) VALUES (?, ?, ?, ?)",
                     [(f"user {i}", f"u{i}@example.com", f"tok-{i:04d}", f"hash-{i}") for i in range(1, 40)])
    conn.executemany("INSERT INTO orders (user_id, total, note) VALUES (?, ?, ?)",
                     [(1 + i % 39, i * 10, None) for i in range(60)])
    conn.executemany("INSERT INTO tags VALUES (?, ?)", [(f"tag-{i:02d}", i) for i in range(12)])
    conn.commit()
    conn.close()
    return project, db


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose rows a row diff compared (counted), one entry per comparison."""
    seen: list[str] = []
    for name in ("_count", "_count_in"):
        real = getattr(row_diff_module, name)

        def spy(conn: Any, plan: Any, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            seen.append(plan.table)
            return _real(conn, plan, *args, **kwargs)

        monkeypatch.setattr(row_diff_module, name, spy)
    return seen


def _captured(tmp_path: Path, up: str) -> tuple[Project, Any]:
    project, db = _project(tmp_path, up)
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    return project, steps.inspect(project, result)


def _two_diffs(before: Path, after: Path, table: str, rows: int, sample: int, redactor: Redactor) -> tuple[Any, Any]:
    """What the inspect step showed before it measured once: two diffs, each read and masked on its own."""
    rd = row_diff_module
    revealed = rd.row_diff(before, after, tables=[table], sample=rows, reveal=True)
    with rd._open_pair(before, after) as conn:  # the redacted diff, its samples read masked (as it always was)
        after_s = rd.take_snapshot(conn, fingerprint=False, counted=lambda _name: False)
        before_s = rd.take_snapshot(conn, fingerprint=False, schema=rd.BEFORE,
                                    counted=lambda name: after_s.table(name) is None)
        sdiff = rd.schema_diff(before_s, after_s)
        plans = rd._plans(before_s, after_s, sdiff, [table])
        masking = rd._follow_data(redactor, conn, plans)
        diffs = tuple(rd._diff_table(conn, plan, sample, masking, False, ({}, {})) for plan in plans)
        diffs = rd.mask_copied_samples(diffs, rd.known_secrets(conn, masking, ("main", rd.BEFORE)))
    return revealed, rd.RowDiff(str(before), str(after), diffs, sdiff)


def _tables(change: Any) -> Iterator[str]:
    yield from sorted({t.name for t in change.after.tables} - {"__diesel_schema_migrations"})


@pytest.mark.parametrize("migration", sorted(MIGRATIONS))
def test_inspecting_shows_what_two_separate_diffs_showed(tmp_path: Path, migration: str) -> None:
    project, change = _captured(tmp_path, MIGRATIONS[migration])
    redactor = Redactor.for_project(project)
    before, after = Path(change.result.before_copy), Path(change.result.database)
    for table in _tables(change):
        for kept in (kept_row_diff(change), None):  # starting from the run's diff, and measuring afresh
            found = steps.inspect(project, keep_row_diff(change, kept), table)
            revealed, redacted = _two_diffs(before, after, table, 10, 5, redactor)
            assert found.rows.to_dict() == redacted.to_dict(), (migration, table)
            assert not found.rows.revealed
            # the preview shows the rows the revealed diff picked, redacted
            from lightnb.capture import _compare, _keys_of
            entry = revealed.table(table)
            keys = _keys_of(entry, 10) if entry is not None and entry.status == "compared" else None
            b, a = sqlite3.connect(before), sqlite3.connect(after)
            try:
                expected = _compare(b, a, table, table, 10, keys, redactor, change.schema.column_renames(table))
            finally:
                b.close()
                a.close()
            assert found.preview.frame.equals(expected.frame) and found.preview.note == expected.note


def test_secrets_stay_masked_in_the_shown_diff(tmp_path: Path) -> None:
    project, change = _captured(tmp_path, MIGRATIONS["secret_copied_to_a_new_column"])
    found = steps.inspect(project, change, "orders")
    text = str(found.rows.to_dict())
    assert found.rows.table("orders").changed == 30
    assert "tok-0" not in text and "@example.com" not in text  # a token and an e-mail copied into other columns
    users = steps.inspect(project, change, "users").rows.to_dict()
    assert "tok-" not in str(users)


def test_the_inspect_step_counts_no_rows_the_run_counted(tmp_path: Path, counted: list[str]) -> None:
    project, change = _captured(tmp_path, MIGRATIONS["update_insert_delete"])
    assert sorted(counted) == ["orders", "tags", "users"]  # the run's description: once per table it can change
    counted.clear()
    for table in ("users", "orders", "tags"):
        found = steps.inspect(project, change, table)
        assert found.rows.table(table) is not None
    assert counted == []


def test_a_table_the_run_did_not_compare_is_compared_once(tmp_path: Path, counted: list[str]) -> None:
    project, change = _captured(tmp_path, "UPDATE tags SET uses = 0 WHERE name = 'tag-03';\n")
    counted.clear()
    found = steps.inspect(project, change, "users")  # its SQL cannot change users: the run did not compare it
    assert counted == ["users"]  # once, for the revealed keys and the redacted diff alike
    assert found.rows.table("users").is_unchanged


def _write_after(change: Any) -> None:
    conn = sqlite3.connect(change.result.database)
    conn.execute("UPDATE users SET score = score + 100 WHERE id = 1")
    conn.commit()
    conn.close()


def _write_before(change: Any) -> None:
    conn = sqlite3.connect(change.result.before_copy)
    conn.execute("UPDATE users SET score = score - 100 WHERE id = 2")
    conn.commit()
    conn.close()


def _touch_after(change: Any) -> None:
    stat = os.stat(change.result.database)
    os.utime(change.result.database, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


@pytest.mark.parametrize("write", [_write_after, _write_before, _touch_after])
def test_a_write_to_either_file_since_the_run_measures_again(tmp_path: Path, counted: list[str], write: Any) -> None:
    project, change = _captured(tmp_path, MIGRATIONS["update_insert_delete"])
    was = change.row_changes
    write(change)
    counted.clear()
    found = steps.inspect(project, change, "users")
    assert counted == ["users"]  # measured again, once
    before, after = Path(change.result.before_copy), Path(change.result.database)
    _revealed, redacted = _two_diffs(before, after, "users", 10, 5, Redactor.for_project(project))
    assert found.rows.to_dict() == redacted.to_dict()
    if write is not _touch_after:  # the diff shows the file as it is now, not as the run left it
        users = next(r for r in was if r.table == "users")
        assert found.rows.table("users").changed == users.updated + 1


def test_the_run_panels_step_keeps_its_diff_for_the_inspect_step(tmp_path: Path, counted: list[str]) -> None:
    from lightnb.workspace import Workspace
    project, db = _project(tmp_path, MIGRATIONS["update_insert_delete"])
    workspace = Workspace.create(db, tmp_path / "ws")
    change = steps.run_on_workspace(project, workspace)
    assert kept_row_diff(change) is not None
    # the panel adds the edits it saved before running to the result's notes: the same two files, the same diff
    change = change.noted(["saved up.sql"])
    assert change.result.notes[0] == "saved up.sql" and kept_row_diff(change) is not None
    counted.clear()
    steps.inspect(project, change, "users")
    assert counted == []
    # and the kept diff is no field of the result: nothing renders or serialises its revealed samples
    from lightnb.render import json as json_render
    assert "tok-" not in json_render.render(change)


def test_a_diff_measured_on_other_states_is_not_taken(tmp_path: Path) -> None:
    project, change = _captured(tmp_path, MIGRATIONS["update_insert_delete"])
    kept = kept_row_diff(change)
    assert kept.states is not None
    before, after = Path(change.result.before_copy), Path(change.result.database)
    _write_after(change)
    revealed, redacted = row_diff_module.row_diff_pair(before, after, tables=["users"], measured=kept)
    fresh = row_diff_module.row_diff(before, after, tables=["users"], sample=10, reveal=True)
    assert revealed.to_dict() == fresh.to_dict()
    assert revealed.states is not None and revealed.states != kept.states
