"""Copy a PostgreSQL database into a private cluster with ``pg_dump | pg_restore``, reading it only.

``pg_dump`` takes one MVCC snapshot of the source (its own ``REPEATABLE READ, READ ONLY``
transaction: the source stays online and is never written); lightnb adds
``default_transaction_read_only=on`` to its session, so the server itself refuses any write that
session could attempt. The dump goes out uncompressed in the custom format (``-Fc -Z0``) straight
into ``pg_restore --no-owner --no-acl`` on the private cluster: nothing lands on disk in between.

The source's password never appears on a command line (``ps`` shows those) nor in a message: it
reaches pg_dump through its environment only, and every line quoted from pg_dump is redacted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from psycopg import conninfo as _conninfo

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.binaries import Binaries, find_binaries
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import connect
from lightnb.errors import DatabaseError

READ_ONLY_OPTION = "-c default_transaction_read_only=on"
# Objects that would reach out of the copy once restored (a subscription connects to its publisher).
_RESTORE_SKIPS = ("--no-subscriptions", "--no-publications")


class DumpError(DatabaseError):
    """The source cannot be dumped, or the dump cannot be restored into the private cluster."""


@dataclass(frozen=True, slots=True)
class DumpResult:
    """One copy made by :func:`copy_database`.

    :param source: the source, as people may read it (no password).
    :param database: the database made in the private cluster.
    :param server_version: the source server's version, e.g. ``15.18``.
    :param pg_dump_version: the pg_dump that read it.
    :param seconds: wall time of dump and restore together.
    """

    source: str
    database: str
    server_version: str
    pg_dump_version: str
    seconds: float


def _program(binaries: Binaries, name: str) -> str:
    path = binaries.bin_dir / name
    if not os.access(path, os.X_OK):
        raise DumpError(f"{name} is not installed in {binaries.bin_dir}; install Debian's postgresql-client "
                        f"package (`make system-deps`).")
    return str(path)


def program_version(program: str) -> tuple[str, int]:
    """Return ``(version, major)`` of a PostgreSQL client program (``pg_dump --version``)."""
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise DumpError(f"Cannot run {program} ({error}); reinstall PostgreSQL's client programs.") from error
    return _read_version(program, out)


def _read_version(program: str, out: str) -> tuple[str, int]:
    match = re.search(r"(\d+)(?:\.\d+)*", out)
    if match is None:
        raise DumpError(f"Cannot read the version of {program} ({out.strip()!r}); reinstall PostgreSQL's client "
                        f"programs.")
    return match.group(0), int(match.group(1))


def server_version(source_url: str) -> tuple[str, int]:
    """Return the source server's ``(version, major)``, read from a read-only session's start-up (no query)."""
    with connect(source_url, read_only=True) as conn:
        number = conn.info.server_version
        shown = (conn.info.parameter_status("server_version") or "").split()
    return (shown[0] if shown else f"{number // 10000}.{number % 10000}"), number // 10000


def source_versions(source_url: str, pg_dump: str) -> tuple[str, int, str, int]:
    """Return ``(pg_dump version, its major, server version, its major)``: ``pg_dump --version`` runs
    while the source's read-only session opens.

    :raises DumpError: when pg_dump cannot run; ``ConnectError`` when the source cannot be reached.
    """
    try:
        asked = subprocess.Popen([pg_dump, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
    except OSError as error:
        raise DumpError(f"Cannot run {pg_dump} ({error}); reinstall PostgreSQL's client programs.") from error
    try:
        shown, major = server_version(source_url)
        out, _ = asked.communicate(timeout=30)
    except subprocess.TimeoutExpired as error:
        raise DumpError(f"Cannot run {pg_dump} (it did not answer --version); reinstall PostgreSQL's client "
                        f"programs.") from error
    finally:
        if asked.poll() is None:
            asked.kill()
            asked.wait()
    if asked.returncode != 0:
        raise DumpError(f"Cannot run {pg_dump} (--version exited with {asked.returncode}); reinstall PostgreSQL's "
                        f"client programs.")
    return (*_read_version(pg_dump, out), shown, major)


def version_problem(pg_dump_version: str, pg_dump_major: int, server_shown: str, server_major: int,
                    where: str) -> str | None:
    """Return the one line saying pg_dump cannot read the server, or None when it can.

    pg_dump reads servers of its own major version and older ones only.
    """
    if server_major <= pg_dump_major:
        return None
    return (f"pg_dump {pg_dump_version} cannot read PostgreSQL {server_shown} on {where} (pg_dump must be the "
            f"server's major version or newer); install postgresql-client-{server_major} and point "
            f"LIGHTNB_PG_BINDIR at its bin folder.")


def _source_arguments(source_url: str) -> tuple[str, dict[str, str], str | None]:
    """Split the source URL into a connection string without password, and the environment carrying it."""
    params = pgurl.parse(source_url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " " + params.pop("options", "") + " " + READ_ONLY_OPTION).strip()
    return _conninfo.make_conninfo("", **params), env, password


def _private_environment() -> dict[str, str]:
    """The environment for pg_restore: no PG* variable may point it anywhere but the private cluster."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _drain(stream: IO[bytes], sink: list[bytes]) -> None:
    for line in iter(stream.readline, b""):
        if sum(len(x) for x in sink) < 64_000:
            sink.append(line)


def _last_error(lines: list[bytes], secret: str | None) -> str:
    text = b"".join(lines).decode("utf-8", errors="replace")
    if secret:
        text = text.replace(secret, "***")
    picked = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in picked if "error" in line.lower() or "fatal" in line.lower()]
    line = (errors or picked or ["no message"])[0]
    return " ".join(line.split())[:400]


class _Reader:
    """Checks that pg_dump can read the source, then starts it: on a thread of its own, while the
    private cluster gets ready (pg_dump takes its snapshot when it starts; the restore follows)."""

    def __init__(self, source_url: str, pg_dump: str, command: list[str], env: dict[str, str], where: str) -> None:
        self.source_url, self.pg_dump, self.command, self.env, self.where = source_url, pg_dump, command, env, where
        self.versions: tuple[str, int, str, int] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr: list[bytes] = []
        self.drain: threading.Thread | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def run(self) -> None:
        try:
            self.versions = source_versions(self.source_url, self.pg_dump)
            problem = version_problem(self.versions[0], self.versions[1], self.versions[2], self.versions[3],
                                      self.where)
            if problem is not None:
                raise DumpError(problem)  # before pg_dump runs at all
            with self._lock:  # never started once the caller has given up (Ctrl-C while this thread ran)
                if self._stopped:
                    return
                self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, env=self.env)
            assert self.process.stdout is not None and self.process.stderr is not None
            _widen(self.process.stdout)
            self.drain = threading.Thread(target=_drain, args=(self.process.stderr, self.stderr), daemon=True)
            self.drain.start()
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread, which raises it
            self.error = error

    def stop(self) -> None:
        """Stop pg_dump (when it runs) and wait for it; it is not started afterwards."""
        with self._lock:
            self._stopped = True
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _widen(pipe: IO[bytes]) -> None:
    """Let the pipe between pg_dump and pg_restore hold 1 MiB (Linux; 64 KiB otherwise): fewer stalls."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)


def copy_database(source_url: str, cluster: Cluster | Callable[[], Cluster], database: str, *,
                  binaries: Binaries | None = None, timeout: float | None = None,
                  replace: bool = False) -> DumpResult:
    """Copy the source database into a new database of ``cluster`` (created here, dropped on failure).

    :param replace: drop a database of that name first (one left by an earlier copy that was killed).

    ``cluster`` may be a function that starts it: it then runs in this thread while another checks
    the versions and starts pg_dump (which reads the source as it was when it started); the restore
    begins once the database exists. pg_dump runs only once its version is known to read the server's.

    :raises DumpError: pg_dump cannot read the server's version, the dump or the restore failed.
    :raises ConnectError: the source cannot be reached (one line, no password).
    """
    started = time.perf_counter()
    binaries = binaries or find_binaries()
    pg_dump, pg_restore = _program(binaries, "pg_dump"), _program(binaries, "pg_restore")
    where = pgurl.describe(source_url)
    dsn, env, secret = _source_arguments(source_url)
    reader = _Reader(source_url, pg_dump, [pg_dump, "--format=custom", "--compress=0", "--no-sync", f"--dbname={dsn}"],
                     env, where)
    thread = threading.Thread(target=reader.run, name="lightnb-pg-dump", daemon=True)
    thread.start()
    target: Cluster | None = None
    created = ok = False
    restore_err: list[bytes] = []
    try:
        try:
            target = cluster() if callable(cluster) else cluster
            target.create_database(database, template="template0", replace=replace)
            created = True
        finally:
            thread.join()
        if reader.error is not None:
            raise reader.error
        dumper = reader.process
        assert dumper is not None and dumper.stdout is not None and reader.versions is not None
        restore_cmd = [pg_restore, "--no-owner", "--no-acl", *_RESTORE_SKIPS, "--exit-on-error",
                       "--single-transaction",
                       f"--dbname={_conninfo.make_conninfo('', **pgurl.parse(target.url(database)))}"]
        restorer = subprocess.Popen(restore_cmd, stdin=dumper.stdout, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, env=_private_environment())
        assert restorer.stderr is not None
        dumper.stdout.close()  # pg_restore holds the read end now
        restore_drain = threading.Thread(target=_drain, args=(restorer.stderr, restore_err), daemon=True)
        restore_drain.start()
        try:
            restore_code = restorer.wait(timeout=timeout)
            dump_code = dumper.wait(timeout=timeout)
        finally:
            for process in (dumper, restorer):
                if process.poll() is None:
                    process.kill()
                    process.wait()
            for drain in (reader.drain, restore_drain):
                if drain is not None:
                    drain.join(timeout=5)
        if dump_code != 0:
            raise DumpError(f"pg_dump could not read {where}: {_last_error(reader.stderr, secret)}; nothing was "
                            f"copied (the source was only read).")
        if restore_code != 0:
            raise DumpError(f"pg_restore could not restore the copy of {where} into the private cluster: "
                            f"{_last_error(restore_err, secret)}; install what it needs (an extension?) and "
                            f"copy again.")
        ok = True
    except subprocess.TimeoutExpired as error:
        raise DumpError(f"Copying {where} took longer than {timeout:.0f} s and was stopped; nothing was kept.") \
            from error
    finally:
        reader.stop()
        if not ok and created and target is not None:
            with contextlib.suppress(DatabaseError):
                target.drop_database(database)
    return DumpResult(where, database, reader.versions[2], reader.versions[0], time.perf_counter() - started)


def describe_source(source_url: str) -> str:
    """Return the source as people may read it: ``database `x` on host:port`` (no password)."""
    return pgurl.describe(source_url)
