"""The tables whose rows a migration provably kept, from what SQLite's authorizer saw it prepare.

A column added and filled keeps every row and every earlier value of its table: describing the step counts
those rows instead of joining them. Anything that may have changed a row in a column it had, added one, removed
one or moved its rowid leaves the table to the comparison; anything uncertain leaves every table to it.
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.backends import sqlite
from lightnb.capture import describe, kept_row_diff
from lightnb.inspect.kept_rows import kept_rows, kept_rows_of
from lightnb.project import Project
from lightnb.workspace import Workspace
from tests.support.builder import ProjectBuilder, make_database

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER NOT NULL DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON UPDATE CASCADE,
                     total INTEGER NOT NULL);
CREATE TABLE notes (body TEXT);
WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 30)
INSERT INTO users (name) SELECT 'user ' || v FROM n;
WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 60)
INSERT INTO orders (user_id, total) SELECT 1 + v % 30, v FROM n;
INSERT INTO notes VALUES ('a'), ('b');
"""
row_diff_module = importlib.import_module("lightnb.inspect.row_diff")  # (the package's row_diff is the function)

ADD_AND_FILL = "ALTER TABLE users ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n" \
               "UPDATE users SET theme = 'dark' WHERE id % 3 = 0;\n"


def _kept(tmp_path: Path, sql: str, schema: str = SCHEMA, watched: bool = True) -> frozenset[str]:
    path = make_database(tmp_path / "db.sqlite", schema)
    conn = sqlite.connect(path)
    try:
        writes = sqlite.watch_writes(conn) if watched else None
        before = sqlite.read_catalog(conn)
        conn.executescript(sql)
        return kept_rows(writes, before, sqlite.read_catalog(conn), [sql])
    finally:
        conn.close()


def test_a_column_added_and_filled_keeps_every_row_of_its_table(tmp_path: Path) -> None:
    assert _kept(tmp_path, ADD_AND_FILL) == {"users", "orders", "notes"}


def test_an_index_on_the_new_column_keeps_them_too(tmp_path: Path) -> None:
    assert "users" in _kept(tmp_path, ADD_AND_FILL + "CREATE INDEX users_theme ON users (theme);\n")


@pytest.mark.parametrize("sql", [
    "UPDATE users SET score = score + 1 WHERE id = 2;",  # a column it had
    "INSERT INTO users (name) VALUES ('new');",
    "DELETE FROM users WHERE id = 30;",
    "ALTER TABLE users RENAME COLUMN score TO points;",
    "ALTER TABLE users DROP COLUMN score;",
    "UPDATE users SET rowid = rowid + 100 WHERE id = 1;",
    "DROP TABLE users; CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER NOT NULL "
    "DEFAULT 0);",
    ADD_AND_FILL + "CREATE TRIGGER t AFTER UPDATE OF theme ON users BEGIN "
                   "UPDATE users SET score = 1 WHERE id = new.id; END;\nUPDATE users SET theme = 'x' WHERE id = 1;",
])
def test_anything_that_may_change_a_row_it_had_leaves_the_table_to_the_comparison(tmp_path: Path, sql: str) -> None:
    kept = _kept(tmp_path, sql)
    assert "users" not in kept and "notes" in kept


def test_a_cascading_key_update_leaves_the_child_to_the_comparison(tmp_path: Path) -> None:
    kept = _kept(tmp_path, "PRAGMA foreign_keys = ON;\nUPDATE users SET id = id + 1000 WHERE id = 1;\n")
    assert "orders" not in kept and "users" not in kept and "notes" in kept


@pytest.mark.parametrize("sql", [
    ADD_AND_FILL.replace("UPDATE users", "UPDATE OR REPLACE users"),  # REPLACE may delete rows in its way
    ADD_AND_FILL + "VACUUM;\n",  # may renumber the rowids of a table without an INTEGER PRIMARY KEY
    ADD_AND_FILL + "PRAGMA writable_schema = ON;\nPRAGMA writable_schema = OFF;\n",
])
def test_anything_uncertain_keeps_no_table(tmp_path: Path, sql: str) -> None:
    assert _kept(tmp_path, sql) == frozenset()


def test_statements_not_followed_keep_no_table(tmp_path: Path) -> None:
    assert _kept(tmp_path, ADD_AND_FILL, watched=False) == frozenset()


def test_a_generated_column_leaves_its_table_to_the_comparison(tmp_path: Path) -> None:
    schema = SCHEMA + "CREATE TABLE totals (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER AS (a * 2));\n" \
                      "INSERT INTO totals (a) VALUES (1), (2);\n"
    kept = _kept(tmp_path, "ALTER TABLE totals ADD COLUMN c INTEGER;\nUPDATE totals SET c = 1;\n", schema=schema)
    assert "totals" not in kept and "users" in kept


# ----------------------------------------------------------------------------------------------- the capture


def _project(tmp_path: Path, up: str) -> tuple[Project, Workspace]:
    root = ProjectBuilder(tmp_path / "project", config="").migration("2024-01-01-000000_theme", up,
                                                                      "SELECT 1;\n").build()
    production = make_database(tmp_path / "production.db", SCHEMA)
    return Project.discover(root, environ={}), Workspace.create(production, tmp_path / "ws")


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose rows a row diff compared (joined), in order."""
    seen: list[str] = []
    real_count, real_count_in = row_diff_module._count, row_diff_module._count_in

    def count(conn: Any, plan: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(plan.table)
        return real_count(conn, plan, *args, **kwargs)

    def count_in(conn: Any, plan: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(plan.table)
        return real_count_in(conn, plan, *args, **kwargs)

    monkeypatch.setattr(row_diff_module, "_count", count)
    monkeypatch.setattr(row_diff_module, "_count_in", count_in)
    return seen


def _summary(change: Any) -> tuple[Any, ...]:
    return (change.changed_tables, change.row_changes, change.table_changes(),
            change.row_counts().to_dict("records"), [c.to_text() for c in change.schema.changes],
            [(p.table, p.frame.to_dict("records"), p.changed.to_dict("records"), p.note) for p in change.previews])


def test_describing_a_column_added_and_filled_counts_its_rows_and_says_what_the_comparison_says(
        tmp_path: Path, compared: list[str]) -> None:
    project, workspace = _project(tmp_path, ADD_AND_FILL)
    change = steps.run_on_workspace(project, workspace)
    assert kept_rows_of(change.result) is not None and "users" in kept_rows_of(change.result).tables
    assert "users" not in compared  # counted: every row unchanged in the columns it had
    compared.clear()
    object.__setattr__(change.result, "_rows_kept", None)  # the same step, its rows compared
    joined = describe(change.result)
    assert "users" in compared
    assert _summary(joined) == _summary(describe(change.result)) == _summary(change)
    assert kept_row_diff(joined).to_dict() == kept_row_diff(change).to_dict()  # counts, columns, samples alike


def test_a_write_since_the_step_has_the_rows_compared(tmp_path: Path, compared: list[str]) -> None:
    project, workspace = _project(tmp_path, ADD_AND_FILL)
    change = steps.run_on_workspace(project, workspace)
    conn = sqlite3.connect(workspace.path)
    with conn:
        conn.execute("UPDATE users SET name = 'changed since' WHERE id = 4")
    conn.close()
    compared.clear()
    again = describe(change.result)
    assert "users" in compared
    assert any(r.table == "users" and r.updated == 1 for r in again.row_changes)


def test_a_migration_that_changes_rows_it_had_has_them_compared(tmp_path: Path, compared: list[str]) -> None:
    project, workspace = _project(tmp_path, ADD_AND_FILL + "UPDATE users SET score = 5 WHERE id < 4;\n")
    change = steps.run_on_workspace(project, workspace)
    assert "users" in compared
    assert any(r.table == "users" and r.updated == 3 for r in change.row_changes)
