"""`lightnb check` on PostgreSQL shows the file-based rules' findings (down-missing, down-empty, secret-literal,
version-duplicate, version-out-of-order) and the team's rules read from the catalogue, as check on SQLite
does, with the project's [lint] settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import add_reader, make_production
from tests.support.postgres import PgDatabase


def _check(root: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--project", str(root), "--no-tests", "--database-url", url, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_check_shows_the_file_rules_and_the_team_rules(pg_database: PgDatabase, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    pg_database.execute("CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, "
                        "run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');")
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_done", "SELECT 1;", "SELECT 1;")
            .migration("2023-06-01-000000_late", "SELECT 1;", "SELECT 1;")
            .migration("2024-02-01-000000_secrets", "SET lock_timeout = '5s';\n"
                       "CREATE TABLE keys (id int PRIMARY KEY, api_token text, made_at timestamptz, doc jsonb);\n"
                       "INSERT INTO keys VALUES (1, 'sk_live_51HxYzAbCdEfGh', now(), NULL);", "")
            .migration("2024-03-01-000000_oneway", "CREATE TABLE t (id int PRIMARY KEY);", None)
            .build())
    code, data = _check(root, add_reader(pg_database), capsys)
    assert code == 1
    project = [(f["rule"], f["migration"]) for f in data["project_findings"]]
    assert project == [("version-out-of-order", "2023-06-01-000000_late")]
    by_name = {m["migration"]: m for m in data["migrations"]}
    secrets = sorted((f["rule"], f["file"], f["line"]) for f in by_name["2024-02-01-000000_secrets"]["findings"]
                     if not f["rule"].startswith("pg-"))
    assert secrets == [("down-empty", "down.sql", 0), ("json-column", "up.sql", 2),
                       ("secret-literal", "up.sql", 3), ("secret-plaintext", "up.sql", 2),
                       ("timestamp-text", "up.sql", 2)]
    assert "sk_live_51HxYzAbCdEfGh" not in json.dumps(data)
    oneway = [f["rule"] for f in by_name["2024-03-01-000000_oneway"]["findings"]]
    assert "down-missing" in oneway
    assert by_name["2024-02-01-000000_secrets"]["verdict"] == "unsafe"


def test_check_applies_the_lint_settings_on_postgres(pg_database: PgDatabase, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-02-01-000000_doc", "CREATE TABLE d (id int PRIMARY KEY, doc jsonb);", "DROP TABLE d;")
            .build())
    (root / "lightnb.toml").write_text('[lint]\nseverity = { json-column = "info" }\n', encoding="utf-8")
    code, data = _check(root, pg_database.url, capsys)
    (only,) = data["migrations"]
    assert [(f["rule"], f["severity"]) for f in only["findings"] if f["rule"] == "json-column"] == [
        ("json-column", "info")]
    assert only["verdict"] == "safe" and code == 0
