"""A step that ran several migrations: each one's impact is measured on the state the ones before it leave.

The second migration's SQL acts on what the first one made (a table it created, a column it added, rows it
changed): measured alone on the state before the step, it would report failures that never happened and miss
what it really did. The Inspect step, the Run panel's measurement beside its migrations and ``measure_impacts``
all measure them one after the other, in one transaction rolled back.
"""

from __future__ import annotations

import hashlib
import importlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.capture import inspect_change
from lightnb.inspect.ahead import kept_ahead
from lightnb.inspect.impact import measure_impact, measure_impacts
from lightnb.inspect.redact import Redactor
from lightnb.project import Project
from lightnb.workspace import Workspace
from tests.support.builder import ProjectBuilder, make_database

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), total INTEGER NOT NULL);
WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 40)
INSERT INTO users (name) SELECT 'user ' || value FROM n;
WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 90)
INSERT INTO orders (user_id, total) SELECT 1 + value % 40, value FROM n;
"""
THEMES = ("CREATE TABLE themes (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n", "DROP TABLE themes;\n")
FILL = ("INSERT INTO themes (name) SELECT 'dark' FROM users;\n"
        "ALTER TABLE users ADD COLUMN theme_id INTEGER;\n"
        "UPDATE users SET theme_id = 1 WHERE id % 2 = 0;\n",
        "ALTER TABLE users DROP COLUMN theme_id;\nDELETE FROM themes;\n")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _project(tmp_path: Path) -> tuple[Project, Workspace]:
    root = ProjectBuilder(tmp_path / "project", config="") \
        .migration("2024-01-01-000000_themes", *THEMES).migration("2024-01-02-000000_fill", *FILL).build()
    production = make_database(tmp_path / "production.db", SCHEMA)
    return Project.discover(root, environ={}), Workspace.create(production, tmp_path / "ws")


def _kinds(impacts: Any) -> list[tuple[str, str | None, int]]:
    return sorted((i.kind, i.table, i.count) for i in impacts)


def _no_failure(impacts: Any) -> bool:
    return not any(i.kind == "error" for i in impacts)


def test_each_script_is_measured_on_what_the_ones_before_it_made(tmp_path: Path) -> None:
    copy = make_database(tmp_path / "copy.db", SCHEMA)
    digest = _digest(copy)
    first, second = measure_impacts(copy, [THEMES[0], FILL[0]])
    assert _no_failure(first) and _no_failure(second)
    assert ("rows_inserted", "themes", 40) in _kinds(second)
    assert ("rows_updated", "users", 20) in _kinds(second)
    assert _digest(copy) == digest  # a throwaway copy: the file is only read
    # alone, on the state before the first, the second one fails at its first statement: what it used to report
    alone = measure_impact(copy, FILL[0])
    assert [i.kind for i in alone] == ["error"] and "no such table: themes" in alone[0].message


def test_in_place_they_run_in_one_transaction_rolled_back(tmp_path: Path) -> None:
    project, workspace = _project(tmp_path)
    own = workspace.path  # a copy lightnb made: measured where it is
    digest = _digest(own)
    in_place = measure_impacts(own, [THEMES[0], FILL[0]], in_place=True)
    assert _digest(own) == digest and not Path(f"{own}-journal").exists()
    assert [_kinds(found) for found in in_place] == [_kinds(found) for found in measure_impacts(own, [THEMES[0],
                                                                                                      FILL[0]])]


def test_a_script_after_one_that_fails_on_the_copy_is_not_measured(tmp_path: Path) -> None:
    copy = make_database(tmp_path / "copy.db", SCHEMA)
    failing, after, last = measure_impacts(copy, ["INSERT INTO nowhere VALUES (1);\n", THEMES[0], FILL[0]])
    assert [i.kind for i in failing] == ["error"] and after == [] and last == []


def test_orphans_are_judged_against_the_state_before_their_script_and_the_next_one_starts_after_it(
        tmp_path: Path) -> None:
    copy = make_database(tmp_path / "copy.db", SCHEMA + "INSERT INTO orders (user_id, total) VALUES (777, 1);\n")
    # the first script makes one more orphan (one was there before it); the second deletes what the first made
    first, second = measure_impacts(copy, ["UPDATE orders SET user_id = 999 WHERE id = 1;\n",
                                           "DELETE FROM orders WHERE user_id = 999;\n"], in_place=False)
    orphans = [i for i in first if i.kind == "orphans"]
    assert [(i.table, i.count) for i in orphans] == [("orders", 1)]  # new ones only
    assert ("rows_deleted", "orders", 1) in _kinds(second)  # the first script's change was there for it


def test_the_inspect_step_of_a_run_of_two_migrations_shows_what_each_did(tmp_path: Path) -> None:
    project, workspace = _project(tmp_path)
    change = steps.run_on_workspace(project, workspace)
    assert len(change.result.migrations) == 2
    ahead = kept_ahead(change.result)
    assert ahead is not None and ahead.scripts == (THEMES[0], FILL[0])  # measured beside the run, one after the other
    redactor = Redactor.for_project(project)
    themes = inspect_change(change, "themes", redactor=redactor).impact
    users = inspect_change(change, "users", redactor=redactor).impact
    assert _no_failure(themes) and ("rows_inserted", "themes", 40) in _kinds(themes)
    assert ("rows_updated", "users", 20) in _kinds(users)


def test_a_run_without_the_measurement_beside_it_is_measured_in_order_by_the_inspect_step(tmp_path: Path) -> None:
    project, workspace = _project(tmp_path)
    result = steps.run(project, workspace.path, regenerate_schema=False,
                       capture=steps.Capture(folder=tmp_path / "captures"))
    assert kept_ahead(result) is None
    change = steps.inspect(project, result)
    assert ("rows_inserted", "themes", 40) in _kinds(inspect_change(change, "themes").impact)


def test_a_revert_of_two_migrations_measures_each_down_on_what_the_one_before_left(tmp_path: Path) -> None:
    project, workspace = _project(tmp_path)
    steps.run(project, workspace.path, regenerate_schema=False)
    change = steps.revert_on_workspace(project, workspace, number=2)
    assert [m.name for m in change.result.migrations] == ["2024-01-02-000000_fill", "2024-01-01-000000_themes"]
    redactor = Redactor.for_project(project)
    themes = inspect_change(change, "themes", redactor=redactor).impact
    assert _no_failure(themes)
    assert ("rows_deleted", "themes", 40) in _kinds(themes)  # fill's down empties it, themes' down then drops it
    conn = sqlite3.connect(workspace.path)
    try:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'themes'").fetchone() == (0,)
    finally:
        conn.close()


@pytest.mark.parametrize("asked", [(THEMES[0],), (THEMES[0], FILL[0])])
def test_a_measurement_ahead_is_taken_for_the_scripts_it_began_with(tmp_path: Path, asked: tuple[str, ...]) -> None:
    project, workspace = _project(tmp_path)
    change = steps.run_on_workspace(project, workspace)
    ahead = kept_ahead(change.result)
    assert ahead is not None
    redactor = Redactor.for_project(project)
    taken = ahead.take(change.result.before_copy, list(asked), redactor)
    assert taken is not None and len(taken) == len(asked)
    assert ahead.take(change.result.before_copy, [FILL[0]], redactor) is None  # not measured first: not this


@pytest.mark.parametrize("in_place", [True, False])
def test_only_a_script_another_follows_keeps_what_it_did(tmp_path: Path, in_place: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The last script's changes are rolled back at once (its orphans counted as before, never run twice)."""
    impact_module = importlib.import_module("lightnb.inspect.impact")
    project, workspace = _project(tmp_path)
    chained: list[bool] = []
    real = impact_module._measured

    def spy(*args: Any, chain: bool = False, **kwargs: Any) -> Any:
        chained.append(chain)
        return real(*args, chain=chain, **kwargs)

    monkeypatch.setattr(impact_module, "_measured", spy)
    path = workspace.path if in_place else make_database(tmp_path / "copy.db", SCHEMA)
    measure_impacts(path, [THEMES[0], FILL[0], "DELETE FROM users WHERE id = 1;\n"], in_place=in_place)
    assert chained == [True, True, False]
    chained.clear()
    measure_impact(path, FILL[0].replace("themes", "orders"), in_place=in_place)
    assert chained == [False]


def test_a_script_run_again_for_the_next_one_runs_under_the_sql_guard(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Its orphans counted in the state before it, a script's statements run again: guarded as they first ran."""
    from lightnb.backends.sqlite import guard

    asked: list[tuple[int, Any, Any]] = []
    real = guard.Guard.__call__

    def spy(self: Any, action: int, arg1: Any, arg2: Any, *rest: Any) -> Any:
        asked.append((action, arg1, arg2))
        return real(self, action, arg1, arg2, *rest)

    monkeypatch.setattr(guard.Guard, "__call__", spy)
    copy = make_database(tmp_path / "copy.db", SCHEMA)
    measure_impacts(copy, ["UPDATE orders SET user_id = 999 WHERE id = 1;\n", "SELECT 1;\n"])
    updates = [a for a in asked if a == (sqlite3.SQLITE_UPDATE, "orders", "user_id")]
    assert len(updates) >= 2  # measured, then run again for the next script, both times asked by the guard


def test_a_redo_is_measured_as_it_ran_its_downs_then_its_ups(tmp_path: Path) -> None:
    """A redo of both migrations reverted fill then themes, then applied themes then fill: measured so, no step
    is reported failing (measured as ups alone on the state before the redo, themes' CREATE TABLE failed there)."""
    project, workspace = _project(tmp_path)
    steps.run(project, workspace.path, regenerate_schema=False)
    result = steps.redo(project, workspace.path, number=2, regenerate_schema=False,
                        capture=steps.Capture(folder=tmp_path / "captures"))
    assert [(m.name, way) for m, way in result.scripts_run()] == [
        ("2024-01-02-000000_fill", "down"), ("2024-01-01-000000_themes", "down"),
        ("2024-01-01-000000_themes", "up"), ("2024-01-02-000000_fill", "up")]
    change = steps.inspect(project, result)
    redactor = Redactor.for_project(project)
    themes = inspect_change(change, "themes", redactor=redactor).impact
    users = inspect_change(change, "users", redactor=redactor).impact
    assert _no_failure(themes) and _no_failure(users)
    assert ("rows_deleted", "themes", 40) in _kinds(themes) and ("rows_inserted", "themes", 40) in _kinds(themes)
    assert ("rows_updated", "users", 20) in _kinds(users)


def test_postgresql_measures_a_redo_in_the_order_it_ran(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    from lightnb.backends.postgres.impact import _scripts
    from lightnb.migrations import discover
    from lightnb.run_result import RunResult

    project, _workspace = _project(tmp_path)
    found = discover(project.migrations_dir)
    redo = RunResult(direction="redo", database="postgres://", migrations=tuple(found), seconds=0.0)
    assert [(m.name, file) for m, file, _text in _scripts(redo)] == [
        ("2024-01-02-000000_fill", "down.sql"), ("2024-01-01-000000_themes", "down.sql"),
        ("2024-01-01-000000_themes", "up.sql"), ("2024-01-02-000000_fill", "up.sql")]
    revert = RunResult(direction="down", database="postgres://", migrations=tuple(reversed(found)), seconds=0.0)
    assert [file for _m, file, _text in _scripts(revert)] == ["down.sql", "down.sql"]
