"""Which PostgreSQL URLs name lightnb's own private cluster: the only place the backend writes or copies to.

A private cluster (:mod:`~lightnb.backends.postgres.cluster`) listens on a unix socket only; the
socket's lock file (``.s.PGSQL.<port>.lock``) names the server's data folder, and that folder holds
lightnb's settings file, which names the same socket folder. A URL whose host is such a socket
folder is lightnb's; any other (a TCP host, another server's socket) is refused in one line before
anything connects, so the backend's ``connect``, ``copy`` and ``run_script`` cannot write
production.
"""

from __future__ import annotations

from pathlib import Path

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.binaries import find_binaries
from lightnb.backends.postgres.cluster import PORT, SETTINGS_FILE, Cluster
from lightnb.errors import DatabaseError


class NotPrivate(DatabaseError):
    """A write or a copy was aimed at a server that is not lightnb's private cluster."""


def _data_dir(socket_dir: Path, port: str) -> Path | None:
    """Return the data folder of the private cluster whose socket is in ``socket_dir``, or None."""
    try:
        lines = (socket_dir / f".s.PGSQL.{port}.lock").read_text(encoding="utf-8").splitlines()
        data_dir = Path(lines[1].strip())
        settings = (data_dir / SETTINGS_FILE).read_text(encoding="utf-8")
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    quoted = str(socket_dir).replace("\\", "\\\\").replace("'", "''")  # as the settings file quotes it
    declared = f"unix_socket_directories = '{quoted}'"
    return data_dir if declared in settings.splitlines() else None


def private_cluster(url: str) -> Cluster | None:
    """Return the private cluster ``url`` reaches through its socket folder, or None for any other server."""
    params = pgurl.parse(url)
    host = params.get("host", "")
    if not host.startswith("/") or "," in host:
        return None
    socket_dir = Path(host)
    data_dir = _data_dir(socket_dir, params.get("port") or str(PORT))
    if data_dir is None:
        return None
    return Cluster(data_dir.parent, data_dir, socket_dir, data_dir.parent / "server.log", find_binaries())


def require_private(url: str, action: str) -> Cluster:
    """Return the private cluster of ``url``, or refuse in one line (never showing a password).

    :param action: what was refused, e.g. ``write to`` or ``copy into``.
    :raises NotPrivate: when ``url`` names any other server.
    """
    cluster = private_cluster(url)
    if cluster is None:
        raise NotPrivate(f"lightnb does not {action} {pgurl.describe(url)}: only databases of its own private "
                         f"cluster are written; take a copy first (`lightnb snapshot --database-url URL`) and "
                         f"work on that.")
    return cluster


__all__ = ["NotPrivate", "private_cluster", "require_private"]
