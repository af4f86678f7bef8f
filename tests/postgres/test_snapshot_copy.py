"""Copy of production, never production: pg_dump | pg_restore into a private cluster, read-only."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from lightnb.backends.postgres.base import (
    BASE,
    RECORD,
    _counts,
    _restored_counts,
    base_status,
    cluster_folder,
    read_record,
    take_snapshot,
)
from lightnb.backends.postgres.binaries import Binaries, find_binaries
from lightnb.backends.postgres.cluster import Cluster, ClusterError, start_cluster
from lightnb.backends.postgres.connect import ConnectError, connect
from lightnb.backends.postgres.dump import DumpError, _Reader, copy_database, version_problem
from lightnb.cli import main
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import PASSWORD, add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase


def _databases(cluster: Cluster) -> set[str]:
    with connect(cluster.url()) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def _rows(cluster: Cluster, database: str, table: str) -> int:
    with connect(cluster.url(database)) as conn:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]


@pytest.fixture
def production(pg_database: PgDatabase) -> PgDatabase:
    make_production(pg_database)
    return pg_database


def test_a_select_only_role_is_enough_and_production_is_unchanged(production: PgDatabase, pg_cluster: Cluster) -> None:
    reader_url = add_reader(production)
    before = fingerprint(production)
    name = f"lightnb_copy_{os.getpid()}"
    try:
        result = copy_database(reader_url, pg_cluster, name)
        assert _rows(pg_cluster, name, "users") == 200 and _rows(pg_cluster, name, "posts") == 500
        assert _rows(pg_cluster, name, "audit") == 2
        assert PASSWORD not in repr(result) and result.server_version.startswith(str(find_binaries().major))
        with connect(pg_cluster.url(name)) as conn:  # restored without owners: the private superuser owns it
            owners = {r[0] for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert owners == {"postgres"}
    finally:
        pg_cluster.drop_database(name)
    time.sleep(0.6)  # statistics counters are flushed within half a second of a transaction's end
    assert fingerprint(production) == before


def test_the_copy_session_refuses_writes_even_for_an_owner(production: PgDatabase) -> None:
    """lightnb's sessions on the source are read-only: the server itself would refuse a write."""
    with connect(production.url, read_only=True) as conn, pytest.raises(Exception, match="read-only"):
        conn.execute("INSERT INTO audit VALUES (3, 'x')")


def test_a_dump_the_role_may_not_read_fails_in_one_line_without_the_password(
        production: PgDatabase, pg_cluster: Cluster) -> None:
    reader_url = add_reader(production)
    production.execute("CREATE TABLE secrets (id int PRIMARY KEY, token text)")  # no SELECT granted on it
    name = f"lightnb_copy_{os.getpid()}_denied"
    with pytest.raises(DumpError) as caught:
        copy_database(reader_url, pg_cluster, name)
    message = str(caught.value)
    assert "\n" not in message and PASSWORD not in message
    assert message.startswith("pg_dump could not read database") and "permission denied" in message
    assert name not in _databases(pg_cluster)  # nothing half-restored is kept


def test_a_source_that_cannot_be_reached_is_one_line_without_the_password(pg_cluster: Cluster) -> None:
    url = pg_cluster.url("no_such_database").replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    with pytest.raises(ConnectError) as caught:
        copy_database(url, pg_cluster, f"lightnb_copy_{os.getpid()}_missing")
    assert "does not exist" in str(caught.value) and PASSWORD not in str(caught.value)


def test_version_problem_words() -> None:
    assert version_problem("15.4", 15, "15.2", 15, "db:5432") is None
    assert version_problem("16.1", 16, "13.9", 13, "db:5432") is None
    line = version_problem("15.4", 15, "17.0", 17, "database `app` on db:5432")
    assert line is not None and "\n" not in line
    assert line.startswith("pg_dump 15.4 cannot read PostgreSQL 17.0 on database `app` on db:5432")
    assert "postgresql-client-17" in line


def test_a_pg_dump_older_than_the_server_is_refused_before_anything_runs(
        production: PgDatabase, pg_cluster: Cluster, tmp_path: Path) -> None:
    folder = tmp_path / "old-bin"
    folder.mkdir()
    marker = tmp_path / "ran"
    for program in ("pg_dump", "pg_restore"):
        script = folder / program
        script.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{program} (PostgreSQL) 9.6.24'; "
                          f"exit 0; fi\ntouch {marker}\nexit 1\n", encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    name = f"lightnb_copy_{os.getpid()}_old"
    with pytest.raises(DumpError) as caught:
        copy_database(production.url, pg_cluster, name, binaries=Binaries(folder, "9.6.24", 9))
    assert str(caught.value).startswith("pg_dump 9.6.24 cannot read PostgreSQL ")
    assert "\n" not in str(caught.value)
    assert not marker.exists() and name not in _databases(pg_cluster)


def test_take_snapshot_makes_the_base_and_replaces_it_only_after_a_good_copy(
        production: PgDatabase, tmp_path: Path) -> None:
    workspace = tmp_path / ".lightnb"
    reader_url = add_reader(production)
    try:
        info = take_snapshot(reader_url, workspace)
        assert (info.tables, info.rows) == (3, 702)
        assert read_record(workspace) == info and PASSWORD not in (workspace / RECORD).read_text()
        cluster = start_cluster(cluster_folder(workspace))
        assert BASE in _databases(cluster)
        production.execute("INSERT INTO audit VALUES (3, 'later')")
        broken = reader_url.replace(production.name, "missing_db")
        with pytest.raises(ConnectError):
            take_snapshot(broken, workspace)
        assert _rows(cluster, BASE, "audit") == 2 and read_record(workspace) == info  # the old base stands
        take_snapshot(reader_url, workspace)
        assert _rows(cluster, BASE, "audit") == 3
        # the previous base was swapped aside, to be dropped once this process ends (before its server stops) …
        assert {d for d in _databases(cluster) if d.startswith(BASE)} == {BASE, f"{BASE}_old_{os.getpid()}"}
        cluster.stop()  # … or when the server is stopped first
        cluster = start_cluster(cluster_folder(workspace))
        assert {d for d in _databases(cluster) if d.startswith(BASE)} == {BASE}
        assert _rows(cluster, BASE, "audit") == 3
    finally:
        start_cluster(cluster_folder(workspace)).destroy()


def test_cli_snapshot_then_check_uses_the_local_base_and_never_writes_production(
        production: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_add_age", "ALTER TABLE users ADD COLUMN age int;",
                       "ALTER TABLE users DROP COLUMN age;")
            .build())
    reader_url = add_reader(production)
    before = fingerprint(production)
    try:
        assert main(["snapshot", "--project", str(root), "--database-url", reader_url]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Copied database `{production.name}` on socket folder")
        assert "3 table(s), 702 row(s)" in out
        code = main(["check", "--project", str(root), "--no-tests"])
        out = capsys.readouterr().out
        assert "2024-01-01-000000_add_age: SAFE" in out and "verdict: safe" in out and code == 0
        assert f"rehearsed on a copy of database `{production.name}`" in out
        assert PASSWORD not in out
        cluster = start_cluster(cluster_folder(root / ".lightnb"))
        cluster.drop_database(BASE)  # the copy vanished (a temporary folder cleaned, say)
        assert main(["check", "--project", str(root), "--no-tests"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is gone from the private cluster" in err and "lightnb snapshot" in err
        with connect(production.url) as conn:
            assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                                "AND column_name = 'age'").fetchone() == (0,)
    finally:
        start_cluster(cluster_folder(root / ".lightnb")).destroy()
    time.sleep(0.6)
    assert fingerprint(production) == before


def test_rows_are_each_table_s_own_counted_once(production: PgDatabase, tmp_path: Path) -> None:
    """A partition or an inheriting table is counted as itself, never again through its parent."""
    production.execute("""
        CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
        CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        INSERT INTO events SELECT g, date '2023-06-01' + g FROM generate_series(1, 300) g;
        CREATE TABLE notes (id int, body text);
        CREATE TABLE pinned_notes (rank int) INHERITS (notes);
        INSERT INTO notes SELECT g, 'n' FROM generate_series(1, 7) g;
        INSERT INTO pinned_notes SELECT g, 'p', g FROM generate_series(1, 4) g;
        CREATE TABLE nothing_yet (x int);
        DELETE FROM posts WHERE id % 5 = 0;
    """)
    workspace = tmp_path / ".lightnb"
    try:
        info = take_snapshot(production.url, workspace)
        # users 200 + posts 400 + audit 2 + events' partitions 300 + notes 7 + pinned_notes 4 + nothing_yet 0
        assert (info.tables, info.rows) == (9, 913)
        cluster = start_cluster(cluster_folder(workspace))
        assert _counts(cluster, BASE) == (9, 913)  # counted in the copy, as `snapshot --status` does
        assert base_status(workspace).rows == 913
    finally:
        start_cluster(cluster_folder(workspace)).destroy()


def test_rows_are_counted_when_the_restore_s_own_tally_cannot_be_read(pg_cluster: Cluster) -> None:
    """The server's tally of inserted rows is only read once nothing but the restore ever wrote there, its
    session gone; while another session is on the database, every table is counted instead."""
    name = f"lightnb_tally_{os.getpid()}"
    pg_cluster.drop_database(name)
    url = pg_cluster.create_database(name)
    try:
        with connect(url) as conn:
            conn.execute("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 10); TRUNCATE t; "
                         "INSERT INTO t VALUES (1), (2), (3)")  # the tally says 13 inserted, 0 deleted
        with connect(url) as lingering:
            lingering.execute("SELECT 1")
            assert _restored_counts(pg_cluster, name, timeout=0.05) == (1, 3)
    finally:
        pg_cluster.drop_database(name)


def test_pg_dump_starts_while_the_cluster_starts_and_stops_when_it_cannot(
        production: PgDatabase, pg_cluster: Cluster, tmp_path: Path) -> None:
    real = find_binaries()
    version = subprocess.run([real.program("pg_dump"), "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    folder = tmp_path / "bin"
    folder.mkdir()
    started = tmp_path / "pg_dump.pid"
    script = folder / "pg_dump"
    script.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{version}'; exit 0; fi\n"
                      f"echo $$ > {started}.tmp && mv {started}.tmp {started}\nexec sleep 60\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (folder / "pg_restore").symlink_to(real.program("pg_restore"))

    def cluster_that_fails() -> Cluster:
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:  # pg_dump reads while the cluster starts
            time.sleep(0.01)
        raise ClusterError("PostgreSQL did not start in the test's cluster")

    with pytest.raises(ClusterError, match="did not start"):
        copy_database(production.url, cluster_that_fails, f"lightnb_copy_{os.getpid()}_nostart",
                      binaries=Binaries(folder, real.version, real.major))
    assert started.exists()  # pg_dump ran while the cluster was starting …
    with pytest.raises(ProcessLookupError):  # … and was stopped (and reaped) when the cluster failed
        os.kill(int(started.read_text()), 0)


def test_pg_dump_is_never_started_once_the_copy_was_given_up(production: PgDatabase, tmp_path: Path) -> None:
    """Ctrl-C while the source is being checked: the thread that checks it must not start pg_dump afterwards."""
    marker = tmp_path / "ran"
    real = find_binaries()
    reader = _Reader(production.url, real.program("pg_dump"), ["sh", "-c", f"touch {marker}"], dict(os.environ),
                     "the test's production")
    reader.stop()  # the caller gave up first
    reader.run()
    assert reader.error is None and reader.process is None and reader.versions is not None
    time.sleep(0.2)
    assert not marker.exists()
