"""`lightnb lint` on a PostgreSQL project: PostgreSQL rules (not SQLite's), costs measured on a clone of the
copy, each SQL fix run on a clone before it is offered as checked; production only read."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import PASSWORD, add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase


def _lint(root: Path, url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["lint", "--project", str(root), "--database-url", url, "--format", "json", *extra])
    out = capsys.readouterr().out
    assert PASSWORD not in out
    return code, json.loads(out)


def _by_rule(findings: list[dict[str, Any]], rule: str) -> dict[str, Any]:
    found = [f for f in findings if f["rule"] == rule]
    assert len(found) == 1, (rule, findings)
    return found[0]


def test_lint_measures_on_the_copy_and_checks_each_fix(pg_database: PgDatabase, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    reader = add_reader(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_not_null", "SET lock_timeout = '5s';\n"
                       "ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
                       "ALTER TABLE users ALTER COLUMN name DROP NOT NULL;")
            .migration("2024-01-02-000000_uid", "SET lock_timeout = '5s';\n"
                       "ALTER TABLE posts ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();",
                       "ALTER TABLE posts DROP COLUMN uid;")
            .migration("2024-01-03-000000_flags", "SET lock_timeout = '5s';\n"
                       "ALTER TABLE users ADD COLUMN is_admin integer NOT NULL DEFAULT 0;", None)
            .migration("2024-01-04-000000_index", "CREATE INDEX posts_title ON posts (title);",
                       "DROP INDEX posts_title;")
            .build())
    before = fingerprint(pg_database)
    code, findings = _lint(root, reader, capsys)
    assert code == 1  # down-missing is an error
    rules = sorted((f["migration"][:10], f["rule"]) for f in findings)
    assert rules == [("2024-01-01", "pg-set-not-null"), ("2024-01-02", "pg-volatile-default"),
                     ("2024-01-03", "down-missing"), ("2024-01-03", "pg-int4-boolean"),
                     ("2024-01-04", "pg-index-not-concurrent"), ("2024-01-04", "pg-lock-timeout")]
    # measured on the copy: the table's rows, the lock, whether it rewrote
    not_null = _by_rule(findings, "pg-set-not-null")
    assert "measured on the copy: locks users: 200 rows, " in not_null["message"]
    assert "under ACCESS EXCLUSIVE" in not_null["message"]
    assert not_null["fix"].endswith("(checked: this SQL applies on a clone of the copy)")
    assert 'VALIDATE CONSTRAINT "name_not_null";' in not_null["fix"]
    volatile = _by_rule(findings, "pg-volatile-default")
    assert "measured on the copy: rewrites posts: 500 rows, " in volatile["message"]
    # the rewrite keeps NOT NULL, which the 500 existing rows cannot satisfy without the default: not offered
    assert "lightnb's rewrite did not apply on a clone of the copy: column \"uid\" of relation \"posts\" contains " \
           "null values" in volatile["fix"]
    boolean = _by_rule(findings, "pg-int4-boolean")
    assert "did not apply" in boolean["fix"] and "boolean" in boolean["fix"] and "\n" not in \
        boolean["fix"].split("did not apply", 1)[1]
    index = _by_rule(findings, "pg-index-not-concurrent")
    assert "CREATE INDEX CONCURRENTLY posts_title ON posts (title);" in index["fix"]
    assert index["fix"].endswith("(checked: this SQL applies on a clone of the copy)")
    assert "locks posts: 500 rows" in index["message"] and "under SHARE" in index["message"]
    time.sleep(0.6)
    assert fingerprint(pg_database) == before  # production only read: the SELECT-only role, nothing written


def test_a_fix_that_fails_on_real_rows_says_why_in_one_line(pg_database: PgDatabase, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    pg_database.execute("UPDATE users SET name = NULL WHERE id = 7;")
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_fk", "SET lock_timeout = '5s';\n"
                       "ALTER TABLE audit ADD CONSTRAINT audit_at CHECK (at > 1);",
                       "ALTER TABLE audit DROP CONSTRAINT audit_at;")
            .build())
    code, findings = _lint(root, add_reader(pg_database), capsys)
    found = _by_rule(findings, "pg-constraint-not-valid")
    # the migration itself fails on the copy (a row has at = 1): reported, and the rewrite was not offered
    assert "did not apply on a clone of the copy: check constraint \"audit_at\" of relation \"audit\" is violated " \
           "by some row" in found["fix"]
    assert _by_rule(findings, "pg-run-fails")["message"].startswith("up.sql fails on the copy: ")
    assert code == 1


def test_without_a_database_url_lint_reads_the_project_database_and_pending_ones_only(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_t", "CREATE TABLE t (id int PRIMARY KEY, created_at integer);",
                       "DROP TABLE t;")
            .build())
    monkeypatch.setenv("DATABASE_URL", pg_database.url)
    code = main(["lint", "--project", str(root)])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning[pg-int4-epoch] 2024-01-01-000000_t/up.sql:1: t.created_at is INTEGER (int4)" in out
    assert "CREATE TABLE t (id integer PRIMARY KEY, created_at bigint);" in out
    assert "sql-error" not in out and "SQLite" not in out
    # once applied on the database, the migration is no longer pending
    pg_database.execute("CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, "
                        "run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');")
    assert main(["lint", "--project", str(root)]) == 0
    out = capsys.readouterr().out
    assert "0 pending migration(s); 1 applied" in out and "pg-int4-epoch" not in out
    assert main(["lint", "--project", str(root), "--all"]) == 0
    out = capsys.readouterr().out
    assert "pg-int4-epoch" in out
    assert "(not checked: the state before this migration is not on the copy (it already ran there))" in out
    older = root / "migrations" / "2023-12-31-000000_older"
    older.mkdir()
    (older / "up.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (older / "down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert main(["lint", "--project", str(root)]) == 0
    out = capsys.readouterr().out
    assert "warning[version-out-of-order] 2023-12-31-000000_older: pending migration is older than the newest " \
           "applied one (20240101000000)" in out


def test_a_rewrite_that_reaches_outside_the_database_is_refused_not_run(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    marker = tmp_path / "escaped"
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_x", f"CREATE INDEX posts_title ON posts (title);\n"
                       f"COPY (SELECT 1) TO PROGRAM 'touch {marker}';", "DROP INDEX posts_title;")
            .build())
    code, findings = _lint(root, pg_database.url, capsys)
    timeout = _by_rule(findings, "pg-lock-timeout")
    assert "did not apply on a clone of the copy: refused to run it: " in timeout["fix"]
    assert _by_rule(findings, "pg-run-fails")["severity"] == "error" and code == 1
    assert not marker.exists()


def test_editor_lint_and_settings_know_the_postgres_rules(pg_database: PgDatabase, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = (ProjectBuilder(tmp_path / "app",
                           config='[migrations_directory]\ndir = "migrations"\n')
            .migration("2024-01-01-000000_t", "SELECT 1;", "SELECT 1;")
            .build())
    (root / "lightnb.toml").write_text('[lint]\ndisable = ["pg-lock-timeout"]\n', encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", pg_database.url)
    project = steps.open_project(root)
    found = steps.lint_sql(project, "CREATE INDEX i ON users (email);", None, name="2024-02-01-000000_i")
    assert sorted(f.rule for f in found) == ["down-missing", "pg-index-not-concurrent"]
    ids = {rule for rule, _summary, _severity in steps.lint_rules()}
    assert {"pg-set-not-null", "pg-lock-timeout", "down-missing"} <= ids


def test_after_a_snapshot_lint_measures_on_clones_of_the_local_base(pg_database: PgDatabase, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from lightnb.backends.postgres.base import cluster_folder
    from lightnb.backends.postgres.cluster import start_cluster
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_i", "SET lock_timeout = '5s';\nCREATE INDEX users_name ON users (name);",
                       "DROP INDEX users_name;")
            .build())
    assert main(["snapshot", "--project", str(root), "--database-url", add_reader(pg_database)]) == 0
    pg_database.execute("DROP TABLE posts; DROP TABLE users;")  # production changes: the base is what lint reads
    capsys.readouterr()
    try:
        assert main(["lint", "--project", str(root)]) == 0
        out = capsys.readouterr().out
        assert f"fixes checked on a clone of database `{pg_database.name}` on " in out and "(snapshot of " in out
        assert "measured on the copy: locks users: 200 rows, " in out and "under SHARE" in out
    finally:
        start_cluster(cluster_folder(root / ".lightnb")).destroy()


def test_a_statement_under_a_lock_taken_earlier_says_so_not_that_it_locks_nothing(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_pin", "SET lock_timeout = '5s';\n"
                       "ALTER TABLE posts ADD COLUMN pinned boolean;\nCREATE INDEX posts_pinned ON posts (pinned);",
                       "ALTER TABLE posts DROP COLUMN pinned;")
            .build())
    _code, findings = _lint(root, pg_database.url, capsys)
    index = _by_rule(findings, "pg-index-not-concurrent")
    assert "; posts was already under ACCESS EXCLUSIVE since line 2 (held until the migration commits)" in \
        index["message"]
    assert "no lock beyond" not in index["message"]
