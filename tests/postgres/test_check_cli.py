"""`lightnb check --database-url postgres://…`: copied read-only, proven on clones, production untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightnb.backends.postgres.base import cluster_folder
from lightnb.backends.postgres.cluster import Cluster, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import PASSWORD, add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase

REPO = Path(__file__).resolve().parents[2]
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


def _applied_production(db: PgDatabase, *, score_default: int) -> None:
    """A production on which the two migrations of :func:`_applied_project` ran (the first with ``score_default``)."""
    make_production(db)
    db.execute(f"ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT {score_default};"
               "CREATE INDEX posts_title ON posts (title);"
               "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, "
               "run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);"
               "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000'), ('20240102000000');")


def _applied_project(tmp_path: Path) -> Path:
    return (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_score", "ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 1;",
                       "ALTER TABLE users DROP COLUMN score;")
            .migration("2024-01-02-000000_index", "CREATE INDEX posts_title ON posts (title);",
                       "DROP INDEX posts_title;")
            .build())


def test_applied_proves_the_latest_applied_migrations_on_postgres(pg_database: PgDatabase, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _applied_production(pg_database, score_default=1)
    reader = add_reader(pg_database)
    root = _applied_project(tmp_path)
    before = fingerprint(pg_database)
    code = main(["check", "--project", str(root), "--no-tests", "--applied", "2", "--database-url", reader,
                 "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert [(m["migration"], m["steps"]) for m in data["migrations"]] == [
        ("2024-01-01-000000_score", ["up", "down", "up again"]),
        ("2024-01-02-000000_index", ["up", "down", "up again"])]
    assert data["migrations"][0]["verdict"] == "safe" and code == 1  # the index is not CONCURRENTLY: attention
    assert main(["check", "--project", str(root), "--no-tests", "--applied", "1", "--database-url", reader,
                 "--format", "json"]) == 1
    assert [m["migration"] for m in json.loads(capsys.readouterr().out)["migrations"]] == ["2024-01-02-000000_index"]
    time.sleep(0.6)
    assert fingerprint(pg_database) == before


def test_applied_says_when_re_applying_does_not_give_back_production(pg_database: PgDatabase, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _applied_production(pg_database, score_default=7)  # up.sql was edited after it ran: DEFAULT 1 now
    root = _applied_project(tmp_path)
    assert main(["check", "--project", str(root), "--no-tests", "--applied", "2", "--database-url",
                 add_reader(pg_database), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    last = data["migrations"][-1]
    assert last["verdict"] == "unsafe"
    assert any(r.startswith("reverting then re-applying does not give back the database as it was: ")
               and "users" in r and "200 changed (score 200)" in r for r in last["reasons"])


def test_applied_with_a_version_that_has_no_folder_is_unsafe_and_says_why(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _applied_production(pg_database, score_default=1)
    pg_database.execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20240103000000');")
    root = _applied_project(tmp_path)
    assert main(["check", "--project", str(root), "--no-tests", "--applied", "1", "--database-url",
                 pg_database.url, "--format", "json"]) == 1
    (only,) = json.loads(capsys.readouterr().out)["migrations"]
    assert only["verdict"] == "unsafe" and only["version"] == "20240103000000"
    assert only["reasons"] == ["cannot revert it on the copy: no migration folder has version 20240103000000"]


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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_check_cancels_the_statement_and_drops_its_clones(
        pg_database: PgDatabase, tmp_path: Path, signum: int) -> None:
    make_production(pg_database, users=20, posts=20)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("1_slow", "ALTER TABLE users ADD COLUMN x int;\nSELECT pg_sleep(120);", "SELECT 1;")
            .build())
    assert main(["snapshot", "--project", str(root), "--database-url", pg_database.url]) == 0
    cluster = start_cluster(cluster_folder(root / ".lightnb"))
    try:
        child = subprocess.Popen([sys.executable, "-m", "lightnb", "check", "--project", str(root), "--no-tests"],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)))
        try:
            deadline = time.monotonic() + 60
            while not _sleeping(cluster) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _sleeping(cluster), "the migration never started"
            started = time.monotonic()
            child.send_signal(signum)
            _out, err = child.communicate(timeout=60)
            assert time.monotonic() - started < 30  # pg_sleep(120) was cancelled, not waited for
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 128 + signum
        assert err.count("\n") == 1 and ("terminated (SIGTERM)" in err or "interrupted (Ctrl-C)" in err)
        assert _clones(cluster) == [] and cluster.running
    finally:
        cluster.destroy()


def _clones(cluster: Cluster) -> list[str]:
    with connect(cluster.url()) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'lightnb_clone_%'")]


def _sleeping(cluster: Cluster) -> bool:
    with connect(cluster.url()) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'"
                            ).fetchone() == (1,)
