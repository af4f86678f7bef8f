"""The PostgreSQL backend: a private cluster, connections, statement splitting, the catalogue.

psycopg 3 is the driver and pglast (PostgreSQL's own parser) splits scripts. Nothing outside
:mod:`lightnb.backends` imports either.

The module itself is the :class:`lightnb.backends.Backend` for ``postgres://`` URLs (``name``,
``Error``, ``open_readonly``, ``connect``, ``copy``, ``read_catalog``, ``split``, ``quote``,
``run_script``). It writes only to lightnb's own private cluster
(:mod:`~lightnb.backends.postgres.private`): ``connect``, ``copy`` and ``run_script`` refuse any
other server in one line before anything runs there; production is only ever opened read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

from lightnb.backends.postgres import connect as _connect
from lightnb.backends.postgres import url as pgurl
from lightnb.lazy import load_on_first_use

if TYPE_CHECKING:
    from lightnb.backends.postgres.guard import EscapeRefused as EscapeRefused
    from lightnb.backends.postgres.guard import first_escape as first_escape
    from lightnb.backends.postgres.private import NotPrivate
    from lightnb.backends.postgres.private import private_cluster as private_cluster
    from lightnb.backends.postgres.private import require_private as require_private
    from lightnb.backends.postgres.records import read_catalog
    from lightnb.backends.postgres.split import split

# The parts below are imported when one of their names is first used (PEP 562), so a verb that only
# reads (print-schema: a read-only connection and diesel's catalogue queries) loads neither the SQL
# guard and its parser, nor the private cluster's manager, nor the catalogue records.
_HOMES = {
    "lightnb.backends.postgres.guard": ("EscapeRefused", "first_escape"),
    "lightnb.backends.postgres.private": ("NotPrivate", "private_cluster", "require_private"),
    "lightnb.backends.postgres.records": ("read_catalog",),
    "lightnb.backends.postgres.split": ("split",),
}

# ``connect`` and ``split`` are the Backend's functions; they share their names with the modules
# connect.py and split.py, so import from those modules by their full name
# (``from lightnb.backends.postgres.connect import connect``), never as package attributes: the
# package's names stay the functions even after those modules are imported (see ``_Package``).
_SHADOWED = frozenset({"connect", "split"})
name = "postgres"
Error = psycopg.Error


__getattr__, __dir__ = load_on_first_use(__name__, _HOMES, shadowed=_SHADOWED)


def open_readonly(target: str) -> psycopg.Connection[Any]:
    """Open a session whose every transaction is read-only (``default_transaction_read_only``).

    :raises ConnectError: one line when the server cannot be reached or refuses the connection.
    """
    return _connect.connect(str(target), read_only=True)


def connect(target: str) -> psycopg.Connection[Any]:
    """Open a database of lightnb's private cluster for writing (autocommit, as diesel's connections).

    :raises NotPrivate: when ``target`` names any other server (nothing connects to it).
    """
    from lightnb.backends.postgres.private import require_private
    require_private(str(target), "write to")
    return _connect.connect(str(target))


def copy(source: str, destination: str) -> str:
    """Copy the database ``source`` into the new database ``destination`` names; return its URL.

    ``destination`` must name a database of lightnb's private cluster that does not exist yet. A
    source in the same cluster is copied as a file copy (``CREATE DATABASE … TEMPLATE``, the way
    rehearsal clones are made; the source must have no open session); any other source is only
    read, with pg_dump, and restored there (the way ``lightnb snapshot`` copies production).

    :raises NotPrivate: when ``destination`` is not in lightnb's private cluster.
    :raises ClusterError, DumpError, ConnectError: one line each; a failed copy leaves nothing behind.
    """
    from lightnb.backends.postgres.private import private_cluster, require_private
    cluster = require_private(str(destination), "copy into")
    database = pgurl.database_of(pgurl.parse(str(destination)))
    source_cluster = private_cluster(str(source))
    if source_cluster is not None and source_cluster.socket_dir == cluster.socket_dir:
        return cluster.create_database(database, template=pgurl.database_of(pgurl.parse(str(source))))
    from lightnb.backends.postgres.dump import copy_database
    copy_database(str(source), cluster, database)
    return cluster.url(database)


def quote(name: str) -> str:
    """Quote an identifier for PostgreSQL (``"name"``, inner quotes doubled; case is kept)."""
    return '"' + name.replace('"', '""') + '"'


def run_script(conn: psycopg.Connection[Any], sql: str) -> None:
    """Run a whole script on ``conn`` as one simple-query message (diesel's ``batch_execute``).

    :raises NotPrivate: when ``conn`` is not connected to lightnb's private cluster (nothing runs).
    :raises EscapeRefused: when a statement would reach the server's files, a program or another server
        (:mod:`lightnb.backends.postgres.guard`; nothing runs).
    :raises Error: when a statement fails (in autocommit, what ran before it stays, as on the server).
    """
    from lightnb.backends.postgres.guard import EscapeRefused, first_escape
    from lightnb.backends.postgres.private import require_private
    info = conn.info
    require_private(pgurl.socket_url(info.host, info.dbname, user=info.user, port=info.port), "run a script on")
    escape = first_escape(sql)  # the same SQL guard as every path that runs migration SQL
    if escape is not None:
        line, reason = escape
        raise EscapeRefused(f"Refused to run the script's line {line}: {reason}; SQL run here may only change the "
                            f"database (nothing of the script ran).", line=line)
    conn.execute(sql.encode("utf-8"), prepare=False)



__all__ = ["Error", "NotPrivate", "connect", "copy", "name", "open_readonly", "quote", "read_catalog",
           "run_script", "split"]
