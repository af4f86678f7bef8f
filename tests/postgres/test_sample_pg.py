"""The bundled sample's PostgreSQL variant (data/sample_backend_pg) and its generated production database."""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightnb import migrations, samples
from lightnb.backends.postgres.catalog import read_schema
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.initial_setup import DOWN_SQL, UP_SQL
from lightnb.backends.postgres.initial_setup import NAME as INITIAL_SETUP
from lightnb.backends.postgres.migrate import ensure_tracking_table, run_migration, run_pending
from lightnb.errors import DatabaseError, MigrationError, ProjectError
from lightnb.models import check_models, load_schema, parse_schema
from lightnb.project import Project
from lightnb.schema.config import configurations
from lightnb.schema.postgres import print_schemas_postgres
from tests.support.postgres import PgDatabase

USERS = 200
_NAMES = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_NAMES)}"


_COPIES: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _sample_copy(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The PostgreSQL sample as `lightnb sample --backend postgres` copies it (diesel's initial setup written)."""
    _COPIES.append(samples.copy_sample_project(tmp_path_factory.mktemp("sample") / "sample_backend",
                                               backend="postgres"))


def project() -> Project:
    return Project.discover(_COPIES[-1], environ={})


def shape(url: str) -> tuple[object, ...]:
    """The schema as a comparable value: print-schema's records, plus indexes and constraints."""
    with connect(url) as conn:
        schema = read_schema(conn)
        indexes = conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                               "ORDER BY 1, 2").fetchall()
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2").fetchall()
        defaults = conn.execute(
            "SELECT table_name, column_name, column_default, is_identity FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2").fetchall()
        functions = conn.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                                 "ORDER BY 1").fetchall()
    tables = [(t.sql_name, t.primary_key, [(c.sql_name, c.sql_type, c.nullable) for c in t.columns])
              for t in schema.tables if t.sql_name != "__diesel_schema_migrations"]
    return tables, indexes, constraints, defaults, functions


def rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    with connect(url) as conn:
        return {table: [tuple(r) for r in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")]
                for table, columns in samples.TABLE_COLUMNS.items()}


@pytest.fixture(scope="module")
def production_name(pg_cluster: Cluster) -> Iterator[str]:
    """The generated production database, shared read-only by this module (clone it to change it)."""
    database = name("sample_production")
    samples.generate_postgres_database(pg_cluster.url(database), users=USERS)
    yield database
    pg_cluster.drop_database(database)


@pytest.fixture
def production(pg_cluster: Cluster, production_name: str) -> str:
    return pg_cluster.url(production_name)


@pytest.fixture
def clone(pg_cluster: Cluster, production_name: str) -> Iterator[str]:
    """A copy of production for one test (CREATE DATABASE … TEMPLATE)."""
    database = name("sample_clone")
    yield pg_cluster.create_database(database, template=production_name)
    pg_cluster.drop_database(database)


# --------------------------------------------------------------------------- the project


def test_same_tables_and_columns_as_the_sqlite_sample() -> None:
    sqlite = load_schema(samples.sample_source() / "src" / "schema.rs")
    pg = load_schema(samples.sample_source("postgres") / "src" / "schema.rs")
    assert (sqlite.backend, pg.backend) == ("sqlite", "postgres")
    assert [(t.rust_name, t.column_names, t.primary_key) for t in pg.tables] == \
        [(t.rust_name, t.column_names, t.primary_key) for t in sqlite.tables]
    assert pg.joinables == sqlite.joinables
    for table in pg.tables:
        for column in table.columns:
            other = sqlite.table(table.rust_name).column(column.rust_name)
            assert column.nullable == other.nullable
            # the team's rules: Unix seconds in BIGINT on PostgreSQL (INTEGER ends in 2038)
            expected = "Int8" if column.rust_name.endswith("_at") else {"Integer": "Int4"}.get(
                other.sql_type.inner.text, other.sql_type.inner.text)
            assert column.sql_type.inner.text == expected, (table.rust_name, column.rust_name)


def test_the_same_history_plus_diesels_initial_setup() -> None:
    sqlite = [m.name for m in migrations.discover(samples.sample_source() / "migrations")]
    pg = [m.name for m in migrations.discover(project().migrations_dir)]
    assert pg == ["00000000000000_diesel_initial_setup", *sqlite]
    for migration in migrations.discover(project().migrations_dir):
        assert migration.down_path is not None and migration.down_sql().strip(), migration.name


def test_schema_rs_is_what_print_schema_prints(pg_database: PgDatabase) -> None:
    """src/schema.rs holds exactly the bytes `diesel migration run` writes (diesel.toml's configuration)."""
    with pg_database.connect() as conn:
        run_pending(conn, project().migrations_dir)
    printed = [p for p in print_schemas_postgres(pg_database.url, configurations(
        project().print_schema, Path(project().config_dir))) if p.options.file is not None]
    assert [p.options.file for p in printed] == [Path(project().config_dir) / "src" / "schema.rs"]
    assert printed[0].text == printed[0].options.file.read_text(encoding="utf-8")


def test_team_rules_hold_in_the_database(production: str) -> None:
    with connect(production) as conn:
        columns = conn.execute("SELECT table_name, column_name, data_type, is_identity FROM "
                               "information_schema.columns WHERE table_schema = 'public' AND "
                               "table_name <> '__diesel_schema_migrations'").fetchall()
    for table, column, data_type, identity in columns:
        assert "json" not in data_type, (table, column)
        if column.endswith("_at"):
            assert data_type == "bigint", (table, column)
        if column.endswith(("_encrypted", "_hash")):
            assert data_type == "text", (table, column)
        if column == "id":
            assert identity == "YES", table


def test_every_down_restores_the_schema_before_its_up(pg_database: PgDatabase) -> None:
    found = migrations.discover(project().migrations_dir)
    with pg_database.connect() as conn:
        ensure_tracking_table(conn)
    shapes = [shape(pg_database.url)]
    with pg_database.connect() as conn:
        for migration in found:
            run_migration(conn, migration)
            shapes.append(shape(pg_database.url))
        for i in range(len(found), 0, -1):
            conn.execute(found[i - 1].down_sql().encode("utf-8"), prepare=False)
            assert shape(pg_database.url) == shapes[i - 1], f"down.sql of {found[i - 1].name}"


def test_models_and_schema_rs_agree() -> None:
    source = samples.sample_source("postgres")
    report = check_models(source / "src" / "models", source / "src" / "schema.rs")
    assert report.clean, str(report)
    assert report.count_checked("Selectable") == 4


def test_copy_sample_project_copies_the_postgresql_variant(tmp_path: Path) -> None:
    dest = samples.copy_sample_project(tmp_path / "backend", backend="postgres")
    assert (dest / "src" / "schema.rs").read_bytes() == \
        (samples.sample_source("postgres") / "src" / "schema.rs").read_bytes()
    assert parse_schema((dest / "src" / "schema.rs").read_text(encoding="utf-8")).backend == "postgres"
    # diesel's initial setup: written into the copy from the one place that holds diesel's bytes
    setup = dest / "migrations" / INITIAL_SETUP
    assert (setup / "up.sql").read_text(encoding="utf-8") == UP_SQL
    assert (setup / "down.sql").read_text(encoding="utf-8") == DOWN_SQL
    assert not (samples.sample_source("postgres") / "migrations" / INITIAL_SETUP).exists()
    with pytest.raises(ValueError, match="backend must be one of sqlite, postgres"):
        samples.sample_source("mysql")


# --------------------------------------------------------------------------- the generated database


def test_rows_are_the_sqlite_samples_rows(production: str, tmp_path: Path) -> None:
    lite = sqlite3.connect(samples.generate_database(tmp_path / "production.db", users=USERS))
    try:
        for table, columns in samples.TABLE_COLUMNS.items():
            expected = [tuple(bool(v) if c.startswith("notify_") else v for v, c in zip(row, columns))
                        for row in lite.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")]
            assert rows(production)[table] == expected, table
            assert expected, table
    finally:
        lite.close()


def test_a_production_database_continues_like_a_real_one(clone: str) -> None:
    with connect(clone) as conn:
        versions = conn.execute("SELECT version, run_on FROM __diesel_schema_migrations ORDER BY version").fetchall()
        assert len(versions) == 9
        assert [str(run_on)[:10] for _, run_on in versions[:2]] == ["2025-01-10", "2025-01-10"]
        new_id = conn.execute("INSERT INTO users (email, display_name, password_hash, created_at, updated_at) "
                              "VALUES ('new@example.com', 'New', 'h', 1, 1) RETURNING id").fetchone()
        assert new_id == (USERS + 1,)  # identity sequences continue after the loaded keys
        conn.execute("DELETE FROM users WHERE id = 1")  # ON DELETE CASCADE
        assert conn.execute("SELECT count(*) FROM message_log WHERE user_id = 1").fetchone() == (0,)


def test_the_exercise_applies_and_its_down_restores(clone: str) -> None:
    before = shape(clone)
    with connect(clone) as conn:
        conn.execute(samples.EXERCISE.up_sql)
        values = conn.execute(f"SELECT DISTINCT {samples.EXERCISE.column} FROM {samples.EXERCISE.table}").fetchall()
        assert values == [("system",)]
        conn.execute(samples.EXERCISE.down_sql)
    assert shape(clone) == before


def test_an_existing_database_is_refused_and_left_alone(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TABLE mine (note TEXT); INSERT INTO mine VALUES ('keep me');")
    with pytest.raises(DatabaseError, match=f"Database `{pg_database.name}` already exists.*drop it yourself"):
        samples.generate_postgres_database(pg_database.url, users=5)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT note FROM mine").fetchall() == [("keep me",)]
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (1,)


def databases(cluster: Cluster) -> set[str]:
    with connect(cluster.url()) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def test_a_failure_leaves_no_database_behind(pg_cluster: Cluster, tmp_path: Path) -> None:
    before = databases(pg_cluster)
    broken = samples.copy_sample_project(tmp_path / "broken", backend="postgres")
    last = sorted((broken / "migrations").iterdir())[-1]
    (last / "up.sql").write_text("ALTER TABLE message_log ALTER COLUMN nope SET NOT NULL;\n", encoding="utf-8")
    with pytest.raises(MigrationError, match="make_message_log_channel_not_null"):
        samples.generate_postgres_database(pg_cluster.url(name("broken")), users=5, project_dir=broken)
    other = samples.copy_sample_project(tmp_path / "other", backend="postgres")
    for folder in sorted((other / "migrations").iterdir())[2:]:  # users only: no table for the other rows
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    with pytest.raises(ProjectError, match="do not build the sample's schema"):
        samples.generate_postgres_database(pg_cluster.url(name("other")), users=5, project_dir=other)
    assert databases(pg_cluster) == before


# The PostgreSQL sample's Rust is the SQLite sample's, written for PostgreSQL: the connection and backend
# types are PostgreSQL's and Unix seconds are i64 (BIGINT) where SQLite has i32 (INTEGER); nothing else
# may differ. lib.rs (how a connection is made) and schema.rs (print-schema's output) are each backend's own.
_BACKEND_NAMES = (("SqliteConnection", "PgConnection"), ("diesel::sqlite::Sqlite", "diesel::pg::Pg"),
                  ("diesel::sqlite::", "diesel::pg::"))
_OWN_FILES = {"lib.rs", "schema.rs"}


def _for_postgres(sqlite_line: str) -> str:
    for sqlite_name, pg_name in _BACKEND_NAMES:
        sqlite_line = sqlite_line.replace(sqlite_name, pg_name)
    return sqlite_line


def _same_but_unix_seconds(sqlite_line: str, pg_line: str) -> bool:
    """Tell whether two lines differ only where an i32 of SQLite's is an i64 of PostgreSQL's."""
    ours, theirs = re.split(r"\b(i32|i64)\b", _for_postgres(sqlite_line)), re.split(r"\b(i32|i64)\b", pg_line)
    return len(ours) == len(theirs) and all(
        a == b or (i % 2 == 1 and (a, b) == ("i32", "i64")) for i, (a, b) in enumerate(zip(ours, theirs)))


def test_the_postgresql_samples_rust_is_the_sqlite_samples_written_for_postgresql() -> None:
    sqlite_src, pg_src = samples.sample_source() / "src", samples.sample_source("postgres") / "src"
    pg_files = sorted(p.relative_to(pg_src).as_posix() for p in pg_src.rglob("*.rs"))
    assert pg_files == sorted(p.relative_to(sqlite_src).as_posix() for p in sqlite_src.rglob("*.rs"))
    compared = 0
    for name in pg_files:
        if Path(name).name in _OWN_FILES:
            continue
        ours = (sqlite_src / name).read_text(encoding="utf-8").splitlines()
        theirs = (pg_src / name).read_text(encoding="utf-8").splitlines()
        assert len(ours) == len(theirs), name
        for number, (sqlite_line, pg_line) in enumerate(zip(ours, theirs), start=1):
            assert _same_but_unix_seconds(sqlite_line, pg_line), f"{name}:{number}: {sqlite_line!r} / {pg_line!r}"
        compared += 1
    assert compared == 9  # main.rs, models/ and repositories/


def test_a_drifted_postgresql_line_is_caught() -> None:
    assert _same_but_unix_seconds("    conn: &mut SqliteConnection,", "    conn: &mut PgConnection,")
    assert _same_but_unix_seconds("    pub sent_at: i32, // unix seconds", "    pub sent_at: i64, // unix seconds")
    assert not _same_but_unix_seconds("    pub sent_at: i32,", "    pub sent_at: String,")
    assert not _same_but_unix_seconds("    pub id: i32,", "    pub user_id: i32,")
    assert not _same_but_unix_seconds("    now: i64,", "    now: i32,")  # only SQLite's i32 may widen
    assert _same_but_unix_seconds("fn f(id: i32, now: i32)", "fn f(id: i32, now: i64)")
    assert not _same_but_unix_seconds("fn f(id: i32)", "fn f(id: i32, now: i64)")
