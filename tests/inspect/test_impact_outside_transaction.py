"""A migration that runs outside a transaction (``run_in_transaction = false``) is measured as it ran.

SQLite's table rebuild is such a migration: ``PRAGMA foreign_keys = OFF``, then its own ``BEGIN`` … ``COMMIT``.
Measured inside the one transaction every other migration's impact is measured in, its ``BEGIN`` was reported as
"refused: BEGIN is not allowed in a migration that runs in a transaction", which the step never said, and what
the rebuild did to the rows was not shown at all.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.capture import inspect_change
from lightnb.inspect.impact import measure_impacts
from lightnb.project import Project
from lightnb.workspace import Workspace
from tests.support.builder import ProjectBuilder, make_database

SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, age TEXT);
INSERT INTO accounts VALUES (1, 'ann', '31'), (2, 'bob', '40'), (3, NULL, '27');
CREATE TABLE notes (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE);
INSERT INTO notes VALUES (1, 1), (2, 2), (3, 3), (4, 3);
"""
REBUILD = """PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE accounts_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', age INTEGER);
INSERT INTO accounts_new (id, name, age) SELECT id, coalesce(name, ''), CAST(age AS INTEGER) FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
COMMIT;
PRAGMA foreign_keys = ON;
"""
UNDO = """PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE accounts_old (id INTEGER PRIMARY KEY, name TEXT, age TEXT);
INSERT INTO accounts_old (id, name, age) SELECT id, name, CAST(age AS TEXT) FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_old RENAME TO accounts;
COMMIT;
PRAGMA foreign_keys = ON;
"""
OUTSIDE = "run_in_transaction = false\n"


def _kinds(impacts: Any) -> list[tuple[str, str | None, int]]:
    return sorted((i.kind, i.table, i.count) for i in impacts)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_rebuild_outside_a_transaction_is_measured_as_it_ran(tmp_path: Path) -> None:
    before = make_database(tmp_path / "before.db", SCHEMA)
    digest = _digest(before)
    (found,) = measure_impacts(before, [REBUILD], outside=[True])
    assert not any(i.kind == "error" for i in found), [i.message for i in found]
    assert ("rows_inserted", "accounts_new", 3) in _kinds(found)
    assert not any(i.table == "notes" for i in found)  # the foreign keys were off: nothing cascaded
    assert _digest(before) == digest  # measured on a throwaway copy
    # inside one transaction (a migration that runs in one), its BEGIN fails, as the step would have
    (inside,) = measure_impacts(before, [REBUILD])
    assert [i.kind for i in inside] == ["error"] and "BEGIN is not allowed" in inside[0].message


def test_scripts_are_measured_one_after_the_other_in_and_outside_a_transaction(tmp_path: Path) -> None:
    before = make_database(tmp_path / "before.db", SCHEMA)
    widen = "ALTER TABLE accounts ADD COLUMN city TEXT;\nUPDATE accounts SET city = 'x' WHERE id > 1;\n"
    fill = "BEGIN;\nUPDATE accounts SET city = 'y' WHERE city IS NULL;\nCOMMIT;\n"
    first, second = measure_impacts(before, [widen, fill], outside=[False, True])
    assert ("rows_updated", "accounts", 2) in _kinds(first)
    assert ("rows_updated", "accounts", 1) in _kinds(second)  # on the state the first one left
    assert not any(i.kind == "error" for i in first + second)


def test_the_inspect_step_shows_what_a_rebuild_outside_a_transaction_did(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path / "project", config="") \
        .migration("2024-01-01-000000_rebuild_accounts", REBUILD, UNDO, metadata=OUTSIDE).build()
    production = make_database(tmp_path / "production.db", SCHEMA)
    project = Project.discover(root, environ={})
    workspace = Workspace.create(production, tmp_path / "ws")
    change = steps.run_on_workspace(project, workspace)
    impact = inspect_change(change, "accounts").impact
    messages = [i.message for i in impact]
    assert not any("refused" in m or "not allowed" in m for m in messages), messages
    assert impact and not any(i.kind == "error" for i in impact), messages
    assert inspect_change(change, "notes").impact == ()  # nothing cascaded, as in the step


def test_the_proof_measures_a_declared_one_way_migration_outside_a_transaction_as_it_ran(tmp_path: Path) -> None:
    from lightnb.checks import check
    purge = "BEGIN;\nDELETE FROM notes WHERE id > 2;\nCOMMIT;\n"
    root = ProjectBuilder(tmp_path / "project", config="") \
        .migration("2024-01-01-000000_purge_notes", purge, "-- lightnb: irreversible: old notes purged\n",
                   metadata=OUTSIDE).build()
    production = make_database(tmp_path / "production.db", SCHEMA)
    result = check(Project.discover(root, environ={}), database=production, run_tests=False)
    (proved,) = result.migrations
    measured = [r for r in proved.reasons if r.startswith("measured impact of up.sql")]
    assert len(measured) == 1 and measured[0].startswith(
        "measured impact of up.sql on the copy: line 2: 2 row(s) of notes deleted."), proved.reasons


def test_a_migration_that_rolls_back_its_own_statements_is_said_not_measured(tmp_path: Path) -> None:
    # a ROLLBACK undoes what was measured statement by statement: the DROP's saved values vanished with it and the
    # measurement failed with SQLite's raw "no such table: temp.lnb_impact_0"; a ROLLBACK TO one of the migration's
    # own savepoints had its DELETE counted as rows deleted
    from lightnb.errors import LightnbError
    before = make_database(tmp_path / "before.db", SCHEMA)
    cases = [("BEGIN;\nALTER TABLE accounts DROP COLUMN age;\nROLLBACK;\n", True, 3),
             ("BEGIN;\nSAVEPOINT mine;\nDELETE FROM notes;\nROLLBACK TO mine;\nCOMMIT;\n", True, 4),
             ("SAVEPOINT mine;\nDELETE FROM notes;\nROLLBACK TRANSACTION TO SAVEPOINT mine;\nRELEASE mine;\n",
              False, 3)]
    for script, outside, line in cases:
        with pytest.raises(LightnbError) as caught:
            measure_impacts(before, [script], outside=[outside])
        assert str(caught.value).startswith(f"statement {line} (line {line}) rolls back what the migration's "
                                            f"statements before it did") and "\n" not in str(caught.value)
    (refused,) = measure_impacts(before, ["UPDATE accounts SET age = '1';\nROLLBACK;\n"])  # in diesel's transaction
    assert [i.kind for i in refused if i.kind == "error"] == ["error"]


def test_the_inspect_step_says_why_it_did_not_measure_and_shows_the_rest(tmp_path: Path) -> None:
    undo = "BEGIN;\nDELETE FROM notes WHERE id = 1;\nSAVEPOINT mine;\nDELETE FROM notes;\nROLLBACK TO mine;\nCOMMIT;\n"
    root = ProjectBuilder(tmp_path / "project", config="") \
        .migration("2024-01-01-000000_undo_some", undo, "SELECT 1;", metadata=OUTSIDE).build()
    production = make_database(tmp_path / "production.db", SCHEMA)
    project = Project.discover(root, environ={})
    change = steps.run_on_workspace(project, Workspace.create(production, tmp_path / "ws"))
    inspection = inspect_change(change, "notes")
    assert [i.kind for i in inspection.impact] == ["error"]
    assert "rolls back what the migration's statements before it did" in inspection.impact[0].message
    assert inspection.rows.table("notes").removed == 1  # the row diff says what it changed
