"""Rehearsal clones: CREATE DATABASE … TEMPLATE, dropped afterwards (exceptions, SIGTERM, a killed maker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightnb.backends.postgres.clone import (
    PREFIX,
    NotAClone,
    drop_clone,
    make_clone,
    rehearsal_clone,
    require_clone,
    sweep_stale,
)
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.locks import run_measured
from lightnb.migrations import discover
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

REPO = Path(__file__).resolve().parents[2]


def _databases(cluster: Cluster) -> set[str]:
    with connect(cluster.url()) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def test_a_clone_holds_the_template_s_rows_and_is_dropped_after_an_error(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)")
    cluster = pg_database.cluster
    with pytest.raises(RuntimeError), rehearsal_clone(cluster, pg_database.name) as clone:
        assert clone.name.startswith(PREFIX) and clone.template == pg_database.name
        with clone.connect() as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (100,)
            conn.execute("DELETE FROM t")
        raise RuntimeError("boom")
    assert clone.name not in _databases(cluster)
    with pg_database.connect() as conn:  # the template is untouched
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (100,)


def test_migration_sql_is_refused_anywhere_but_a_clone(pg_database: PgDatabase, tmp_path: Path) -> None:
    cluster = pg_database.cluster
    with pytest.raises(NotAClone, match="never on database"):
        require_clone(pg_database.url, cluster)
    with pytest.raises(NotAClone):
        require_clone("postgres://app:pw@db.example.com/lightnb_clone_1_ab", cluster)
    root = ProjectBuilder(tmp_path).migration("1_t", "CREATE TABLE t (x int);").build()
    from lightnb.backends.postgres.clone import Clone
    fake = Clone(cluster, pg_database.name, "template1")  # a "clone" naming a real database
    with pytest.raises(NotAClone):
        run_measured(fake, discover(root / "migrations")[0])
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)
    with pytest.raises(NotAClone):
        drop_clone(fake)
    assert pg_database.name in _databases(cluster)


def test_a_clone_left_by_a_killed_process_is_swept(pg_database: PgDatabase) -> None:
    cluster = pg_database.cluster
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = f"{PREFIX}{dead}_abc123"
    cluster.create_database(stale)
    mine = make_clone(cluster, pg_database.name)
    try:
        assert stale in sweep_stale(cluster)
        assert stale not in _databases(cluster) and mine.name in _databases(cluster)  # a live maker's stays
    finally:
        drop_clone(mine)


CHILD = """
import sys, time
from pathlib import Path
from lightnb import signals
from lightnb.backends.postgres.cluster import start_cluster
from lightnb.backends.postgres.clone import rehearsal_clone
cluster = start_cluster(Path(sys.argv[1]))
with signals.unwinding_on_termination(redeliver=False):
    try:
        with rehearsal_clone(cluster, sys.argv[2]) as clone:
            print(clone.name, flush=True)
            time.sleep(60)
    except KeyboardInterrupt:
        print("stopped", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_clone_is_dropped_on_sigterm_and_ctrl_c(pg_database: PgDatabase, signum: int) -> None:
    cluster = pg_database.cluster
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(cluster.folder), pg_database.name], cwd=REPO,
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert child.stdout is not None
        name = child.stdout.readline().strip()
        assert name.startswith(PREFIX) and name in _databases(cluster)
        child.send_signal(signum)
        assert child.stdout.readline().strip() == "stopped"
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    deadline = time.monotonic() + 10
    while name in _databases(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert name not in _databases(cluster)
    assert cluster.running  # the test's cluster (not the child's to stop) still serves
