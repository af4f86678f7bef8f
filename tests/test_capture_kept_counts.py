"""A captured run does not count again a table whose row count its SQL provably kept.

A migration that only updates rows cannot change how many there are: the snapshot after it takes
the count from the snapshot before it. Every way a statement can add or remove rows while the
authorizer sees only an UPDATE (or nothing) must be counted again, and the counts shown must be
the database's: the REPLACE conflict resolution (in the statement, in a table's constraint, in a
trigger), triggers, foreign-key cascades, upserts, rollbacks, other writers.
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

import pytest

from lightnb import steps
from lightnb.backends import sqlite as backend
from lightnb.inspect.kept_counts import kept_counts
from lightnb.inspect.snapshot import take_snapshot
from lightnb.project import Project
from tests.support.builder import one_change_project
from tests.support.spies import spy_counts

SCHEMA = """
CREATE TABLE orders (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, total INTEGER NOT NULL);
CREATE TABLE quiet (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE);
INSERT INTO orders (code, total) VALUES ('a', 10), ('b', 20), ('c', 30);
INSERT INTO quiet (v) VALUES (1), (2);
INSERT INTO parents (id, name) VALUES (1, 'one'), (2, 'two');
INSERT INTO children (parent_id) VALUES (1), (2), (2);
"""


def _project(tmp_path: Path, up: str, *, schema: str = SCHEMA, in_transaction: bool = True) -> tuple[Project, Path]:
    return one_change_project(tmp_path, up, schema,
                              metadata=None if in_transaction else "run_in_transaction = false\n")




def _run(tmp_path: Path, project: Project, db: Path, *, statements: bool = False):  # type: ignore[no-untyped-def]
    def follow(_event: object) -> None:
        pass

    follow.statements = statements  # type: ignore[attr-defined]  # one statement at a time, or the file whole
    return steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"),
                     on_step=follow)


def _truth(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def _after_counts(result) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t.name: t.row_count for t in result.after.tables}


@pytest.mark.parametrize("statements", [False, True], ids=["file-whole", "statement-by-statement"])
def test_an_update_keeps_the_count_without_counting_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          statements: bool) -> None:
    project, db = _project(tmp_path, "UPDATE orders SET total = total + (SELECT count(*) FROM quiet), "
                                     "code = replace(code, 'a', 'z');\n")
    counted = spy_counts(monkeypatch)
    result = _run(tmp_path, project, db, statements=statements)
    assert counted.count("orders") == 1 and counted.count("quiet") == 1  # before only
    assert _after_counts(result) == _truth(db)
    change = steps.inspect(project, result)
    assert {r.table: (r.added, r.removed, r.updated) for r in change.row_changes} == {"orders": (0, 0, 3)}


# Each of these changes the number of rows of a table the authorizer sees only updated, or not at all.
RECOUNTED = {
    "update or replace": ("UPDATE OR REPLACE orders SET code = 'a';\n", SCHEMA, True, {"orders": 1}),
    "on conflict replace in the table": (
        "UPDATE orders SET code = 'a';\n",
        SCHEMA.replace("code TEXT NOT NULL UNIQUE", "code TEXT NOT NULL UNIQUE ON CONFLICT REPLACE"), True,
        {"orders": 1}),
    "or replace in a trigger": (
        "UPDATE quiet SET v = v + 1;\n",
        SCHEMA + "CREATE TRIGGER squash AFTER UPDATE ON quiet BEGIN UPDATE OR REPLACE orders SET code = 'a'; END;\n",
        True, {"orders": 1}),
    "a trigger deleting": (
        "UPDATE quiet SET v = v + 1;\n",
        SCHEMA + "CREATE TRIGGER prune AFTER UPDATE ON quiet BEGIN DELETE FROM orders WHERE total > 15; END;\n",
        True, {"orders": 1}),
    "a trigger inserting into the table it updates": (
        "UPDATE orders SET total = total + 1 WHERE id = 1;\n",
        SCHEMA + "CREATE TRIGGER grow AFTER UPDATE ON orders WHEN new.id = 1 BEGIN "
                 "INSERT INTO orders (code, total) VALUES ('d', 0); END;\n", True, {"orders": 4}),
    "a cascading delete": ("PRAGMA foreign_keys = ON;\nDELETE FROM parents WHERE id = 2;\n", SCHEMA, False,
                           {"children": 1}),
    "a cascade from a dropped parent": ("PRAGMA foreign_keys = ON;\nDROP TABLE parents;\n", SCHEMA, False,
                                        {"children": 0}),
    "an upsert": ("INSERT INTO orders (code, total) VALUES ('a', 1), ('e', 2) "
                  "ON CONFLICT (code) DO UPDATE SET total = excluded.total;\n", SCHEMA, True, {"orders": 4}),
    "a table dropped and made again the same": (
        "DROP TABLE quiet;\nCREATE TABLE quiet (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);\n", SCHEMA, True,
        {"quiet": 0}),
}


@pytest.mark.parametrize("case", sorted(RECOUNTED))
def test_every_way_a_count_can_change_is_counted_again(tmp_path: Path, case: str) -> None:
    up, schema, in_transaction, expected = RECOUNTED[case]
    project, db = _project(tmp_path, up, schema=schema, in_transaction=in_transaction)
    result = _run(tmp_path, project, db)
    after = _after_counts(result)
    assert after == _truth(db)
    assert {name: after.get(name) for name in expected} == expected


def test_a_rollback_since_the_count_keeps_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = backend.connect(db)
    conn.executescript(SCHEMA)
    writes = backend.watch_writes(conn)
    assert writes is not None
    conn.execute("BEGIN")
    conn.execute("INSERT INTO quiet (v) VALUES (3)")
    before = take_snapshot(conn, fingerprint=False)  # counted inside a transaction later undone
    writes.clear()
    conn.execute("ROLLBACK")
    assert kept_counts(conn, before, writes, ["ROLLBACK"]) == {}
    conn.close()


def test_what_may_have_written_any_table_keeps_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = backend.connect(db)
    conn.executescript(SCHEMA)
    before = take_snapshot(conn, fingerprint=False)
    writes = backend.Writes()
    assert set(kept_counts(conn, before, writes, ["UPDATE quiet SET v = 1"])) == {
        "orders", "quiet", "parents", "children"}
    writes(sqlite3.SQLITE_PRAGMA, "writable_schema", "1")
    assert kept_counts(conn, before, writes, ["UPDATE quiet SET v = 1"]) == {}
    writes.clear()
    writes(sqlite3.SQLITE_PRAGMA, "writable_schema", None)  # read, not set
    writes(sqlite3.SQLITE_PRAGMA, "schema_version", None)
    assert kept_counts(conn, before, writes, ["UPDATE quiet SET v = 1"])
    writes(sqlite3.SQLITE_CREATE_VTABLE, "docs", "fts5")
    assert kept_counts(conn, before, writes, ["UPDATE quiet SET v = 1"]) == {}
    conn.close()


def test_a_virtual_table_written_keeps_nothing(tmp_path: Path) -> None:
    # its module writes its shadow tables (ordinary tables) through statements of its own
    db = tmp_path / "t.db"
    conn = backend.connect(db)
    try:
        conn.executescript(SCHEMA + "CREATE VIRTUAL TABLE docs USING fts5(body);\n")
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no FTS5")
    before = take_snapshot(conn, fingerprint=False)
    writes = backend.Writes()
    writes(sqlite3.SQLITE_UPDATE, "docs", "body")
    assert kept_counts(conn, before, writes, ["UPDATE docs SET body = 'x'"]) == {}
    conn.close()


def test_a_count_known_kept_carries_no_fingerprint(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = backend.connect(db)
    conn.executescript(SCHEMA)
    before = take_snapshot(conn, fingerprint=True)
    writes = backend.watch_writes(conn)
    assert writes is not None
    conn.execute("UPDATE quiet SET v = v + 10")
    known = kept_counts(conn, before, writes, ["UPDATE quiet SET v = v + 10"])
    assert known["quiet"].row_count == 2 and known["quiet"].fingerprint is None
    # a snapshot asked for fingerprints hashes the updated rows again
    after = take_snapshot(conn, fingerprint=True, known=known)
    assert after.table("quiet").fingerprint not in (None, before.table("quiet").fingerprint)
    conn.close()


def test_another_writer_during_the_run_is_counted_again(tmp_path: Path) -> None:
    project, db = _project(tmp_path, "UPDATE quiet SET v = v + 1;\n")
    other = sqlite3.connect(db, isolation_level=None)

    def meanwhile(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "migration":
            other.execute("INSERT INTO quiet (v) VALUES (7)")  # committed by another connection

    meanwhile.statements = False  # type: ignore[attr-defined]
    result = steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=tmp_path / "c"),
                       on_step=meanwhile)
    other.close()
    assert _after_counts(result)["quiet"] == 3 == _truth(db)["quiet"]


def test_another_writer_while_the_snapshot_is_taken_is_counted_again(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    migrate_module = importlib.import_module("lightnb.migrate")
    project, db = _project(tmp_path, "UPDATE quiet SET v = v + 1;\n")
    real = migrate_module._snapshot_of
    wrote: list[str] = []

    def meanwhile(conn, label, *args, known=None, **options):  # type: ignore[no-untyped-def]
        if known and not wrote:  # between the check that nobody else wrote and the snapshot's own reads
            wrote.append(label)
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("INSERT INTO quiet (v) VALUES (7)")
            other.close()
        return real(conn, label, *args, known=known, **options)

    monkeypatch.setattr(migrate_module, "_snapshot_of", meanwhile)
    result = _run(tmp_path, project, db)
    assert result.per_migration[0][2].table("quiet").row_count == 3 == _truth(db)["quiet"]
    assert _after_counts(result) == _truth(db)
