"""Locks and rewrites measured per statement on a clone: pg_locks from a second connection, relfilenode."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.backends.postgres.clone import rehearsal_clone
from lightnb.backends.postgres.locks import (
    UpRun,
    blocks,
    derived_mode,
    human_count,
    run_measured,
    sql_mode,
)
from lightnb.backends.postgres.proof import lock_findings
from lightnb.errors import SqlError
from lightnb.migrations import discover
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase


def _run(db: PgDatabase, tmp_path: Path, up: str, *, metadata: str | None = None) -> UpRun:
    root = ProjectBuilder(tmp_path).migration("2024-01-01-000000_change", up, "SELECT 1;", metadata=metadata).build()
    with rehearsal_clone(db.cluster, db.name) as clone:
        return run_measured(clone, discover(root / "migrations")[0])


@pytest.fixture
def users(pg_database: PgDatabase) -> PgDatabase:
    pg_database.execute("CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL); "
                        "CREATE TABLE other (id int PRIMARY KEY); "
                        "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 5000) g")
    return pg_database


def _effects(run: UpRun) -> list[list[tuple[str, str, bool, int | None]]]:
    return [[(lock.table, lock.mode, lock.rewritten, lock.rows) for lock in s.locks] for s in run.statements]


def test_each_statement_gets_the_lock_pg_locks_shows_and_rewrites_are_seen(users: PgDatabase, tmp_path: Path) -> None:
    run = _run(users, tmp_path, "SET lock_timeout = '5s';\n"
                                "ALTER TABLE users ADD COLUMN note text;\n"
                                "ALTER TABLE users ALTER COLUMN id TYPE bigint;\n"
                                "CREATE INDEX users_email ON users (email);\n"
                                "SELECT count(*) FROM other;\n"
                                "CREATE TABLE fresh (id int PRIMARY KEY);\n")
    assert [s.line for s in run.statements] == [1, 2, 3, 4, 5, 6]
    assert _effects(run) == [
        [],
        [("users", "AccessExclusiveLock", False, 5000)],
        [("users", "AccessExclusiveLock", True, 5000)],  # lock already held: the rewrite is what is new
        [],  # SHARE is weaker than the ACCESS EXCLUSIVE this transaction already holds
        [("other", "AccessShareLock", False, None)],
        [],  # a table the migration creates is nobody else's to wait for
    ]
    assert run.in_transaction and run.seconds >= sum(s.seconds for s in run.statements)
    assert all(s.held_seconds >= s.seconds for s in run.statements)
    lines = run.statements[2].lines()
    assert len(lines) == 1 and lines[0].startswith("rewrites users: 5.0k rows, ")
    assert lines[0].endswith(" s under ACCESS EXCLUSIVE — every read and write of users waits")
    assert run.statements[4].lines() == []  # plain reads are not worth a line


def test_an_index_alone_takes_share_and_a_constant_default_does_not_rewrite(users: PgDatabase,
                                                                             tmp_path: Path) -> None:
    run = _run(users, tmp_path, "CREATE INDEX users_email ON users (email);")
    assert _effects(run) == [[("users", "ShareLock", False, 5000)]]
    assert "every write of users waits (reads go on)" in run.statements[0].lines()[0]
    constant = _run(users, tmp_path / "b", "ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;")
    assert _effects(constant) == [[("users", "AccessExclusiveLock", False, 5000)]]
    volatile = _run(users, tmp_path / "c", "ALTER TABLE users ADD COLUMN r float8 DEFAULT random();")
    assert _effects(volatile) == [[("users", "AccessExclusiveLock", True, 5000)]]


def test_lock_findings_warn_only_for_a_rewrite_of_a_table_with_rows(users: PgDatabase, tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("1_x", "SELECT 1;", "SELECT 1;").build()
    migration = discover(root / "migrations")[0]
    rewrite = _run(users, tmp_path / "a", "ALTER TABLE users ALTER COLUMN email TYPE varchar(100);")
    found = lock_findings(migration, rewrite)
    assert [(f.rule, f.severity, f.line) for f in found] == [("pg-lock", "warning", 1)]
    plain = _run(users, tmp_path / "b", "ALTER TABLE users ADD COLUMN x int;")
    assert [(f.rule, f.severity) for f in lock_findings(migration, plain)] == [("pg-lock", "info")]


def test_a_failing_statement_rolls_everything_back(users: PgDatabase, tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_half", "ALTER TABLE users ADD COLUMN x int;\nUPDATE users SET nope = 1;", "SELECT 1;")
            .build())
    with rehearsal_clone(users.cluster, users.name) as clone:
        with pytest.raises(SqlError) as caught:
            run_measured(clone, discover(root / "migrations")[0])
        with clone.connect() as conn:
            assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                                "AND column_name = 'x'").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM __diesel_schema_migrations").fetchone() == (0,)
    assert caught.value.line == 2 and "1_half/up.sql line 2" in str(caught.value)


def test_outside_a_transaction_the_lock_is_derived_and_said_so(users: PgDatabase, tmp_path: Path) -> None:
    run = _run(users, tmp_path, "CREATE INDEX CONCURRENTLY users_email ON users (email);",
               metadata="run_in_transaction = false\n")
    assert not run.in_transaction
    assert [(lock.table, lock.mode, lock.measured) for lock in run.statements[0].locks] == [
        ("users", "ShareUpdateExclusiveLock", False)]
    assert "(derived from the statement, not sampled)" in run.statements[0].lines()[0]


def test_words() -> None:
    assert sql_mode("AccessExclusiveLock") == "ACCESS EXCLUSIVE"
    assert sql_mode("ShareUpdateExclusiveLock") == "SHARE UPDATE EXCLUSIVE"
    assert blocks("AccessExclusiveLock", "users") == "every read and write of users waits"
    assert [human_count(n) for n in (999, 12_345, 1_000_000, 2_500_000_000)] == ["999", "12.3k", "1.0M", "2.5G"]
    assert derived_mode("CREATE INDEX i ON app.t (x)") == ("ShareLock", "app.t")
    assert derived_mode("UPDATE t SET x = 1") == ("RowExclusiveLock", "t")
    assert derived_mode("SELEC broken") is None
