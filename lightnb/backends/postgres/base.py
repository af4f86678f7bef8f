"""The project's local base: a copy of production in the project's private cluster, refreshed by
``lightnb snapshot --database-url postgres://…``.

The private cluster lives in ``<workspace folder>/pg`` (``.lightnb/pg`` beside diesel.toml); the copy
is its database ``lightnb_base``, restored first under a temporary name and swapped in only once the
restore succeeded (a failed copy leaves the previous base as it was). What was copied, when, and by
which pg_dump is recorded in ``<workspace folder>/pg-snapshot.json`` (the source without its password).

The base itself is never migrated: rehearsals run on clones of it
(:mod:`~lightnb.backends.postgres.clone`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg.errors
from psycopg import sql

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.cluster import Cluster, socket_dir_of, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.dump import copy_database
from lightnb.backends.postgres.watchdog import alive as _alive
from lightnb.errors import WorkspaceError
from lightnb.files import write_text_atomic
from lightnb.layout import PG_SNAPSHOT_RECORD

BASE = "lightnb_base"
CLUSTER_DIRNAME = "pg"
RECORD = PG_SNAPSHOT_RECORD


@dataclass(frozen=True, slots=True)
class BaseInfo:
    """What the local base copies.

    :param source: the production database, as people may read it (no password).
    :param taken_at: when the copy was taken (Unix seconds).
    :param server_version: production's PostgreSQL version.
    :param pg_dump_version: the pg_dump that read it.
    :param seconds: how long dump and restore took.
    :param tables: tables copied (user schemas).
    :param rows: rows copied (exact counts, summed).
    """

    source: str
    taken_at: int
    server_version: str
    pg_dump_version: str
    seconds: float
    tables: int
    rows: int

    def to_text(self) -> str:
        """One line: ``Copied database `app` on db:5432 (PostgreSQL 15.4) into the private cluster: …``."""
        return (f"Copied {self.source} (PostgreSQL {self.server_version}, read-only with pg_dump "
                f"{self.pg_dump_version}) into the private cluster: {self.tables} table(s), {self.rows} row(s), "
                f"{self.seconds:.2f} s")


def cluster_folder(workspace: Path) -> Path:
    """Return the folder of the project's private cluster."""
    return workspace / CLUSTER_DIRNAME


def read_record(workspace: Path) -> BaseInfo | None:
    """Return what the base copies, or None when no PostgreSQL snapshot was taken here."""
    try:
        data = json.loads((workspace / RECORD).read_text(encoding="utf-8"))
        return BaseInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def _counts(cluster: Cluster, database: str) -> tuple[int, int]:
    """Return the user tables of ``database`` and their rows, counted exactly (``count(*)``, one query).

    Each table's own rows are counted once (``FROM ONLY``: a partition or an inheriting table is counted
    as itself, never again through its parent); a partitioned table holds no rows of its own.
    """
    from lightnb.backends.postgres.shape import read_tables
    with connect(cluster.url(database)) as conn:
        tables = read_tables(conn)
        own = [sql.Identifier(schema, name) for _oid, schema, name, kind in tables if kind == "r"]
        rows = 0
        for chunk in range(0, len(own), _COUNTS_PER_QUERY):
            counts = sql.SQL(", ").join(sql.SQL("(SELECT count(*) FROM ONLY {})").format(ident)
                                        for ident in own[chunk:chunk + _COUNTS_PER_QUERY])
            rows += sum(int(n) for n in conn.execute(sql.SQL("SELECT {}").format(counts)).fetchone() or ())
    return len(tables), rows


def _restored_counts(cluster: Cluster, database: str, timeout: float = 5.0) -> tuple[int, int]:
    """Return the user tables of a just-restored ``database`` and the rows pg_restore wrote into them.

    Nothing but pg_restore has written there, so each table's rows are the server's own exact tally of
    what pg_restore inserted (``pg_stat_get_tuples_inserted``, less any deleted), read once its session
    is gone: PostgreSQL 15 and later flush a session's counts into shared memory as it ends, before it
    leaves ``pg_stat_activity``. Older servers (statistics sent over UDP, which may drop them), or
    counts switched off: every table is counted instead (:func:`_counts`).
    """
    from lightnb.backends.postgres.shape import read_tables
    if cluster.binaries.major < 15:
        return _counts(cluster, database)
    with connect(cluster.url(database)) as conn:
        deadline = time.monotonic() + timeout
        while conn.execute(_OTHER_SESSIONS).fetchone() != (0,):  # pg_restore's session still ending
            if time.monotonic() > deadline:
                return _counts(cluster, database)
            time.sleep(0.002)
        if conn.execute("SELECT current_setting('track_counts')::bool").fetchone() != (True,):
            return _counts(cluster, database)
        tables = read_tables(conn)
        own = [oid for oid, _schema, _name, kind in tables if kind == "r"]
        (rows,) = conn.execute("SELECT coalesce(sum(pg_stat_get_tuples_inserted(t) - pg_stat_get_tuples_deleted(t)), "
                               "0) FROM unnest(%s::oid[]) AS t", (own,)).fetchone() or (0,)
    return len(tables), int(rows)


_OTHER_SESSIONS = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
_COUNTS_PER_QUERY = 500  # a SELECT list holds at most 1664 entries


def _starter(folder: Path, source_host: str, fresh: str) -> Callable[[], Cluster]:
    """Return the function that starts the private cluster for a copy (while pg_dump starts reading).

    Should this process die before the copy is swapped in (a signal, a kill), the half-made copy is
    dropped before the cluster stops (:meth:`~lightnb.backends.postgres.cluster.Cluster.drop_database_at_exit`).
    """
    def start() -> Cluster:
        cluster = start_cluster(folder)
        if source_host == str(cluster.socket_dir):
            raise _own_cluster()
        cluster.drop_database_at_exit(fresh)
        return cluster
    return start


def _own_cluster() -> WorkspaceError:
    return WorkspaceError("That URL is lightnb's own private cluster, not production; pass the production "
                          "database's URL.")


_LEFTOVER = re.compile(rf"^{BASE}_(?:new|old)_(\d+)$")
_SWAP_SECONDS = 5.0


def _swap(cluster: Cluster, fresh: str) -> list[str]:
    """Make ``fresh`` the base in one transaction (the previous base renamed aside) and return the databases
    left to drop: the previous base, and copies left by lightnb processes that are gone.

    A session still on the previous base (or on the fresh copy, its restore's session ending) holds the
    rename back for a moment; should one stay, the previous base is dropped at once, its sessions ended.
    """
    retired = f"{BASE}_old_{os.getpid()}"
    with connect(cluster.url("postgres")) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        if retired in names:  # left by a process of the same id, long ago
            conn.execute(cluster.drop_query(retired))
        deadline = time.monotonic() + _SWAP_SECONDS
        while True:
            try:
                with conn.transaction():
                    if BASE in names:
                        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(BASE),
                                                                                     sql.Identifier(retired)))
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(fresh),
                                                                                 sql.Identifier(BASE)))
                break
            except psycopg.errors.ObjectInUse:
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                if BASE not in names:
                    raise
                conn.execute(cluster.drop_query(BASE))
                names.discard(BASE)
    gone = [name for name in names if (match := _LEFTOVER.match(name)) and int(match.group(1)) != os.getpid()
            and not _alive(int(match.group(1)))]
    return ([retired] if BASE in names else []) + sorted(gone)


def take_snapshot(source_url: str, workspace: Path) -> BaseInfo:
    """Copy production (only read) into the project's private cluster as its new base.

    The cluster starts while pg_dump starts reading production; the copy is restored under a
    temporary name and swapped in only once complete (a failed copy leaves the previous base as it was).
    The previous base is dropped once this process has ended, before the cluster stops
    (:meth:`~lightnb.backends.postgres.cluster.Cluster.drop_database_later`): the command does not wait for it.

    :raises WorkspaceError: when ``source_url`` names the private cluster itself.
    :raises DumpError, ConnectError, ClusterError: one line each, no password.
    """
    workspace.mkdir(parents=True, exist_ok=True)
    folder = cluster_folder(workspace)
    host = pgurl.parse(source_url).get("host") or ""
    if host == str(socket_dir_of(folder)):
        raise _own_cluster()
    fresh = f"{BASE}_new_{os.getpid()}"  # one left by a copy that was killed (the same process id) is replaced
    result = copy_database(source_url, _starter(folder, host, fresh), fresh, replace=True)
    cluster = start_cluster(folder)  # the one just started (or found running)
    try:
        tables, rows = _restored_counts(cluster, fresh)
        retired = _swap(cluster, fresh)
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.drop_database(fresh)
        raise
    for name in retired:
        cluster.drop_database_later(name)
    info = BaseInfo(result.source, int(time.time()), result.server_version, result.pg_dump_version,
                    round(result.seconds, 3), tables, rows)
    # atomic, not fsynced: it describes a copy in a scratch cluster, which is not fsynced either
    write_text_atomic(workspace / RECORD, json.dumps(asdict(info), indent=2) + "\n", what="snapshot record",
                      durable=False)
    return info


_OWN = re.compile(rf"^{BASE}(_(?:new|old)_\d+)?$|^lightnb_clone_\d+_[0-9a-f]+$")
_SYSTEM = frozenset({"postgres", "template0", "template1"})


@dataclass(frozen=True, slots=True)
class BaseStatus:
    """``lightnb snapshot --status`` for a PostgreSQL workspace.

    :param folder: the workspace folder.
    :param info: what the base copies (None: no snapshot was taken here).
    :param present: whether the base database is in the private cluster.
    :param size: its size in bytes (``pg_database_size``), when present.
    :param tables: user tables in it now; ``rows``: their rows now (exact counts).
    :param leftovers: rehearsal clones or unfinished copies still in the cluster.
    """

    folder: Path
    info: BaseInfo | None
    present: bool = False
    size: int | None = None
    tables: int | None = None
    rows: int | None = None
    leftovers: int = 0

    def __str__(self) -> str:
        where = cluster_folder(self.folder)
        if self.info is None:
            return (f"No PostgreSQL snapshot in {self.folder}; take one with `lightnb snapshot --database-url "
                    f"postgres://…` (production is only read).")
        taken = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.info.taken_at))
        lines = [f"Workspace    {where} (private PostgreSQL cluster), database {BASE}",
                 f"Copy of      {self.info.source} (PostgreSQL {self.info.server_version}, pg_dump "
                 f"{self.info.pg_dump_version})",
                 f"Taken        {taken} ({self.info.tables} table(s), {self.info.rows} row(s), "
                 f"{self.info.seconds:.2f} s)"]
        if not self.present:
            lines.append("Base         gone from the private cluster; take it again with `lightnb snapshot "
                         "--database-url URL`")
        else:
            lines.append(f"Now          {self.tables} table(s), {self.rows} row(s), {_size(self.size or 0)} "
                         f"(the base is never migrated: rehearsals run on clones of it)")
        if self.leftovers:
            lines.append(f"Leftovers    {self.leftovers} clone(s) or unfinished copies (dropped by "
                         f"`lightnb snapshot --discard`, or by the next rehearsal when their process is gone)")
        return "\n".join(lines)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{size} B"
        value /= 1024
    return f"{size} B"


def is_postgres_workspace(workspace: Path) -> bool:
    """True when a PostgreSQL snapshot was taken in ``workspace`` (its record or its cluster is there)."""
    return (workspace / RECORD).is_file() or cluster_folder(workspace).is_dir()


def _databases(cluster: Cluster) -> list[str]:
    with connect(cluster.url("postgres")) as conn:
        return [row[0] for row in conn.execute("SELECT datname FROM pg_database ORDER BY datname")]


def base_status(workspace: Path) -> BaseStatus:
    """Say what the base copies, when it was taken, and what it holds now (the base is only read)."""
    info = read_record(workspace)
    if info is None or not cluster_folder(workspace).exists():
        return BaseStatus(workspace, info)
    cluster = start_cluster(cluster_folder(workspace))
    names = _databases(cluster)
    leftovers = sum(1 for name in names if _OWN.match(name) and name != BASE)
    if BASE not in names:
        return BaseStatus(workspace, info, leftovers=leftovers)
    tables, rows = _counts(cluster, BASE)
    with connect(cluster.url("postgres")) as conn:
        size = int(conn.execute("SELECT pg_database_size(%s)", (BASE,)).fetchone()[0])  # type: ignore[index]  # one row
    return BaseStatus(workspace, info, True, size, tables, rows, leftovers)


def discard_base(workspace: Path) -> str:
    """Drop lightnb's own databases of the private cluster (the base, unfinished copies, clones) and forget
    the snapshot; any other database there (a sample's production, yours) is left as it is.

    The cluster itself is removed only when it then holds nothing but PostgreSQL's own databases.

    :raises WorkspaceError: when no PostgreSQL snapshot was taken in ``workspace``.
    """
    if not is_postgres_workspace(workspace):
        raise WorkspaceError(f"No PostgreSQL snapshot in {workspace}; nothing to discard.")
    dropped: list[str] = []
    kept: list[str] = []
    folder = cluster_folder(workspace)
    removed_cluster = False
    if folder.exists():
        cluster = start_cluster(folder)
        for name in _databases(cluster):
            if _OWN.match(name):
                cluster.drop_database(name)
                dropped.append(name)
            elif name not in _SYSTEM:
                kept.append(name)
        if not kept:
            cluster.destroy()
            if [p.name for p in folder.iterdir()] == [".lock"]:  # the folder lock is all that is left
                (folder / ".lock").unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    folder.rmdir()
            removed_cluster = True
    (workspace / RECORD).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        workspace.rmdir()  # only when nothing else is in it
    what = ", ".join(dropped) if dropped else "no database"
    tail = ("; removed the private cluster (nothing else was in it)" if removed_cluster else
            f"; kept the private cluster and its other database(s): {', '.join(kept)}" if kept else "")
    return f"Discarded the PostgreSQL snapshot in {workspace}: dropped {what}{tail}"
