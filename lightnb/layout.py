"""Where lightnb keeps its own files: the names of the workspace folder and what it holds; and where
diesel and lightnb keep their records inside a database (the tracking table, the bookkeeping tables).

One place for these names, so that the workspace (which writes them), the production guard (which
reads the record of workspaces) and the SQLite backend (which recognises a copy lightnb made) agree.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DIRNAME = ".lightnb"  # the project's workspace folder, beside diesel.toml
WORKSPACE_DB = "workspace.db"
STATE_FILE = "workspace.json"
CAPTURES_DIR = "captures"  # before copies kept for the inspect step
REGISTRY_NAME = "workspaces.json"  # the project's record of workspaces and the productions they copy
PG_SNAPSHOT_RECORD = "pg-snapshot.json"  # a PostgreSQL workspace: what its base in the private cluster copies
SIDECARS = ("-journal", "-wal", "-shm")  # files SQLite keeps beside a database

TRACKING_TABLE = "__diesel_schema_migrations"  # diesel's record of applied migrations, in the database
INITIAL_SETUP_VERSION = "00000000000000"  # diesel's initial-setup migration (PostgreSQL), never announced
BOOKKEEPING_PREFIX = "__lightnb_"  # lightnb's own sidecar tables (e.g. migration checksums)


def is_workspace(folder: Path) -> bool:
    """Return whether ``folder`` holds a workspace lightnb made (its database and its state)."""
    return (folder / STATE_FILE).is_file() and (folder / WORKSPACE_DB).is_file()


def is_lightnb_copy(path: str | Path) -> bool:
    """Return whether ``path`` is a database lightnb made (a workspace or a copy kept inside one).

    Those are lightnb's own files: reading them in place may create their ``-wal``/``-shm``.
    """
    resolved = Path(os.path.realpath(path))
    if resolved.name == WORKSPACE_DB and is_workspace(resolved.parent):
        return True
    # a before copy lightnb captured: <workspace>/captures/[<label>/]before-….db
    return resolved.name.startswith("before-") and any(
        folder.name == CAPTURES_DIR and is_workspace(folder.parent) for folder in list(resolved.parents)[:2])


__all__ = ["CAPTURES_DIR", "DEFAULT_DIRNAME", "REGISTRY_NAME", "SIDECARS", "STATE_FILE", "WORKSPACE_DB",
           "is_lightnb_copy", "is_workspace"]
