"""One writer at a time per SQLite database: a lock file beside it, ``flock``-ed while lightnb writes it.

The runner takes it before it reads the pending migrations; a snapshot or a discard takes it before
replacing or removing a workspace file, so a copy never lands under a running migration (nor the
reverse). Its own module, so that the commands that only copy a database load no runner.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from lightnb.backends import sqlite
from lightnb.errors import DatabaseBusyError, DatabaseError

LOCK_SUFFIX = ".lightnb-lock"  # beside the database while lightnb migrates it


@contextlib.contextmanager
def writer_lock(database: sqlite.Connection | str | Path) -> Iterator[None]:
    """Hold the database's writer lock: a lock file beside it, ``flock``-ed for the duration.

    :param database: a connection to the database, or its path (e.g. to replace a workspace file).

    The operating system releases the lock when the process ends, however it ends; a lock file
    left by a killed process is simply locked again. The file is removed on release. In-memory
    databases need no lock; a folder where no lock file can be created gets none (SQLite cannot
    write a journal there either).

    :raises DatabaseBusyError: when another lightnb process (or another connection of this one)
        is migrating the database.
    """
    file = sqlite.database_file(database) if isinstance(database, sqlite.Connection) else os.fspath(database)
    if not file or file == ":memory:":
        yield
        return
    path = lock_path(file)
    handle = _acquire(path, file)
    try:
        yield
    finally:
        if handle is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
            handle.close()


def lock_path(database: str) -> str:
    """Return the writer lock's path: ``<database>.lightnb-lock``, or, when that name would be too
    long for the file system, ``.<hash of the name>.lightnb-lock`` in the same folder."""
    folder, name = os.path.split(database)
    if len((name + LOCK_SUFFIX).encode("utf-8", "surrogateescape")) <= 255:
        return database + LOCK_SUFFIX
    import hashlib
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(folder, f".{digest}{LOCK_SUFFIX}")


def _acquire(path: str, database: str) -> TextIO | None:
    """Lock ``path``; return its open handle (None when it cannot be created)."""
    while True:
        try:
            handle = open(path, "a+", encoding="utf-8")
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                return None
            raise DatabaseError(f"Cannot create the lock file {path}: {error.strerror}; check the database "
                                f"folder's permissions.", path=path) from error
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
                raise DatabaseError(f"Cannot lock {path}: {error.strerror}.", path=path) from error
            who = f"process {holder.split()[0]}" if holder.split() else "another process"
            raise DatabaseBusyError(
                f"Database {database} is being migrated by another lightnb ({who}); wait for it to finish, "
                f"then run again — this command changed nothing.", path=database) from error
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            if os.fstat(handle.fileno()).st_size:  # a holder's pid left by a killed process
                handle.seek(0)
                handle.truncate()  # only then: on ext4, closing a file emptied by truncation (and written)
                # waits for its blocks to be written, behind whatever the disk is writing (a fresh copy)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            return handle
        handle.close()  # the holder removed the file as we opened it: lock the new one


__all__ = ["LOCK_SUFFIX", "lock_path", "writer_lock"]
