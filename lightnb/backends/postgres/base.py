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
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from psycopg import sql

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.cluster import Cluster, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.dump import copy_database
from lightnb.errors import WorkspaceError
from lightnb.files import write_text_atomic

BASE = "lightnb_base"
CLUSTER_DIRNAME = "pg"
RECORD = "pg-snapshot.json"


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
    from lightnb.backends.postgres.shape import read_shape
    with connect(cluster.url(database)) as conn:
        shape = read_shape(conn)
        rows = 0
        for name in shape.tables:
            ident = sql.Identifier(*name.split(".", 1)) if "." in name else sql.Identifier(name)
            rows += int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0])  # type: ignore[index]  # count(*) returns one row
    return len(shape.tables), rows


def take_snapshot(source_url: str, workspace: Path) -> BaseInfo:
    """Copy production (only read) into the project's private cluster as its new base.

    :raises WorkspaceError: when ``source_url`` names the private cluster itself.
    :raises DumpError, ConnectError, ClusterError: one line each, no password.
    """
    workspace.mkdir(parents=True, exist_ok=True)
    cluster = start_cluster(cluster_folder(workspace))
    params = pgurl.parse(source_url)
    if params.get("host") == str(cluster.socket_dir):
        raise WorkspaceError("That URL is lightnb's own private cluster, not production; pass the production "
                             "database's URL.")
    fresh = f"{BASE}_new_{os.getpid()}"
    cluster.drop_database(fresh)
    result = copy_database(source_url, cluster, fresh)
    try:
        tables, rows = _counts(cluster, fresh)
        cluster.drop_database(BASE)
        with connect(cluster.url("postgres")) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(fresh), sql.Identifier(BASE)))
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.drop_database(fresh)
        raise
    info = BaseInfo(result.source, int(time.time()), result.server_version, result.pg_dump_version,
                    round(result.seconds, 3), tables, rows)
    write_text_atomic(workspace / RECORD, json.dumps(asdict(info), indent=2) + "\n", what="snapshot record")
    return info
