"""The private PostgreSQL cluster: made once, started fast, reused, never left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from lightnb.backends.postgres import binaries
from lightnb.backends.postgres import cluster as cluster_module
from lightnb.backends.postgres.binaries import PostgresNotInstalled, find_binaries
from lightnb.backends.postgres.cluster import (
    SOCKET_PATH_LIMIT,
    Cluster,
    ClusterError,
    _alive,
    _layout,
    _read_pid_file,
    _User,
    start_cluster,
)
from lightnb.backends.postgres.connect import connect

REPO = Path(__file__).resolve().parents[2]


def _server_pid(data_dir: Path) -> int | None:
    info = _read_pid_file(data_dir)
    return info.pid if info is not None else None


def _wait_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, check=False)


def test_cluster_serves_a_unix_socket_only_with_scratch_settings(pg_cluster: Cluster) -> None:
    with connect(pg_cluster.url()) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("listen_addresses", "fsync", "unix_socket_directories", "unix_socket_permissions")}
    assert settings == {"listen_addresses": "", "fsync": "off", "unix_socket_directories": str(pg_cluster.socket_dir),
                        "unix_socket_permissions": "0700"}
    assert oct(pg_cluster.socket_dir.stat().st_mode & 0o777) == "0o700"
    assert start_cluster(pg_cluster.folder) is pg_cluster  # started by this process: the same object


def test_a_scratch_cluster_runs_no_autovacuum_and_minimal_wal(pg_cluster: Cluster) -> None:
    """No worker starts on a fresh copy at each start (only to be stopped at each end), no table loaded in the
    transaction that made it is also written to the WAL, and no checkpoint falls in the middle of a restore."""
    with connect(pg_cluster.url()) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                    for name in ("autovacuum", "wal_level", "max_wal_senders", "max_wal_size")}
    assert settings == {"autovacuum": "off", "wal_level": "minimal", "max_wal_senders": "0", "max_wal_size": "1GB"}


def test_databases_are_file_copies_of_a_template(pg_cluster: Cluster) -> None:
    url = pg_cluster.create_database("copy_source")
    try:
        with connect(url) as conn:
            conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
        copy = pg_cluster.create_database("copy_target", template="copy_source")
        with connect(copy) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
        with pytest.raises(ClusterError, match="already exists"):
            pg_cluster.create_database("copy_target")
    finally:
        pg_cluster.drop_database("copy_target")
        pg_cluster.drop_database("copy_source")


def _owner_ending(folder: Path, ending: str) -> int:
    """Start the cluster in a child process that then ends by ``ending``; return the server's pid.

    The child waits for a line on its standard input before it ends (or for SIGTERM), so that the server's pid is
    read while its owner still runs: ended at once, the owner could stop the server before the pid was read."""
    started = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, signal, sys
        from lightnb.backends.postgres.cluster import start_cluster
        c = start_cluster(sys.argv[1])
        print(c.data_dir, flush=True)
        sys.stdin.readline()
        if sys.argv[2] == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        """), str(folder), ending], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert started.stdout is not None and started.stdin is not None
    pid = _server_pid(Path(started.stdout.readline().strip()))
    assert pid is not None and _alive(pid)
    if ending == "sigterm":
        started.send_signal(signal.SIGTERM)
    else:
        started.stdin.write("end\n")
        started.stdin.flush()
    started.wait(timeout=60)
    started.stdin.close()
    return pid


def test_lifecycle_reuse_attach_and_no_server_outlives_its_owner(tmp_path: Path) -> None:
    folder = tmp_path / "pg"
    first = start_cluster(folder)
    try:
        assert first.owned and first.initialised and first.running
        url = first.create_database("kept")
        first.stop()
        assert not first.running
        second = start_cluster(folder)
        assert second.owned and not second.initialised  # no initdb the second time
        with connect(url) as conn:  # the data survived
            assert conn.execute("SELECT current_database()").fetchone() == ("kept",)
        # Another process finds the server running and uses it without owning it: its exit leaves it up.
        attached = _run_python("""
            import sys
            from lightnb.backends.postgres.cluster import start_cluster
            c = start_cluster(sys.argv[1])
            print(c.owned, c.socket_dir)
            """, str(folder))
        assert attached.returncode == 0, attached.stderr
        assert attached.stdout.split() == ["False", str(second.socket_dir)]
        assert second.running
        second.stop()
        # A server started by a process stops when that process exits, is terminated, or is killed.
        for ending in ("exit", "sigterm", "sigkill"):
            pid = _owner_ending(folder, ending)
            assert _wait_gone(pid), f"PostgreSQL {pid} still runs after its owner ended ({ending})"
    finally:
        start_cluster(folder).destroy()


def test_layout_moves_out_of_folders_the_server_user_cannot_use(tmp_path: Path) -> None:
    stranger = _User("nobody-here", 2_000_000_000, 2_000_000_000)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    inside = _layout(private / "pg", stranger)
    assert inside.base.name.startswith("lightnb-pg-")  # the server's user cannot enter a 0700 folder
    assert _layout(private / "pg", stranger) == inside  # the same place every time
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    layout = _layout(deep, None)
    assert layout.data_dir == deep / "data"
    assert len(os.fsencode(layout.socket_dir / ".s.PGSQL.5432")) <= SOCKET_PATH_LIMIT
    assert layout.socket_dir.parent.name.startswith("lightnb-pg-")  # socket path too long: moved
    quoted = _layout(tmp_path / "it's \"odd\"", None)
    assert quoted.base.name.startswith("lightnb-pg-")  # pg_ctl hands paths to /bin/sh


def test_missing_postgresql_is_one_line_that_says_what_to_do(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv(binaries.ENV_BINDIR, str(tmp_path / "nothing"))
    find_binaries.cache_clear()
    try:
        with pytest.raises(PostgresNotInstalled) as caught:
            start_cluster(tmp_path / "pg")
    finally:
        find_binaries.cache_clear()
    message = str(caught.value)
    assert "\n" not in message
    assert "PostgreSQL is not installed" in message and "make system-deps" in message


def test_a_cluster_of_another_major_version_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "PG_VERSION").write_text("9\n", encoding="utf-8")
    with pytest.raises(ClusterError, match="made by PostgreSQL 9"):
        cluster_module._check_version(find_binaries(), data)


def _names(cluster: Cluster) -> set[str]:
    with connect(cluster.url()) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


_DEFERRING_OWNER = """
    import os, signal, sys, time
    from lightnb.backends.postgres.cluster import start_cluster
    c = start_cluster(sys.argv[1])
    c.create_database("retired")
    c.drop_database_later("retired")      # the command does not wait for this drop …
    c.drop_database_at_exit("never_made")  # … nor for one of a database that was never made
    c.create_database("kept")
    print(c.data_dir, flush=True)
    if sys.argv[2] == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[2] == "sigterm":
        time.sleep(60)
    """


@pytest.mark.parametrize("ending", ["exit", "sigterm", "sigkill"])
def test_a_database_dropped_later_is_gone_before_the_server_stops_however_its_owner_ends(
        tmp_path: Path, ending: str) -> None:
    folder = tmp_path / "pg"
    start_cluster(folder).stop()  # made once here; the child starts (and owns) the server
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_DEFERRING_OWNER), str(folder), ending],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout is not None
        pid = _server_pid(Path(child.stdout.readline().strip()))
        assert pid is not None and _alive(pid)
        if ending == "sigterm":
            child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        assert _wait_gone(pid, 60), f"PostgreSQL {pid} still runs after its owner ended ({ending})"
        again = start_cluster(folder)
        try:
            assert again.owned  # the server was gone: this process started its own
            assert "retired" not in _names(again) and "kept" in _names(again)
        finally:
            again.stop()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        start_cluster(folder).destroy()


def test_a_command_starting_while_the_watchdog_drops_waits_until_that_server_is_gone(tmp_path: Path) -> None:
    """The ended owner's server is not reused while its watchdog drops what was left to drop (it would be
    stopped under the new command): the new command waits, then starts its own."""
    real = find_binaries()
    folder = tmp_path / "pg"
    start_cluster(folder).stop()
    with tempfile.TemporaryDirectory(prefix="lightnb-test-bin-") as where:  # a folder the server's user can reach
        slow = Path(where)
        slow.chmod(0o755)
        for program in real.bin_dir.iterdir():
            (slow / program.name).symlink_to(program)
        (slow / "dropdb").unlink()
        (slow / "dropdb").write_text(f"#!/bin/sh\nsleep 3\nexec {real.program('dropdb')} \"$@\"\n",
                                     encoding="utf-8")
        (slow / "dropdb").chmod(0o755)
        env = {**os.environ, binaries.ENV_BINDIR: str(slow)}
        child = subprocess.run([sys.executable, "-c", textwrap.dedent(_DEFERRING_OWNER), str(folder), "exit"],
                               capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False)
        assert child.returncode == 0, child.stderr
        _check_the_wait(folder, child.stdout)


def _check_the_wait(folder: Path, printed: str) -> None:
    pid = _server_pid(Path(printed.strip()))
    assert pid is not None and _alive(pid)  # the owner ended without waiting for the drop and the stop
    again = start_cluster(folder)
    try:
        assert not _alive(pid) and again.owned  # waited for that server to go, then started its own
        assert "retired" not in _names(again) and "kept" in _names(again)
    finally:
        again.destroy()


def test_a_database_dropped_later_on_a_server_another_process_started_is_dropped_at_once(
        pg_cluster: Cluster) -> None:
    pg_cluster.create_database("borrowed")
    try:
        attached = _run_python("""
            import sys
            from lightnb.backends.postgres.cluster import start_cluster
            c = start_cluster(sys.argv[1])
            assert not c.owned and not c.drop_database_at_exit("borrowed")
            c.drop_database_later("borrowed")
            print("dropped")
            """, str(pg_cluster.folder))
        assert attached.stdout.strip() == "dropped", attached.stderr
        assert "borrowed" not in _names(pg_cluster) and pg_cluster.running  # dropped at once; the server kept
    finally:
        pg_cluster.drop_database("borrowed")


def test_a_client_refused_while_the_server_starts_is_not_a_failed_start(tmp_path: Path) -> None:
    """A client connecting during start-up is told so in the server's log (FATAL): that is its failure, not the
    server's, which is then reported ready as usual."""
    log = tmp_path / "server.log"
    log.write_text("2026-01-01 00:00:00 UTC [1] FATAL:  the database system is starting up\n", encoding="utf-8")
    assert cluster_module._log_failure(log, 0) is None
    with log.open("a", encoding="utf-8") as handle:
        handle.write("2026-01-01 00:00:01 UTC [1] FATAL:  could not create lock file \"/x/.s.PGSQL.5432.lock\"\n")
    assert "could not create lock file" in (cluster_module._log_failure(log, 0) or "")


def test_a_start_that_fails_leaves_no_server_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the start be judged failed (a FATAL line in the log) while the server came up all the same, that
    server is stopped: nobody else would stop it."""
    folder = tmp_path / "pg"
    start_cluster(folder).stop()
    monkeypatch.setattr(cluster_module, "_log_failure", lambda _log, _offset: "FATAL: made up by the test")
    monkeypatch.setattr(cluster_module, "_POLL_SECONDS", 0.2)  # the server gets time to come up first
    with pytest.raises(ClusterError, match="made up by the test"):
        start_cluster(folder)
    monkeypatch.undo()
    data_dir = _layout(folder.resolve(), cluster_module._system_user()).data_dir
    time.sleep(1.0)  # a server left behind would be up by now
    assert _read_pid_file(data_dir) is None  # stopped, its pid file gone
    start_cluster(folder).destroy()
