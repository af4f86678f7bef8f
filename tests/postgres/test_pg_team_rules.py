"""The team's own rules (timestamp-text, json-column, secret-plaintext) on PostgreSQL: judged on the columns a
migration really made, read from the catalogue of the clone after it ran, with the SQLite rules' ids and
severities, each finding at the line of the statement that made the column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lightnb.backends.postgres.teamrules import base_type
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase

TEAM = ("timestamp-text", "json-column", "secret-plaintext")
UP = """SET lock_timeout = '5s';
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    happened_at timestamptz NOT NULL DEFAULT now(),
    due_on date,
    created_at bigint NOT NULL,
    payload jsonb,
    tags json[],
    api_token varchar(64),
    encrypted_api_token text,
    credential_id text,
    token_count integer,
    time_spent interval
);
ALTER TABLE users ADD COLUMN reset_token uuid;
ALTER TABLE users ADD COLUMN seen text DEFAULT now()::text;
DO $$ BEGIN EXECUTE 'ALTER TABLE users ADD COLUMN last_login_at ' || 'timestamp(3)'; END $$;
ALTER TABLE users ALTER COLUMN name TYPE jsonb USING to_jsonb(name);
ALTER TABLE users ADD COLUMN stamp bigint DEFAULT extract(epoch FROM now())::bigint;
"""


def _lint(root: Path, url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["lint", "--project", str(root), "--database-url", url, "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _team(findings: list[dict[str, Any]]) -> list[tuple[str, int, str, str]]:
    return sorted((f["rule"], f["line"], f["message"].split(" ")[0], f["severity"])
                  for f in findings if f["rule"] in TEAM)


def test_the_team_rules_judge_the_columns_the_migration_really_made(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_events", UP, "DROP TABLE events;")
            .build())
    before = fingerprint(pg_database)
    _code, findings = _lint(root, add_reader(pg_database), capsys)
    assert _team(findings) == [
        ("json-column", 2, "events.payload", "error"),
        ("json-column", 2, "events.tags", "error"),
        ("json-column", 18, "users.name", "error"),      # a type change makes it a document
        ("secret-plaintext", 2, "events.api_token", "error"),
        ("secret-plaintext", 15, "users.reset_token", "error"),
        ("timestamp-text", 2, "events.due_on", "error"),
        ("timestamp-text", 2, "events.happened_at", "error"),
        ("timestamp-text", 16, "users.seen", "error"),  # text whose default is a time
        ("timestamp-text", 17, "users.last_login_at", "error"),  # made by a DO block: only the catalogue knows
    ]
    by_column = {f["message"].split(" ")[0]: f for f in findings if f["rule"] in TEAM}
    happened = by_column["events.happened_at"]
    assert happened["message"] == ("events.happened_at is a timestamp declared timestamp with time zone; store Unix "
                                   "seconds in BIGINT")
    assert "`happened_at BIGINT NOT NULL DEFAULT extract(epoch FROM now())::bigint` (Diesel: BigInt, i64)" in \
        happened["fix"]
    assert by_column["users.last_login_at"]["message"].endswith("declared timestamp(3) without time zone; store Unix "
                                                                "seconds in BIGINT")
    assert "e.g. encrypted_api_token" in by_column["events.api_token"]["fix"]
    assert by_column["events.tags"]["message"] == "events.tags is declared json[]"
    assert fingerprint(pg_database) == before  # production only read


def test_the_project_settings_apply_to_the_team_rules_on_postgres(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_events", UP, "DROP TABLE events;")
            .build())
    (root / "lightnb.toml").write_text('[lint]\ndisable = ["json-column"]\nseverity = { timestamp-text = "info" }\n'
                                       '[lint.secrets]\nencrypted_suffixes = ["_token"]\n', encoding="utf-8")
    _code, findings = _lint(root, pg_database.url, capsys)
    team = _team(findings)
    assert not [t for t in team if t[0] in ("json-column", "secret-plaintext")]
    assert {t[3] for t in team if t[0] == "timestamp-text"} == {"info"} and len(team) == 4


def test_columns_a_migration_leaves_as_they_were_are_not_judged_again(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    pg_database.execute("CREATE TABLE legacy (id int PRIMARY KEY, made_at timestamptz, doc jsonb, token text);")
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_legacy", "SET lock_timeout = '5s';\n"
                       "ALTER TABLE legacy RENAME TO old_legacy;\n"
                       "ALTER TABLE old_legacy ALTER COLUMN made_at SET NOT NULL;\n"
                       "CREATE TABLE fine (id int PRIMARY KEY, created_at bigint NOT NULL, body text);",
                       "DROP TABLE fine;\nALTER TABLE old_legacy ALTER COLUMN made_at DROP NOT NULL;\n"
                       "ALTER TABLE old_legacy RENAME TO legacy;")
            .build())
    _code, findings = _lint(root, pg_database.url, capsys)
    assert _team(findings) == []


def test_the_team_rules_run_on_pending_migrations_replayed_on_the_copy_only(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_a", "CREATE TABLE a (id int PRIMARY KEY, at_date date);", "DROP TABLE a;")
            .migration("2024-01-02-000000_b", "CREATE TABLE b (id int PRIMARY KEY, doc json);", "DROP TABLE b;")
            .build())
    _code, findings = _lint(root, pg_database.url, capsys, "2024-01-02-000000")
    assert _team(findings) == [("json-column", 1, "b.doc", "error")]


def test_base_type_reads_format_type() -> None:
    assert base_type("character varying(64)[]") == "character varying"
    assert base_type("timestamp(3) with time zone") == "timestamp with time zone"
    assert base_type("numeric(10,2)") == "numeric"
    assert base_type("public.citext") == "citext"
    assert base_type("jsonb") == "jsonb"


def test_migrations_that_do_not_run_on_the_copy_are_judged_from_their_declarations(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    pg_database.execute("CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, "
                        "run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');")
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_done", "CREATE TABLE done (id int PRIMARY KEY, doc jsonb);",
                       "DROP TABLE done;")
            .migration("2024-01-02-000000_fails", "CREATE TABLE f (id int PRIMARY KEY, made_at timestamp);\n"
                       "ALTER TABLE nowhere ADD COLUMN x int;", "DROP TABLE f;")
            .migration("2024-01-03-000000_after", "CREATE TABLE a (id int PRIMARY KEY, api_token varchar(80));",
                       "DROP TABLE a;")
            .build())
    _code, findings = _lint(root, pg_database.url, capsys, "--all")
    team = {f["migration"][:10]: f for f in findings if f["rule"] in TEAM}
    assert sorted((m, f["rule"], f["line"]) for m, f in team.items()) == [
        ("2024-01-01", "json-column", 1), ("2024-01-02", "timestamp-text", 1), ("2024-01-03", "secret-plaintext", 1)]
    assert team["2024-01-01"]["fix"].endswith("(read from up.sql's declarations, not the catalogue: it already ran "
                                              "on the copy)")
    assert team["2024-01-02"]["message"] == ("f.made_at is a timestamp declared timestamp without time zone; store "
                                             "Unix seconds in BIGINT")
    assert "up.sql fails on the copy" in team["2024-01-02"]["fix"]
    assert "2024-01-02-000000_fails, pending before it, does not run on the copy" in team["2024-01-03"]["fix"]


def test_the_editor_check_reads_the_team_rules_from_the_sql(pg_database: PgDatabase, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb import steps
    root = ProjectBuilder(tmp_path / "app").migration("2024-01-01-000000_t", "SELECT 1;", "SELECT 1;").build()
    monkeypatch.setenv("DATABASE_URL", pg_database.url)
    project = steps.open_project(root)
    found = steps.lint_sql(project, "CREATE TABLE t (id int PRIMARY KEY, created_at timestamptz DEFAULT now(), "
                                    "born date, meta jsonb, password text, stamp bigint DEFAULT "
                                    "extract(epoch FROM now())::bigint);", "DROP TABLE t;",
                           name="2024-02-01-000000_t")
    assert sorted((f.rule, f.message.split(" ")[0]) for f in found if f.rule in TEAM) == [
        ("json-column", "t.meta"), ("secret-plaintext", "t.password"), ("timestamp-text", "t.born"),
        ("timestamp-text", "t.created_at")]


def test_a_partition_inherits_its_columns_and_is_not_judged_again(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_log", "CREATE TABLE log (id bigint, made_at timestamptz NOT NULL, "
                       "PRIMARY KEY (id, made_at)) PARTITION BY RANGE (made_at);\n"
                       "CREATE TABLE log_2024 PARTITION OF log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
                       "CREATE TABLE audit_base (id int PRIMARY KEY, seen_on date);\n"
                       "CREATE TABLE audit_child (note_date text) INHERITS (audit_base);",
                       "DROP TABLE audit_child;\nDROP TABLE audit_base;\nDROP TABLE log;")
            .build())
    _code, findings = _lint(root, pg_database.url, capsys)
    assert "pg-run-fails" not in {f["rule"] for f in findings}
    assert _team(findings) == [("timestamp-text", 1, "log.made_at", "error"),
                               ("timestamp-text", 3, "audit_base.seen_on", "error"),
                               ("timestamp-text", 4, "audit_child.note_date", "error")]
