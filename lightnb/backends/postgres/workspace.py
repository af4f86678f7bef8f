"""The workspace of a PostgreSQL project: a database of lightnb's private cluster, copied from production.

The sample makes it (``sample_workspace`` beside ``sample_production``, named by ``DATABASE_URL`` in the
project's .env). A workbook opens on a *fresh* copy, as on SQLite: the workspace database is dropped
and copied again from production (``CREATE DATABASE … TEMPLATE`` when production lives in the same
private cluster, else read with pg_dump), handed to the rehearsal role, and the workbook's steps act on it as
that role (no superuser, no right to the server's files or programs, nothing granted on production). Production
is only ever read: a workspace URL that names production, or a database outside lightnb's private cluster, is
refused in one line.
"""

from __future__ import annotations

from pathlib import Path

from lightnb.backends import postgres
from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.clone import ROLE, fence
from lightnb.backends.postgres.cluster import PORT
from lightnb.backends.postgres.private import require_private
from lightnb.backends.postgres.project_cluster import ensure_running
from lightnb.errors import WorkspaceError
from lightnb.layout import DEFAULT_DIRNAME
from lightnb.project import Project
from lightnb.results import PostgresWorkspace


def _same_database(a: str, b: str) -> bool:
    pa, pb = pgurl.parse(a), pgurl.parse(b)
    return ((pa.get("host") or "", pa.get("port") or "5432", pgurl.database_of(pa))
            == (pb.get("host") or "", pb.get("port") or "5432", pgurl.database_of(pb)))


def fresh_workspace(project: Project, workspace_url: str, production_url: str | None) -> PostgresWorkspace:
    """Return the project's PostgreSQL workspace, copied again from production when there is one.

    :raises WorkspaceError: when the workspace URL names production.
    :raises NotPrivate: when the workspace is not a database of lightnb's private cluster.
    """
    ensure_running(project, workspace_url)
    if production_url is not None:
        ensure_running(project, production_url)
        if _same_database(workspace_url, production_url):
            raise WorkspaceError(f"DATABASE_URL names production ({pgurl.describe(production_url)}); point it at a "
                                 f"copy of it in lightnb's private cluster (the workspace), never production.")
        cluster = require_private(workspace_url, "replace")
        name = pgurl.database_of(pgurl.parse(workspace_url))
        cluster.drop_database(name)
        postgres.copy(production_url, workspace_url)
        # The copy and its objects belong to the rehearsal role, and the steps act on it as that role: migration
        # SQL on the workspace runs without superuser or server-file rights, as on a rehearsal clone (what the
        # SQL guard cannot see, such as SQL built at run time, meets the role's rights), and cannot read
        # production, which stays the superuser's.
        fence(cluster, name)
        workspace_url = pgurl.socket_url(str(cluster.socket_dir), name, user=ROLE, port=PORT)
    else:
        require_private(workspace_url, "work on")
    return PostgresWorkspace(workspace_url, production_url, Path(project.root) / DEFAULT_DIRNAME)


__all__ = ["fresh_workspace"]
