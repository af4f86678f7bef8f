"""lint and check against a database of the project's own private cluster ([postgres] cluster, as the sample's
production and workspace) make their base there with CREATE DATABASE … TEMPLATE, not with pg_dump into a new
cluster; the database is only read, and the copy is dropped afterwards. When another session has the database
open (a template copy would have to wait for it), pg_dump copies it as it copies any server's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import lightnb.backends.postgres.rehearsal_base as pgcheck
from lightnb.backends.postgres.clone import PREFIX
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import fingerprint, make_production
from tests.support.postgres import PgDatabase

UP = ("SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN seen_at timestamptz;\n"
      "CREATE INDEX u_seen ON users (seen_at);")


def _project(tmp_path: Path, db: PgDatabase) -> Path:
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_seen", UP, "DROP INDEX u_seen;\nALTER TABLE users DROP COLUMN seen_at;")
            .build())
    (root / "lightnb.toml").write_text(f'[postgres]\ncluster = "{db.cluster.folder}"\n', encoding="utf-8")
    return root


def _clones(db: PgDatabase) -> list[str]:
    with db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))]


def _dumps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = pgcheck.copy_database

    def counted(source_url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(source_url)
        return real(source_url, *args, **kwargs)

    monkeypatch.setattr(pgcheck, "copy_database", counted)
    return calls


def test_lint_and_check_copy_a_database_of_the_projects_cluster_with_a_template(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_production(pg_database)
    root = _project(tmp_path, pg_database)
    dumps = _dumps(monkeypatch)
    before = fingerprint(pg_database)
    code = main(["lint", "--project", str(root), "--database-url", pg_database.url, "--format", "json"])
    findings = json.loads(capsys.readouterr().out)
    assert code == 1
    assert sorted(f["rule"] for f in findings) == ["pg-index-not-concurrent", "timestamp-text"]
    index = next(f for f in findings if f["rule"] == "pg-index-not-concurrent")
    assert "measured on the copy: " in index["message"] and "(checked: this SQL applies on a clone" in index["fix"]
    code = main(["check", "--project", str(root), "--no-tests", "--database-url", pg_database.url, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["database"].startswith(f"database `{pg_database.name}` on ")
    (proof,) = data["migrations"]
    assert proof["steps"] == ["up", "down", "up again"] and proof["restores_exactly"]
    assert dumps == []  # no pg_dump: a file copy in the project's cluster
    assert _clones(pg_database) == []  # the copies are dropped
    assert fingerprint(pg_database) == before


def test_a_database_another_session_holds_open_is_copied_with_pg_dump(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_production(pg_database)
    root = _project(tmp_path, pg_database)
    dumps = _dumps(monkeypatch)
    with pg_database.connect() as held:  # a notebook's kernel, say
        held.execute("SELECT 1")
        code = main(["lint", "--project", str(root), "--database-url", pg_database.url, "--format", "json"])
        findings = json.loads(capsys.readouterr().out)
    assert code == 1 and sorted(f["rule"] for f in findings) == ["pg-index-not-concurrent", "timestamp-text"]
    assert dumps == [pg_database.url]
    assert _clones(pg_database) == []


def test_a_database_of_another_private_cluster_is_still_copied_with_pg_dump(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_production(pg_database)
    root = _project(tmp_path, pg_database)
    (root / "lightnb.toml").write_text("", encoding="utf-8")
    dumps = _dumps(monkeypatch)
    assert main(["lint", "--project", str(root), "--database-url", pg_database.url]) == 1
    capsys.readouterr()
    assert dumps == [pg_database.url]
