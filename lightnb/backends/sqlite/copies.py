"""Copy a SQLite database as one consistent point in time, atomically, without writing the source.

A rollback-journal database is copied byte for byte under a read transaction (at the speed of
``cp``); a WAL one, an in-memory one or one with uncommitted changes through SQLite's online backup
API; a WAL database on disk that lightnb did not make is never opened in place (see
:func:`lightnb.backends.sqlite.files.consistent_copy`). Every copy is written beside its destination
and renamed into place, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lightnb.backends.sqlite.connection import open_readonly, quote, readonly_uri, translate
from lightnb.backends.sqlite.files import consistent_copy, copy_bytes, uses_wal
from lightnb.errors import DatabaseError, WorkspaceError
from lightnb.files import make_temporary
from lightnb.layout import SIDECARS, is_lightnb_copy

_VIRTUAL = re.compile(r"\s*CREATE\s+VIRTUAL\b", re.IGNORECASE)


def copy_database(source: str | Path, destination: str | Path, *, verify: bool = False,
                  timeout: float | None = None) -> Path:
    """Copy the database file ``source`` into ``destination`` (read-only on the source).

    :param verify: run SQLite's ``quick_check`` on the copy and refuse a corrupt source.
    :param timeout: seconds to wait for a busy writer of the source.
    :raises DatabaseError: when the source is missing, not SQLite, locked, keeps changing or is corrupt.
    :raises WorkspaceError: when the copy cannot be written.
    """
    if uses_wal(source) and not is_lightnb_copy(source):
        return copy_wal_database(Path(source), Path(destination), verify=verify)
    reader = open_readonly(source, timeout=timeout)
    try:
        return backup(reader, destination, verify=verify)
    finally:
        reader.close()


def backup(source: sqlite3.Connection, destination: str | Path, *, verify: bool = False) -> Path:
    """Copy an open database into ``destination`` consistently and atomically.

    :param verify: run SQLite's ``quick_check`` on the copy before it replaces anything (a full
        pass over the data: seconds per GiB) and refuse a corrupt one.
    :raises DatabaseError: when ``verify`` finds the copy corrupt.
    :raises WorkspaceError: when the copy cannot be written.
    """
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temporary(dest.parent, prefix=".copy-", suffix=".db")
    os.close(fd)
    try:
        if not _copy_file_under_read_lock(source, tmp):
            target = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                target.execute("PRAGMA synchronous=OFF")
                source.backup(target)  # one step: a single read transaction, so one point in time
            finally:
                target.close()
        if verify:
            _quick_check(tmp, _name_of(source))
        os.replace(tmp, dest)
    except sqlite3.Error as error:
        tmp.unlink(missing_ok=True)
        raise translate(error, dest, doing=" while copying") from error
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"Cannot write the copy {dest}: {error.strerror}; free disk space or choose a "
                             f"writable workspace folder.", path=dest) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def restore(conn: sqlite3.Connection, copy: str | Path) -> None:
    """Put the database of ``conn`` back exactly as the copy at ``copy`` holds it (page for page).

    For lightnb's own scratch databases: ``conn`` is written, ``copy`` only read. The pages go over
    :data:`RESTORE_PAGES` at a time, Python's signal handlers running between two runs: Ctrl-C stops a
    restore of a large copy at once, and ``conn``'s database is left as it was (SQLite writes it in one
    transaction, rolled back when the restore stops).
    """
    source = sqlite3.connect(str(copy))
    try:
        source.backup(conn, pages=RESTORE_PAGES, progress=_between_runs)
    finally:
        source.close()


RESTORE_PAGES = 8192  # pages a restore copies between two looks at Ctrl-C (32 MiB of 4 KiB pages)


def _between_runs(_status: int, _remaining: int, _total: int) -> None:
    """A backup's progress callback: nothing to do but to let Python run a signal handler that is due."""


def copy_wal_database(source: Path, destination: Path, *, verify: bool = False) -> Path:
    """Copy a WAL database into ``destination`` without opening it in place (nothing created beside it).

    :raises DatabaseError: when it cannot be read, keeps changing, or (``verify``) is corrupt.
    """
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temporary(dest.parent, prefix=".copy-", suffix=".db")
    os.close(fd)
    try:
        consistent_copy(source, tmp)
        if verify:
            _quick_check(tmp, str(source))
        os.replace(tmp, dest)
    except OSError as error:
        raise WorkspaceError(f"Cannot write the copy {dest}: {error.strerror}; free disk space or choose a "
                             f"writable workspace folder.", path=dest) from error
    finally:
        for suffix in ("", *SIDECARS):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return dest


def _name_of(source: sqlite3.Connection) -> str:
    """Name the database a connection reads, for messages (a private copy stands for its source)."""
    source_file = getattr(source, "source", None)
    if source_file:
        return str(source_file)
    row = source.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else "the source database"


def _quick_check(copy: Path, name: str) -> None:
    conn = sqlite3.connect(readonly_uri(copy), uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    finally:
        conn.close()
    if problems != ["ok"]:
        raise DatabaseError(f"{name} is corrupt (quick_check: {problems[0]}); recover it with sqlite3's "
                            f".recover or restore a backup — nothing was copied.", path=name)


def _copy_file_under_read_lock(source: sqlite3.Connection, target: Path) -> bool:
    """Copy the database file byte for byte while holding a read transaction on it.

    In rollback-journal modes a writer must take an EXCLUSIVE lock to change the main file, which
    it cannot get while this connection holds its SHARED lock, so the bytes copied are one
    consistent, committed point in time, at the speed of ``cp``. WAL databases (whose committed
    pages may live in the -wal file), in-memory databases and connections with uncommitted
    changes return False: the caller uses the backup API instead.
    """
    if source.in_transaction:
        return False
    row = source.execute("PRAGMA database_list").fetchone()
    path = Path(row[2]) if row and row[2] else None
    mode = str(source.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if path is None or mode == "wal" or not path.is_file():
        return False
    source.execute("BEGIN")
    try:
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the SHARED lock
        copy_bytes(path, target)
    finally:
        source.execute("COMMIT")
    return True


def save_tables(source: sqlite3.Connection | str | Path, destination: str | Path, tables: Sequence[str], *,
                opened: Callable[[sqlite3.Connection], None] | None = None) -> Path:
    """Save some tables of an open database file into a new database ``destination``, atomically.

    Each table keeps its definition (columns, keys, constraints), its rows (with their rowids) and its
    indexes; its generated columns are computed again, its AUTOINCREMENT counter is kept; triggers and
    views are not copied (:func:`restore_tables` takes them from the state's definitions). This is
    the state a rehearsal compares with when it knows which tables a migration
    can change: at the cost of those tables, not of the whole file. The rows are read in one read
    transaction (one point in time), through a read-only URI: the source is never written.

    A table without generated columns is copied as SQLite's ``VACUUM`` copies one: its records and
    the entries of its indexes as they are stored, without decoding a value or sorting an index
    again (the transfer ``INSERT INTO t SELECT * FROM source.t`` allows between equal definitions);
    rowids are kept either way.

    Only the source's file is read, through a connection of its own: ``source`` is an open database
    (only asked where its file is) or the path of a database file no one is writing (its committed
    state is read), so the saving may run in another thread while the caller reads the same state.

    :param opened: called with the connection that reads the source and writes the save, before it
        reads anything (a caller in another thread makes it interruptible with a progress handler).
    :raises DatabaseError: when a definition cannot be created again in a database of its own (an
        unknown collation, say): the caller saves the whole file instead.
    :raises WorkspaceError: when the copy cannot be written.
    """
    if isinstance(source, sqlite3.Connection):
        if source.in_transaction:
            raise DatabaseError("cannot save tables of a database in the middle of a transaction")
        row = source.execute("PRAGMA database_list").fetchone()
        if not row or not row[2]:
            raise DatabaseError("cannot save tables of an in-memory database")
        file = str(row[2])
    else:
        file = str(source)
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temporary(dest.parent, prefix=".save-", suffix=".db")
    os.close(fd)
    wanted = {name.lower() for name in tables}
    target = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        if opened is not None:
            opened(target)
        target.execute("PRAGMA journal_mode = OFF")  # a new private file: nothing to roll back to
        target.execute("PRAGMA synchronous = OFF")
        target.execute("PRAGMA ignore_check_constraints = ON")  # the rows as they are, checked or not
        target.execute("PRAGMA foreign_keys = OFF")  # the transfer is refused to a table with keys otherwise
        target.execute("ATTACH DATABASE ? AS source", (readonly_uri(file),))
        target.execute("BEGIN")
        objects = target.execute("SELECT type, name, tbl_name, sql FROM source.sqlite_master WHERE sql IS NOT NULL "
                                 "AND type IN ('table', 'index') ORDER BY type DESC, rowid").fetchall()
        saved = []
        for kind, name, _table, sql in objects:
            if kind != "table" or name.lower() not in wanted or name.lower().startswith("sqlite_") \
                    or _VIRTUAL.match(sql):
                continue
            target.execute(sql)
            saved.append(name)
        # the indexes before the rows: the transfer copies their entries with the records
        for kind, _name, table, sql in objects:
            if kind == "index" and table.lower() in {name.lower() for name in saved}:
                target.execute(sql)
        for name in saved:
            _copy_rows(target, name)
        saved = [name.lower() for name in saved]
        sequences = target.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
        if sequences and target.execute("SELECT 1 FROM source.sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            names = ", ".join("?" * len(saved))
            target.execute(f"DELETE FROM main.sqlite_sequence WHERE lower(name) IN ({names})", saved)
            target.execute(f"INSERT INTO main.sqlite_sequence SELECT * FROM source.sqlite_sequence "
                           f"WHERE lower(name) IN ({names})", saved)
        target.execute("COMMIT")
        target.execute("DETACH DATABASE source")
    except sqlite3.Error as error:
        target.close()
        tmp.unlink(missing_ok=True)
        raise translate(error, dest, doing=" while saving tables") from error
    except OSError as error:
        target.close()
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"Cannot write the copy {dest}: {error.strerror}; free disk space or choose a "
                             f"writable workspace folder.", path=dest) from error
    except BaseException:
        target.close()
        tmp.unlink(missing_ok=True)
        raise
    target.close()
    os.replace(tmp, dest)
    return dest


def _copy_rows(target: sqlite3.Connection, name: str) -> None:
    """Copy the rows of ``source.name`` into the empty ``main.name`` of the same definition, rowids kept.

    Without generated columns, ``SELECT *`` lets SQLite transfer the stored records and index entries
    as they are (rowids with them). Should it not transfer them, it would number the rows of a table
    whose rowid is its own again, in rowid order: the largest rowid tells, and the table is then
    copied column by column, rowid named.
    """
    info = target.execute(f"PRAGMA source.table_xinfo({quote(name)})").fetchall()
    if all(column[6] == 0 for column in info):
        target.execute(f"INSERT INTO main.{quote(name)} SELECT * FROM source.{quote(name)}")
        if _largest_rowid(target, "main", name) == _largest_rowid(target, "source", name):
            return
        target.execute(f"DELETE FROM main.{quote(name)}")
    columns = _stored_columns(target, "source", name)
    target.execute(f"INSERT INTO main.{quote(name)} ({columns}) SELECT {columns} FROM source.{quote(name)}")


def _largest_rowid(conn: sqlite3.Connection, schema: str, table: str) -> Any:
    """The largest rowid of a table (None when empty or WITHOUT ROWID, whose rows have none to lose)."""
    try:
        return conn.execute(f"SELECT max(_rowid_) FROM {quote(schema)}.{quote(table)}").fetchone()[0]
    except sqlite3.OperationalError:
        return None


def _stored_columns(conn: sqlite3.Connection, schema: str, table: str) -> str:
    """The columns of a table that hold values (generated ones are computed), its rowid first when it has
    one of its own (not a column's alias), so that a copy of its rows keeps their rowids."""
    info = conn.execute(f"PRAGMA {quote(schema)}.table_xinfo({quote(table)})").fetchall()
    stored = [quote(c[1]) for c in info if c[6] == 0]
    names = {str(c[1]).lower() for c in info}
    keys = [c for c in info if c[5]]
    alias = len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"
    if alias or names & {"rowid", "_rowid_", "oid"}:
        return ", ".join(stored)
    try:
        conn.execute(f"SELECT _rowid_ FROM {quote(schema)}.{quote(table)} LIMIT 0")
    except sqlite3.OperationalError:
        return ", ".join(stored)  # WITHOUT ROWID
    return ", ".join(["_rowid_", *stored])


def restore_tables(conn: sqlite3.Connection, saved: str | Path, identity: tuple[Any, ...]) -> bool:
    """Put ``conn``'s database back in the state a :func:`save_tables` file was saved from, in one transaction.

    The tables ``saved`` holds are made again from it (definition, rows with their rowids, indexes);
    every other table is as the state had it (its rows, not named by what ran since, are unchanged),
    and every definition, AUTOINCREMENT counter and the user version are put back as ``identity``
    (:func:`~lightnb.backends.sqlite.catalog.state_identity` of that state) records them. For
    lightnb's own scratch copies: ``conn`` is written, ``saved`` only read.

    :returns: whether the database now has that state's identity to the letter (False: it does not,
        e.g. a table the state had and the save does not hold is gone; the caller rebuilds otherwise).
    """
    from lightnb.backends.sqlite.catalog import state_identity

    schema, counters, user_version = identity
    recorded = {(kind, name.lower()): (kind, name, table, sql) for kind, name, table, sql in schema}
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    # the file named in the statement itself, so that a guard on ``conn`` can see where it is
    conn.execute("ATTACH DATABASE '" + readonly_uri(saved).replace("'", "''") + "' AS lnb_saved")
    conn.execute("PRAGMA foreign_keys = OFF")  # dropping a parent must not touch its children's rows
    try:
        conn.execute("BEGIN")
        try:
            tables = [row[0] for row in conn.execute(
                "SELECT name FROM lnb_saved.sqlite_master WHERE type = 'table' AND sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY rowid")]
            again = {name.lower() for name in tables}
            current = conn.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_master").fetchall()
            for kind in ("trigger", "view", "index", "table"):
                for row in current:
                    gone = row[2].lower() in again or recorded.get((kind, row[1].lower())) != tuple(row)
                    if row[0] == kind and row[3] and gone and not row[1].lower().startswith("sqlite_"):
                        conn.execute(f"DROP {kind.upper()} IF EXISTS main.{quote(row[1])}")
            for name in tables:
                conn.execute(conn.execute("SELECT sql FROM lnb_saved.sqlite_master WHERE type = 'table' AND name = ?",
                                          (name,)).fetchone()[0])
                columns = _stored_columns(conn, "lnb_saved", name)
                conn.execute(f"INSERT INTO main.{quote(name)} ({columns}) "
                             f"SELECT {columns} FROM lnb_saved.{quote(name)}")
            present = {(row[0], row[1].lower()) for row in conn.execute("SELECT type, name FROM main.sqlite_master")}
            for kind in ("index", "view", "trigger"):
                for found_kind, name, _table, sql in schema:
                    if found_kind == kind and sql and (kind, name.lower()) not in present:
                        conn.execute(sql)
            if conn.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
                conn.execute("DELETE FROM main.sqlite_sequence")
                conn.executemany("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", counters)
            conn.execute(f"PRAGMA main.user_version = {int(user_version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error:
        return False
    finally:
        conn.execute("DETACH DATABASE lnb_saved")
        conn.execute(f"PRAGMA foreign_keys = {int(enforced)}")
    return state_identity(conn) == identity


__all__ = ["backup", "copy_database", "copy_wal_database", "restore", "restore_tables", "save_tables"]
