"""A project's own PostgreSQL cluster, started when a verb needs it and stopped when the verb ends.

A project declares it in lightnb.toml (the sample does)::

    [postgres]
    cluster = ".lightnb/pg"   # lightnb's folder for the cluster, relative to lightnb.toml

When a verb is about to connect to a ``postgres://`` URL whose socket folder is that cluster's and
no server answers there, lightnb starts the cluster (:func:`lightnb.backends.postgres.cluster.start_cluster`:
well under a second once made) for the rest of the process, and stops it on exit. A server already
running there (another lightnb, a notebook's kernel) is used as it is, and left running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightnb.backends.postgres import url as pgurl
from lightnb.errors import ProjectError

SETTINGS_TABLE = "postgres"
CLUSTER_KEY = "cluster"


def cluster_folder(project: Any) -> Path | None:
    """Return the cluster folder the project's lightnb.toml declares (``[postgres] cluster``), or None.

    :raises ProjectError: when ``[postgres]`` is not a table or ``cluster`` not a string.
    """
    table = project.settings.get(SETTINGS_TABLE)
    if table is None:
        return None
    if not isinstance(table, dict) or not isinstance(table.get(CLUSTER_KEY, ""), str):
        raise ProjectError("lightnb.toml: [postgres] must be a table whose `cluster` is a folder path "
                           "(e.g. cluster = \".lightnb/pg\"); fix lightnb.toml.")
    folder = table.get(CLUSTER_KEY)
    return project.resolve_setting(folder) if folder else None


def socket_folder(folder: Path) -> Path:
    """Return where the socket of the cluster of ``folder`` lives (the same place each time)."""
    from lightnb.backends.postgres.cluster import socket_dir_of
    return socket_dir_of(folder)


def ensure_running(project: Any, url: str) -> None:
    """Start the project's cluster when ``url`` names its socket folder and no server answers there.

    Nothing happens for any other URL, nor when the project declares no cluster.

    :raises PostgresNotInstalled: when PostgreSQL's programs are missing.
    :raises ClusterError: when the cluster cannot start (the message names its log).
    """
    folder = cluster_folder(project)
    if folder is None or not (folder.exists() or _fallback_exists(folder)):
        return
    host = pgurl.parse(url).get("host") or ""
    if not host.startswith("/"):
        return
    socket_dir = socket_folder(folder)
    if Path(host).resolve() != socket_dir.resolve():
        return
    from lightnb.backends.postgres.cluster import start_cluster
    start_cluster(folder)  # reuses a running server; a server it starts stops when this process ends


def _fallback_exists(folder: Path) -> bool:
    return socket_folder(folder).parent.exists()
