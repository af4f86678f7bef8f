"""`lightnb check --database-url postgres://…`: copied read-only, proven on clones, production untouched."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import PASSWORD, add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase

HOSTILE_UP = ("ALTER TABLE users ADD COLUMN score int DEFAULT 1;\n"
              "UPDATE users SET email = 'gone';\n"
              "DELETE FROM posts;\n")


def test_check_copies_production_and_says_what_each_statement_locks(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    reader = add_reader(pg_database)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_hostile", HOSTILE_UP, "ALTER TABLE users DROP COLUMN score;")
            .migration("2024-01-02-000000_index", "CREATE INDEX posts_title ON posts (title);",
                       "DROP INDEX posts_title;")
            .build())
    before = fingerprint(pg_database)
    code = main(["check", "--project", str(root), "--no-tests", "--database-url", reader, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 1 and PASSWORD not in out
    data = json.loads(out)
    assert data["verdict"] == "unsafe" and data["database"].startswith(f"database `{pg_database.name}` on ")
    hostile, index = data["migrations"]
    assert hostile["verdict"] == "unsafe"
    assert "users: same row count, different content — 0 row(s) added, 0 removed, 200 changed (email 200)" in \
        hostile["row_differences"]
    assert "posts: 500 row(s) before, 0 after — 0 row(s) added, 500 removed, 0 changed" in hostile["row_differences"]
    locks = [f["message"] for f in hostile["findings"] if f["rule"] == "pg-lock"]
    assert locks[0].startswith("locks users: 200 rows, ") and "ACCESS EXCLUSIVE" in locks[0]
    assert [f["line"] for f in hostile["findings"] if f["rule"] == "pg-lock"] == [1]
    assert index["verdict"] == "needs attention"
    assert {f["rule"] for f in index["findings"]} >= {"pg-index-not-concurrent", "pg-lock"}
    time.sleep(0.6)
    assert fingerprint(pg_database) == before  # the hostile migration ran on clones of a copy only


def test_applied_is_refused_on_postgres_in_one_line(pg_database: PgDatabase, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = ProjectBuilder(tmp_path / "app").migration("1_x", "SELECT 1;", "SELECT 1;").build()
    assert main(["check", "--project", str(root), "--no-tests", "--applied", "1", "--database-url",
                 pg_database.url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--applied is not available on PostgreSQL" in err


def test_a_database_url_whose_server_is_down_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = (ProjectBuilder(tmp_path / "app")
            .migration("1_t", "CREATE TABLE t (id int PRIMARY KEY, n int);", "DROP TABLE t;")
            .build())
    monkeypatch.chdir(root)
    (root / ".env").write_text("DATABASE_URL=postgres://nobody@/nowhere?host=/nonexistent\n", encoding="utf-8")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["check", "--project", str(root), "--no-tests"]) == 1  # DATABASE_URL from .env: the server is down
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No PostgreSQL server is running" in err
    assert not (root / ".lightnb").exists()
