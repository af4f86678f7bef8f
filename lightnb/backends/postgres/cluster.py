"""A private PostgreSQL cluster in a folder of lightnb's: made once by initdb, started by pg_ctl.

* Unix socket only (``listen_addresses = ''``), in a socket folder inside the cluster's folder that
  only the server's user may enter; trust authentication on that socket.
* Running as root, the server runs as the ``postgres`` system user (initdb and postgres refuse root)
  and owns its folders. When that user cannot reach the folder (a 0700 home, a pytest temporary
  folder), or the path is too long for a unix socket (107 bytes) or unsafe for pg_ctl's shell, the
  cluster lives in ``<tmp>/lightnb-pg-<uid>-<hash of the folder>`` instead: the same place each time.
* Scratch settings by default (fsync, synchronous_commit, full_page_writes off): what lives here is a
  copy of something, never the only copy. Autovacuum is off there too: a command lives seconds, and a
  worker started on a fresh copy at each start (to be stopped unfinished at each end) only takes the
  command's CPU and holds up ``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE`` in 100 ms steps.
  (The server still vacuums to prevent transaction-id wraparound.) Nothing replicates from a private
  cluster, so its WAL is minimal: a restore writes its tables once, and no checkpoint falls in its middle.
* :func:`start_cluster` reuses a server already running on the folder. A server this process started
  is stopped when the process ends, by a watchdog process started with it: at exit the process asks
  for the stop and does not wait (:func:`release_owned_clusters`), and the watchdog sees it through,
  first dropping the databases left to it (:meth:`Cluster.drop_database_later`: a command does not wait
  for the drop of what it replaced); a command starting there meanwhile waits until that server is gone.
  SIGTERM/SIGHUP stop it, waiting; should this process die without cleaning up (SIGKILL), the
  watchdog stops it all the same.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.binaries import Binaries, find_binaries
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.watchdog import alive as _alive
from lightnb.errors import DatabaseError

PORT = 5432
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"
SOCKET_PATH_LIMIT = 107  # bytes of sockaddr_un.sun_path, the final NUL excluded
SETTINGS_FILE = "lightnb.conf"
_POLL_SECONDS = 0.002
_SAFE_PATH = re.compile(r"[\w./+@ -]+", re.ASCII)  # pg_ctl passes paths through /bin/sh in quotes
_WATCHDOG = Path(__file__).with_name("watchdog.py")


class ClusterError(DatabaseError):
    """The private cluster cannot be made, started or stopped."""


@dataclass(frozen=True, slots=True)
class _User:
    """The system user the server runs as (only when lightnb runs as root)."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class _Layout:
    base: Path
    data_dir: Path
    socket_dir: Path
    log_file: Path


@dataclass
class Cluster:
    """A running private cluster.

    :param folder: the folder it belongs to (what :func:`start_cluster` was given).
    :param data_dir: its data folder (PGDATA).
    :param socket_dir: the folder of its unix socket.
    :param binaries: the PostgreSQL installation it runs.
    :param owned: whether this process started it (and so stops it on exit).
    :param startup_seconds: how long :func:`start_cluster` took (initdb included when it ran).
    """

    folder: Path
    data_dir: Path
    socket_dir: Path
    log_file: Path
    binaries: Binaries
    owned: bool = False
    startup_seconds: float = 0.0
    initialised: bool = False
    _base: Path | None = field(default=None, repr=False)

    def url(self, database: str = "postgres") -> str:
        """Return the ``postgresql://`` URL of one database of this cluster (socket, superuser)."""
        return pgurl.socket_url(str(self.socket_dir), database, user=SUPERUSER, port=PORT)

    @property
    def running(self) -> bool:
        """Return whether the server is up."""
        info = _read_pid_file(self.data_dir)
        return info is not None and _alive(info.pid)

    def create_database(self, name: str, *, template: str = "template1", replace: bool = False) -> str:
        """Create a database as a file copy of ``template`` and return its URL.

        :param replace: drop a database of that name first (on the same connection).
        :raises ClusterError: when the name is taken or the template is in use.
        """
        strategy = sql.SQL(" STRATEGY FILE_COPY") if self.binaries.major >= 15 else sql.SQL("")
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
            sql.Identifier(name), sql.Identifier(template), strategy)
        self._admin(query, f"Cannot create database {name!r} from {template!r}",
                    before=[self.drop_query(name)] if replace else [])
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database of this cluster if it exists, disconnecting its sessions."""
        self._admin(self.drop_query(name), f"Cannot drop database {name!r}")

    def drop_database_later(self, name: str) -> None:
        """Drop a database once this process has ended, before its server stops, without waiting for it.

        A server this process started is stopped by its watchdog when the process ends: the watchdog
        drops the database first (and a command starting meanwhile waits until that server is gone). On a
        server this process did not start, or without a watchdog, the database is dropped at once.
        """
        if not self.drop_database_at_exit(name):
            self.drop_database(name)

    def drop_database_at_exit(self, name: str) -> bool:
        """Have a database (that may not exist yet) dropped when this process ends, however it ends, before
        the server stops: by the server's watchdog, or by :meth:`stop`. Return False, doing nothing, when
        this process did not start the server or it has no watchdog.

        A database renamed meanwhile is no longer dropped: a copy made under a temporary name and swapped
        in only once complete is dropped when the process dies before the swap, and kept after it.
        """
        return _SAFE_NAME.fullmatch(name) is not None and _defer_drop(self, name)

    def drop_query(self, name: str) -> sql.Composed:
        """Return ``DROP DATABASE IF EXISTS name`` (``WITH (FORCE)``: its sessions are ended first)."""
        force = sql.SQL(" WITH (FORCE)") if self.binaries.major >= 13 else sql.SQL("")
        return sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force)

    def _admin(self, query: sql.Composed, failure: str, *, before: list[sql.Composed] | None = None) -> None:
        try:
            with connect(self.url("postgres")) as conn:
                for earlier in before or ():
                    conn.execute(earlier)
                conn.execute(query)
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            raise ClusterError(f"{failure} in the cluster at {self.data_dir}: {reason}; check the name.") from error

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (fast shutdown, then immediate) and wait until it is gone; the databases
        :meth:`drop_database_later` named are dropped first.

        :raises ClusterError: when the server does not stop, or belongs to another user.
        """
        for name in _take_deferred(self):
            if self.running:
                with contextlib.suppress(DatabaseError):
                    self.drop_database(name)
        _stop_server(self.data_dir, timeout)
        _forget(self)

    def destroy(self) -> None:
        """Stop the server and delete the cluster's files (its folders under lightnb's folder or tmp)."""
        self.stop()
        base = self._base or self.data_dir.parent
        for path in (self.data_dir, self.socket_dir, self.log_file):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if base != self.folder and base.name.startswith("lightnb-pg-"):
            shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _PidFile:
    pid: int
    socket_dir: str
    status: str


def _read_pid_file(data_dir: Path) -> _PidFile | None:
    """Read ``postmaster.pid``: line 1 the pid, line 5 the socket folder, line 8 the status."""
    try:
        lines = (data_dir / "postmaster.pid").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None
    socket_dir = lines[4].strip() if len(lines) > 4 else ""
    status = lines[7].strip() if len(lines) > 7 else ""
    return _PidFile(int(lines[0]), socket_dir, status)


def _system_user() -> _User | None:
    """Return the user the server must run as: ``postgres`` when lightnb is root, else None (itself)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise ClusterError("PostgreSQL refuses to run as root and there is no `postgres` system user; "
                           "install Debian's postgresql package (it creates the user) or run lightnb as "
                           "a normal user.") from None
    return _User(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _reachable(path: Path, user: _User) -> bool:
    """Return whether ``user`` may traverse every folder from / down to ``path``."""
    for folder in (path, *path.parents):
        try:
            info = folder.stat()
        except OSError:
            return False
        if info.st_uid == user.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == user.gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def _fallback_base(folder: Path) -> Path:
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"lightnb-pg-{os.geteuid()}-{digest}"


def _socket_fits(socket_dir: Path) -> bool:
    return (len(os.fsencode(socket_dir / f".s.PGSQL.{PORT}")) <= SOCKET_PATH_LIMIT
            and _SAFE_PATH.fullmatch(str(socket_dir)) is not None)


def _layout(folder: Path, user: _User | None) -> _Layout:
    """Decide where data, socket and log live (see the module docstring)."""
    base = folder
    if _SAFE_PATH.fullmatch(str(folder)) is None or (user is not None and not _reachable(folder.parent, user)):
        base = _fallback_base(folder)
    socket_dir = base / "run"
    if not _socket_fits(socket_dir):
        socket_dir = _fallback_base(folder) / "run"
        if not _socket_fits(socket_dir):
            raise ClusterError(f"The temporary folder {tempfile.gettempdir()} is too long a path for a "
                               f"PostgreSQL socket ({SOCKET_PATH_LIMIT} bytes); set TMPDIR to a short folder.")
    return _Layout(base, base / "data", socket_dir, base / "server.log")


def socket_dir_of(folder: str | Path) -> Path:
    """Return the socket folder the cluster of ``folder`` uses (the same each time; nothing is created)."""
    return _layout(Path(folder).resolve(), _system_user()).socket_dir


def _prepare(layout: _Layout, user: _User | None) -> None:
    """Create the folders with the modes and owner the server needs."""
    for base in {layout.base, layout.socket_dir.parent}:
        if base.exists() and base.name.startswith("lightnb-pg-") and base.stat().st_uid != os.geteuid():
            raise ClusterError(f"{base} belongs to another user; remove it, or set TMPDIR to a private folder.")
        base.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chmod(base, 0o711)  # the server's user may pass through, nothing more
    for folder in (layout.data_dir, layout.socket_dir):
        folder.mkdir(mode=0o700, exist_ok=True)
    layout.log_file.touch(mode=0o600, exist_ok=True)
    if user is not None:
        for path in (layout.data_dir, layout.socket_dir, layout.log_file):
            os.chown(path, user.uid, user.gid)
    os.chmod(layout.socket_dir, 0o700)


def _environment() -> dict[str, str]:
    """Return this process's environment without libpq/server variables that would redirect the server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _run(command: list[str], user: _User | None, cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program (as ``user`` when given) and return the finished process."""
    extra: dict[str, Any] = {}
    if user is not None:
        extra = {"user": user.uid, "group": user.gid, "extra_groups": []}
    try:
        return subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True,
                              timeout=120, check=False, **extra)
    except (OSError, subprocess.SubprocessError) as error:
        raise ClusterError(f"Cannot run {what} ({error}); check the PostgreSQL installation.") from error


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _initdb(binaries: Binaries, layout: _Layout, user: _User | None) -> None:
    """Make the cluster: UTF-8, C.UTF-8 collation (C when the system lacks it), 1 MB WAL segments."""
    if any(layout.data_dir.iterdir()):
        raise ClusterError(f"{layout.data_dir} is not empty and holds no PostgreSQL cluster; empty it or give "
                           f"lightnb another folder.")
    base = [binaries.program("initdb"), "-D", str(layout.data_dir), "-U", SUPERUSER, "--auth=trust",
            "-E", "UTF8", "--no-sync", "--wal-segsize=1"]
    if binaries.major >= 14:
        base.append("--no-instructions")
    result = None
    for locale in ("C.UTF-8", "C"):
        result = _run([*base, f"--locale={locale}"], user, layout.base, "initdb")
        if result.returncode == 0:
            return
        if "locale" not in result.stderr.lower():
            break
    assert result is not None
    raise ClusterError(f"initdb failed in {layout.data_dir}: {_last_line(result.stderr or result.stdout)}; "
                       f"fix the cause or delete the folder to start afresh.")


def _check_version(binaries: Binaries, data_dir: Path) -> None:
    made_by = (data_dir / "PG_VERSION").read_text(encoding="utf-8").strip()
    if made_by != str(binaries.major):
        raise ClusterError(f"The cluster in {data_dir} was made by PostgreSQL {made_by} but the installed "
                           f"server is {binaries.major}; delete {data_dir} to make a new one (it only holds copies).")


def _conf_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _write_settings(layout: _Layout, user: _User | None, fsync: bool) -> None:
    """Write lightnb's settings file (rewritten at every start) and include it from postgresql.conf."""
    durable = "on" if fsync else "off"
    settings = (
        "# Written by lightnb at every start of this private cluster; edits are lost.\n"
        "listen_addresses = ''\n"
        f"port = {PORT}\n"
        f"unix_socket_directories = {_conf_string(str(layout.socket_dir))}\n"
        "unix_socket_permissions = 0700\n"
        f"fsync = {durable}\n"
        f"synchronous_commit = {durable}\n"
        f"full_page_writes = {durable}\n"
        f"autovacuum = {durable}\n"
        "wal_level = minimal\n"  # nothing replicates from here: a table loaded in the transaction that made it
        "max_wal_senders = 0\n"  # (pg_restore --single-transaction) is written once, not also to the WAL
        "max_wal_size = '1GB'\n"  # PostgreSQL's own default (initdb scales it down with the 1 MB segments)
    )
    path = layout.data_dir / SETTINGS_FILE
    path.write_text(settings, encoding="utf-8")
    main = layout.data_dir / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    text = main.read_text(encoding="utf-8")
    if include not in text:
        main.write_text(text.rstrip("\n") + f"\n\n{include}\n", encoding="utf-8")
    if user is not None:
        os.chown(path, user.uid, user.gid)


def _log_size(log_file: Path) -> int:
    try:
        return log_file.stat().st_size
    except OSError:
        return 0


def _log_failure(log_file: Path, offset: int) -> str | None:
    """Return the first FATAL/PANIC line the server logged since ``offset``, or None."""
    try:
        with open(log_file, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if ("FATAL:" in line or "PANIC:" in line) and not any(refused in line for refused in _CLIENT_REFUSALS):
            return line.strip()
    return None


# what the server answers a client connecting while it starts: that client's failure, not the server's
_CLIENT_REFUSALS = ("the database system is starting up", "the database system is not yet accepting connections")


def _start_server(binaries: Binaries, layout: _Layout, user: _User | None, timeout: float) -> int:
    """Start the server with ``pg_ctl start -W`` and return the postmaster's pid once it accepts connections."""
    offset = _log_size(layout.log_file)
    command = [binaries.program("pg_ctl"), "-D", str(layout.data_dir), "-l", str(layout.log_file), "-W", "-s",
               "start"]
    result = _run(command, user, layout.base, "pg_ctl start")
    if result.returncode != 0:
        raise ClusterError(f"pg_ctl could not start the cluster in {layout.data_dir}: "
                           f"{_last_line(result.stderr or result.stdout)}; see {layout.log_file}.")
    socket = layout.socket_dir / f".s.PGSQL.{PORT}"
    deadline = time.monotonic() + timeout
    failure = None
    while time.monotonic() < deadline:
        info = _read_pid_file(layout.data_dir)
        if info is not None and info.status == "ready" and socket.exists():
            return info.pid
        failure = _log_failure(layout.log_file, offset)
        if failure is not None:
            break
        time.sleep(_POLL_SECONDS)
    _stop_unowned(layout.data_dir, timeout)
    if failure is not None:
        raise ClusterError(f"PostgreSQL did not start in {layout.data_dir}: {failure}; see {layout.log_file}.")
    raise ClusterError(f"PostgreSQL did not start within {timeout:.0f} s in {layout.data_dir}; see {layout.log_file}.")


def _stop_unowned(data_dir: Path, timeout: float, seconds: float = 2.0) -> None:
    """Stop a server whose start was judged failed but that comes up all the same (nobody would stop it):
    its pid file appears within ``seconds`` (a server that failed for real writes none, or removes it)."""
    deadline = time.monotonic() + seconds
    while _read_pid_file(data_dir) is None and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    with contextlib.suppress(ClusterError):
        _stop_server(data_dir, timeout)


def _settled(data_dir: Path, timeout: float) -> _PidFile | None:
    """Return the running server of ``data_dir`` (waiting out start-up or shutdown), or None."""
    deadline = time.monotonic() + timeout
    while True:
        info = _read_pid_file(data_dir)
        if info is None or not _alive(info.pid):
            return None
        if info.status == "ready" and info.socket_dir:
            return info
        if time.monotonic() > deadline:
            raise ClusterError(f"The cluster in {data_dir} is stuck {info.status or 'starting'}; stop its "
                               f"process {info.pid} and try again.")
        time.sleep(_POLL_SECONDS)


def _stop_server(data_dir: Path, timeout: float) -> None:
    info = _read_pid_file(data_dir)
    if info is None:
        return
    for sig in (signal.SIGINT, signal.SIGQUIT):  # fast shutdown, then immediate
        try:
            os.kill(info.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError as error:
            raise ClusterError(f"The cluster in {data_dir} belongs to another user (process {info.pid}); "
                               f"stop it as that user.") from error
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(info.pid) or _read_pid_file(data_dir) is None:  # the server removes it last
                return
            time.sleep(_POLL_SECONDS)
    raise ClusterError(f"The PostgreSQL server {info.pid} of {data_dir} did not stop; kill it by hand.")


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise initdb and start-up between processes that share ``folder``."""
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---- servers this process started: stopped at exit -------------------------------------------------
_OWNED: dict[Path, Cluster] = {}
_WATCHDOGS: dict[Path, subprocess.Popen[bytes]] = {}
_DEFERRED: dict[Path, list[str]] = {}  # databases each watchdog drops once this process is gone
_REGISTRY = threading.RLock()  # re-entered by a signal handler that stops the servers
_HOOKS: dict[str, Any] = {}
_SAFE_NAME = re.compile(r"[A-Za-z0-9_]{1,63}", re.ASCII)
FINISHING_FILE = ".finishing"  # in the cluster's folder: the postmaster its watchdog is finishing
FINISH_SECONDS = 600.0


def _forget(cluster: Cluster) -> None:
    with _REGISTRY:
        if _OWNED.get(cluster.folder) is cluster:
            del _OWNED[cluster.folder]
            _WATCHDOGS.pop(cluster.folder, None)


def _owned_watchdog(cluster: Cluster) -> subprocess.Popen[bytes] | None:
    """Return the watchdog of the server ``cluster`` names, when this process started it and the watchdog runs."""
    owned = _OWNED.get(cluster.folder)
    watchdog = _WATCHDOGS.get(cluster.folder)
    if owned is None or owned.data_dir != cluster.data_dir or watchdog is None or watchdog.stdin is None:
        return None
    return watchdog if watchdog.poll() is None else None


def _defer_drop(cluster: Cluster, name: str) -> bool:
    """Ask the watchdog of a server this process started to drop ``name`` once this process is gone."""
    if not os.access(cluster.binaries.program("dropdb"), os.X_OK):
        return False
    with _REGISTRY:
        watchdog = _owned_watchdog(cluster)
        if watchdog is None or watchdog.stdin is None:
            return False
        try:
            watchdog.stdin.write(f"drop {name}\n".encode())
            watchdog.stdin.flush()
        except (OSError, ValueError):
            return False
        _DEFERRED.setdefault(cluster.folder, []).append(name)
        return True


def _take_deferred(cluster: Cluster) -> list[str]:
    with _REGISTRY:
        return _DEFERRED.pop(cluster.folder, []) if cluster.folder in _OWNED else []


def stop_owned_clusters() -> None:
    """Stop every server this process started, waiting until each is gone (signal handlers call this)."""
    if _HOOKS.get("pid") != os.getpid():  # a forked child does not own its parent's servers
        return
    with _REGISTRY:
        clusters = list(_OWNED.values())
    for cluster in clusters:
        with contextlib.suppress(ClusterError):
            cluster.stop()


def release_owned_clusters() -> None:
    """Have every server this process started stopped, without waiting for it (at exit).

    The server is asked for a fast shutdown at once, and its watchdog (a process of its own) sees it
    through: an immediate shutdown if the fast one hangs. When databases are to be dropped first
    (:meth:`Cluster.drop_database_later`), the watchdog drops them, then stops the server; meanwhile
    the cluster's folder says so, and a lightnb command starting there waits until that server is gone.
    Without a running watchdog, the server is stopped here, waiting.
    """
    if _HOOKS.get("pid") != os.getpid():
        return
    with _REGISTRY:
        clusters = list(_OWNED.values())
    for cluster in clusters:
        with contextlib.suppress(ClusterError):
            _release(cluster)


def _release(cluster: Cluster) -> None:
    with _REGISTRY:
        watchdog = _owned_watchdog(cluster)
        deferred = bool(_DEFERRED.get(cluster.folder))
    info = _read_pid_file(cluster.data_dir)
    if watchdog is None or watchdog.stdin is None or info is None:
        cluster.stop()
        return
    try:
        if deferred:
            (cluster.folder / FINISHING_FILE).write_text(f"{info.pid}\n", encoding="utf-8")
        else:
            os.kill(info.pid, signal.SIGINT)  # fast shutdown, not waited for: the watchdog sees it through
        watchdog.stdin.close()  # the end of the channel: the watchdog drops what was deferred, then stops it
    except OSError:
        cluster.stop()
        return
    with _REGISTRY:
        _DEFERRED.pop(cluster.folder, None)
    _forget(cluster)


def _finishing(folder: Path, running: _PidFile) -> bool:
    """Return whether the running server of ``folder`` is being finished by the watchdog of its ended owner."""
    marker = folder / FINISHING_FILE
    try:
        named = marker.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    if named == str(running.pid):
        return True
    marker.unlink(missing_ok=True)  # about a server that is gone
    return False


def _wait_finished(folder: Path, data_dir: Path, running: _PidFile) -> None:
    """Wait until the server a watchdog is finishing is gone (its deferred drops done, then stopped)."""
    deadline = time.monotonic() + FINISH_SECONDS
    while _alive(running.pid) and _read_pid_file(data_dir) is not None:
        if time.monotonic() > deadline:
            raise ClusterError(f"The cluster in {data_dir} is still being stopped (process {running.pid}); "
                               f"try again once it has stopped.")
        time.sleep(_POLL_SECONDS * 5)
    (folder / FINISHING_FILE).unlink(missing_ok=True)


def _on_signal(signum: int, frame: Any) -> None:
    stop_owned_clusters()
    previous = _HOOKS.get(f"signal-{signum}")
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_exit_hooks() -> None:
    if _HOOKS.get("pid") == os.getpid():
        return
    _HOOKS["pid"] = os.getpid()
    atexit.register(release_owned_clusters)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        if previous is _on_signal:
            continue
        _HOOKS[f"signal-{signum}"] = previous
        signal.signal(signum, _on_signal)


def _spawn_watchdog(cluster: Cluster, postmaster: int) -> None:
    """Start the watchdog that stops the server once this process is gone (see :func:`release_owned_clusters`)."""
    force = ["--force"] if cluster.binaries.major >= 13 else []
    dropdb = [cluster.binaries.program("dropdb"), "--if-exists", *force, "--no-password", "-h",
              str(cluster.socket_dir), "-p", str(PORT), "-U", SUPERUSER]
    try:
        watchdog = subprocess.Popen([sys.executable, "-I", str(_WATCHDOG), str(os.getpid()), str(postmaster),
                                     str(cluster.data_dir), json.dumps(dropdb)],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=_environment(), start_new_session=True, close_fds=True)
    except OSError:
        return
    with _REGISTRY:
        _WATCHDOGS[cluster.folder] = watchdog


def start_cluster(folder: str | Path, *, fsync: bool = False, timeout: float = 30.0) -> Cluster:
    """Start (making it first if needed) the private cluster of ``folder``, or reuse its running server.

    :param folder: lightnb's folder for this cluster, e.g. ``.lightnb/pg``; created if missing.
    :param fsync: make the cluster durable (off by default: a scratch cluster).
    :param timeout: seconds to wait for the server to accept connections.
    :raises PostgresNotInstalled: when PostgreSQL's programs are missing.
    :raises ClusterError: when initdb or the server fails (the message names the log file).
    """
    started = time.perf_counter()
    folder = Path(folder).resolve()
    with _REGISTRY:
        known = _OWNED.get(folder)
    if known is not None and known.running:
        return known
    binaries = find_binaries()
    user = _system_user()
    folder.mkdir(parents=True, exist_ok=True)
    layout = _layout(folder, user)
    initialised = False
    with _folder_lock(folder):
        running = _settled(layout.data_dir, timeout)
        if running is not None and _finishing(folder, running):
            _wait_finished(folder, layout.data_dir, running)
            running = _settled(layout.data_dir, timeout)
        if running is not None:
            return Cluster(folder, layout.data_dir, Path(running.socket_dir), layout.log_file, binaries,
                           owned=False, startup_seconds=time.perf_counter() - started, _base=layout.base)
        _prepare(layout, user)
        if (layout.data_dir / "PG_VERSION").exists():
            _check_version(binaries, layout.data_dir)
        else:
            _initdb(binaries, layout, user)
            initialised = True
        _write_settings(layout, user, fsync)
        (folder / FINISHING_FILE).unlink(missing_ok=True)  # about a server that is gone
        _install_exit_hooks()
        postmaster = _start_server(binaries, layout, user, timeout)
    cluster = Cluster(folder, layout.data_dir, layout.socket_dir, layout.log_file, binaries, owned=True,
                      startup_seconds=time.perf_counter() - started, initialised=initialised, _base=layout.base)
    with _REGISTRY:
        _OWNED[folder] = cluster
    _spawn_watchdog(cluster, postmaster)
    return cluster
