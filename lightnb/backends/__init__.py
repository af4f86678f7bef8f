"""Database backends: the only modules that talk to a database driver, behind one small interface.

A :class:`Backend` opens a database read-only or for writing, copies one, reads its catalogue into
:mod:`lightnb.catalog` records, splits a script into statements, runs one, and quotes names; its
``Error`` is the driver's exception base, so the core catches ``backend.Error`` and never imports a
driver. :func:`backend_for` picks the backend a database URL selects, as diesel does:

* :mod:`lightnb.backends.sqlite` (``sqlite3``) — the first implementation, and the only module that
  imports ``sqlite3``;
* :mod:`lightnb.backends.postgres` (psycopg 3, pglast, a private cluster).

Each is imported only when a URL asks for it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lightnb.errors import ProjectError

if TYPE_CHECKING:
    from lightnb.backends.statement import Statement
    from lightnb.catalog import Catalog

POSTGRES = "postgres"
SQLITE = "sqlite"
LABELS = {SQLITE: "SQLite", POSTGRES: "PostgreSQL"}  # how messages name each backend
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class Backend(Protocol):
    """What the core asks of a database backend.

    ``target`` is what the backend's URLs name: a SQLite file (a path), a PostgreSQL URL.
    """

    name: str

    @property
    def Error(self) -> type[Exception]:
        """The base class of the driver's errors (read-only, so each backend may name its own subclass)."""

    def open_readonly(self, target: Any) -> Any:
        """Open a database that nothing may be written through (production is only ever read so)."""

    def connect(self, target: Any) -> Any:
        """Open a database for writing, with every statement under lightnb's SQL guard."""

    def copy(self, source: Any, destination: Any) -> Any:
        """Copy a database as one point in time, reading the source only; return the copy's target."""

    def read_catalog(self, conn: Any) -> Catalog:
        """Read the catalogue of an open database into :mod:`lightnb.catalog` records."""

    def split(self, sql: str) -> Sequence[Statement]:
        """Split a script into the statements the server runs, with their line numbers."""

    def quote(self, name: str) -> str:
        """Quote an identifier."""

    def run_script(self, conn: Any, sql: str) -> None:
        """Run a whole script on ``conn`` (in one call, as diesel runs a migration file)."""


def backend_for(url: str | Path) -> Backend:
    """Return the backend a database URL (or a SQLite path) selects, as diesel does.

    :raises ProjectError: for an unsupported scheme (see :func:`backend_for_url`).
    """
    if backend_for_url(str(url)) == POSTGRES:
        from lightnb.backends import postgres
        return postgres
    from lightnb.backends import sqlite
    return sqlite


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


def driver_error_label(error: BaseException) -> str | None:
    """Name the backend whose driver raised ``error`` (``SQLite``, ``PostgreSQL``); None when none did.

    Only backends already imported are asked: an error cannot come from a driver never loaded, and
    asking must not load one.
    """
    for name in (SQLITE, POSTGRES):
        backend = sys.modules.get(f"{__name__}.{name}")
        driver_error = getattr(backend, "Error", None)
        if isinstance(driver_error, type) and isinstance(error, driver_error):
            return LABELS[name]
    return None


def is_postgres_url(url: str | None) -> bool:
    """Return True when ``url`` names a PostgreSQL database (``postgres://`` or ``postgresql://``)."""
    return url is not None and url.strip().startswith(_POSTGRES_SCHEMES)


__all__ = ["LABELS", "POSTGRES", "SQLITE", "Backend", "Statement", "backend_for", "backend_for_url",
           "driver_error_label", "is_postgres_url"]


def __getattr__(name: str) -> Any:
    """``Statement`` is loaded when first asked for: a command that splits no script (a listing) never makes it."""
    if name == "Statement":
        from lightnb.backends.statement import Statement
        return Statement
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
