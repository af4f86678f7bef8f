"""Faults injected while a migration runs on the workspace.

After each fault the workspace is equal in schema and rows to what it was before (or the next
run says exactly what is wrong and how to reset), the tracking table never lists a migration
that did not fully apply, and production's SHA-256 and mtime never change (``guarded``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reliability_support import REPO, Frozen, applied, db_state, file_mark, integrity, tree_mark, write_migration

from lightnb import migrations as migration_files
from lightnb import runner, steps
from lightnb import workspace as workspace_module
from lightnb.backends.sqlite import connection as sqlite_connection
from lightnb.backends.sqlite import open_readonly
from lightnb.errors import DatabaseBusyError, DatabaseError, MigrationError, SqlError, WorkspaceError
from lightnb.project import Project
from lightnb.workspace import Workspace

NEW = "2024-02-01-000000-0000_add_tags"
NEW_VERSION = "202402010000000000"
GOOD_STATEMENTS = [
    "CREATE TABLE tags (\n  id INTEGER PRIMARY KEY NOT NULL,\n  name TEXT NOT NULL UNIQUE\n);",
    "INSERT INTO tags (name) VALUES ('red'), ('semi;colon'), ('it''s');",
    "ALTER TABLE accounts ADD COLUMN tag_id INTEGER REFERENCES tags(id);",
    "UPDATE accounts SET balance = balance + 1, tag_id = 1;",
    "CREATE INDEX accounts_tag_id ON accounts (tag_id);",
]
FAILING = {
    "missing_table": "INSERT INTO no_such_table VALUES (1);",
    "syntax": "CREAT TABLE oops (id INTEGER);",
    "check_violation": "UPDATE accounts SET balance = -1;",
    "unique_violation": "INSERT INTO accounts (owner, balance) VALUES ('ada', 1);",
}


def _script(statements: list[str]) -> str:
    return "-- Your SQL goes here\n" + "\n".join(statements) + "\n"


def _line_of(statements: list[str], index: int) -> int:
    return 2 + sum(s.count("\n") + 1 for s in statements[:index])


@pytest.fixture
def workspace(guarded, tmp_path: Path) -> Workspace:
    """A workspace copy of the guarded production."""
    return Workspace.create(guarded.production, tmp_path / "ws")


def _project(guarded) -> Project:
    return Project.discover(guarded.root)


@pytest.mark.parametrize("kind", sorted(FAILING))
@pytest.mark.parametrize("position", range(len(GOOD_STATEMENTS) + 1))
def test_failing_statement_at_each_position_leaves_workspace_as_before(guarded, workspace, position, kind):
    statements = GOOD_STATEMENTS[:position] + [FAILING[kind]] + GOOD_STATEMENTS[position:]
    write_migration(guarded.migrations, NEW, _script(statements), "DROP TABLE tags;\n")
    before = db_state(workspace.path)

    with pytest.raises(SqlError) as caught:
        steps.run(_project(guarded), workspace.path, regenerate_schema=False)

    error = caught.value
    assert error.line == _line_of(statements, position)
    assert error.version == NEW_VERSION
    assert f"line {error.line}" in str(error) and "\n" not in str(error)
    assert db_state(workspace.path) == before
    assert NEW_VERSION not in applied(workspace.path)
    assert integrity(workspace.path) == "ok"
    # The fix is to edit the file: the next run applies the whole migration and records it.
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS))
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert NEW_VERSION in applied(workspace.path)


@pytest.mark.parametrize("position", range(3))
def test_failing_down_statement_keeps_migration_applied_and_rows_intact(guarded, workspace, position):
    down = ["DROP INDEX accounts_tag_id;", "ALTER TABLE accounts DROP COLUMN tag_id;", "DROP TABLE tags;"]
    broken = down[:position] + ["DELETE FROM no_such_table;"] + down[position:]
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), _script(broken))
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    after_up = db_state(workspace.path)

    with pytest.raises(SqlError) as caught:
        steps.revert(_project(guarded), workspace.path, regenerate_schema=False)
    assert caught.value.line == _line_of(broken, position)
    assert db_state(workspace.path) == after_up
    assert NEW_VERSION in applied(workspace.path)


def test_failing_redo_is_atomic(guarded, workspace):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), "DROP TABLE tags;\n")
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    # The down runs, then the up fails (the column added by the up was never dropped): all undone.
    before = db_state(workspace.path)
    with pytest.raises(SqlError):
        steps.redo(_project(guarded), workspace.path, regenerate_schema=False)
    assert db_state(workspace.path) == before
    assert NEW_VERSION in applied(workspace.path)


def test_run_stops_at_first_failing_migration_and_keeps_earlier_ones(guarded, workspace, tmp_path):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), "DROP TABLE tags;\n")
    later = "2024-03-01-000000-0000_broken"
    write_migration(guarded.migrations, later, _script(["CREATE TABLE x (id INTEGER);", FAILING["syntax"]]))
    reference = Workspace.create(guarded.production, tmp_path / "reference")
    steps.run(_project(guarded), reference.path, limit=1, regenerate_schema=False)

    with pytest.raises(SqlError):
        steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert _when_ignored(db_state(workspace.path)) == _when_ignored(db_state(reference.path))
    assert applied(workspace.path)[-1] == NEW_VERSION


def _when_ignored(state):
    """The state without the times the tracking tables record: two runs a second apart differ there."""
    schema, rows = state
    tracking, checksums = "__diesel_schema_migrations", "__lightnb_migration_checksums"
    timeless = {tracking: sorted(row[0] for row in rows.get(tracking, [])),
                checksums: sorted(row[:-1] for row in rows.get(checksums, []))}
    return schema, {**rows, **{name: value for name, value in timeless.items() if name in rows}}


@pytest.mark.parametrize("control", ["COMMIT;", "END TRANSACTION;", "ROLLBACK;", "COMMIT"])
def test_transaction_control_inside_a_migration_cannot_commit_half_of_it(guarded, workspace, control):
    # A COMMIT in up.sql would end the runner's transaction early: what ran before it would stay
    # even though a later statement fails. It must be refused before it runs. The bare "COMMIT"
    # is the runner's own statement text, so a cached prepared statement must not slip through.
    tail = [] if control == "COMMIT" else GOOD_STATEMENTS[2:] + [FAILING["missing_table"]]
    statements = GOOD_STATEMENTS[:2] + [control] + tail
    write_migration(guarded.migrations, NEW, _script(statements), "DROP TABLE tags;\n")
    before = db_state(workspace.path)
    with pytest.raises(MigrationError) as caught:
        steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert caught.value.line == _line_of(statements, 2)
    assert "run_in_transaction = false" in str(caught.value)
    assert db_state(workspace.path) == before
    assert NEW_VERSION not in applied(workspace.path)


def test_redo_cannot_release_the_runners_savepoint(guarded, workspace):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS[:2]),
                    "DROP TABLE tags;\nRELEASE SAVEPOINT diesel_savepoint_1;\nCREATE TABLE stray (x);\n")
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    before = db_state(workspace.path)
    with pytest.raises(SqlError):
        steps.redo(_project(guarded), workspace.path, regenerate_schema=False)
    assert db_state(workspace.path) == before


def test_migration_without_transaction_is_not_recorded_when_it_fails(guarded, workspace):
    statements = GOOD_STATEMENTS[:2] + [FAILING["missing_table"]]
    write_migration(guarded.migrations, NEW, _script(statements), "DROP TABLE tags;\n",
                    metadata="run_in_transaction = false\n")
    with pytest.raises(SqlError):
        steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert NEW_VERSION not in applied(workspace.path)


# --- the process is killed (SIGKILL) in the middle of a migration ------------------------------------

KILLER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from lightnb import steps
    from lightnb.project import Project

    def observe(event):
        if event.kind == "migration":  # a small page cache: the changed pages reach the -journal/-wal before commit
            event.connection.execute("PRAGMA cache_size = -256")
        if event.kind == "statement" and event.statement.index == {stop}:
            print("STOPPED", flush=True)
            time.sleep(120)

    steps.run(Project.discover({root!r}), {db!r}, on_step=observe, regenerate_schema=False)
    print("FINISHED", flush=True)
""")
HEAVY = [
    "CREATE TABLE big (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);",
    "INSERT INTO big (payload) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
    "SELECT randomblob(300) FROM n;",
    "UPDATE accounts SET balance = 0;",
    "DELETE FROM posts;",
    "CREATE INDEX big_payload ON big (payload);",
]


@pytest.mark.parametrize("journal", ["delete", "wal"])
@pytest.mark.parametrize("stop", [2, 4])
def test_sigkill_mid_migration_rolls_back_on_next_open(guarded, workspace, journal, stop):
    conn = workspace.connect()
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.close()
    write_migration(guarded.migrations, NEW, _script(HEAVY), "DROP TABLE big;\n")
    before = db_state(workspace.path)
    script = KILLER.format(repo=str(REPO), stop=stop, root=str(guarded.root), db=str(workspace.path))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        line = child.stdout.readline().strip()
        assert line == "STOPPED", child.stderr.read()
        sidecar = Path(str(workspace.path) + ("-journal" if journal == "delete" else "-wal"))
        assert sidecar.stat().st_size > 0  # the transaction really had written pages
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    # The next lightnb open recovers the hot journal: nothing of the migration is left.
    listing = steps.list_migrations(_project(guarded), workspace.path)
    assert [m.applied for m in listing.migrations] == [True, True, False]
    assert db_state(workspace.path) == before
    assert integrity(workspace.path) == "ok"
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert NEW_VERSION in applied(workspace.path)


# --- disk full ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("slack", [0, 1, 2, 4, 8, 16, 40])
def test_disk_full_at_any_point_applies_all_or_nothing(guarded, workspace, tmp_path, slack):
    rows = "INSERT INTO tags (name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n " \
           "WHERE i < 400) SELECT 'tag-' || i || '-' || hex(randomblob(20)) FROM n;"
    statements = GOOD_STATEMENTS[:1] + [rows] + GOOD_STATEMENTS[2:]
    write_migration(guarded.migrations, NEW, _script(statements), "DROP TABLE tags;\n")
    before = db_state(workspace.path)
    conn = workspace.connect()
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + slack}")
        try:
            runner.run_pending(conn, migration_files.discover(guarded.migrations))
        except DatabaseError as error:
            assert "full" in str(error) and "\n" not in str(error)
            full = True
        else:
            full = False
        assert not conn.in_transaction
    finally:
        conn.close()
    assert integrity(workspace.path) == "ok"
    if full:
        assert db_state(workspace.path) == before
        assert NEW_VERSION not in applied(workspace.path)
    else:
        assert NEW_VERSION in applied(workspace.path)
        assert len(db_state(workspace.path)[1]["tags"]) == 400
    if slack == 0:
        assert full


# --- locked by another connection ---------------------------------------------------------------------

@pytest.fixture
def short_busy_timeout(monkeypatch):
    monkeypatch.setattr(sqlite_connection, "BUSY_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(workspace_module, "PRODUCTION_BUSY_TIMEOUT_SECONDS", 0.2)


@pytest.mark.parametrize("hold", ["BEGIN IMMEDIATE", "BEGIN; SELECT count(*) FROM accounts"])
def test_locked_workspace_reports_busy_and_changes_nothing(guarded, workspace, short_busy_timeout, hold):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), "DROP TABLE tags;\n")
    before = db_state(workspace.path)
    other = sqlite3.connect(workspace.path, isolation_level=None)
    try:
        for sql in hold.split("; "):
            other.execute(sql).fetchall()
        with pytest.raises(DatabaseBusyError) as caught:
            steps.run(_project(guarded), workspace.path, regenerate_schema=False)
        assert "locked" in str(caught.value) and "retry" in str(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert db_state(workspace.path) == before
    assert NEW_VERSION not in applied(workspace.path)
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert NEW_VERSION in applied(workspace.path)


def test_snapshot_of_exclusively_locked_production_fails_and_keeps_old_workspace(
        guarded, workspace, short_busy_timeout):
    conn = workspace.connect()
    conn.execute("CREATE TABLE scratch (x)")
    conn.close()
    kept = tree_mark(workspace.folder)
    holder = sqlite3.connect(guarded.production, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseBusyError):
            workspace.reset()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert tree_mark(workspace.folder) == kept


# --- a corrupt or truncated database file --------------------------------------------------------------

def _grow(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler (x BLOB)")
    conn.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(900),) for _ in range(200)])
    conn.commit()
    conn.close()


CORRUPTIONS = {
    "truncated": lambda data: data[: len(data) // 3],
    "header": lambda data: data[:16] + b"\xff" * 84 + data[100:],
    "pages": lambda data: data[:4096] + bytes((b * 7 + 13) % 256 for b in range(len(data) - 4096)),
    "not_sqlite": lambda data: b"this is a text file, not a database\n" * 20,
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_workspace_reports_reset_and_reset_recovers(guarded, workspace, corruption):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), "DROP TABLE tags;\n")
    _grow(workspace.path)
    workspace.path.write_bytes(CORRUPTIONS[corruption](workspace.path.read_bytes()))
    for _ in range(2):  # the next run says the same thing again: nothing was half-done
        with pytest.raises(DatabaseError) as caught:
            steps.run(_project(guarded), workspace.path, regenerate_schema=False)
        message = str(caught.value)
        assert "\n" not in message and "snapshot --reset" in message or "not a SQLite" in message
    workspace.reset()
    assert integrity(workspace.path) == "ok"
    steps.run(_project(guarded), workspace.path, regenerate_schema=False)
    assert NEW_VERSION in applied(workspace.path)


@pytest.mark.parametrize("corruption", ["truncated", "header", "not_sqlite"])
def test_corrupt_production_cannot_be_snapshotted_and_old_workspace_survives(tmp_path, corruption):
    from reliability_support import make_project
    root, production = make_project(tmp_path / "app")
    workspace = Workspace.create(production, tmp_path / "ws")
    kept = tree_mark(workspace.folder)
    _grow(production)
    production.write_bytes(CORRUPTIONS[corruption](production.read_bytes()))
    mark = file_mark(production)
    with pytest.raises(DatabaseError) as caught:
        workspace.reset()
    assert "\n" not in str(caught.value)
    assert tree_mark(workspace.folder) == kept
    assert file_mark(production) == mark


def test_snapshot_of_production_with_corrupt_inner_page_is_refused_when_verified(tmp_path, capsys):
    """A corrupt inner page is invisible to a byte copy; ``verify`` (``snapshot --verify``) refuses it.

    Verification reads every page (seconds per GiB), so it is a choice, not the default.
    """
    from reliability_support import make_project

    from lightnb.cli import main
    root, production = make_project(tmp_path / "app")
    _grow(production)
    production.write_bytes(CORRUPTIONS["pages"](production.read_bytes()))
    mark = file_mark(production)
    with pytest.raises(DatabaseError) as caught:
        Workspace.create(production, tmp_path / "ws", verify=True)
    assert "corrupt" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "ws" / "workspace.db").exists()
    code = main(["snapshot", "--verify", "--database-url", str(production), "--project", str(root),
                 "--workspace-dir", str(tmp_path / "ws2")])
    err = capsys.readouterr().err
    assert code == 1 and "quick_check" in err and err.count("\n") == 1
    assert file_mark(production) == mark


# --- a read-only workspace ------------------------------------------------------------------------------
# Tests run as root, whom chmod does not stop: Frozen uses the immutable flag (chattr +i), which
# stops root too, and skips when the file system lacks it.

def test_migration_in_read_only_workspace_folder_changes_nothing(guarded, workspace):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), "DROP TABLE tags;\n")
    before = db_state(workspace.path)
    with Frozen(workspace.folder):
        # SQLite cannot create its rollback journal beside the database.
        with pytest.raises(DatabaseError) as caught:
            steps.run(_project(guarded), workspace.path, regenerate_schema=False)
        assert "\n" not in str(caught.value)
        with pytest.raises(WorkspaceError) as reset_error:
            workspace.reset()
        assert "not writable" in str(reset_error.value)
    assert db_state(workspace.path) == before
    assert NEW_VERSION not in applied(workspace.path)


def test_migration_on_read_only_workspace_file_changes_nothing(guarded, workspace):
    write_migration(guarded.migrations, NEW, _script(GOOD_STATEMENTS), "DROP TABLE tags;\n")
    mark = file_mark(workspace.path)
    with Frozen(workspace.path):
        with pytest.raises(DatabaseError) as caught:
            steps.run(_project(guarded), workspace.path, regenerate_schema=False)
        assert "read-only" in str(caught.value)
    assert file_mark(workspace.path) == mark


def test_production_connection_is_read_only(guarded):
    conn = open_readonly(guarded.production)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM accounts")
    finally:
        conn.close()


def test_workspace_refuses_to_overwrite_production(guarded, tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    production = folder / "workspace.db"
    production.write_bytes(guarded.production.read_bytes())
    mark = file_mark(production)
    with pytest.raises(WorkspaceError, match="overwrite production"):
        Workspace.create(production, folder)
    assert file_mark(production) == mark


HOT_JOURNAL_WRITER = textwrap.dedent("""
    import os, signal, sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA cache_size = 2")
    conn.execute("BEGIN")
    conn.execute("UPDATE accounts SET balance = balance + 1")
    conn.execute("CREATE TABLE junk AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                 "WHERE i < 3000) SELECT randomblob(200) AS b FROM n")
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_snapshot_of_production_with_hot_journal_names_the_journal_and_writes_nothing(tmp_path):
    # The application crashed mid-transaction: production has a hot journal. Rolling it back is a
    # write to production, which lightnb never does; it must say what to do instead.
    from reliability_support import make_project
    root, production = make_project(tmp_path / "app")
    subprocess.run([sys.executable, "-c", HOT_JOURNAL_WRITER, str(production)], capture_output=True)
    journal = Path(str(production) + "-journal")
    assert journal.stat().st_size > 0
    marks = file_mark(production), file_mark(journal)
    with pytest.raises(DatabaseError) as caught:
        Workspace.create(production, tmp_path / "ws")
    message = str(caught.value)
    assert "journal" in message and "\n" not in message
    assert (file_mark(production), file_mark(journal)) == marks
