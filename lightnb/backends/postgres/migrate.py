"""Apply diesel migrations to a PostgreSQL database with diesel's semantics.

* ``__diesel_schema_migrations`` is created with diesel's own DDL (``setup_migration_table.sql``),
  so diesel_cli and lightnb read and write the same rows;
* each up.sql goes to the server as one simple-query message (diesel's ``batch_execute``) inside
  one transaction together with the INSERT of its version, unless its metadata.toml says
  ``run_in_transaction = false``; a failing migration leaves nothing behind;
* ``setup`` creates a missing database, writes diesel's initial-setup migration and runs what is pending.

This executes SQL on the database it is given: callers point it at lightnb's own copies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.connect import ConnectError, connect, settle, transaction
from lightnb.backends.postgres.guard import refuse_escapes
from lightnb.backends.postgres.initial_setup import write_initial_setup
from lightnb.backends.postgres.split import split
from lightnb.errors import MigrationError, SqlError
from lightnb.migrations import Migration, discover
from lightnb.runner import CREATE_TRACKING_TABLE, TRACKING_TABLE

_INSERT_VERSION = f"INSERT INTO {TRACKING_TABLE} (version) VALUES (%s)"
_APPLIED = f"SELECT version FROM {TRACKING_TABLE} ORDER BY version DESC"
_TRACKING_EXISTS = (f"SELECT EXISTS (SELECT 1 FROM information_schema.tables "
                    f"WHERE table_name = '{TRACKING_TABLE}')")


@dataclass
class SetupResult:
    """What :func:`setup` did, in diesel's words (``Creating database: x``, ``Running migration …``)."""

    messages: list[str] = field(default_factory=list)
    applied: list[Migration] = field(default_factory=list)


def ensure_tracking_table(conn: psycopg.Connection[Any]) -> None:
    """Create ``__diesel_schema_migrations`` if missing, with diesel's exact DDL."""
    conn.execute(CREATE_TRACKING_TABLE)


def has_tracking_table(conn: psycopg.Connection[Any]) -> bool:
    """Return whether ``__diesel_schema_migrations`` exists (diesel's ``schema_table_exists``)."""
    return conn.execute(_TRACKING_EXISTS).fetchone() == (True,)


def applied_versions(conn: psycopg.Connection[Any]) -> list[str]:
    """Return the recorded versions, newest first (diesel's order)."""
    return [row[0] for row in conn.execute(_APPLIED).fetchall()]


def _line_of(script: str, error: psycopg.Error) -> int | None:
    """Return the 1-based line the server points at (its position counts characters of the batch)."""
    position = getattr(error.diag, "statement_position", None)
    if position and str(position).isdigit():
        return script.count("\n", 0, int(position) - 1) + 1
    return None


def _statement_at(script: str, line: int | None) -> str | None:
    if line is None:
        return None
    for statement in split(script):
        if statement.line <= line <= statement.end_line:
            return statement.text
    return None


def sql_error(migration: Migration, script: str, error: psycopg.Error, file: str = "up.sql") -> SqlError:
    """Return the one-line error for a script the server rejected, naming the file and line.

    ``file`` is ``up.sql`` or ``down.sql``; a migration with ``run_in_transaction = false`` may have
    applied the statements before the failing one, and the message says so.
    """
    # the server's own sentence; its "LINE 2: … ^" excerpt is replaced by the file and line below
    primary = getattr(error.diag, "message_primary", None) or (str(error).splitlines() or [""])[0]
    reason = " ".join(primary.split()) or type(error).__name__
    line = _line_of(script, error)
    where = f"{migration.name}/{file}" + (f" line {line}" if line is not None else "")
    undone = ("nothing of this migration was applied" if migration.run_in_transaction else
              "run_in_transaction = false: the statements before it stay applied, and the migration is not "
              "recorded")
    path = migration.up_path if file == "up.sql" else migration.down_path
    return SqlError(f"Failed to run {migration.name} with: {reason} ({where}); fix the SQL and run again "
                    f"({undone}).", path=path,
                    version=migration.version, line=line, statement=_statement_at(script, line))


def up_script(migration: Migration) -> str:
    """Return the migration's up.sql, ready to send: not empty, and nothing in it reaches outside the database.

    :raises MigrationError: for an empty up.sql (diesel's "Attempted to run an empty migration").
    :raises EscapeRefused: when a statement would reach the server's files, a program or another server.
    """
    script = migration.up_sql()
    if not script:
        raise MigrationError(f"Failed to run {migration.name} with: Attempted to run an empty migration; "
                             f"write its SQL in {migration.up_path}.", path=migration.up_path,
                             version=migration.version)
    refuse_escapes(migration, script)
    return script


def run_migration(conn: psycopg.Connection[Any], migration: Migration) -> None:
    """Apply one migration and record its version: in one transaction unless ``run_in_transaction = false``.

    :raises MigrationError: for an empty up.sql (diesel's "Attempted to run an empty migration").
    :raises SqlError: when the server rejects the script (rolled back when in a transaction).
    """
    script = up_script(migration)

    def apply() -> None:
        try:
            conn.execute(script.encode("utf-8"), prepare=False)  # no parameters: one simple-query message
        except psycopg.Error as error:
            raise sql_error(migration, script, error) from error
        conn.execute(_INSERT_VERSION, (migration.version,))

    if migration.run_in_transaction:
        with transaction(conn):
            apply()
    else:
        try:
            apply()
        except BaseException:
            settle(conn)
            raise


def run_pending(conn: psycopg.Connection[Any], migrations_dir: str | Path,
                on_migration: Callable[[Migration], None] | None = None) -> list[Migration]:
    """Apply every migration not yet recorded, oldest first; return them.

    :param on_migration: called before each migration runs (diesel prints ``Running migration NAME``).
    """
    ensure_tracking_table(conn)
    done = set(applied_versions(conn))
    applied = []
    for migration in discover(migrations_dir):
        if migration.version in done:
            continue
        if on_migration is not None:
            on_migration(migration)
        run_migration(conn, migration)
        applied.append(migration)
    return applied


def create_database_if_missing(url: str, announce: Callable[[str], None] | None = None) -> str | None:
    """Create the URL's database when it does not exist (connecting to ``postgres`` on the same server).

    :param announce: told ``Creating database: NAME`` before the database is created (diesel's line).
    :returns: the created database's name, or None when it existed.
    :raises ConnectError: when the server cannot be reached, or refuses the creation.
    """
    try:
        connect(url).close()
        return None
    except ConnectError as error:
        if not isinstance(error.__cause__, psycopg.OperationalError) or "does not exist" not in str(error.__cause__):
            raise
    from lightnb.backends.postgres.cluster import SUPERUSER
    from lightnb.backends.postgres.private import private_cluster
    name = pgurl.database_of(pgurl.parse(url))
    if announce is not None:
        announce(f"Creating database: {name}")
    cluster = private_cluster(url)
    try:
        if cluster is not None:
            # lightnb's own cluster creates it, owned by the URL's role (which need not be allowed to create databases).
            owner = pgurl.parse(url).get("user") or SUPERUSER
            with connect(cluster.url("postgres")) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
        else:
            with connect(pgurl.with_database(url, "postgres")) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        raise ConnectError(f"Cannot create database `{name}` on {pgurl.where(pgurl.parse(url))}: {reason}; "
                           f"create it by hand or use a role that may create databases.") from error
    return name


def setup(url: str, migrations_dir: str | Path, *, default_migration: bool = True) -> SetupResult:
    """Do what ``diesel setup`` does on PostgreSQL.

    Creates the database if missing, writes the ``00000000000000_diesel_initial_setup`` migration
    (unless ``default_migration`` is False or it exists), and when ``__diesel_schema_migrations`` does not
    exist yet, creates it and runs every pending migration.
    """
    result = SetupResult()
    created = create_database_if_missing(url)
    if created is not None:
        result.messages.append(f"Creating database: {created}")
    folder = Path(migrations_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if default_migration:
        write_initial_setup(folder)
    with connect(url) as conn:
        if conn.execute(_TRACKING_EXISTS).fetchone() == (True,):
            return result
        result.applied = run_pending(
            conn, folder, lambda m: result.messages.append(f"Running migration {m.name}"))
    return result
