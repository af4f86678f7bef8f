"""Rehearsal clones: throw-away databases of lightnb's private cluster, the only place migration SQL runs.

A clone is ``CREATE DATABASE … TEMPLATE <base> STRATEGY FILE_COPY``: a file copy of the local base
(a copy of production made by :mod:`~lightnb.backends.postgres.dump`), which on a scratch cluster
(fsync off) costs about what copying a SQLite file costs. It is dropped when the work ends, on
Ctrl-C and SIGTERM too (they unwind through ``finally``). A clone left behind by a process that was
killed outright carries that process's id in its name and is dropped by the next lightnb that makes
a clone in the same cluster.

:class:`Clone` is the guard: code that executes migration SQL on PostgreSQL takes a ``Clone``, never a
URL, and :func:`require_clone` refuses any connection target that is not a clone of a private
cluster this process reaches through its own socket folder.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.errors
import psycopg.sql

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.cluster import PORT, Cluster, ClusterError
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.watchdog import alive as _alive
from lightnb.errors import DatabaseError

PREFIX = "lightnb_clone_"
ROLE = "lightnb_rehearsal"  # what migration SQL runs as on a clone: no superuser, no server-file rights
_CREATE_ROLE = f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
    CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END $$"""
# hands the clone's own objects (not the system's, not an extension's members) to the rehearsal role
_HAND_OVER = f"""DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.oid, n.nspname FROM pg_namespace n
           WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = n.oid AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO {ROLE}', r.nspname);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' AND c.relkind IN ('r','p','v','m','f','S')
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.deptype IN ('e','a','i')) LOOP
    EXECUTE format('ALTER %s %s OWNER TO {ROLE}',
                   CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO {ROLE}', r.name);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS name, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           LEFT JOIN pg_class c ON c.oid = t.typrelid
           WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
             AND (t.typtype IN ('d','e','r','m') OR (t.typtype = 'c' AND c.relkind = 'c'))
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = t.oid AND d.deptype IN ('e','i')) LOOP
    EXECUTE format('ALTER %s %s OWNER TO {ROLE}',
                   CASE WHEN r.typtype = 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.name);
  END LOOP;
END $$"""
_NAME = re.compile(rf"^{PREFIX}(\d+)_[0-9a-f]+$")
_COUNTER = itertools.count(1)


class NotAClone(DatabaseError):
    """Migration SQL was about to run somewhere other than a rehearsal clone."""


@dataclass(frozen=True, slots=True)
class Clone:
    """One rehearsal clone.

    :param cluster: the private cluster it lives in.
    :param name: its database name (``lightnb_clone_<pid>_<random>``).
    :param template: the database it was copied from.
    :param seconds: how long ``CREATE DATABASE … TEMPLATE`` took.
    """

    cluster: Cluster
    name: str
    template: str
    seconds: float = 0.0

    @property
    def url(self) -> str:
        """Return the clone's URL: the private cluster's unix socket, as the rehearsal role (not a superuser,
        no right to the server's files or programs, owner of the clone and of its objects)."""
        return pgurl.socket_url(str(self.cluster.socket_dir), self.name, user=ROLE, port=PORT)

    def connect(self, **options: Any) -> psycopg.Connection[Any]:
        """Open a connection to the clone (autocommit unless told otherwise), after checking it is one."""
        require_clone(self.url, self.cluster)
        return connect(self.url, **options)


def require_clone(url: str, cluster: Cluster) -> None:
    """Refuse any URL but a clone of ``cluster``: its socket folder and a clone's name.

    :raises NotAClone: naming the target (never its password).
    """
    params = pgurl.parse(url)
    host = params.get("host", "")
    database = pgurl.database_of(params)
    if host != str(cluster.socket_dir) or not _NAME.match(database):
        raise NotAClone(f"lightnb runs migration SQL on PostgreSQL only in its own rehearsal clones, never on "
                        f"{pgurl.describe(url)}; rehearse with `lightnb check` or take a copy with "
                        f"`lightnb snapshot --database-url URL`.")


def _new_name() -> str:
    return f"{PREFIX}{os.getpid()}_{next(_COUNTER):x}{secrets.token_hex(3)}"




def sweep_stale(cluster: Cluster) -> list[str]:
    """Drop the clones whose maker process is gone (it was killed before it could drop them)."""
    with connect(cluster.url("postgres")) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                                (PREFIX + "%",)).fetchall()]
    dropped = []
    for name in names:
        match = _NAME.match(name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            with contextlib.suppress(ClusterError):
                cluster.drop_database(name)
                dropped.append(name)
    return dropped


def make_clone(cluster: Cluster, template: str) -> Clone:
    """Create a clone of ``template`` (which must have no open connection) and return it."""
    import time
    started = time.perf_counter()
    name = _new_name()
    try:
        cluster.create_database(name, template=template)
        fence(cluster, name)
    except BaseException:
        with contextlib.suppress(ClusterError):
            cluster.drop_database(name)
        raise
    return Clone(cluster, name, template, time.perf_counter() - started)


def fence(cluster: Cluster, name: str) -> None:
    """Make the clone ``name`` and its objects belong to the rehearsal role (created once per cluster)."""
    with connect(cluster.url(name)) as conn:
        try:
            conn.execute(_CREATE_ROLE)
        except psycopg.errors.UniqueViolation:  # another process created it at the same moment
            pass
        conn.execute(psycopg.sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            psycopg.sql.Identifier(name), psycopg.sql.Identifier(ROLE)))
        conn.execute(_HAND_OVER)


def drop_clone(clone: Clone) -> None:
    """Drop a clone (its sessions are ended first); a cluster that is already down keeps it for the sweep."""
    if not _NAME.match(clone.name):  # never drop anything that is not a clone
        raise NotAClone(f"{clone.name!r} is not a rehearsal clone; it was not dropped.")
    with contextlib.suppress(DatabaseError):  # ClusterError, or ConnectError when the server is gone
        clone.cluster.drop_database(clone.name)


@contextlib.contextmanager
def rehearsal_clone(cluster: Cluster, template: str) -> Iterator[Clone]:
    """Yield a fresh clone of ``template``; drop it afterwards, whatever happens (Ctrl-C, SIGTERM)."""
    with contextlib.suppress(ClusterError, DatabaseError, psycopg.Error):
        sweep_stale(cluster)
    clone = make_clone(cluster, template)
    try:
        yield clone
    finally:
        drop_clone(clone)
