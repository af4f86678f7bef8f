import sqlite3
from pathlib import Path

import pytest

from lightnb import migrations, runner
from lightnb.backends import sqlite
from lightnb.backends.sqlite.connection import DieselConnection
from lightnb.catalog import is_bookkeeping
from lightnb.errors import DatabaseBusyError, DatabaseError, MigrationError, SqlError
from tests.support.builder import ProjectBuilder, content_of, make_database

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);"


def build(tmp_path: Path, *specs: tuple) -> list[migrations.Migration]:
    builder = ProjectBuilder(tmp_path / "project")
    for spec in specs:
        builder.migration(*spec[:3], metadata=spec[3] if len(spec) > 3 else None)
    return migrations.discover(builder.build() / "migrations")


def test_tracking_table_is_byte_identical_to_diesel(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.ensure_tracking_table(conn)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name='__diesel_schema_migrations'").fetchone()[0]
    assert sql == ("CREATE TABLE __diesel_schema_migrations (\n       version VARCHAR(50) PRIMARY KEY NOT NULL,\n"
                   "       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n)")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "sqlite_autoindex___diesel_schema_migrations_1" in names


def test_run_records_versions_and_run_on(tmp_path: Path) -> None:
    found = build(tmp_path, ("2024-01-01-000000-0000_users", USERS, "DROP TABLE users;"),
                  ("2017-01-01-000000_old", "CREATE TABLE t(x);", "DROP TABLE t;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    done = runner.run_pending(conn, found)
    assert [m.name for m in done] == ["2017-01-01-000000_old", "2024-01-01-000000-0000_users"]
    rows = conn.execute("SELECT version, run_on FROM __diesel_schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == ["20170101000000", "202401010000000000"]
    assert all(len(r[1]) == 19 for r in rows)  # UTC 'YYYY-MM-DD HH:MM:SS' from the column default


def test_failing_statement_rolls_back_everything_of_that_migration(tmp_path: Path) -> None:
    up = ("-- Your SQL goes here\nCREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n"
          "INSERT INTO missing VALUES (2);\nCREATE TABLE b (y);\n")
    found = build(tmp_path, ("1_first", USERS, "DROP TABLE users;"), ("2_broken", up, "DROP TABLE a;"))
    db = tmp_path / "db.sqlite"
    conn = sqlite.connect(db)
    runner.run_pending(conn, found[:1])
    conn.execute("INSERT INTO users (name) VALUES ('ann')")
    before = content_of(db)
    with pytest.raises(SqlError) as info:
        runner.run_pending(conn, found)
    error = info.value
    assert error.line == 4 and error.version == "2"
    assert "Failed to run 2_broken with: no such table: missing" in str(error)
    assert "up.sql line 4" in str(error)
    assert not conn.in_transaction
    assert content_of(db) == before
    assert runner.applied_versions(conn) == ["1"]


def test_empty_migration_error_and_comment_only_is_recorded(tmp_path: Path) -> None:
    found = build(tmp_path, ("12345_empty_migration", "", ""), ("2_comment", "-- nothing\n", "-- nothing\n"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    with pytest.raises(MigrationError, match="Failed to run 12345_empty_migration with: Attempted to run an "
                                             "empty migration."):
        runner.apply(conn, found[0], "up")
    runner.apply(conn, found[1], "up")
    assert runner.applied_versions(conn) == ["2"]


def test_run_in_transaction_false_allows_own_transaction(tmp_path: Path) -> None:
    up = "BEGIN TRANSACTION;\nCREATE TABLE t (x);\nCOMMIT TRANSACTION;\n"
    found = build(tmp_path, ("2023-05-08-210424_without_transaction", up, "DROP TABLE t;",
                             "run_in_transaction = false\n"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, found)
    assert runner.applied_versions(conn) == ["20230508210424"]


def test_begin_inside_transactional_migration_fails_cleanly(tmp_path: Path) -> None:
    found = build(tmp_path, ("1_tx", "BEGIN;\nCREATE TABLE t (x);\nCOMMIT;\n", "DROP TABLE t;"))
    db = tmp_path / "db.sqlite"
    conn = sqlite.connect(db)
    with pytest.raises(SqlError, match="line 1"):
        runner.run_pending(conn, found)
    assert runner.applied_versions(conn) == []
    assert "t" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_revert_order_number_and_all(tmp_path: Path) -> None:
    found = build(tmp_path, ("1_a", "CREATE TABLE a(x);", "DROP TABLE a;"),
                  ("2_b", "CREATE TABLE b(x);", "DROP TABLE b;"),
                  ("3_c", "CREATE TABLE c(x);", "DROP TABLE c;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, found)
    assert runner.revert(conn, found, number=0) == []
    assert [m.name for m in runner.revert(conn, found, number=2)] == ["3_c", "2_b"]
    assert runner.applied_versions(conn) == ["1"]
    runner.run_pending(conn, found)
    assert [m.name for m in runner.revert(conn, found, all=True)] == ["3_c", "2_b", "1_a"]
    assert runner.revert(conn, found) == []


def test_revert_unknown_version_and_missing_down(tmp_path: Path) -> None:
    found = build(tmp_path, ("1_a", "CREATE TABLE a(x);", None))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, found)
    with pytest.raises(MigrationError, match="Missing `down.sql` file to revert migration"):
        runner.revert(conn, found)
    conn.execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('9')")
    with pytest.raises(MigrationError, match="Unable to find migration version 9 to revert"):
        runner.revert(conn, found)


def test_redo_is_atomic(tmp_path: Path) -> None:
    found = build(tmp_path, ("1_a", "CREATE TABLE a(x);", "DROP TABLE a;"),
                  ("2_b", "CREATE TABLE b(x);", "DROP TABLE b; DROP TABLE nothing_here;"))
    db = tmp_path / "db.sqlite"
    conn = sqlite.connect(db)
    runner.run_pending(conn, found)
    before = content_of(db)
    with pytest.raises(SqlError):
        runner.redo(conn, found, all=True)
    assert not conn.in_transaction
    assert content_of(db) == before


def test_redo_reruns_in_ascending_order(tmp_path: Path) -> None:
    found = build(tmp_path, ("1_a", "CREATE TABLE a(x);", "DROP TABLE a;"),
                  ("2_b", "CREATE TABLE b(x);", "DROP TABLE b;"),
                  ("3_c", "CREATE TABLE c(x);", "DROP TABLE c;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, found)
    events: list[str] = []
    again = runner.redo(conn, found, number=2,
                        on_step=lambda e: e.kind == "migration" and events.append(f"{e.direction} {e.migration.name}"))
    assert [m.name for m in again] == ["2_b", "3_c"]
    assert events == ["down 3_c", "down 2_b", "up 2_b", "up 3_c"]


def test_diesel_manage_updated_at_creates_trigger(tmp_path: Path) -> None:
    up = ("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, updated_at TIMESTAMP);\n"
          "SELECT diesel_manage_updated_at('posts');\n")
    found = build(tmp_path, ("1_posts", up, "DROP TABLE posts;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, found)
    trigger = conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchone()
    assert trigger == ("__diesel_manage_updated_at_posts",)
    conn.execute("INSERT INTO posts (title, updated_at) VALUES ('a', '2000-01-01 00:00:00')")
    conn.execute("UPDATE posts SET title = 'b'")
    assert conn.execute("SELECT updated_at FROM posts").fetchone()[0] != "2000-01-01 00:00:00"


def test_database_accepted_by_diesel_layout(tmp_path: Path) -> None:
    """A database migrated by diesel (same table, same versions) is read as applied by lightnb."""
    db = make_database(tmp_path / "db.sqlite", runner.CREATE_TRACKING_TABLE +
                       "CREATE TABLE a(x); INSERT INTO __diesel_schema_migrations (version) VALUES ('1');")
    found = build(tmp_path, ("1_a", "CREATE TABLE a(x);", "DROP TABLE a;"), ("2_b", "CREATE TABLE b(x);", ""))
    conn = sqlite.connect(db)
    assert [m.name for m in runner.pending(conn, found)] == ["2_b"]


def test_connect_rejects_non_sqlite_and_folders(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a database, just text that is long enough to have a header")
    with pytest.raises(DatabaseError, match="not a valid SQLite database"):
        sqlite.connect(bogus)
    with pytest.raises(DatabaseError, match="is a folder"):
        sqlite.connect(tmp_path)
    with pytest.raises(DatabaseError, match="does not exist"):
        sqlite.connect(tmp_path / "missing.db", create=False)


def test_locked_database_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    found = build(tmp_path, ("1_a", "CREATE TABLE a(x);", "DROP TABLE a;"))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE lock_me(x)")
    holder.execute("BEGIN EXCLUSIVE")
    conn = sqlite3.connect(db, isolation_level=None, timeout=0.1, factory=DieselConnection)
    try:
        with pytest.raises(DatabaseBusyError) as info:
            runner.run_pending(conn, found)
        assert "locked by another connection" in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_observer_gets_the_connection_for_a_progress_handler(tmp_path: Path) -> None:
    up = ("CREATE TABLE n (x INTEGER);\n"
          "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) "
          "INSERT INTO n SELECT i FROM c;\n")
    found = build(tmp_path, ("1_numbers", up, "DROP TABLE n;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    ticks: list[int] = []

    def observe(event: runner.StepEvent) -> None:
        if event.kind == "migration":
            event.connection.set_progress_handler(lambda: ticks.append(1) and 0, 1000)

    runner.run_pending(conn, found, on_step=observe)
    assert len(ticks) > 10  # the handler ran during the long INSERT, not only between statements


def test_failure_outside_a_transaction_says_what_stayed_applied(tmp_path: Path) -> None:
    up = "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nINSERT INTO missing VALUES (2);\n"
    found = build(tmp_path, ("1_no_tx", up, "DROP TABLE a;", "run_in_transaction = false\n"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    with pytest.raises(SqlError) as info:
        runner.run_pending(conn, found)
    message = str(info.value)
    assert "nothing of this migration was applied" not in message
    assert "2 statement(s) before line 3 were applied and stay" in message
    assert "snapshot --reset" in message
    assert runner.applied_versions(conn) == []
    assert conn.execute("SELECT count(*) FROM a").fetchone() == (1,)  # what the message says stayed


@pytest.mark.parametrize("name, expected", [
    ("__diesel_schema_migrations", True), ("__DIESEL_SCHEMA_MIGRATIONS", True),
    ("__lightnb_migration_checksums", True), ("__Lightnb_anything", True),
    ("users", False), ("__private", False), ("__diesel_schema_migrations_copy", False), ("", False)])
def test_is_bookkeeping(name: str, expected: bool) -> None:
    assert is_bookkeeping(name) is expected


@pytest.mark.parametrize("follows_statements", [True, False])
def test_a_migration_runs_with_a_roomy_page_cache_and_the_same_durability(tmp_path: Path,
                                                                          follows_statements: bool) -> None:
    """A large change spills the page cache (a journal flush each time) far less often; nothing else changes."""
    found = build(tmp_path, ("1_users", USERS, "DROP TABLE users;"),
                  ("2_fill", "INSERT INTO users (name) SELECT 'x' FROM users;", "DELETE FROM users;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    settings = "PRAGMA cache_size", "PRAGMA synchronous", "PRAGMA journal_mode", "PRAGMA temp_store"
    before = [conn.execute(pragma).fetchone()[0] for pragma in settings]
    seen: list[list[object]] = []

    def observe(event: runner.StepEvent) -> None:
        if event.kind == "migration" and event.connection is not None:
            seen.append([event.connection.execute(pragma).fetchone()[0] for pragma in settings])

    observe.statements = follows_statements  # type: ignore[attr-defined]
    runner.run_pending(conn, found, on_step=observe)
    assert len(seen) == 2
    for during in seen:
        assert during[0] == -runner.MIGRATION_CACHE_KIB  # in KiB
        assert during[1:] == before[1:]  # synchronous (FULL by default), journal mode and temp store as they were
    assert [conn.execute(pragma).fetchone()[0] for pragma in settings] == before  # its own cache back afterwards
    runner.revert(conn, found)
    conn.execute(f"PRAGMA cache_size = -{2 * runner.MIGRATION_CACHE_KIB}")  # already larger: left as it is
    runner.run_pending(conn, found, on_step=observe)
    assert seen[-1][0] == -2 * runner.MIGRATION_CACHE_KIB
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -2 * runner.MIGRATION_CACHE_KIB


def test_a_migration_page_cache_is_twice_sqlites_default_and_no_larger() -> None:
    """Larger than SQLite's 2 MiB (fewer journal flushes), yet small enough to stay in the processor's caches:
    a whole-table change streams every page through it, and 64 MiB made a table rebuild 1.3x the CPU time."""
    default_kib = -sqlite3.connect(":memory:").execute("PRAGMA cache_size").fetchone()[0]
    assert runner.MIGRATION_CACHE_KIB == 4 * 1024
    assert default_kib < runner.MIGRATION_CACHE_KIB <= 2 * default_kib + 1024


def test_a_change_larger_than_sqlites_default_cache_stays_in_the_cache_until_commit(tmp_path: Path) -> None:
    """A migration changing ~2.8 MiB of pages: SQLite's default 2 MiB cache would spill them into the
    database file mid-transaction (a journal flush first, each time); the migration's cache holds them,
    so the database file is written once, at commit, and the journal is flushed only then."""
    db = tmp_path / "db.sqlite"
    setup = sqlite3.connect(db, isolation_level=None)
    setup.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    setup.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 700) "
                  "INSERT INTO blobs (body) SELECT zeroblob(3900) FROM n")
    setup.close()
    found = build(tmp_path, ("2024-01-01-000000-0000_touch", "UPDATE blobs SET body = randomblob(3900);\nSELECT 1;",
                             "SELECT 1;"))
    conn = sqlite.connect(db)
    runner.ensure_tracking_table(conn)
    before = db.read_bytes()
    written: list[bool] = []

    def observe(event: runner.StepEvent) -> None:
        if event.kind == "statement" and event.statement is not None and event.statement.index == 1:
            written.append(db.read_bytes() != before)  # after the UPDATE ran, before the transaction commits

    observe.statements = True  # type: ignore[attr-defined]
    runner.run_pending(conn, found, on_step=observe)
    assert written == [False]
    assert db.read_bytes() != before  # committed

    # the same change with SQLite's default cache does spill: what the test above tells apart
    (tmp_path / "db2.sqlite").write_bytes(before)
    plain = sqlite3.connect(tmp_path / "db2.sqlite", isolation_level=None)
    plain.execute("BEGIN")
    plain.execute("UPDATE blobs SET body = randomblob(3900)")
    assert (tmp_path / "db2.sqlite").read_bytes() != before
    plain.execute("ROLLBACK")
    plain.close()


@pytest.mark.parametrize("call", ["diesel_manage_updated_at", "DIESEL_Manage_Updated_At"])
def test_diesel_manage_updated_at_trigger_is_in_place_for_the_statements_after_it(tmp_path: Path, call: str) -> None:
    """diesel creates the trigger during the call: an UPDATE later in the same file fires it (whole file or not)."""
    up = ("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, updated_at TIMESTAMP);\n"
          "INSERT INTO posts (title, updated_at) VALUES ('a', '2000-01-01 00:00:00');\n"
          f"SELECT {call}('posts');\n"
          "UPDATE posts SET title = 'b';\n")
    found = build(tmp_path, ("1_posts", up, "DROP TABLE posts;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, found)
    assert conn.execute("SELECT title, updated_at != '2000-01-01 00:00:00' FROM posts").fetchall() == [("b", 1)]
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone() == (1,)
    assert conn.pending_updated_at == []


def test_a_whole_file_stops_at_its_diesel_manage_updated_at_call(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in one call, the file stops at the call (not at its end), and runs again statement by statement."""
    up = ("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, updated_at TIMESTAMP);\n"
          "SELECT diesel_manage_updated_at('posts');\n"
          + "INSERT INTO posts (title) VALUES ('x');\n" * 50)
    found = build(tmp_path, ("1_posts", up, "DROP TABLE posts;"))
    conn = sqlite.connect(tmp_path / "db.sqlite")
    inserts: list[str] = []
    conn.set_trace_callback(lambda text: inserts.append(text) if text.lstrip().startswith("INSERT INTO posts")
                            else None)
    runner.run_pending(conn, found)
    assert len(inserts) == 50  # once each, statement by statement: none ran in the abandoned whole-file call
    assert conn.execute("SELECT count(*) FROM posts").fetchone() == (50,)
    assert conn.pending_updated_at == [] and not getattr(conn.pending_updated_at, "refused", False)
