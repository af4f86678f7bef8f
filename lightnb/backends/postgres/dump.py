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
import os
import re
import subprocess
import threading
import time
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
    match = re.search(r"(\d+)(?:\.\d+)*", out)
    if match is None:
        raise DumpError(f"Cannot read the version of {program} ({out.strip()!r}); reinstall PostgreSQL's client "
                        f"programs.")
    return match.group(0), int(match.group(1))


def server_version(source_url: str) -> tuple[str, int]:
    """Return the source server's ``(version, major)``, asked in a read-only session."""
    with connect(source_url, read_only=True) as conn:
        number = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]  # SHOW returns one row
        shown = str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]  # SHOW returns one row
    return shown, number // 10000


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


def copy_database(source_url: str, cluster: Cluster, database: str, *, binaries: Binaries | None = None,
                  timeout: float | None = None) -> DumpResult:
    """Copy the source database into a new database of ``cluster`` (created here, dropped on failure).

    :raises DumpError: pg_dump cannot read the server's version, the dump or the restore failed.
    :raises ConnectError: the source cannot be reached (one line, no password).
    """
    started = time.perf_counter()
    binaries = binaries or find_binaries()
    pg_dump, pg_restore = _program(binaries, "pg_dump"), _program(binaries, "pg_restore")
    dump_version, dump_major = program_version(pg_dump)
    where = pgurl.describe(source_url)
    shown, major = server_version(source_url)
    problem = version_problem(dump_version, dump_major, shown, major, where)
    if problem is not None:
        raise DumpError(problem)
    dsn, env, secret = _source_arguments(source_url)
    cluster.create_database(database, template="template0")
    target = _conninfo.make_conninfo("", **pgurl.parse(cluster.url(database)))
    dump_cmd = [pg_dump, "--format=custom", "--compress=0", "--no-sync", f"--dbname={dsn}"]
    restore_cmd = [pg_restore, "--no-owner", "--no-acl", *_RESTORE_SKIPS, "--exit-on-error", "--single-transaction",
                   f"--dbname={target}"]
    dump_err: list[bytes] = []
    restore_err: list[bytes] = []
    ok = False
    try:
        dumper = subprocess.Popen(dump_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        try:
            restorer = subprocess.Popen(restore_cmd, stdin=dumper.stdout, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=_private_environment())
        except BaseException:
            dumper.kill()
            dumper.wait()
            raise
        assert dumper.stdout is not None and dumper.stderr is not None and restorer.stderr is not None
        dumper.stdout.close()  # pg_restore holds the read end now
        readers = [threading.Thread(target=_drain, args=(dumper.stderr, dump_err), daemon=True),
                   threading.Thread(target=_drain, args=(restorer.stderr, restore_err), daemon=True)]
        for reader in readers:
            reader.start()
        try:
            restore_code = restorer.wait(timeout=timeout)
            dump_code = dumper.wait(timeout=timeout)
        finally:
            for process in (dumper, restorer):
                if process.poll() is None:
                    process.kill()
                    process.wait()
            for reader in readers:
                reader.join(timeout=5)
        if dump_code != 0:
            raise DumpError(f"pg_dump could not read {where}: {_last_error(dump_err, secret)}; nothing was "
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
        if not ok:
            with contextlib.suppress(DatabaseError):
                cluster.drop_database(database)
    return DumpResult(where, database, shown, dump_version, time.perf_counter() - started)


def describe_source(source_url: str) -> str:
    """Return the source as people may read it: ``database `x` on host:port`` (no password)."""
    return pgurl.describe(source_url)
