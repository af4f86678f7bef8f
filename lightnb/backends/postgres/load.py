"""Build a new PostgreSQL database whole or not at all, and load rows into it with COPY.

:func:`building_database` is the PostgreSQL twin of "write a temporary file, then rename it": the
database is made under a temporary name next to the one asked for, filled, and renamed into place
only when everything succeeded; on any failure (an error, Ctrl-C) it is dropped. A database that
already exists is never touched: it is refused before anything is made.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.connect import connect
from lightnb.errors import DatabaseError

MAINTENANCE_DATABASE = "postgres"
_NAME_LIMIT = 63  # NAMEDATALEN - 1 bytes


def _reason(error: psycopg.Error) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def database_exists(admin: psycopg.Connection[Any], name: str) -> bool:
    """Return whether the server has a database of that name."""
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _temporary_name(name: str) -> str:
    suffix = f"_lightnb_{os.getpid()}_{secrets.token_hex(3)}"
    head = name.encode("utf-8")[:_NAME_LIMIT - len(suffix)].decode("utf-8", "ignore")
    return head + suffix


@contextlib.contextmanager
def building_database(url: str) -> Iterator[str]:
    """Yield the URL of an empty database that becomes ``url``'s database when the block succeeds.

    :raises DatabaseError: when the database already exists, or the server refuses to create or
        rename it (the role may not create databases).
    :raises ConnectError: when the server cannot be reached.
    """
    name = pgurl.database_of(pgurl.parse(url))
    where = pgurl.where(pgurl.parse(url))
    admin_url = pgurl.with_database(url, MAINTENANCE_DATABASE)
    temporary = _temporary_name(name)
    with connect(admin_url) as admin:
        if database_exists(admin, name):
            raise DatabaseError(f"Database `{name}` already exists on {where}; lightnb never writes over a "
                                f"database: drop it yourself or choose another name.")
        try:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(temporary)))
        except psycopg.Error as error:
            raise DatabaseError(f"Cannot create database `{temporary}` on {where}: {_reason(error)}; use a "
                                f"role that may create databases.") from error
    done = False
    try:
        yield pgurl.with_database(url, temporary)
        with connect(admin_url) as admin:
            try:
                admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(temporary), sql.Identifier(name)))
            except psycopg.Error as error:  # e.g. the name was taken meanwhile
                raise DatabaseError(f"Cannot rename the new database to `{name}` on {where}: "
                                    f"{_reason(error)}; nothing was left behind.") from error
        done = True
    finally:
        if not done:
            drop_quietly(admin_url, temporary)


def drop_quietly(admin_url: str, name: str) -> None:
    """Drop a database lightnb made, disconnecting its sessions; never raises."""
    with contextlib.suppress(psycopg.Error, DatabaseError):
        with connect(admin_url) as admin:
            force = sql.SQL(" WITH (FORCE)") if admin.info.server_version >= 130000 else sql.SQL("")
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force))


class NoSuchColumn(DatabaseError):
    """The table, or one of the columns, rows were loaded into does not exist."""


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: Sequence[str],
              rows: Iterable[Sequence[object]]) -> int:
    """Load rows into a table with ``COPY … FROM STDIN`` (text format); return how many.

    :raises NoSuchColumn: when the table or a column is missing.
    :raises DatabaseError: when the server refuses a row (a constraint, a type).
    """
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    count = 0
    try:
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    except psycopg.Error as error:
        kind = NoSuchColumn if error.sqlstate in ("42P01", "42703") else DatabaseError
        raise kind(f"Cannot load rows into `{table}`: {_reason(error)}") from error
    return count


def restart_identity(conn: psycopg.Connection[Any], table: str, column: str = "id") -> None:
    """Move the table's identity/serial sequence past the largest key loaded, so inserts go on from there."""
    conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({}), 0) + 1, false) "
                         "FROM {}").format(sql.Identifier(column), sql.Identifier(table)),
                 (sql.Identifier(table).as_string(conn), column))
