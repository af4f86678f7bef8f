"""diesel's setup and migration semantics on PostgreSQL: tracking table, one transaction per migration."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.initial_setup import DOWN_SQL, NAME, UP_SQL, write_initial_setup
from lightnb.backends.postgres.migrate import applied_versions, run_pending, setup
from lightnb.errors import MigrationError, SqlError
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

# SHA-256 of diesel_cli 2.3.12's src/setup_sql/postgres/initial_setup/{up,down}.sql
DIESEL_UP_SHA256 = "bf8db785c8ba37ecf0f53888cc54e39886c3de06327a7ae33fd7670e69c2484b"
DIESEL_DOWN_SHA256 = "c431d45484ad90f730b3e7147c41ba4666d102d7527e587be5a14491ea610f20"


def _tables(db: PgDatabase) -> list[str]:
    with db.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]


def test_initial_setup_files_are_diesels_bytes_and_never_overwritten(tmp_path: Path) -> None:
    assert hashlib.sha256(UP_SQL.encode()).hexdigest() == DIESEL_UP_SHA256
    assert hashlib.sha256(DOWN_SQL.encode()).hexdigest() == DIESEL_DOWN_SHA256
    folder = write_initial_setup(tmp_path / "migrations")
    assert folder == tmp_path / "migrations" / NAME
    assert (folder / "up.sql").read_bytes() == UP_SQL.encode()
    assert (folder / "down.sql").read_bytes() == DOWN_SQL.encode()
    (folder / "up.sql").write_text("-- edited by the team\n", encoding="utf-8")
    assert write_initial_setup(tmp_path / "migrations") is None
    assert (folder / "up.sql").read_text(encoding="utf-8") == "-- edited by the team\n"
    assert sorted(p.name for p in folder.iterdir()) == ["down.sql", "up.sql"]  # no temporary file left


def test_setup_creates_the_database_runs_the_initial_migration_and_the_helpers_work(
        pg_cluster: Cluster, tmp_path: Path) -> None:
    url = pg_cluster.url("made_by_setup")
    pg_cluster.drop_database("made_by_setup")
    try:
        result = setup(url, tmp_path / "migrations")
        assert result.messages == ["Creating database: made_by_setup", f"Running migration {NAME}"]
        again = setup(url, tmp_path / "migrations")
        assert again.messages == [] and again.applied == []
        from lightnb.backends.postgres.connect import connect
        with connect(url) as conn:
            assert applied_versions(conn) == ["00000000000000"]
            conn.execute("CREATE TABLE posts (id int PRIMARY KEY, title text, updated_at timestamp NOT NULL "
                         "DEFAULT '2000-01-01'); SELECT diesel_manage_updated_at('posts'); "
                         "INSERT INTO posts (id, title) VALUES (1, 'a'); UPDATE posts SET title = 'b'")
            assert conn.execute("SELECT updated_at > '2000-01-01' FROM posts").fetchone() == (True,)
            ddl = conn.execute("SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
                               "FROM information_schema.columns WHERE table_name = '__diesel_schema_migrations' "
                               "ORDER BY ordinal_position").fetchall()
        assert ddl == [("version", "character varying", 50, "NO", None),
                       ("run_on", "timestamp without time zone", None, "NO", "CURRENT_TIMESTAMP")]
    finally:
        pg_cluster.drop_database("made_by_setup")


def test_each_migration_is_one_transaction_and_a_failure_leaves_nothing(pg_database: PgDatabase,
                                                                        tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("2024-01-01-000000_users", "CREATE TABLE users (id SERIAL PRIMARY KEY);")
            .migration("2024-01-02-000000_broken",
                       "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT * FROM nowhere;\n")
            .build())
    with pg_database.connect() as conn:
        with pytest.raises(SqlError) as caught:
            run_pending(conn, root / "migrations")
        assert applied_versions(conn) == ["20240101000000"]
    assert _tables(pg_database) == ["__diesel_schema_migrations", "users"]  # no `half`: rolled back
    error = caught.value
    assert error.line == 3 and error.statement == "SELECT * FROM nowhere;"
    assert str(error).startswith("Failed to run 2024-01-02-000000_broken with: relation \"nowhere\" does not exist")
    assert "up.sql line 3" in str(error) and "\n" not in str(error)


def test_run_in_transaction_false_allows_concurrent_index(pg_database: PgDatabase, tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_table", "CREATE TABLE t (x int);")
            .migration("2_index", "CREATE INDEX CONCURRENTLY t_x ON t (x);", metadata="run_in_transaction = false\n")
            .build())
    with pg_database.connect() as conn:
        assert [m.version for m in run_pending(conn, root / "migrations")] == ["1", "2"]
        assert conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 't'").fetchall() == [("t_x",)]


def test_an_empty_up_sql_is_diesels_error(pg_database: PgDatabase, tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("12345_empty_migration", "").build()
    with pg_database.connect() as conn, pytest.raises(MigrationError, match="Attempted to run an empty migration"):
        run_pending(conn, root / "migrations")
