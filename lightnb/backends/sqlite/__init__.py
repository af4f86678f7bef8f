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
* :mod:`~lightnb.backends.sqlite.writes` — which tables the statements run on a connection may have written;
* :mod:`~lightnb.backends.sqlite.interrupt` — Ctrl-C and SIGTERM stop a running statement.
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from sqlite3 import SQLITE_FUNCTION, SQLITE_OK, SQLITE_READ, SQLITE_SELECT
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightnb.backends.sqlite import guard
    from lightnb.backends.sqlite.catalog import (
        CATALOGUE_TABLES,
        find_object,
        read_catalog,
        read_columns,
        read_definitions,
        read_roots,
        read_table,
        state_identity,
    )
    from lightnb.backends.sqlite.connection import (
        BUSY_TIMEOUT_SECONDS,
        attach_readonly,
        connect,
        database_file,
        flush_updated_at_triggers,
        has_table,
        mapped,
        memory_copy,
        open_readonly,
        open_scratch,
        query_only,
        quote,
        serialize,
        translate,
    )
    from lightnb.backends.sqlite.copies import backup, copy_database, restore, restore_tables, save_tables
    from lightnb.backends.sqlite.files import SQLITE_HEADER, check_database_path, committed_state, is_own_file
    from lightnb.backends.sqlite.interrupt import interrupting
    from lightnb.backends.sqlite.script import is_comment_only, split
    from lightnb.backends.sqlite.writes import Writes
    from lightnb.backends.sqlite.writes import watch as watch_writes
else:
    # A part is imported when one of its names is first used, so a command that only reads a
    # database (``lightnb migration list``) loads the opener, not the guard, the catalogue or the copier.
    _PARTS = {
        "guard": ("guard", None),
        **{name: ("catalog", name) for name in (
            "CATALOGUE_TABLES", "find_object", "read_catalog", "read_columns", "read_definitions", "read_roots",
            "read_table", "state_identity")},
        **{name: ("connection", name) for name in (
            "BUSY_TIMEOUT_SECONDS", "attach_readonly", "connect", "database_file", "flush_updated_at_triggers",
            "has_table",
            "mapped", "memory_copy", "open_readonly",
            "open_scratch", "query_only", "quote", "serialize", "translate")},
        **{name: ("copies", name) for name in ("backup", "copy_database", "restore", "restore_tables",
                                                 "save_tables")},
        **{name: ("files", name) for name in ("SQLITE_HEADER", "check_database_path", "committed_state",
                                               "is_own_file")},
        "interrupting": ("interrupt", "interrupting"),
        **{name: ("script", name) for name in ("is_comment_only", "split")},
        "Writes": ("writes", "Writes"),
        "watch_writes": ("writes", "watch"),
    }

    def __getattr__(name: str) -> Any:
        try:
            part, attribute = _PARTS[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        module = importlib.import_module(f"{__name__}.{part}")
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value

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
    from lightnb.backends.sqlite.copies import copy_database
    return copy_database(source, destination)


def run_script(conn: sqlite3.Connection, sql: str) -> None:
    """Run a whole script on ``conn`` in one call under the SQL guard (``sqlite3_exec``, as diesel).

    :raises Error: when a statement fails or is refused (what ran before it stays, as in SQLite).
    """
    from lightnb.backends.sqlite import guard
    guard.install(conn)
    conn.executescript(sql)


__all__ = ["BUSY_TIMEOUT_SECONDS", "CATALOGUE_TABLES", "Connection", "DriverDatabaseError", "Error", "IntegrityError",
           "OperationalError", "ProgrammingError", "Row", "SQLITE_FUNCTION", "SQLITE_HEADER", "SQLITE_OK",
           "SQLITE_READ", "SQLITE_SELECT", "StatementWarning", "attach_readonly", "backup", "check_database_path",
           "committed_state",
           "connect", "copy", "copy_database", "database_file", "find_object", "flush_updated_at_triggers", "guard",
           "has_table", "interrupting", "is_comment_only", "is_own_file", "mapped", "memory_copy", "name",
           "open_readonly", "open_scratch",
           "query_only", "quote", "read_catalog", "read_columns", "read_definitions", "read_roots", "read_table",
           "restore", "restore_tables",
           "run_script", "save_tables", "serialize", "split", "state_identity", "translate", "version",
           "version_info", "watch_writes", "Writes"]
