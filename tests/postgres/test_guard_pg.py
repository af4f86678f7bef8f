"""Migration SQL that reaches outside the database is refused in one line, on a database URL and in check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightnb.backends.postgres.guard import first_escape
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

# each writes the marker file, runs a program that would, or reaches outside the database
HOSTILE = {
    "copy-to-file": "CREATE TABLE kept (id int);\nCOPY (SELECT 1) TO '{marker}';",
    "copy-from-program": "CREATE TABLE kept (id int);\nCOPY kept FROM PROGRAM 'touch {marker}';",
    "copy-to-program": "COPY (SELECT 1) TO PROGRAM 'touch {marker}';",
    "lo-export": "SELECT lo_export(lo_from_bytea(0, 'x'), '{marker}');",
    "lo-import": "SELECT lo_import('/etc/hostname');",
    "read-file": "CREATE TABLE kept AS SELECT pg_read_file('/etc/hostname') AS secret;",
    "ls-dir": "SELECT pg_ls_dir('.');",
    "alter-system": "ALTER SYSTEM SET work_mem = '1MB';",
    "dblink": "CREATE EXTENSION dblink;",
    "postgres-fdw-server": "CREATE SERVER prod FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'prod');",
    "user-mapping": "CREATE USER MAPPING FOR CURRENT_USER SERVER prod OPTIONS (user 'app', password 'x');",
    "do-execute-copy": "DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO ''{marker}'''; END $$;",
    "function-copy-program": ("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$\n"
                              "BEGIN COPY (SELECT 1) TO PROGRAM 'touch {marker}'; END $body$;\nSELECT f();"),
    "function-lo-export": ("CREATE FUNCTION g() RETURNS int LANGUAGE sql AS "
                           "'SELECT lo_export(lo_from_bytea(0, ''x''), ''{marker}'')';\nSELECT g();"),
    "untrusted-language": "CREATE FUNCTION h() RETURNS int LANGUAGE c AS 'libc', 'system';",
}
ORDINARY = ("CREATE EXTENSION IF NOT EXISTS citext;\n"
            "CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT NOT NULL DEFAULT 'COPY x TO ''/tmp/y''', "
            "email citext);\n"
            "INSERT INTO notes (body) VALUES ('SELECT pg_read_file(''/etc/passwd'')');\n"
            "CREATE FUNCTION touch_note() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN NEW.body := upper(NEW.body); RETURN NEW; END $$;\n"
            "CREATE TRIGGER notes_touch BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION touch_note();\n"
            "DO $$ BEGIN EXECUTE 'CREATE INDEX notes_body ON notes (body)'; END $$;\n")


def _project(root: Path, up: str, down: str = "SELECT 1;", metadata: str | None = None) -> Path:
    return ProjectBuilder(root).migration("2024-01-01-000000_hostile", up, down, metadata=metadata).build()


def _tables(pg_database: PgDatabase) -> list[str]:
    with pg_database.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_hostile_script_is_seen(kind: str) -> None:
    assert first_escape(HOSTILE[kind].format(marker="/tmp/x")) is not None


@pytest.mark.parametrize("transactional", [True, False])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_migration_run_on_a_url_refuses_in_one_line_and_applies_nothing(
        kind: str, transactional: bool, pg_database: PgDatabase, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    marker = tmp_path / "marker"
    root = _project(tmp_path / "app", HOSTILE[kind].format(marker=marker),
                    metadata=None if transactional else "run_in_transaction = false\n")
    code = main(["migration", "run", "--project", str(root), "--database-url", pg_database.url])
    out, err = capsys.readouterr()
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Refused to run 2024-01-01-000000_hostile/up.sql line " in lines[0], err
    assert "nothing of this migration was applied" in lines[0]
    assert not marker.exists()
    assert "kept" not in _tables(pg_database)  # not even the statements before the refused one
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_foreign_server").fetchone() == (0,)


def test_revert_refuses_a_hostile_down_sql(pg_database: PgDatabase, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    marker = tmp_path / "marker"
    root = _project(tmp_path / "app", "CREATE TABLE kept (id int PRIMARY KEY);",
                    f"DROP TABLE kept;\nCOPY (SELECT 1) TO '{marker}';")
    assert main(["migration", "run", "--project", str(root), "--database-url", pg_database.url]) == 0
    for verb in ("revert", "redo"):
        capsys.readouterr()
        code = main(["migration", verb, "--project", str(root), "--database-url", pg_database.url])
        err = capsys.readouterr().err
        assert code != 0 and len(err.strip().splitlines()) == 1
        assert "Refused to run 2024-01-01-000000_hostile/down.sql line 2: COPY TO a file" in err
        assert not marker.exists() and "kept" in _tables(pg_database)


@pytest.mark.parametrize("kind", ["copy-from-program", "lo-export", "do-execute-copy", "alter-system"])
def test_check_on_a_clone_refuses_and_writes_nothing(kind: str, pg_database: PgDatabase, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "marker"
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE prod (id int)")
        conn.execute("INSERT INTO prod VALUES (1), (2)")
    root = _project(tmp_path / "app", HOSTILE[kind].format(marker=marker))
    code = main(["check", "--project", str(root), "--no-tests", "--database-url", pg_database.url,
                 "--format", "json"])
    out = capsys.readouterr().out
    assert code != 0
    data = json.loads(out)
    text = json.dumps(data["migrations"])
    assert "Refused to run 2024-01-01-000000_hostile/up.sql line " in text, text
    assert not marker.exists()
    assert _tables(pg_database) == ["prod"]
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM prod").fetchone() == (2,)


def test_ordinary_migrations_still_run_and_check(pg_database: PgDatabase, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert first_escape(ORDINARY) is None
    assert first_escape("COPY notes TO STDOUT;\nCOPY notes FROM STDIN;\n") is None  # the client's streams
    root = _project(tmp_path / "app", ORDINARY,
                    "DROP TABLE notes;\nDROP FUNCTION touch_note();\nDROP EXTENSION citext;")
    code = main(["check", "--project", str(root), "--no-tests", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and "Refused" not in json.dumps(data), data
    assert main(["migration", "run", "--project", str(root), "--database-url", pg_database.url]) == 0
    assert main(["migration", "redo", "--project", str(root), "--database-url", pg_database.url]) == 0
    assert "notes" in _tables(pg_database)


def test_clones_run_as_a_role_without_server_file_or_program_rights(pg_database: PgDatabase,
                                                                    tmp_path: Path) -> None:
    """The fence under the guard: SQL the static check cannot see still cannot write a file on a clone."""
    import psycopg

    from lightnb.backends.postgres.clone import ROLE, rehearsal_clone
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE prod (id int PRIMARY KEY)")
        conn.execute("CREATE FUNCTION prod_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM prod'")
    marker = tmp_path / "marker"
    with rehearsal_clone(pg_database.cluster, pg_database.name) as clone:
        with clone.connect() as conn:
            assert conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
                                ).fetchone() == (ROLE, False)
            assert conn.execute("SELECT pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') OR "
                                "pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') OR "
                                "pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER')"
                                ).fetchone() == (False,)
            # built at run time: the static check cannot see it, the role's rights stop it
            for hidden in (f"DO $$ BEGIN EXECUTE 'CO' || 'PY (SELECT 1) TO ''{marker}'''; END $$",
                           f"DO $$ BEGIN EXECUTE 'CO' || 'PY (SELECT 1) TO PROGRAM ''touch {marker}'''; END $$",
                           f"DO $$ BEGIN EXECUTE 'SELECT lo_' || 'export(lo_from_bytea(0, ''x''), ''{marker}'')'; "
                           "END $$",
                           "DO $$ BEGIN EXECUTE 'SELECT pg_' || 'read_file(''/etc/hostname'')'; END $$"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(hidden)
            # ordinary DDL on the copied objects and a trusted extension still work
            conn.execute("ALTER TABLE prod ADD COLUMN note text")
            conn.execute("CREATE OR REPLACE FUNCTION prod_count() RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'")
            conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
    assert not marker.exists()


@pytest.mark.parametrize("script", [
    "GRANT pg_execute_server_program TO app;",
    "GRANT pg_write_server_files TO app;",
    "ALTER ROLE app SUPERUSER;",
    "CREATE ROLE helper LOGIN SUPERUSER;",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity;",
    "SELECT pg_reload_conf();",
    "DO $$ BEGIN EXECUTE 'ALTER ROLE app SUPERUSER'; END $$;",
])
def test_rights_to_reach_outside_and_acts_on_other_sessions_are_refused(script: str) -> None:
    assert first_escape(f"CREATE TABLE t (id int);\n{script}\n") is not None


@pytest.mark.parametrize("script", [
    "GRANT reader TO app;", "ALTER ROLE app NOSUPERUSER;", "CREATE ROLE reader NOLOGIN;",
    "GRANT SELECT ON t TO reader;", "SELECT pg_backend_pid();",
])
def test_ordinary_role_work_stays_allowed(script: str) -> None:
    assert first_escape(script) is None


@pytest.mark.parametrize("end", ["COMMIT", "END", "COMMIT AND CHAIN", "ROLLBACK", "ABORT",
                                 "PREPARE TRANSACTION 'lightnb'"])
def test_a_statement_that_would_end_the_migrations_transaction_is_refused(
        end: str, pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # with COMMIT run, `half` stayed committed while the failure after it was reported as "nothing of this
    # migration was applied"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = _project(tmp_path / "app", f"CREATE TABLE half (id int);\n{end};\nINSERT INTO half VALUES (1);\n"
                                      f"SELECT * FROM nowhere;\n")
    code = main(["migration", "run", "--project", str(root), "--database-url", pg_database.url])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, err
    assert f"Refused to run 2024-01-01-000000_hostile/up.sql line 2: {end.split(' ')[0]}" in lines[0] \
        or "line 2: PREPARE TRANSACTION" in lines[0], lines[0]
    assert "run_in_transaction = false" in lines[0] and "nothing of this migration was applied" in lines[0]
    assert _tables(pg_database) == ["__diesel_schema_migrations"]  # not even the statement before it
    code = main(["check", "--project", str(root), "--no-tests", "--database-url", pg_database.url,
                 "--format", "json"])
    assert code != 0 and "is not allowed in a migration that runs in a transaction" in capsys.readouterr().out


def test_a_begin_inside_the_transaction_and_the_migrations_own_savepoints_still_run(
        pg_database: PgDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = _project(tmp_path / "app", "BEGIN;\nCREATE TABLE kept (id int PRIMARY KEY);\nSAVEPOINT mine;\n"
                                      "INSERT INTO kept VALUES (1);\nROLLBACK TO SAVEPOINT mine;\nRELEASE mine;\n",
                    "DROP TABLE kept;")
    assert main(["migration", "run", "--project", str(root), "--database-url", pg_database.url]) == 0
    assert "kept" in _tables(pg_database)


def test_a_migration_outside_a_transaction_may_control_its_own(pg_database: PgDatabase, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = _project(tmp_path / "app", "BEGIN;\nCREATE TABLE kept (id int PRIMARY KEY);\nCOMMIT;\n", "DROP TABLE kept;",
                    metadata="run_in_transaction = false\n")
    assert main(["migration", "run", "--project", str(root), "--database-url", pg_database.url]) == 0
    assert "kept" in _tables(pg_database)
