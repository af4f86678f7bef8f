"""The sample workbook on PostgreSQL: the sample project, a private cluster, production and a copy.

``lightnb sample --backend postgres DEST`` writes ``DEST/sample_backend`` (the PostgreSQL variant of
the sample project) and makes its cluster in ``DEST/sample_backend/.lightnb/pg``, where it generates
the production database ``sample_production`` (never written again) and, with ``workspace``, a
copy of it, ``sample_workspace`` (``CREATE DATABASE … TEMPLATE``), which the project's ``.env``
names as ``DATABASE_URL``. lightnb.toml records the production URL and the cluster folder
(``[postgres] cluster``), so every later command starts the cluster when it needs it. The cluster
is stopped when the command ends: no server is left running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lightnb import samples
from lightnb.backends.postgres import load
from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.clone import ROLE, fence
from lightnb.backends.postgres.cluster import PORT, Cluster, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.errors import DatabaseError
from lightnb.files import write_text_atomic

PRODUCTION_DATABASE = "sample_production"
WORKSPACE_DATABASE = "sample_workspace"
CLUSTER_FOLDER = ".lightnb/pg"


@dataclass(frozen=True)
class PostgresSample:
    """What ``lightnb sample --backend postgres`` made.

    :param project_dir: the sample project.
    :param cluster_dir: the cluster's folder (lightnb.toml ``[postgres] cluster``).
    :param production_url: the production database (only ever read).
    :param workspace_url: the copy commands act on (``DATABASE_URL`` in .env), or None.
    :param production_bytes: the production database's size on the server.
    :param cluster_seconds: how long the cluster took to start (initdb included).
    :param postgres_version: the server's version.
    """

    project_dir: Path
    cluster_dir: Path
    production_url: str
    workspace_url: str | None
    production_bytes: int
    cluster_seconds: float
    postgres_version: str


def sample_workbook(dest: str | Path, *, users: int = samples.DEFAULT_USERS, seed: int = samples.DEFAULT_SEED,
                    workspace: bool = True) -> PostgresSample:
    """Set up the PostgreSQL sample in ``dest`` (see the module docstring); the cluster is stopped at the end.

    :raises ProjectError: when ``dest/sample_backend`` exists and is not empty.
    :raises PostgresNotInstalled: when PostgreSQL's programs are missing.
    :raises ClusterError: when the cluster cannot be made or started.
    """
    root = Path(dest).resolve()
    project = samples.copy_sample_project(root / samples.PROJECT_DIRNAME, backend="postgres")
    cluster: Cluster | None = None
    try:
        cluster = start_cluster(project / CLUSTER_FOLDER)  # generated data: made again from the seed if lost
        production = samples.generate_postgres_database(cluster.url(PRODUCTION_DATABASE), users=users,
                                                        seed=seed, project_dir=project)
        copy = None
        if workspace:
            cluster.create_database(WORKSPACE_DATABASE, template=PRODUCTION_DATABASE)
            # Commands act on the copy as the rehearsal role, as the workbook does: migration SQL there meets no
            # superuser or server-program rights (SQL built at run time included) and cannot read production.
            fence(cluster, WORKSPACE_DATABASE)
            copy = pgurl.socket_url(str(cluster.socket_dir), WORKSPACE_DATABASE, user=ROLE, port=PORT)
        with connect(production, read_only=True) as conn:
            size_row = conn.execute("SELECT pg_database_size(current_database()), "
                                    "current_setting('server_version')").fetchone()
        assert size_row is not None
        settings = project / "lightnb.toml"
        shipped = settings.read_text(encoding="utf-8") if settings.is_file() else ""
        write_text_atomic(settings,
                          "# The production database: only ever read, copied into the workspace database.\n"
                          f"production = {_toml_string(production)}\n\n" + shipped.rstrip("\n") + "\n\n"
                          "# lightnb's private PostgreSQL cluster: started by any command that needs it,\n"
                          "# stopped when the command ends.\n"
                          f"[postgres]\ncluster = {_toml_string(CLUSTER_FOLDER)}\n", what="settings file")
        if copy is not None:
            write_text_atomic(project / ".env",
                              "# The workbook works on a copy of production, never on production itself.\n"
                              f"DATABASE_URL={copy}\n", what="settings file")
        return PostgresSample(project, project / CLUSTER_FOLDER, production, copy, int(size_row[0]),
                              cluster.startup_seconds, str(size_row[1]))
    except BaseException:
        if cluster is not None:
            for name in (WORKSPACE_DATABASE, PRODUCTION_DATABASE):
                load.drop_quietly(cluster.url("postgres"), name)
        raise
    finally:
        if cluster is not None and cluster.owned:
            try:
                cluster.stop()
            except DatabaseError:
                pass


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["CLUSTER_FOLDER", "PRODUCTION_DATABASE", "WORKSPACE_DATABASE", "PostgresSample", "sample_workbook"]
