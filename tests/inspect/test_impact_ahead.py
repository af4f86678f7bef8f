"""The workbook's Run measures, beside its migrations, the impact its Inspect step shows.

The measurement is the inspect step's own (each migration's SQL on the before copy, in place, rolled back), made by
a reader thread while the migration runs on the workspace; the inspect step takes it only while it is provably what
it would measure then (same SQL, masks and copy, the copy untouched since), and measures again otherwise. A stop or
a failure of the step leaves no thread and nothing of the measurement behind; a measurement that cannot be made
never fails the step.
"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lightnb import runner, steps
from lightnb.capture import inspect_change
from lightnb.inspect.ahead import kept_ahead
from lightnb.inspect.impact import measure_impact
from lightnb.inspect.redact import Redactor
from lightnb.project import Project
from lightnb.reader import Reader
from lightnb.workspace import Workspace, file_sha256
from tests.support.builder import one_change_project

impact_module = importlib.import_module("lightnb.inspect.impact")

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, api_token TEXT, score INTEGER NOT NULL DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), total INTEGER NOT NULL,
                     note TEXT);
"""
UP = """
ALTER TABLE orders ADD COLUMN owner_token TEXT;
UPDATE orders SET owner_token = (SELECT api_token FROM users WHERE users.id = orders.user_id) WHERE id % 2 = 0;
UPDATE users SET score = score + 1, name = upper(name) WHERE id % 3 = 0;
DELETE FROM users WHERE id = 5;
INSERT INTO orders (user_id, total) VALUES (999, 1);
"""
DOWN = "DELETE FROM orders WHERE user_id = 999;\nALTER TABLE orders DROP COLUMN owner_token;\n"


def _project(tmp_path: Path, up: str = UP, down: str = DOWN) -> tuple[Project, Workspace]:
    project, db = one_change_project(tmp_path, up, SCHEMA, down=down)
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO users (name, api_token) VALUES (?, ?)",
                     [(f"user {i}", f"tok-{i:04d}-secret") for i in range(1, 30)])
    conn.executemany("INSERT INTO orders (user_id, total) VALUES (?, ?)", [(1 + i % 29, i) for i in range(50)])
    conn.commit()
    conn.close()
    return project, Workspace.create(db, tmp_path / "ws")


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each measurement of a script's impact: the thread that made it, and the script's first statement."""
    seen: list[tuple[str, str]] = []
    real = impact_module._measured

    def spy(conn: Any, statements: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((threading.current_thread().name, statements[0].text.strip().splitlines()[0]))
        return real(conn, statements, *args, **kwargs)

    monkeypatch.setattr(impact_module, "_measured", spy)
    return seen


def _measurement_started(measured: list[tuple[str, str]], wait: float = 30.0) -> bool:
    """Whether a measurement starts within ``wait`` seconds (it runs in its own thread)."""
    deadline = time.monotonic() + wait
    while not measured and time.monotonic() < deadline:
        time.sleep(0.005)
    return bool(measured)


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == Reader.NAME]


def test_the_inspect_step_takes_what_the_run_measured_beside_its_migration(
        tmp_path: Path, measured: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    project, workspace = _project(tmp_path)
    commits: list[bool] = []
    real_close = runner._close

    def close(conn: Any, savepoint: str) -> None:
        # the migration has run but not committed: its measurement starts meanwhile (made one after the other, the
        # measurement would only start once this commit is done, and this wait would end in vain)
        commits.append(bool(measured) or _measurement_started(measured))
        real_close(conn, savepoint)

    monkeypatch.setattr(runner, "_close", close)
    assert workspace.production is not None
    production = file_sha256(workspace.production)
    change = steps.run_on_workspace(project, workspace)
    assert file_sha256(workspace.production) == production  # measured on the before copy, never on production
    # measured by a reader thread, while the migration was still running on the workspace
    assert measured == [(Reader.NAME, "ALTER TABLE orders ADD COLUMN owner_token TEXT;")]
    assert commits == [True] and _readers() == []
    ahead = kept_ahead(change.result)
    assert ahead is not None and ahead.copy == Path(change.result.before_copy)
    measured.clear()
    redactor = Redactor.for_project(project)
    for table in ("orders", "users"):
        inspection = inspect_change(change, table, redactor=redactor)
        assert measured == []  # taken, not measured again
        # exactly what measuring now gives, masks included
        fresh = [i for i in measure_impact(change.result.before_copy, UP, redactor=redactor, in_place=True)
                 if i.table is None or i.table.lower() == table]
        measured.clear()
        assert list(inspection.impact) == fresh and fresh
    assert any(i.kind == "orphans" for i in inspection.impact) or any(
        i.kind == "orphans" for i in inspect_change(change, "orders", redactor=redactor).impact)
    assert "tok-" not in str(inspect_change(change, "orders", redactor=redactor).impact)


def test_the_revert_panel_measures_its_down_sql_ahead(tmp_path: Path, measured: list[tuple[str, str]]) -> None:
    project, workspace = _project(tmp_path)
    steps.run(project, workspace.path, regenerate_schema=False)
    measured.clear()
    change = steps.revert_on_workspace(project, workspace)
    assert measured == [(Reader.NAME, "DELETE FROM orders WHERE user_id = 999;")]
    measured.clear()
    inspection = inspect_change(change, "orders", redactor=Redactor.for_project(project))
    assert measured == [] and inspection.impact


@pytest.mark.parametrize("since", ["copy_written", "masks_changed", "sql_edited"])
def test_a_measurement_that_is_no_longer_what_inspect_would_measure_is_measured_again(
        tmp_path: Path, measured: list[tuple[str, str]], since: str) -> None:
    project, workspace = _project(tmp_path)
    change = steps.run_on_workspace(project, workspace)
    redactor = Redactor.for_project(project)
    up = UP
    if since == "copy_written":
        conn = sqlite3.connect(change.result.before_copy)
        conn.execute("UPDATE orders SET total = total + 1000 WHERE id = 2")
        conn.commit()
        conn.close()
    elif since == "masks_changed":
        redactor = Redactor(columns=("orders.note",))
    else:
        up = UP.replace("score + 1", "score + 2")
        change.result.migrations[0].up_path.write_text(up, encoding="utf-8")
    measured.clear()
    inspection = inspect_change(change, "users", redactor=redactor)
    assert measured == [(threading.current_thread().name, "ALTER TABLE orders ADD COLUMN owner_token TEXT;")]
    assert list(inspection.impact) == [i for i in measure_impact(change.result.before_copy, up, redactor=redactor,
                                                                 in_place=True) if i.table in (None, "users")]


def test_only_a_run_that_asks_measures_ahead(tmp_path: Path, measured: list[tuple[str, str]]) -> None:
    project, workspace = _project(tmp_path)
    result = steps.run(project, workspace.path, regenerate_schema=False,
                       capture=steps.Capture(folder=tmp_path / "captures"))
    assert measured == [] and kept_ahead(result) is None


def test_sql_that_is_not_measured_in_place_is_left_to_the_inspect_step(
        tmp_path: Path, measured: list[tuple[str, str]]) -> None:
    up = "PRAGMA foreign_keys = OFF;\nUPDATE users SET score = 7 WHERE id < 4;\n"
    project, workspace = _project(tmp_path, up=up, down="UPDATE users SET score = 0;\n")
    change = steps.run_on_workspace(project, workspace)
    assert measured == []  # a throwaway copy of the whole file would be needed: not made unless inspect asks
    inspection = inspect_change(change, "users", redactor=Redactor.for_project(project))
    assert measured == [(threading.current_thread().name, "PRAGMA foreign_keys = OFF;")] and inspection.impact


def test_a_measurement_that_fails_never_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, workspace = _project(tmp_path)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a measurement that breaks")

    monkeypatch.setattr(impact_module, "_measured", broken)
    change = steps.run_on_workspace(project, workspace)
    assert change.result.migrations and kept_ahead(change.result) is not None
    assert kept_ahead(change.result).impacts == () and _readers() == []


def test_a_failing_migration_leaves_no_measurement_running(tmp_path: Path) -> None:
    project, workspace = _project(tmp_path, up=UP + "INSERT INTO nowhere VALUES (1);\n")
    with pytest.raises(Exception, match="nowhere"):
        steps.run_on_workspace(project, workspace)
    assert _readers() == []
    conn = sqlite3.connect(workspace.path)
    try:  # rolled back whole, as without the measurement
        assert "owner_token" not in [row[1] for row in conn.execute("PRAGMA table_info(orders)")]
    finally:
        conn.close()


def test_a_stop_during_the_run_stops_the_measurement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, workspace = _project(tmp_path)
    digest = file_sha256(workspace.path)
    started = threading.Event()
    real = impact_module.measuring_in_place

    @contextlib.contextmanager
    def slow(path: Any, redactor: Any, **kwargs: Any) -> Iterator[Any]:
        opened = kwargs["opened"]

        def held(conn: Any) -> None:
            opened(conn)
            conn.create_function("pause", 0, lambda: threading.Event().wait(0.01) or 0)

        kwargs["opened"] = held
        with real(path, redactor, **kwargs) as measure:
            def slowly(sql: Any, **more: Any) -> Any:
                started.set()
                return measure("SELECT pause() FROM users, users, users;\n" + str(sql), **more)
            yield slowly

    monkeypatch.setattr(impact_module, "measuring_in_place", slow)

    def stopped(*args: Any, **kwargs: Any) -> Any:  # Ctrl-C while the migration runs, its measurement beside it
        assert started.wait(30)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_run_whole", stopped)
    with pytest.raises(KeyboardInterrupt):
        steps.run_on_workspace(project, workspace)
    assert _readers() == []
    assert not list(workspace.folder.rglob("*-journal"))  # the measurement's transaction rolled back, its journal gone
    before_copies = list((workspace.folder / "captures").rglob("before-*.db"))
    assert before_copies and all(file_sha256(copy) == digest for copy in before_copies)  # as copied
