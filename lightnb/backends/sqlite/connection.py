"""Open SQLite databases: for migrating (as diesel does, under the SQL guard), read-only, or scratch.

Every way lightnb opens a SQLite database lives here, and every failure to open one is worded by
:func:`translate`, so a missing, locked, corrupt or read-only database reads the same whichever
verb met it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote as _urlquote

from lightnb import statement_log
from lightnb.backends.sqlite.files import attachable, check_database_path, is_own_file, open_untouched
from lightnb.errors import DatabaseBusyError, DatabaseError
from lightnb.project import SqliteLocation

BUSY_TIMEOUT_SECONDS = 2.0


class UpdatedAtCalls(list[str]):
    """The tables ``diesel_manage_updated_at`` was asked for during the statement that ran last.

    While ``refused`` is set (a migration run as one call, :func:`lightnb.runner.apply`), a call fails its
    statement instead: diesel creates the trigger during the call, which only a file run statement by statement
    can do here, so the file is run again that way.
    """

    refused = False


class DieselConnection(sqlite3.Connection):
    """A connection that remembers diesel's per-connection state (savepoint depth, triggers to add)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.savepoint_depth = 0
        self.pending_updated_at = UpdatedAtCalls()


def connect(path: str | Path | SqliteLocation, *, create: bool = True) -> sqlite3.Connection:
    """Open a SQLite database the way diesel does, in autocommit mode, under the SQL guard.

    Registers ``diesel_manage_updated_at`` (diesel_spec.md §0). A :class:`SqliteLocation` keeps its
    URI parameters (``file:app.db?mode=ro`` opens read-only) and may be in memory, as in diesel.

    :param create: create the file if missing (diesel's behaviour); False raises instead.
    :raises DatabaseError: when the file is missing (and ``create`` is False), a folder, or not SQLite.
    """
    location = path if isinstance(path, SqliteLocation) else None
    target = Path(":memory:") if location is not None and location.path is None else \
        (location.path if location is not None and location.path is not None else Path(str(path)))
    opened, is_uri = location.open_target() if location is not None else (str(target), False)
    if str(target) != ":memory:":  # a FIFO, device or folder is refused before SQLite opens (and blocks on) it
        check_database_path(target, must_exist=False, header=False)
        if not create and not target.exists():
            raise DatabaseError(f"Database {target} does not exist; check the path or DATABASE_URL.", path=target)
    try:
        conn = sqlite3.connect(opened, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS,
                               factory=DieselConnection, uri=is_uri)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise translate(error, target) from error
    _register_functions(conn)
    from lightnb.backends.sqlite import guard as sqlguard  # loaded by the verbs that open to write only
    sqlguard.install(conn)
    statement_log.watch(conn)
    return conn


def open_readonly(path: str | Path, *, timeout: float | None = None) -> sqlite3.Connection:
    """Open a database read-only; nothing is written through it, nor created or changed beside it.

    The one read-only opener: the path is checked before anything opens it (a FIFO never blocks),
    a database in WAL mode is read from a private consistent copy (see
    :mod:`lightnb.backends.sqlite.files`), so no ``-wal``/``-shm`` file ever appears beside it, and
    the connection refuses writes (``PRAGMA query_only``). It may be used from another thread.

    :param timeout: seconds to wait for a writer's lock (default: :data:`BUSY_TIMEOUT_SECONDS`).
    :raises DatabaseError: when the file is missing, not a regular file, not a SQLite database, or
        has an unfinished transaction that only a write could roll back.
    """
    target = check_database_path(path)
    wait = BUSY_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        conn = open_untouched(target, timeout=wait, check_same_thread=False)
    except sqlite3.Error as error:
        raise translate(error, target) from error
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        conn.close()
        journal = Path(f"{target}-journal")
        if "readonly" in str(error) and journal.is_file() and journal.stat().st_size > 0:
            raise DatabaseError(
                f"Database {target} has an unfinished transaction (hot journal {journal.name}) left by a "
                f"program that stopped mid-write; open it once with that program or `sqlite3` so SQLite "
                f"rolls it back, then retry (lightnb never writes to it).", path=target) from error
        raise translate(error, target) from error
    return conn


def attach_readonly(conn: sqlite3.Connection, path: str | Path, alias: str) -> None:
    """Attach ``path`` read-only to ``conn`` as ``alias`` (a WAL database through a private copy).

    :raises DatabaseError: the file is missing or is not a SQLite database (worded as :func:`open_readonly`).
    """
    target = check_database_path(path)
    try:
        conn.execute(f"ATTACH DATABASE ? AS {quote(alias)}", (readonly_uri(attachable(conn, target)),))
        conn.execute(f"SELECT count(*) FROM {quote(alias)}.sqlite_master").fetchone()
    except sqlite3.Error as error:
        raise translate(error, target) from error


def open_scratch(path: str | Path | None = None) -> sqlite3.Connection:
    """Open a private working database lightnb made (a throwaway copy), or a new one in memory.

    For lightnb's own scratch copies only: no SQL guard is installed (install one with
    :func:`lightnb.backends.sqlite.guard.install` before running migration SQL on it).

    :raises DatabaseError: when the file is not a SQLite database.
    """
    target = ":memory:" if path is None else str(path)
    try:
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        raise translate(error, None if path is None else path) from error
    return conn


def memory_copy(image: bytes | None = None) -> sqlite3.Connection:
    """Open an in-memory database to try migration SQL on (a copy of ``image`` when given).

    Opened as :func:`connect` opens a database, under the SQL guard: it refuses ATTACH of files and
    VACUUM INTO, so SQL tried here never writes a file.
    """
    conn = connect(":memory:")
    if image:
        conn.set_authorizer(None)  # loading lightnb's own image is not migration SQL
        conn.deserialize(image)
    from lightnb.backends.sqlite import guard as sqlguard
    sqlguard.install(conn)
    return conn


def serialize(conn: sqlite3.Connection) -> bytes:
    """Return the database's bytes; b'' for a database that has no page yet (nothing to copy)."""
    try:
        return conn.serialize()
    except sqlite3.OperationalError:
        return b""


def readonly_uri(path: str | Path) -> str:
    """Return a read-only ``file:`` URI for ``path``."""
    return "file:" + _urlquote(str(Path(path).resolve())) + "?mode=ro"


@contextlib.contextmanager
def query_only(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Forbid writes on ``conn`` for the duration of the block, then restore the setting."""
    previous = conn.execute("PRAGMA query_only").fetchone()[0]
    conn.execute("PRAGMA query_only = ON")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA query_only = {int(previous)}")


MAPPED_BYTES = 1 << 40  # SQLite caps it at its own compile-time limit (2 GiB by default)


@contextlib.contextmanager
def mapped(conn: sqlite3.Connection, *schemas: str, own: bool = False) -> Iterator[sqlite3.Connection]:
    """Read ``schemas`` (default ``main``) of ``conn`` through memory-mapped I/O while inside the block.

    Whole-table reads (counts, joins of two states) then take pages from the OS cache without a
    copy each: several times faster on a large file. The previous setting is put back afterwards;
    a connection that refuses the setting reads as before.

    Only lightnb's own files are mapped (:func:`~lightnb.backends.sqlite.files.is_own_file`), or every
    schema with ``own`` (the caller's copies, or the database it is migrating through ``conn``): a
    mapped file that another program truncates, or that fails to read, ends the process with SIGBUS
    where an ordinary read gives an error. Another program's database is read as before.
    """
    previous: list[tuple[str, int]] = []
    for schema in schemas or ("main",):
        if not own and not is_own_file(database_file(conn, schema)):
            continue
        try:
            row = conn.execute(f"PRAGMA {quote(schema)}.mmap_size").fetchone()
            conn.execute(f"PRAGMA {quote(schema)}.mmap_size = {MAPPED_BYTES}")
        except sqlite3.Error:
            continue
        previous.append((schema, int(row[0]) if row else 0))
    try:
        yield conn
    finally:
        for schema, size in previous:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA {quote(schema)}.mmap_size = {size}")


def quote(name: str) -> str:
    """Quote an SQL identifier for SQLite (``"name"``, inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def database_file(conn: sqlite3.Connection, schema: str = "main") -> str | None:
    """Return the file of ``conn``'s ``schema`` (main by default; None in memory, or when it cannot be read)."""
    try:
        for row in conn.execute("PRAGMA database_list"):
            if str(row[1]).lower() == schema.lower():
                return row[2] or None
    except sqlite3.Error:
        return None
    return None


def translate(error: sqlite3.Error, path: str | Path | None = None, *, doing: str = "") -> Exception:
    """Turn a low-level SQLite error about a database file into a lightnb error, in one line."""
    text = str(error)
    where = f" {path}" if path is not None else ""
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(f"Database{where} is locked by another connection{doing}; close the other "
                                 f"program (or its open transaction) and retry.", path=path)
    if "not a database" in text or "malformed" in text or "disk image" in text:
        return DatabaseError(f"Database{where} is not a valid SQLite database ({text}); check that the path "
                             f"names a SQLite file — if it is a damaged copy, restore it from a backup or "
                             f"reset the workspace with `lightnb snapshot --reset`.", path=path)
    if "readonly" in text or "read-only" in text:
        return DatabaseError(f"Database{where} is read-only ({text}); make the file and its folder writable, "
                             f"or work on a workspace copy.", path=path)
    if "unable to open" in text:
        return DatabaseError(f"Cannot open database{where}{doing} ({text}); check that the path exists and "
                             f"that its folder is readable and writable (SQLite writes its journal there).",
                             path=path)
    if "full" in text:
        return DatabaseError(f"Database{where} is full ({text}); free disk space and retry.", path=path)
    return DatabaseError(f"SQLite error on{where or ' the database'}: {text}.", path=path)


# --- diesel_manage_updated_at ----------------------------------------------------------------------

# diesel's trigger text, byte for byte (diesel/src/sqlite/connection/diesel_manage_updated_at.sql),
# the table name pasted in unquoted as diesel's format! does, so the stored schema is diesel's.
UPDATED_AT_TRIGGER = (
    "CREATE TRIGGER __diesel_manage_updated_at_{table_name}\n"
    "AFTER UPDATE ON {table_name}\n"
    "FOR EACH ROW WHEN\n"
    "  old.updated_at IS NULL AND\n"
    "  new.updated_at IS NULL OR\n"
    "  old.updated_at == new.updated_at\n"
    "BEGIN\n"
    "  UPDATE {table_name}\n"
    "  SET updated_at = CURRENT_TIMESTAMP\n"
    "  WHERE ROWID = new.ROWID;\n"
    "END\n"
)


def _register_functions(conn: sqlite3.Connection) -> None:
    """Register diesel's ``diesel_manage_updated_at(table)``.

    The function only records the table; :func:`flush_updated_at_triggers` creates the trigger
    right after the statement that called it, in the same transaction (SQL cannot safely run from
    inside a Python callback on the same connection).
    """
    pending = getattr(conn, "pending_updated_at", None)
    if pending is None:
        return

    def manage_updated_at(table: object) -> None:
        if getattr(pending, "refused", False):
            raise sqlite3.OperationalError("diesel_manage_updated_at runs statement by statement")
        pending.append(str(table))

    conn.create_function("diesel_manage_updated_at", 1, manage_updated_at)


def flush_updated_at_triggers(conn: sqlite3.Connection) -> None:
    """Create the triggers ``diesel_manage_updated_at`` asked for during the last statement.

    :raises sqlite3.OperationalError: when a trigger cannot be created (a name diesel cannot paste).
    """
    pending = getattr(conn, "pending_updated_at", None)
    while pending:
        table = pending.pop(0)
        try:
            conn.execute(UPDATED_AT_TRIGGER.format(table_name=table))
        except sqlite3.Error as error:
            raise sqlite3.OperationalError(
                f"diesel_manage_updated_at('{table}') could not create its trigger: {error} (diesel pastes the "
                f"name unquoted, so it must be a plain table name)") from error


__all__ = ["BUSY_TIMEOUT_SECONDS", "DieselConnection", "UPDATED_AT_TRIGGER", "UpdatedAtCalls", "attach_readonly",
           "connect", "database_file", "flush_updated_at_triggers", "memory_copy", "open_readonly", "open_scratch",
           "query_only", "quote", "readonly_uri", "serialize", "translate"]


_HAS_TABLE = "SELECT 1 FROM {s}.sqlite_master WHERE type = 'table' AND name = ?"


def has_table(conn: sqlite3.Connection, name: str, schema: str = "main") -> bool:
    """Tell whether ``schema`` holds a table called exactly ``name`` (a cheap question: the tracking table's).

    :raises sqlite3.Error: when the catalogue cannot be read.
    """
    return conn.execute(_HAS_TABLE.format(s=quote(schema)), (name,)).fetchone() is not None
