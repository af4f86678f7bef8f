"""``lightnb migration|setup|database`` on a ``postgres://`` URL: diesel's verbs, output and rows on a real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.initial_setup import NAME as INITIAL_SETUP
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

CUSTOMERS = "2017-08-31-210424_create_customers"
CONTRACTS = "2017-09-03-210424_create_contracts"
BILLS = "2017-09-12-210424_create_bills"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _tables(url: str) -> list[str]:
    from lightnb.backends.postgres.connect import connect
    with connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]


def _versions(url: str) -> list[str]:
    from lightnb.backends.postgres.connect import connect
    with connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM __diesel_schema_migrations ORDER BY 1")]


def _exists(cluster: Cluster, name: str) -> bool:
    from lightnb.backends.postgres.connect import connect
    with connect(cluster.url("postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    root = (ProjectBuilder(tmp_path / "app")
            .migration(CUSTOMERS, "CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL);",
                       "DROP TABLE customers;")
            .migration(CONTRACTS, "CREATE TABLE contracts (id SERIAL PRIMARY KEY, customer_id INTEGER NOT NULL "
                                  "REFERENCES customers (id));",
                       "DROP TABLE contracts;")
            .migration(BILLS, "CREATE TABLE bills (id BIGSERIAL PRIMARY KEY, amount NUMERIC);",
                       "DROP TABLE bills;")
            .build())
    monkeypatch.chdir(root)
    return root


def test_run_list_pending_revert_redo_print_diesels_lines_and_rows(capsys, project: Path,
                                                                    pg_database: PgDatabase) -> None:
    db = f"--database-url={pg_database.url}"
    assert cli(capsys, "migration", "pending", db) == (0, "true\n", "")
    assert cli(capsys, "migration", "list", db) == (
        0, f"Migrations:\n  [ ] {CUSTOMERS}\n  [ ] {CONTRACTS}\n  [ ] {BILLS}\n", "")
    assert _tables(pg_database.url) == []  # a listing writes nothing, not even the tracking table

    assert cli(capsys, "migration", "run", db) == (
        0, f"Running migration {CUSTOMERS}\nRunning migration {CONTRACTS}\nRunning migration {BILLS}\n", "")
    assert _versions(pg_database.url) == ["20170831210424", "20170903210424", "20170912210424"]
    assert _tables(pg_database.url) == ["__diesel_schema_migrations", "bills", "contracts", "customers"]
    schema = (project / "src" / "schema.rs").read_text(encoding="utf-8")
    assert "    bills (id) {\n        id -> Int8,\n        amount -> Nullable<Numeric>,\n    }" in schema
    assert "diesel::joinable!(contracts -> customers (customer_id));" in schema
    assert cli(capsys, "migration", "pending", db) == (0, "false\n", "")

    assert cli(capsys, "migration", "redo", "-n", "2", db) == (
        0, f"Rolling back migration {BILLS}\nRolling back migration {CONTRACTS}\n"
           f"Running migration {CONTRACTS}\nRunning migration {BILLS}\n", "")
    assert cli(capsys, "migration", "revert", db) == (0, f"Rolling back migration {BILLS}\n", "")
    assert _versions(pg_database.url) == ["20170831210424", "20170903210424"]
    assert "bills" not in (project / "src" / "schema.rs").read_text(encoding="utf-8")
    assert cli(capsys, "migration", "list", db) == (
        0, f"Migrations:\n  [X] {CUSTOMERS}\n  [X] {CONTRACTS}\n  [ ] {BILLS}\n", "")
    assert cli(capsys, "migration", "revert", "--all", db) == (
        0, f"Rolling back migration {CONTRACTS}\nRolling back migration {CUSTOMERS}\n", "")
    assert _tables(pg_database.url) == ["__diesel_schema_migrations"]


def test_database_url_from_env_and_dot_env_select_postgresql(capsys, project: Path, pg_database: PgDatabase,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".env").write_text(f"DATABASE_URL={pg_database.url}\n", encoding="utf-8")
    assert cli(capsys, "migration", "run", "--no-schema")[0] == 0
    assert _versions(pg_database.url) == ["20170831210424", "20170903210424", "20170912210424"]
    (project / ".env").unlink()
    monkeypatch.setenv("DATABASE_URL", pg_database.url.replace("postgresql://", "postgres://"))
    assert cli(capsys, "migration", "revert", "--no-schema") == (0, f"Rolling back migration {BILLS}\n", "")
    assert not (project / "src" / "schema.rs").exists()


def test_diesel_and_lightnb_share_the_tracking_rows(capsys, project: Path, pg_database: PgDatabase) -> None:
    # rows written by diesel_cli (its table, its DDL, its versions) are read and continued
    pg_database.execute("CREATE TABLE __diesel_schema_migrations (\n       version VARCHAR(50) PRIMARY KEY NOT NULL,\n"
                        "       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
                        "CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL);\n"
                        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20170831210424');")
    db = f"--database-url={pg_database.url}"
    assert cli(capsys, "migration", "run", db) == (
        0, f"Running migration {CONTRACTS}\nRunning migration {BILLS}\n", "")
    with pg_database.connect() as conn:
        columns = conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = '__diesel_schema_migrations' ORDER BY ordinal_position").fetchall()
    assert columns == [("version", "character varying"), ("run_on", "timestamp without time zone")]


def test_a_failing_migration_leaves_nothing_and_says_where(capsys, project: Path, pg_database: PgDatabase) -> None:
    broken = project / "migrations" / "2017-09-20-000000_broken"
    broken.mkdir()
    (broken / "up.sql").write_text("CREATE TABLE half (id INTEGER);\nINSERT INTO half VALUES (1);\n"
                                   "INSERT INTO nowhere VALUES (1);\n", encoding="utf-8")
    (broken / "down.sql").write_text("DROP TABLE half;\n", encoding="utf-8")
    schema = project / "src" / "schema.rs"
    code, out, err = cli(capsys, "migration", "run", f"--database-url={pg_database.url}")
    assert code == 1
    assert out.endswith("Running migration 2017-09-20-000000_broken\n")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("Failed to run migrations: Failed to run 2017-09-20-000000_broken with: "
                          'relation "nowhere" does not exist')
    assert "2017-09-20-000000_broken/up.sql line 3" in err and "nothing of this migration was applied" in err
    assert "half" not in _tables(pg_database.url)  # its first statements were rolled back too
    assert "20170920000000" not in _versions(pg_database.url)
    assert len(_versions(pg_database.url)) == 3  # the migrations before it stay applied, as in diesel
    assert not schema.exists()  # a failed run regenerates nothing


def test_run_in_transaction_false_runs_concurrent_index_and_redo_has_no_outer_transaction(
        capsys, project: Path, pg_database: PgDatabase) -> None:
    folder = project / "migrations" / "2017-09-30-000000_index_bills"
    folder.mkdir()
    (folder / "up.sql").write_text("CREATE INDEX CONCURRENTLY bills_amount ON bills (amount);\n", encoding="utf-8")
    (folder / "down.sql").write_text("DROP INDEX CONCURRENTLY bills_amount;\n", encoding="utf-8")
    (folder / "metadata.toml").write_text("run_in_transaction = false\n", encoding="utf-8")
    db = f"--database-url={pg_database.url}"
    assert cli(capsys, "migration", "run", "--no-schema", db)[0] == 0
    assert cli(capsys, "migration", "redo", "--no-schema", db) == (
        0, "Rolling back migration 2017-09-30-000000_index_bills\nRunning migration 2017-09-30-000000_index_bills\n",
        "")
    with pg_database.connect() as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'bills_amount'::regclass"
                            ).fetchone() == (True,)


def test_redo_is_atomic_when_a_rerun_fails(capsys, project: Path, pg_database: PgDatabase) -> None:
    db = f"--database-url={pg_database.url}"
    assert cli(capsys, "migration", "run", "--no-schema", db)[0] == 0
    # down.sql keeps a table the up.sql then creates again: the re-run fails, the whole redo is undone
    (project / "migrations" / BILLS / "down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    code, out, err = cli(capsys, "migration", "redo", "--no-schema", db)
    assert code == 1 and 'relation "bills" already exists' in err and err.count("\n") == 1
    assert _versions(pg_database.url) == ["20170831210424", "20170903210424", "20170912210424"]


def test_locked_schema_fails_without_writing_the_file(capsys, project: Path, pg_database: PgDatabase) -> None:
    db = f"--database-url={pg_database.url}"
    schema = project / "src" / "schema.rs"
    schema.parent.mkdir()
    schema.write_text("// hand-written\n", encoding="utf-8")
    code, out, err = cli(capsys, "migration", "run", "--locked-schema", db)
    assert code == 1
    assert "Command would result in changes to `" in err and "schema.rs`" in err
    assert "+diesel::table! {" in out  # the diff on stdout, as diesel prints it
    assert schema.read_text(encoding="utf-8") == "// hand-written\n"


def test_setup_creates_the_database_writes_diesels_migration_and_runs(capsys, tmp_path: Path,
                                                                      pg_cluster: Cluster,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "Cargo.toml").write_text("[package]\nname = \"fresh\"\n", encoding="utf-8")
    monkeypatch.chdir(root)
    name = f"setup_{os.getpid()}"
    url = pg_cluster.url(name)
    try:
        code, out, err = cli(capsys, "setup", f"--database-url={url}")
        assert (code, err) == (0, "")
        assert out == f"Creating migrations directory at: {root / 'migrations'}\nCreating database: {name}\n"
        assert (root / "migrations" / INITIAL_SETUP / "up.sql").is_file()
        assert _versions(url) == ["00000000000000"]
        with pg_cluster_connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'diesel_%'").fetchone() == (2,)
        # a second setup finds everything there: nothing printed, nothing run
        assert cli(capsys, "setup", f"--database-url={url}") == (0, "", "")
        # database reset: drop, create, run every migration, regenerate schema.rs
        assert cli(capsys, "database", "reset", f"--database-url={url}") == (
            0, f"Dropping database: {name}\nCreating database: {name}\n", "")
        header = "// @generated automatically by Diesel CLI.\n"
        assert (root / "src" / "schema.rs").read_text(encoding="utf-8") == header
        assert cli(capsys, "database", "drop", f"--database-url={url}") == (0, f"Dropping database: {name}\n", "")
        assert not _exists(pg_cluster, name)
        assert cli(capsys, "database", "drop", f"--database-url={url}") == (0, "", "")  # nothing to drop
        # database setup --no-default-migration on a new database: created, migrated, no initial folder rewritten
        (root / "migrations" / INITIAL_SETUP / "up.sql").unlink()
        (root / "migrations" / INITIAL_SETUP / "down.sql").unlink()
        (root / "migrations" / INITIAL_SETUP).rmdir()
        assert cli(capsys, "database", "setup", "--no-default-migration", f"--database-url={url}") == (
            0, f"Creating database: {name}\n", "")
        assert not (root / "migrations" / INITIAL_SETUP).exists()
        assert _versions(url) == []
    finally:
        pg_cluster.drop_database(name)


def pg_cluster_connect(url: str):
    from lightnb.backends.postgres.connect import connect
    return connect(url)


def test_the_production_database_is_never_written(capsys, project: Path, pg_database: PgDatabase) -> None:
    (project / "lightnb.toml").write_text(f'production = "{pg_database.url}"\n', encoding="utf-8")
    for verb in (("migration", "run"), ("migration", "revert"), ("database", "reset"), ("database", "drop")):
        code, out, err = cli(capsys, *verb, f"--database-url={pg_database.url}")
        assert code == 1 and err.count("\n") == 1 and "production database" in err, (verb, err)
    assert _tables(pg_database.url) == []
    assert cli(capsys, "migration", "list", f"--database-url={pg_database.url}")[0] == 0  # reading is fine


def test_redacted_label_names_the_database_without_password() -> None:
    url = "postgres://ada:s3cr%40t@db.example:5433/app"
    assert "s3cr" not in pgurl.redact(url)


def test_one_lightnb_migrates_a_database_at_a_time(capsys, project: Path, pg_database: PgDatabase) -> None:
    with pg_database.connect() as holder:  # another lightnb, mid-migration
        assert holder.execute("SELECT pg_try_advisory_lock(hashtext('lightnb: migrating'))").fetchone() == (True,)
        code, out, err = cli(capsys, "migration", "run", f"--database-url={pg_database.url}")
        assert (code, out) == (1, "")
        assert err.startswith(f"Another lightnb is migrating database `{pg_database.name}`") and err.count("\n") == 1
        assert _tables(pg_database.url) == []
    assert cli(capsys, "migration", "run", "--no-schema", f"--database-url={pg_database.url}")[0] == 0


def test_a_lock_released_a_moment_later_is_waited_for(capsys, project: Path, pg_database: PgDatabase) -> None:
    """The server frees a session's locks only after its client has gone: the next command waits a moment."""
    import threading
    holder = pg_database.connect()
    assert holder.execute("SELECT pg_try_advisory_lock(hashtext('lightnb: migrating'))").fetchone() == (True,)
    releaser = threading.Timer(0.4, holder.close)
    releaser.start()
    try:
        code, out, err = cli(capsys, "migration", "run", "--no-schema", f"--database-url={pg_database.url}")
    finally:
        releaser.join()
    assert code == 0, err
    assert _tables(pg_database.url) != []
