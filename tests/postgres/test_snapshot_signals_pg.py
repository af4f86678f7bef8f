"""A signal during ``lightnb snapshot`` of PostgreSQL: pg_dump stopped, the half-made copy dropped, the previous
base kept, and no server left running — however the command ends (Ctrl-C, SIGTERM, even SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.base import BASE, cluster_folder
from lightnb.backends.postgres.cluster import socket_dir_of, start_cluster
from lightnb.backends.postgres.connect import ConnectError, connect
from lightnb.backends.postgres.watchdog import alive as _alive
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import make_production
from tests.support.postgres import PgDatabase
from tests.support.processes import children


def _lightnb(*args: str) -> list[str]:
    return [sys.executable, "-m", "lightnb", *args]


def _private(folder: Path) -> str:
    return pgurl.socket_url(str(socket_dir_of(folder)), "postgres", user="postgres", port=5432)


def _wait(what: str, check: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _copy_in_progress(folder: Path, pid: int) -> bool:
    """The half-made copy exists in the private cluster."""
    try:
        with connect(_private(folder)) as conn:
            return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                                (f"{BASE}_new_{pid}",)).fetchone() == (1,)
    except ConnectError:
        return False


def _program(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _dump_sessions(production: PgDatabase, *, waiting: bool) -> int:
    with production.connect() as conn:
        query = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' "
                 "AND datname = current_database()")
        if waiting:
            query += " AND wait_event_type = 'Lock'"
        return int(conn.execute(query).fetchone()[0])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_signal_during_a_snapshot_leaves_the_previous_base_and_nothing_running(
        pg_database: PgDatabase, tmp_path: Path, signum: int) -> None:
    make_production(pg_database)
    root = ProjectBuilder(tmp_path / "app").build()
    folder = cluster_folder(root / ".lightnb")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    first = subprocess.run(_lightnb("snapshot", "--project", str(root), "--database-url", pg_database.url),
                           capture_output=True, text=True, env=env, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    socket = socket_dir_of(folder) / ".s.PGSQL.5432"
    _wait("the first snapshot's server stops", lambda: not socket.exists())
    holder = pg_database.connect(autocommit=False)
    holder.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")  # pg_dump waits for it: the copy stays half-made
    child = subprocess.Popen(_lightnb("snapshot", "--project", str(root), "--database-url", pg_database.url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait("the copy is under way", lambda: child.poll() is None and _copy_in_progress(folder, child.pid)
              and _dump_sessions(pg_database, waiting=True) == 1 or child.poll() is not None)
        assert child.poll() is None, child.communicate()
        dumpers = [pid for pid in children(child.pid) if _program(pid) == "pg_dump"]
        assert len(dumpers) == 1
        child.send_signal(signum)
        _out, err = child.communicate(timeout=60)
        assert child.returncode != 0
        if signum != signal.SIGKILL:
            assert "Traceback" not in err and err.count("\n") <= 1, err
            _wait("pg_dump is stopped", lambda: not _alive(dumpers[0]), 15)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
        holder.rollback()
        holder.close()
    try:
        _wait("no server is left running", lambda: not socket.exists())
        cluster = start_cluster(folder)
        with connect(cluster.url()) as conn:
            names = {row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'lightnb%'")}
        assert names == {BASE}  # no half-made copy; the previous base stands
        with connect(cluster.url(BASE)) as conn:
            assert conn.execute("SELECT count(*) FROM audit").fetchone() == (2,)
    finally:
        start_cluster(folder).destroy()
        _wait("pg_dump's session ended", lambda: _dump_sessions(pg_database, waiting=False) == 0, 30)
