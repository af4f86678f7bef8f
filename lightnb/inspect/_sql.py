"""Small SQLite helpers shared by the inspect modules (quoting, catalogue, read-only opens)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote as _urlquote

from lightnb.errors import DatabaseError


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ro_uri(path: str | Path) -> str:
    """Return a read-only ``file:`` URI for ``path``."""
    resolved = Path(path).resolve()
    return "file:" + _urlquote(str(resolved)) + "?mode=ro"


def open_ro(path: str | Path) -> sqlite3.Connection:
    """Open a database file read-only (it is never written, not even its journal mode).

    :raises DatabaseError: the file is missing or is not an SQLite database.
    """
    from lightnb.dbfile import check_database_path, open_untouched
    p = Path(path)
    check_database_path(p, header=False)  # a FIFO or device is refused before anything opens it
    try:
        conn = open_untouched(p, check_same_thread=False, header=False)  # a WAL database is read from a private copy: no -wal/-shm
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{p} is not a readable SQLite database ({error}); "
                            f"check the path.", path=p) from error
    return conn


def attach_ro(conn: sqlite3.Connection, path: str | Path, alias: str) -> None:
    """Attach ``path`` read-only as ``alias`` (the connection must accept URIs).

    :raises DatabaseError: the file is missing or is not an SQLite database.
    """
    from lightnb.dbfile import attachable
    p = Path(path)
    try:
        conn.execute(f"ATTACH DATABASE ? AS {q(alias)}", (ro_uri(attachable(conn, p, header=False)),))
        conn.execute(f"SELECT count(*) FROM {q(alias)}.sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{p} is not a readable SQLite database ({error}); "
                            f"check the path.", path=p) from error


@contextmanager
def query_only(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Forbid writes on ``conn`` for the duration of the block, then restore the setting."""
    previous = conn.execute("PRAGMA query_only").fetchone()[0]
    conn.execute("PRAGMA query_only = ON")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA query_only = {int(previous)}")


def user_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Return the names of ordinary (non-internal, non-virtual) tables, sorted."""
    rows = conn.execute(
        f"SELECT name FROM {q(schema)}.sqlite_master WHERE type = 'table' "
        f"AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        f"AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").fetchall()
    return [r[0] for r in rows]


def table_columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[tuple]:
    """Return ``PRAGMA table_xinfo`` rows for visible columns: (cid, name, type, notnull, dflt, pk)."""
    rows = conn.execute(f"PRAGMA {q(schema)}.table_xinfo({q(table)})").fetchall()
    return [r[:6] for r in rows if r[6] in (0, 2, 3)]


def primary_key(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    """Return the declared primary-key columns of ``table`` in key order (may be empty)."""
    cols = [c for c in table_columns(conn, table, schema) if c[5]]
    return [c[1] for c in sorted(cols, key=lambda c: c[5])]
