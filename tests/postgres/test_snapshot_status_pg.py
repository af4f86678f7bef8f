"""`lightnb snapshot --status` / `--discard` for a PostgreSQL workspace: what the base copies, and dropping only
lightnb's own databases (never production, never another database of the cluster)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lightnb.backends.postgres.base import BASE, RECORD, cluster_folder
from lightnb.backends.postgres.cluster import Cluster, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import PASSWORD, add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase


def _databases(cluster: Cluster) -> set[str]:
    with connect(cluster.url()) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def _project(tmp_path: Path) -> Path:
    return ProjectBuilder(tmp_path / "app").migration("1_t", "SELECT 1;", "SELECT 1;").build()


def test_status_says_source_when_rows_tables_size_and_discard_removes_only_lightnbs_copy(
        pg_database: PgDatabase, pg_cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    reader = add_reader(pg_database)
    root = _project(tmp_path)
    workspace = root / ".lightnb"
    assert main(["snapshot", "--project", str(root), "--status"]) == 1  # nothing yet: the SQLite workspace's error
    capsys.readouterr()
    assert main(["snapshot", "--project", str(root), "--database-url", reader]) == 0
    capsys.readouterr()
    before = fingerprint(pg_database)
    assert main(["snapshot", "--project", str(root), "--status"]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out
    assert f"Copy of      database `{pg_database.name}` on " in out
    assert "Taken        " in out and "UTC (3 table(s), 702 row(s)" in out
    assert "Now          3 table(s), 702 row(s), " in out and "MiB" in out
    assert main(["snapshot", "--project", str(root), "--discard"]) == 0
    out = capsys.readouterr().out
    assert f"dropped {BASE}; removed the private cluster" in out
    assert not (workspace / RECORD).exists() and not cluster_folder(workspace).exists()
    assert pg_database.name in _databases(pg_cluster)  # production is still there, unchanged
    time.sleep(0.6)
    assert fingerprint(pg_database) == before


def test_discard_keeps_every_database_lightnb_did_not_make(pg_database: PgDatabase, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    make_production(pg_database)
    root = _project(tmp_path)
    assert main(["snapshot", "--project", str(root), "--database-url", add_reader(pg_database)]) == 0
    cluster = start_cluster(cluster_folder(root / ".lightnb"))
    try:
        cluster.create_database("team_data")
        cluster.create_database("lightnb_clone_1_abc123", template=BASE)  # left by a killed rehearsal
        capsys.readouterr()
        assert main(["snapshot", "--project", str(root), "--status"]) == 0
        assert "Leftovers    1 clone(s)" in capsys.readouterr().out
        assert main(["snapshot", "--project", str(root), "--discard"]) == 0
        out = capsys.readouterr().out
        assert "kept the private cluster and its other database(s): team_data" in out
        assert _databases(cluster) == {"postgres", "template0", "template1", "team_data"}
        assert main(["snapshot", "--project", str(root), "--status"]) == 0
        assert "No PostgreSQL snapshot in" in capsys.readouterr().out
    finally:
        cluster.destroy()
