"""Where a PostgreSQL rehearsal's base comes from (``lightnb check``, ``lightnb lint``).

The base the clones are made from is, in this order:

* the database ``source_url`` names (production, or any server): copied read-only with pg_dump into a
  temporary private cluster, removed afterwards; a database of the project's own private cluster
  (``[postgres] cluster``, like the sample's production and workspace) is copied in that cluster
  instead, with ``CREATE DATABASE … TEMPLATE`` (a file copy: no new cluster, no dump), dropped afterwards
  (pg_dump still copies it when another session has it open, as a template copy would have to wait);
* else the project's local base (``lightnb snapshot --database-url postgres://…`` made it);
* else an empty database in a temporary private cluster (the schema is proven, no rows).

The base is only read: clones of it (:mod:`~lightnb.backends.postgres.clone`) are what migration SQL runs on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psycopg

from lightnb import scratch
from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.base import BASE, cluster_folder, read_record
from lightnb.backends.postgres.clone import Clone, drop_clone, make_clone, sweep_stale
from lightnb.backends.postgres.cluster import Cluster, ClusterError, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.dump import copy_database
from lightnb.backends.postgres.private import private_cluster
from lightnb.errors import DatabaseError, WorkspaceError


@contextlib.contextmanager
def temporary_cluster(purpose: str) -> Iterator[Cluster]:
    """A private cluster in a scratch folder, destroyed (server stopped, files removed) afterwards."""
    with scratch.folder(purpose) as folder:
        cluster = start_cluster(Path(folder) / "pg")
        try:
            yield cluster
        finally:
            cluster.destroy()


@contextlib.contextmanager
def rehearsal_base(source_url: str | None, workspace: Path | None, *, own_cluster: Path | None = None
                    ) -> Iterator[tuple[Cluster, str, str]]:
    """Yield ``(cluster, base database, what it copies)`` for a rehearsal (see the module docstring).

    :param own_cluster: the folder of the project's own private cluster (``[postgres] cluster``), if any.
    """
    if source_url:
        own = _template_copy(source_url, own_cluster) if own_cluster is not None else None
        if own is not None:
            try:
                yield own.cluster, own.name, pgurl.describe(source_url)
            finally:
                drop_clone(own)
            return
        with temporary_cluster("check-pg") as cluster:
            copy_database(source_url, cluster, BASE)
            yield cluster, BASE, pgurl.describe(source_url)
        return
    record = read_record(workspace) if workspace is not None else None
    if record is not None and workspace is not None:
        cluster = start_cluster(cluster_folder(workspace))
        with connect(cluster.url()) as conn:
            present = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BASE,)).fetchone()
        if not present:
            raise WorkspaceError(f"The copy of {record.source} is gone from the private cluster in "
                                 f"{cluster_folder(workspace)}; take it again with `lightnb snapshot "
                                 f"--database-url URL`.")
        yield cluster, BASE, f"{record.source} (snapshot of {_when(record.taken_at)})"
        return
    with temporary_cluster("check-pg") as cluster:
        cluster.create_database(BASE, template="template0")
        yield cluster, BASE, "(empty database)"


def _template_copy(source_url: str, own_cluster: Path) -> Clone | None:
    """A clone of ``source_url`` made with ``CREATE DATABASE … TEMPLATE`` when it is a database of the project's
    own private cluster (``own_cluster``, as the sample's production and workspace are): a file copy in the same
    cluster instead of pg_dump into a new one. None for any other server, and when the database has open
    sessions (a notebook's kernel) a template copy must wait for: then pg_dump copies it as it copies any.
    """
    from lightnb.backends.postgres.project_cluster import socket_folder
    cluster = private_cluster(source_url)
    if cluster is None or cluster.socket_dir.resolve() != socket_folder(own_cluster).resolve():
        return None
    database = pgurl.database_of(pgurl.parse(source_url))
    with contextlib.suppress(ClusterError, DatabaseError, psycopg.Error):
        sweep_stale(cluster)
    try:
        return make_clone(cluster, database)
    except ClusterError:  # in use by another session (or gone: pg_dump then says why in one line)
        return None


def _when(seconds: int) -> str:
    import datetime
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
