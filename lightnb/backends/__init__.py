"""Database backends: the only modules that talk to a database driver.

PostgreSQL lives in :mod:`lightnb.backends.postgres` (psycopg 3, pglast, a private cluster). SQLite is
still served by the core modules; both will stand behind one small interface.
"""

from __future__ import annotations

import re

from lightnb.errors import ProjectError

POSTGRES = "postgres"
SQLITE = "sqlite"
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def backend_for_url(url: str) -> str:
    """Return which backend a database URL selects, as diesel does: ``postgres`` or ``sqlite``.

    ``postgres://`` and ``postgresql://`` select PostgreSQL; ``sqlite://``, ``file:`` (``file://`` too)
    and plain paths select SQLite.

    :raises ProjectError: for any other ``scheme://`` (MySQL included), naming the accepted ones.
    """
    text = url.strip()
    if text.startswith(_POSTGRES_SCHEMES):
        return POSTGRES
    match = _SCHEME.match(text)
    if match and match.group(1) not in ("sqlite", "file"):
        raise ProjectError(f"Database URL scheme `{match.group(1)}://` is not supported; use "
                           f"postgres://user:password@host/database for PostgreSQL or the path of a "
                           f"SQLite file.")
    return SQLITE


def is_postgres_url(url: str | None) -> bool:
    """Return True when ``url`` names a PostgreSQL database (``postgres://`` or ``postgresql://``)."""
    return url is not None and url.strip().startswith(_POSTGRES_SCHEMES)
