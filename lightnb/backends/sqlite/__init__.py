"""The SQLite backend: the one package of lightnb that imports ``sqlite3``.

The module itself is the :class:`lightnb.backends.Backend` for SQLite files (``name``, ``Error``,
``open_readonly``, ``connect``, ``copy``, ``read_catalog``, ``split``, ``quote``, ``run_script``).
Code that works on SQLite's data itself (inspect, lint's replays, the runner) also takes from here
what it needs of the driver: the connection type, its exceptions, the library's version, a scratch
connection. Its parts:

* :mod:`~lightnb.backends.sqlite.files` — what a path is, and reading a file without touching anything
  beside it (WAL databases through a private consistent copy);
* :mod:`~lightnb.backends.sqlite.connection` — opening (diesel's way under the SQL guard, read-only,
  scratch) and wording every failure to open;
* :mod:`~lightnb.backends.sqlite.copies` — consistent, atomic copies;
* :mod:`~lightnb.backends.sqlite.catalog` — the catalogue as :mod:`lightnb.catalog` records;
* :mod:`~lightnb.backends.sqlite.script` — statements as ``sqlite3_exec`` runs them;
* :mod:`~lightnb.backends.sqlite.guard` — the authorizer that keeps migration SQL inside its database;
* :mod:`~lightnb.backends.sqlite.interrupt` — Ctrl-C and SIGTERM stop a running statement.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from sqlite3 import SQLITE_FUNCTION, SQLITE_OK, SQLITE_READ, SQLITE_SELECT

from lightnb.backends.sqlite import guard
from lightnb.backends.sqlite.catalog import (
    CATALOGUE_TABLES,
    find_object,
    has_table,
    read_catalog,
    read_columns,
    read_definitions,
    read_table,
)
from lightnb.backends.sqlite.connection import (
    BUSY_TIMEOUT_SECONDS,
    attach_readonly,
    connect,
    database_file,
    flush_updated_at_triggers,
    memory_copy,
    open_readonly,
    open_scratch,
    query_only,
    quote,
    serialize,
    translate,
)
from lightnb.backends.sqlite.copies import backup, copy_database, restore
from lightnb.backends.sqlite.files import SQLITE_HEADER, check_database_path
from lightnb.backends.sqlite.interrupt import interrupting
from lightnb.backends.sqlite.script import is_comment_only, split

name = "sqlite"

# The driver's names the core may use: connections, exceptions, the library's version (the
# authorizer's action codes are imported above).
Connection = sqlite3.Connection
Row = sqlite3.Row
Error = sqlite3.Error
DriverDatabaseError = sqlite3.DatabaseError  # lightnb.errors.DatabaseError is lightnb's own
OperationalError = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError
ProgrammingError = sqlite3.ProgrammingError
StatementWarning = sqlite3.Warning  # execute() was given more than one statement
version = sqlite3.sqlite_version
version_info = sqlite3.sqlite_version_info


def copy(source: str | Path, destination: str | Path) -> Path:
    """Copy the database file ``source`` into ``destination`` (read-only on the source)."""
    return copy_database(source, destination)


def run_script(conn: sqlite3.Connection, sql: str) -> None:
    """Run a whole script on ``conn`` in one call under the SQL guard (``sqlite3_exec``, as diesel).

    :raises Error: when a statement fails or is refused (what ran before it stays, as in SQLite).
    """
    guard.install(conn)
    conn.executescript(sql)


__all__ = ["BUSY_TIMEOUT_SECONDS", "CATALOGUE_TABLES", "Connection", "DriverDatabaseError", "Error", "IntegrityError",
           "OperationalError", "ProgrammingError", "Row", "SQLITE_FUNCTION", "SQLITE_HEADER", "SQLITE_OK",
           "SQLITE_READ", "SQLITE_SELECT", "StatementWarning", "attach_readonly", "backup", "check_database_path",
           "connect", "copy", "copy_database", "database_file", "find_object", "flush_updated_at_triggers", "guard",
           "has_table", "interrupting", "is_comment_only", "memory_copy", "name", "open_readonly", "open_scratch",
           "query_only", "quote", "read_catalog", "read_columns", "read_definitions", "read_table", "restore",
           "run_script", "serialize", "split", "translate", "version", "version_info"]
