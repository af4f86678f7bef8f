"""A throw-away PostgreSQL database with a project's migrations applied, in a temporary private cluster.

Used to compare a schema file with what the migrations build (``print-schema --check --fresh``)
without any server of the user's: the cluster is made in a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lightnb.backends.postgres.cluster import start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.migrate import run_pending


@contextlib.contextmanager
def replayed_database(migrations_dir: str | Path) -> Iterator[str]:
    """Yield the URL of a fresh database where every migration of ``migrations_dir`` ran (diesel's way).

    :raises MigrationError: when a migration fails (its SQL error names the file and line).
    :raises PostgresNotInstalled, ClusterError: when no private cluster can start.
    """
    with tempfile.TemporaryDirectory(prefix="lightnb-replay-") as folder:
        cluster = start_cluster(Path(folder) / "pg")
        try:
            url = cluster.create_database("replay")
            with connect(url) as conn:
                run_pending(conn, migrations_dir)
            yield url
        finally:
            cluster.destroy()
