"""A captured step compares rows only where its SQL can have changed them, and each table is read once.

The tables a migration's SQL cannot change (not named, not reached by a trigger or a foreign key)
keep their rows: the inspect step neither diffs nor recounts them. What it shows must stay exact:
a table changed through a trigger or a cascade is still found and measured.
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

import pytest

from lightnb import steps
from lightnb.inspect.snapshot import take_snapshot
from lightnb.project import Project
from tests.support.builder import one_change_project
from tests.support.spies import spy_counts

row_diff_module = importlib.import_module("lightnb.inspect.row_diff")

SCHEMA = """
CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE quiet (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE parents (id INTEGER PRIMARY KEY);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE);
CREATE TRIGGER orders_audit AFTER UPDATE ON orders BEGIN INSERT INTO audit (note) VALUES ('changed'); END;
INSERT INTO orders (total) VALUES (10), (20), (30);
INSERT INTO quiet (v) VALUES (1), (2);
INSERT INTO parents (id) VALUES (1), (2);
INSERT INTO children (parent_id) VALUES (1), (2), (2);
"""


def _project(tmp_path: Path, up: str) -> tuple[Project, Path]:
    return one_change_project(tmp_path, up, SCHEMA)


def _spy_row_diffs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    asked: list[list[str]] = []
    real = row_diff_module.row_diff

    def spy(before, after, *, tables=None, **options):  # type: ignore[no-untyped-def]
        asked.append(sorted(tables or ["<every table>"]))
        return real(before, after, tables=tables, **options)

    monkeypatch.setattr(row_diff_module, "row_diff", spy)
    return asked


def test_rows_are_compared_once_and_only_in_tables_the_sql_can_change(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project, db = _project(tmp_path, "UPDATE orders SET total = total + 1 WHERE id = 2;\n")
    asked = _spy_row_diffs(monkeypatch)
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    change = steps.inspect(project, result)
    # one row diff, of the updated table and the one its trigger writes; never quiet, parents, children
    assert asked == [["audit", "orders"]]
    assert change.changed_tables == ("audit", "orders")
    rows = {r.table: (r.added, r.removed, r.updated) for r in change.row_changes}
    assert rows == {"orders": (0, 0, 1), "audit": (1, 0, 0)}
    assert {t: what for t, _b, _a, what in change.table_changes()}["quiet"] == ""


def test_the_children_of_a_changed_parent_are_compared_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a delete of a parent may cascade into its children (when foreign keys are enforced): they are compared
    project, db = _project(tmp_path, "DELETE FROM parents WHERE id = 2;\n")
    asked = _spy_row_diffs(monkeypatch)
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    change = steps.inspect(project, result)
    assert asked == [["children", "parents"]]
    assert change.changed_tables == ("parents",)
    assert {r.table: (r.added, r.removed, r.updated) for r in change.row_changes} == {"parents": (0, 1, 0)}


def test_a_value_changed_in_place_through_a_trigger_is_found(tmp_path: Path) -> None:
    # same row count, a table the SQL never names: only the trigger's body says it can change
    project, db = _project(tmp_path, "UPDATE orders SET total = 0 WHERE id = 1;\n")
    conn = sqlite3.connect(db)
    conn.executescript("DROP TRIGGER orders_audit; CREATE TRIGGER orders_quiet AFTER UPDATE ON orders "
                       "BEGIN UPDATE quiet SET v = v * 10 WHERE id = 1; END;")
    conn.close()
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    change = steps.inspect(project, result)
    assert change.changed_tables == ("orders", "quiet")
    assert {r.table: r.updated for r in change.row_changes} == {"orders": 1, "quiet": 1}


def test_writable_schema_compares_every_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, db = _project(tmp_path, "-- PRAGMA writable_schema is named here, so any table may change\n"
                                     "UPDATE orders SET total = 1 WHERE id = 1;\n")
    asked = _spy_row_diffs(monkeypatch)
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    steps.inspect(project, result)
    assert asked and set(asked[0]) >= {"audit", "children", "orders", "parents", "quiet"}




def test_a_table_the_sql_cannot_change_is_counted_once_per_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    project, db = _project(tmp_path, "UPDATE orders SET total = total + 1;\n")
    counted = spy_counts(monkeypatch)
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    assert counted.count("quiet") == 1  # before; the snapshots after the migration and after the run reuse it
    assert counted.count("orders") == 1  # only updated: its count is kept (see test_capture_kept_counts)
    assert counted.count("audit") == 2  # before, after the migration (its trigger inserts; the last reuses it)
    counted.clear()
    change = steps.inspect(project, result)
    assert "quiet" not in counted  # the row diff counts the rows it compares, not every table's
    assert result.after.table("quiet").row_count == 2
    assert {r.table: r.updated for r in change.row_changes} == {"orders": 3, "audit": 0}


def test_known_tables_keep_their_counts_only_while_their_definition_is_the_same(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(SCHEMA)
    first = take_snapshot(conn, fingerprint=False)
    known = {t.name.lower(): t for t in first.tables}
    conn.execute("INSERT INTO quiet (v) VALUES (3)")  # a caller that says "unchanged" is believed...
    again = take_snapshot(conn, fingerprint=False, known=known)
    assert again.table("quiet").row_count == 2
    conn.execute("ALTER TABLE quiet ADD COLUMN w INTEGER")  # ...but not across a change of definition
    assert take_snapshot(conn, fingerprint=False, known=known).table("quiet").row_count == 3
    # fingerprints asked for and not known: counted and hashed again
    assert take_snapshot(conn, fingerprint=True, known=known).table("orders").fingerprint is not None
    conn.close()


def test_what_is_compared_is_judged_on_the_sql_that_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, db = _project(tmp_path, "UPDATE quiet SET v = v + 1;\n")
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    assert result.reachable is not None and "quiet" in result.reachable and "orders" not in result.reachable
    # up.sql edited after the run: the inspect step still looks where the SQL that ran could reach
    (tmp_path / "migrations" / "2024-01-01-000000_change" / "up.sql").write_text("SELECT 1;\n", encoding="utf-8")
    asked = _spy_row_diffs(monkeypatch)
    change = steps.inspect(project, result)
    assert asked == [["quiet"]]
    assert {r.table: r.updated for r in change.row_changes} == {"quiet": 2}


def _spy_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = row_diff_module._open_pair.__enter__

    def enter(self):  # type: ignore[no-untyped-def]
        conn = real(self)
        conn.set_trace_callback(seen.append)
        return conn
    monkeypatch.setattr(row_diff_module._open_pair, "__enter__", enter)
    return seen


def test_the_row_diff_takes_the_counts_the_run_just_took(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, db = _project(tmp_path, "UPDATE quiet SET v = v + 1;\n")
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    assert result.before_copy_exact and result.after_state is not None
    seen = _spy_statements(monkeypatch)
    change = steps.inspect(project, result)
    assert not [s for s in seen if "count(*) FROM" in s and "JOIN" not in s], seen
    assert {r.table: (r.added, r.removed, r.updated) for r in change.row_changes} == {"quiet": (0, 0, 2)}


def test_a_database_written_after_the_run_is_counted_again(tmp_path: Path) -> None:
    project, db = _project(tmp_path, "UPDATE quiet SET v = v + 1;\n")
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"))
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO quiet (v) VALUES (9)")  # after the run, before the inspect step
    conn.commit()
    conn.close()
    change = steps.inspect(project, result)
    assert {r.table: (r.added, r.removed, r.updated) for r in change.row_changes} == {"quiet": (1, 0, 2)}
