"""Where a headless rehearsal (``lightnb rehearse``) of a PostgreSQL project works: a copy of production in a
temporary private cluster.

Production is read once, with pg_dump (an MVCC snapshot in a read-only session; a role that may only SELECT is
enough), and restored into a private cluster made for this rehearsal in its scratch folder, under production's
database name. The rehearsal notebook opens its workbook on that copy: its workspace is a ``CREATE DATABASE …
TEMPLATE`` clone of it in the same cluster, and its test step copies it again. The notebook's kernel never sees
production's URL (nor its password). The cluster is destroyed (server stopped, files removed) when the rehearsal
ends, also on Ctrl-C and SIGTERM; a project cluster started only to read production is stopped again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.cluster import Cluster, start_cluster
from lightnb.backends.postgres.dump import copy_database
from lightnb.backends.postgres.private import private_cluster
from lightnb.backends.postgres.project_cluster import ensure_running

WORKSPACE = "lightnb_workspace"
# the private cluster's own databases: a production of one of these names is copied as ``lightnb_production``
RESERVED = frozenset({"postgres", "template0", "template1", WORKSPACE})


@dataclass(frozen=True)
class ProductionCopy:
    """A copy of production for one rehearsal.

    :param production: the URL of the copy (a database of the rehearsal's private cluster).
    :param workspace: the URL the notebook's workbook copies it into (its ``DATABASE_URL``).
    :param source: production, described without its password (``database `app` on host:5432``).
    """

    production: str
    workspace: str
    source: str
    cluster: Cluster


def copy_name(production_url: str) -> str:
    """Return the name production's copy gets in the rehearsal cluster: production's own, unless reserved."""
    name = pgurl.database_of(pgurl.parse(production_url))
    return "lightnb_production" if name in RESERVED else name


def url_secrets(production_url: str) -> tuple[str, ...]:
    """Return what of production's URL must never appear in a report: its password (when long enough to be
    told apart from ordinary text)."""
    password = pgurl.parse(production_url).get("password") or ""
    return (password,) if len(password) >= 4 else ()


@contextlib.contextmanager
def production_copy(project: Any, production_url: str, folder: Path) -> Iterator[ProductionCopy]:
    """Copy production (only read) into a new private cluster in ``folder``; destroy it afterwards.

    :raises DumpError, ConnectError: one line each when production cannot be read (nothing is left behind).
    :raises PostgresNotInstalled, ClusterError: when no private cluster can start.
    """
    with project_cluster_if_needed(project, production_url):
        cluster = start_cluster(folder)
        try:
            name = copy_name(production_url)
            copy_database(production_url, cluster, name)
            yield ProductionCopy(cluster.url(name), cluster.url(WORKSPACE), pgurl.describe(production_url), cluster)
        finally:
            cluster.destroy()


@contextlib.contextmanager
def project_cluster_if_needed(project: Any, url: str) -> Iterator[None]:
    """Start the project's own cluster when ``url`` names it and it is down; stop it again afterwards.

    (The sample's production lives in the project's cluster; any other URL is left alone.)
    """
    was_running = private_cluster(url) is not None
    ensure_running(project, url)
    try:
        yield
    finally:
        started = None if was_running else private_cluster(url)
        if started is not None:
            started.stop()


__all__ = ["ProductionCopy", "copy_name", "production_copy", "project_cluster_if_needed", "url_secrets"]
