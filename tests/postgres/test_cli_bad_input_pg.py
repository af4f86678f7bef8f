"""Bad input on PostgreSQL through the CLI: one line saying what to do, no traceback, never a password."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import connect
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

SECRET = "s3cr3t-Hunter"
VERBS = (("migration", "run"), ("migration", "list"), ("migration", "pending"), ("migration", "revert"),
         ("print-schema",), ("database", "setup"))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code: int, out: str, err: str) -> str:
    assert code == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert SECRET not in out + err and quote(SECRET) not in out + err
    return err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2020-01-05-000000_create_notes", "CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT);",
                       "DROP TABLE notes;")
            .build())
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: "-".join(v))
def test_a_server_that_is_down(capsys, project: Path, tmp_path: Path, verb: tuple[str, ...]) -> None:
    url = f"postgres://ada:{SECRET}@/app?host={tmp_path}"
    err = one_line(*cli(capsys, *verb, f"--database-url={url}"))
    assert f"No PostgreSQL server is running on socket folder {tmp_path} (port 5432); start it" in err


def test_a_missing_database_says_how_to_create_it(capsys, project: Path, pg_cluster: Cluster) -> None:
    url = pg_cluster.url(f"missing_{os.getpid()}")
    for verb in (("migration", "run"), ("migration", "list"), ("print-schema",)):
        err = one_line(*cli(capsys, *verb, f"--database-url={url}"))
        assert f"Database `missing_{os.getpid()}` does not exist" in err and "`lightnb database setup`" in err


def test_wrong_credentials_name_the_user_never_the_password(capsys, project: Path, pg_database: PgDatabase,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = pg_database.cluster
    hba = cluster.data_dir / "pg_hba.conf"
    rule = "local all cli_pw_user scram-sha-256\n"
    if rule not in hba.read_text(encoding="utf-8"):
        hba.write_text(rule + hba.read_text(encoding="utf-8"), encoding="utf-8")
    with pg_database.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS cli_pw_user")
        conn.execute(f"CREATE ROLE cli_pw_user LOGIN PASSWORD '{SECRET}x'")
        conn.execute("SELECT pg_reload_conf()")
    try:
        url = pg_database.url.replace("postgres@", f"cli_pw_user:{SECRET}@")
        monkeypatch.setenv("DATABASE_URL", url)  # from the environment too
        for verb in (("migration", "run"), ("migration", "list"), ("print-schema",), ("database", "setup")):
            err = one_line(*cli(capsys, *verb))
            assert "rejected the password of user `cli_pw_user`; fix the password" in err, err
    finally:
        with pg_database.connect() as conn:
            conn.execute("DROP ROLE cli_pw_user")


@pytest.mark.parametrize("url, expected", [
    (f"postgres://ada:{SECRET}/x@db.example/app", "has a `/` in its user or password; percent-encode it"),
    (f"postgres://ada:{SECRET}@x@db.example/app", "has a `@` in its user or password; percent-encode it"),
    (f"postgres://ada:{SECRET} two@db.example:notaport/app", "Invalid PostgreSQL URL"),
    (f"postgres://ada@/app?password={SECRET}&host=/no where", "Invalid PostgreSQL URL"),
    (f"mysql://ada:{SECRET}@db.example/app", "Database URL scheme `mysql://` is not supported"),
], ids=["slash", "at", "space", "password-parameter", "mysql"])
def test_a_url_with_odd_characters(capsys, project: Path, url: str, expected: str) -> None:
    for verb in (("migration", "run"), ("setup",), ("print-schema",)):
        err = one_line(*cli(capsys, *verb, f"--database-url={url}"))
        assert expected in err, err


def test_odd_characters_percent_encoded_work(capsys, project: Path, pg_cluster: Cluster) -> None:
    name = f"odd db \"name\" {os.getpid()}"
    url = pg_cluster.url(name)  # the name percent-encoded in the URL
    try:
        code, out, err = cli(capsys, "database", "setup", "--no-default-migration", f"--database-url={url}")
        assert (code, err) == (0, ""), err
        assert out == f"Creating database: {name}\nRunning migration 2020-01-05-000000_create_notes\n"
        with connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    finally:
        pg_cluster.drop_database(name)


def test_broken_sql_applies_nothing_on_run_nor_on_revert(capsys, project: Path, pg_database: PgDatabase) -> None:
    db = f"--database-url={pg_database.url}"
    broken = project / "migrations" / "2020-02-01-000000_broken"
    broken.mkdir()
    (broken / "up.sql").write_text("ALTER TABLE notes ADD COLUMN title TEXT;\nCREATE TABLE (;\n", encoding="utf-8")
    err = one_line(*cli(capsys, "migration", "run", "--no-schema", db))
    assert "Failed to run 2020-02-01-000000_broken with: syntax error at or near" in err
    assert "2020-02-01-000000_broken/up.sql line 2" in err
    with pg_database.connect() as conn:
        columns = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = 'notes' ORDER BY ordinal_position")]
    assert columns == ["id", "body"]  # the ALTER before the error was rolled back with it
    broken.joinpath("up.sql").unlink()
    broken.rmdir()
    # a down.sql that fails halfway: the table and the version row stay
    (project / "migrations" / "2020-01-05-000000_create_notes" / "down.sql").write_text(
        "DROP TABLE notes;\nSELECT * FROM nothing_here;\n", encoding="utf-8")
    err = one_line(*cli(capsys, "migration", "revert", "--no-schema", db))
    assert "2020-01-05-000000_create_notes/down.sql line 2" in err
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        assert conn.execute("SELECT version FROM __diesel_schema_migrations").fetchall() == [("20200105000000",)]


@pytest.mark.parametrize("verb", [("migration", "generate", "x", "--diff-schema")], ids=lambda v: v[0])
def test_verbs_not_yet_on_postgresql_say_so_in_one_line(capsys, project: Path, tmp_path: Path,
                                                        verb: tuple[str, ...]) -> None:
    url = f"postgres://ada:{SECRET}@/app?host={tmp_path}"
    err = one_line(*cli(capsys, *verb, f"--database-url={url}"))
    assert "SQLite" in err and "empty database" not in err


@pytest.mark.parametrize("verb", [("check", "--no-tests"), ("snapshot",), ("lint",)], ids=lambda v: v[0])
def test_data_aware_verbs_on_an_unreachable_server_say_so_in_one_line(capsys, project: Path, tmp_path: Path,
                                                                      verb: tuple[str, ...]) -> None:
    url = f"postgres://ada:{SECRET}@/app?host={tmp_path}"
    err = one_line(*cli(capsys, *verb, f"--database-url={url}"))
    assert "No PostgreSQL server is running" in err and SECRET not in err
