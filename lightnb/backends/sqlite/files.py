"""SQLite database files on disk: what a path is, and reading one without touching anything beside it.

Two promises live here:

* **No hang, no surprise.** A path is checked with ``stat`` before anything opens it: a FIFO, a
  device, a socket or a folder is refused in one line (opening a FIFO would block forever), and a
  production that is empty or has no SQLite header is not a database.
* **A read leaves no trace.** SQLite opens a WAL database, even read-only (``mode=ro``), by creating
  ``-wal`` and ``-shm`` files beside it, owned by whoever runs lightnb: the application (another
  user) then fails with "attempt to write a readonly database". So a database in WAL mode (or with
  a ``-wal`` beside it) is never opened where it is: its file and its ``-wal`` are copied, byte for
  byte, into a private folder, the copy is checked to be one point in time (nothing changed while
  it was copied; otherwise it is copied again), and SQLite reads the copy. This needs only read
  access, so it also works on a read-only folder or file system. A database in rollback-journal
  mode is opened ``mode=ro``, which creates nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lightnb.errors import DatabaseError
from lightnb.files import kind_of
from lightnb.layout import SIDECARS, is_lightnb_copy

if TYPE_CHECKING:
    import weakref  # loaded by the reads that make private copies only

SQLITE_HEADER = b"SQLite format 3\x00"
HEADER_SIZE = 100
# A copy is one point in time when neither file changed while it was made. Files written less than
# this long ago are waited for first: the kernel's file times are coarse (a few ms), so a write in
# the same tick as the last one would not show in the times.
QUIET_SECONDS = 0.05
PRIVATE_READ_PREFIX = "lightnb-read-"  # the private folder of a copy read instead of a WAL database


def check_database_path(path: str | Path, *, must_exist: bool = True, allow_empty: bool = True,
                        what: str = "Database", header: bool = True) -> Path:
    """Return ``path`` when it is a regular SQLite file (or missing, when ``must_exist`` is False).

    Nothing but ``stat`` touches the path before it is known to be a regular file, and it is then
    read with ``O_NONBLOCK``: a FIFO swapped in meanwhile cannot block either.

    :param allow_empty: accept an empty file (SQLite's empty database); a production is never empty.
    :param header: also check the SQLite header (False: only what kind of file it is).
    :raises DatabaseError: naming what the path is instead (missing, folder, FIFO, device, socket,
        empty, not SQLite), and what to do.
    """
    target = Path(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        if os.path.islink(target):
            raise DatabaseError(f"{what} {target} is a symbolic link to {os.readlink(target)}, which does not "
                                f"exist; fix the link or give the path of the .db file.", path=target) from None
        if not must_exist:
            return target
        raise DatabaseError(f"{what} {target} does not exist; check the path (or DATABASE_URL).",
                            path=target) from None
    except OSError as error:
        raise DatabaseError(f"Cannot read database {target}: {error.strerror}; check the path and its "
                            f"permissions.", path=target) from error
    _refuse_kind(target, info.st_mode)
    if not header:
        return target
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise DatabaseError(f"Cannot read database {target}: {error.strerror}; check its permissions.",
                            path=target) from error
    try:
        _refuse_kind(target, os.fstat(fd).st_mode)
        head = os.read(fd, len(SQLITE_HEADER))
    finally:
        os.close(fd)
    if not head and not allow_empty:
        raise DatabaseError(f"{target} is empty, not a SQLite database; give the path of the SQLite file "
                            f"(a production database has at least one page).", path=target)
    if head and head != SQLITE_HEADER:
        raise DatabaseError(f"{target} is not a SQLite database (wrong file header); give the path of the "
                            f"SQLite file.", path=target)
    return target


def _refuse_kind(target: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise DatabaseError(f"{target} is a folder, not a SQLite database file; give the .db file's path.",
                            path=target)
    raise DatabaseError(f"{target} is {kind_of(mode)}, not a SQLite database file; lightnb opens only "
                        f"regular files — give the path of the .db file.", path=target)


def uses_wal(path: str | Path) -> bool:
    """Return whether SQLite would read ``path`` through a ``-wal`` and ``-shm`` (WAL mode on disk).

    True when the header's read/write versions say WAL, or when a ``-wal`` file lies beside it
    (SQLite then opens the database in WAL mode whatever its header says).
    """
    if os.path.lexists(f"{path}-wal"):
        return True
    try:
        with open(path, "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except OSError:
        return False
    return len(header) >= 20 and (header[18] == 2 or header[19] == 2)


def committed_state(path: str | Path) -> tuple[int, ...] | None:
    """Return what proves a rollback-journal database file unchanged between two moments, or None.

    Every commit increments the file change counter in the header (bytes 24-27) and any write
    moves the file's modification and status-change times (the latter cannot be set back): equal
    device, inode, size, times and counter mean the same committed state. None for a file in WAL
    mode (its commits may live in the ``-wal`` alone), a missing file or one that is not SQLite.
    """
    if uses_wal(path):
        return None
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            header = handle.read(HEADER_SIZE)
    except OSError:
        return None
    if not header.startswith(SQLITE_HEADER) or len(header) < 28:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns,
            int.from_bytes(header[24:28], "big"))


class ReadOnlyConnection(sqlite3.Connection):
    """A read-only connection; the private copies it reads from are deleted when it closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scratch: list[weakref.finalize] = []
        self.source: Path | None = None  # the file this connection stands for (not its private copy)

    def keep_until_closed(self, folder: Path) -> None:
        """Delete ``folder`` when this connection is closed or collected (or at exit)."""
        import shutil
        import weakref

        self.scratch.append(weakref.finalize(self, shutil.rmtree, str(folder), True))

    def close(self) -> None:
        try:
            super().close()
        finally:
            for cleanup in self.scratch:
                cleanup()


def open_untouched(path: str | Path, *, timeout: float = 5.0, check_same_thread: bool = True,
                   header: bool = True) -> ReadOnlyConnection:
    """Open a database read-only without creating or changing any file beside it.

    A rollback-journal database is opened in place (``mode=ro``); a WAL one is read from a private,
    consistent copy (see the module's docstring) unless lightnb made it.

    :raises DatabaseError: when the path is not a readable SQLite file, or a consistent copy could
        not be taken (one line, nothing created beside the database).
    """
    target = check_database_path(path, header=header)
    source = target
    folder: Path | None = None
    if uses_wal(target) and not is_lightnb_copy(target):  # copying needs these; an in-place read does not
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix=PRIVATE_READ_PREFIX))
        try:
            source = consistent_copy(target, folder / "copy.db", timeout=max(timeout, 1.0))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    uri = f"file:{quote(str(Path(os.path.realpath(source))))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout, factory=ReadOnlyConnection,
                               check_same_thread=check_same_thread)
    except sqlite3.Error:
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        raise
    conn.source = target
    if folder is not None:
        conn.keep_until_closed(folder)
    return conn


def is_own_file(path: str | Path | None) -> bool:
    """Tell whether lightnb made the database file ``path``: a workspace or a copy kept in one, a copy in
    a scratch folder, or a private copy a read made of a WAL database (no other program writes those)."""
    if not path:
        return False
    if is_lightnb_copy(path):
        return True
    from lightnb import scratch

    if scratch.holding(path) is not None:
        return True
    import tempfile

    folder = Path(os.path.realpath(path)).parent
    temporary = Path(os.path.realpath(tempfile.gettempdir()))
    return folder.name.startswith(PRIVATE_READ_PREFIX) and folder.parent == temporary


def attachable(conn: sqlite3.Connection, path: str | Path, *, header: bool = True) -> Path:
    """Return a path to ATTACH ``path`` from: itself, or a private consistent copy kept while ``conn`` lives.

    :raises DatabaseError: as :func:`open_untouched`.
    """
    target = check_database_path(path, header=header)
    if not uses_wal(target) or is_lightnb_copy(target):
        return target
    import shutil
    import tempfile
    import weakref

    folder = Path(tempfile.mkdtemp(prefix=PRIVATE_READ_PREFIX))
    try:
        copy = consistent_copy(target, folder / "copy.db")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if isinstance(conn, ReadOnlyConnection):
        conn.keep_until_closed(folder)
    else:  # plain sqlite3 connections take no weak references: delete the copy at exit
        weakref.finalize(copy, shutil.rmtree, str(folder), True)
    return copy


def consistent_copy(source: str | Path, destination: str | Path, *, timeout: float = 15.0) -> Path:
    """Copy a database (its file and its ``-wal``) into ``destination`` as one point in time.

    Only reads ``source``, its ``-wal`` and its ``-shm``: nothing is created or changed beside it.

    * While an application has the database open (its ``-shm`` exists), lightnb takes the read
      locks SQLite's own readers use on the ``-shm`` (the checkpoint lock, shared, and one reader
      slot, shared) and a shared lock on the database file: no checkpoint can write the database
      file and the WAL cannot restart, so the database file is frozen and the WAL only grows.
      The copy keeps every transaction committed when the -wal was read, as SQLite's recovery would.
    * Otherwise nobody is using it; the copy is checked to be unchanged from start to end (and
      taken again if it was not).

    The copy is self-contained afterwards: the log's committed pages are written into it
    (:func:`lightnb.backends.sqlite.wal.fold`, or SQLite's own checkpoint of the copied log).

    :param timeout: seconds to wait for a running checkpoint (or a busy writer) to let go.
    :raises DatabaseError: when the files cannot be read, or no consistent copy could be taken.
    """
    src = Path(source)
    dest = Path(destination)
    wal = Path(f"{src}-wal")
    dest_wal = Path(f"{dest}-wal")
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        with _reader_locks(src) as (locked, index):
            if locked is not None:
                before = _stamps(src, wal)
                quiet = locked or not _recently_written(before)
                if quiet:
                    log = _copy_pair(src, wal, dest, dest_wal, before)
                    after = _stamps(src, wal)
                    if after[0] == before[0] and (locked or after == before):
                        _settle(dest, log, index if locked else None)
                        return dest
        if time.monotonic() > deadline and attempts >= 3:
            break
        time.sleep(min(QUIET_SECONDS * attempts, 0.5))
    for leftover in (dest, dest_wal):
        leftover.unlink(missing_ok=True)
    raise DatabaseError(f"Database {src} could not be copied as one point in time within {timeout:g} s (it is in "
                        f"WAL mode and was being checkpointed or rewritten throughout; lightnb never opens it in "
                        f"place, so it never creates -wal/-shm files beside it); retry when the application is "
                        f"quieter, or copy it with `sqlite3 {src} \".backup copy.db\"` run as its owner and pass "
                        f"the copy.", path=src)


def _recently_written(stamps: tuple[tuple[int, int, int, int] | None, ...]) -> bool:
    """Return whether a file was written so recently that another write could share its timestamp."""
    now = time.time_ns()
    return any(s is not None and 0 <= now - max(s[1], s[2]) < QUIET_SECONDS * 1e9 for s in stamps)


# A -wal up to this size is read into memory and folded into the copy from there; a larger one is
# copied beside the copy and checkpointed by SQLite.
WAL_IN_MEMORY = 64 << 20


def _copy_pair(src: Path, wal: Path, dest: Path, dest_wal: Path,
               before: tuple[tuple[int, int, int, int] | None, ...]) -> bytes | None:
    """Copy the database file into ``dest`` and its -wal into ``dest_wal``, or return the -wal's bytes
    when it is small enough to be folded from memory (None: no -wal, or copied to ``dest_wal``)."""
    dest_wal.unlink(missing_ok=True)
    try:
        _copy_bytes(src, dest)
        if before[1] is None or before[1][0] == 0:
            return None
        if before[1][0] <= WAL_IN_MEMORY:
            with open(wal, "rb") as handle:
                return handle.read()
        _copy_bytes(wal, dest_wal)
    except FileNotFoundError:
        dest_wal.unlink(missing_ok=True)  # the -wal went away meanwhile: the stamps will differ
    except OSError as error:
        raise DatabaseError(f"Cannot read database {src}: {error.strerror}; check its permissions (lightnb "
                            f"needs read access to it and to its -wal file).", path=src) from error
    return None


# SQLite's locks (os_unix.c): in the -shm, byte 120 + i is lock i (0 write, 1 checkpoint,
# 2 recover, 3 + k reader slot k); on the database file, SHARED is a read lock on 510 bytes
# two bytes past the 1 GiB "pending byte".
_SHM_CKPT_LOCK = 121
_SHM_READ1_LOCK = 124
_DB_SHARED_FIRST = 0x40000000 + 2
_DB_SHARED_SIZE = 510


_INDEX_HEADERS = 96  # the -shm's two copies of the wal-index header


@contextlib.contextmanager
def _reader_locks(src: Path) -> Iterator[tuple[bool | None, bytes | None]]:
    """Hold SQLite's reader locks on a database in use; yield True (held), False (not in use) or None
    (busy), and, when held, the -shm's index headers read under them (before the -wal is read).

    Open-file-description locks (``F_OFD_SETLK``): they conflict with SQLite's locks in other
    processes, and closing them never drops locks that SQLite holds in this process.
    """
    shm = Path(f"{src}-shm")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        shm_fd = os.open(shm, flags)
    except OSError:
        yield False, None  # not in use (or not ours to lock): the copy is checked by its stamps instead
        return
    try:
        if not stat.S_ISREG(os.fstat(shm_fd).st_mode):
            yield False, None
            return
        db_fd = os.open(src, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            held = (_read_lock(db_fd, _DB_SHARED_FIRST, _DB_SHARED_SIZE)
                    and _read_lock(shm_fd, _SHM_CKPT_LOCK, 1) and _read_lock(shm_fd, _SHM_READ1_LOCK, 1))
            yield (True, os.pread(shm_fd, _INDEX_HEADERS, 0)) if held else (None, None)
        finally:
            os.close(db_fd)  # releases this description's locks
    finally:
        os.close(shm_fd)


def _read_lock(fd: int, start: int, length: int) -> bool:
    """Take a shared lock on a byte range without waiting; return False when someone holds it exclusively."""
    import errno
    import fcntl
    import struct
    command = getattr(fcntl, "F_OFD_SETLK", None)
    try:
        if command is None:  # pragma: no cover - not Linux: classic POSIX locks
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, length, start, os.SEEK_SET)
        else:
            fcntl.fcntl(fd, command, struct.pack("@hhqqi", fcntl.F_RDLCK, os.SEEK_SET, start, length, 0) + bytes(4))
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _stamps(src: Path, wal: Path) -> tuple[tuple[int, int, int, int] | None, ...]:
    """Return (size, mtime, ctime, inode) of the database and of its -wal (None when absent)."""
    out: list[tuple[int, int, int, int] | None] = []
    for path in (src, wal):
        try:
            info = os.stat(path)
        except FileNotFoundError:
            out.append(None)
            continue
        except OSError as error:
            raise DatabaseError(f"Cannot read database {path}: {error.strerror}; check its permissions.",
                                path=path) from error
        _refuse_kind(path, info.st_mode)
        out.append((info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino))
    return tuple(out)


_PROGRESS_PIECE = 64 << 20  # bytes copied between two progress reports
_FICLONE = 0x40049409  # linux/fs.h: make a file share another's blocks (btrfs, XFS, bcachefs; cp does it first)


def _clone(source_fd: int, dest_fd: int) -> bool:
    """Make ``dest_fd`` a copy-on-write clone of ``source_fd`` (one call, at once); False where the file
    system cannot (ext4, tmpfs, another file system): the caller copies the bytes then."""
    if not sys.platform.startswith("linux"):
        return False
    import fcntl
    try:
        fcntl.ioctl(dest_fd, _FICLONE, source_fd)
    except OSError:
        return False
    return True


def copy_bytes(source: str | Path, dest: str | Path) -> None:
    """Copy the bytes of ``source`` into ``dest`` (made empty beforehand, e.g. by ``mkstemp``), in the kernel.

    ``dest`` is opened without ``O_TRUNC``: on ext4, writing a file that was truncated makes its
    ``close`` wait for the data to be allocated on the disk (the "replace via truncate" safeguard),
    which costs as much again as the copy. As ``cp`` does, a file system that can clone a file
    (btrfs, XFS) does so at once; elsewhere ``copy_file_range`` (else ``sendfile``) copies without the
    bytes passing through Python, the source read ahead as a sequential read.
    """
    from lightnb import progress
    with open(source, "rb") as src, progress.task(f"copying {Path(source).name}", 0, "bytes") as shown:
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            size = os.fstat(src.fileno()).st_size
            shown.total = size
            if size and _clone(src.fileno(), out):
                shown.update(size)
                return
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(src.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            # in pieces when someone follows the progress, else in one call
            piece = _PROGRESS_PIECE if progress.wanted() else size
            done = 0
            copier = getattr(os, "copy_file_range", None)
            while done < size:
                try:
                    count = min(piece, size - done)
                    sent = copier(src.fileno(), out, count) if copier is not None \
                        else os.sendfile(out, src.fileno(), None, count)
                except OSError:
                    if copier is None or done:
                        raise
                    copier = None  # another file system, an old kernel: sendfile then
                    continue
                if sent == 0:
                    break  # the source got shorter: what is there is copied
                done += sent
                shown.update(done)
            if os.fstat(out).st_size != done:
                os.ftruncate(out, done)  # dest held more before: it now holds the copy only
        finally:
            os.close(out)


def _copy_bytes(source: Path, dest: Path) -> None:
    copy_bytes(source, dest)


def _settle(copy: Path, log: bytes | None = None, index: bytes | None = None) -> None:
    """Fold the copied -wal into the copy (only committed transactions): ``log``, the -wal's bytes, directly
    when the -shm's ``index`` headers allow it (:func:`lightnb.backends.sqlite.wal.fold`), else through
    SQLite's recovery and checkpoint of the copy with its -wal beside it."""
    if log is not None:
        from lightnb.backends.sqlite import wal

        if wal.fold(copy, log, index):
            return
        fd = os.open(f"{copy}-wal", os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(log)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    try:
        conn = sqlite3.connect(str(copy), isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = OFF")  # a private copy: no need to flush it to the disk
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"The copy of the database is not readable ({error}); check the database with "
                            f"`sqlite3 FILE \"PRAGMA integrity_check\"`.", path=copy) from error
    for suffix in SIDECARS:
        Path(f"{copy}{suffix}").unlink(missing_ok=True)


__all__ = ["PRIVATE_READ_PREFIX", "ReadOnlyConnection", "SQLITE_HEADER", "attachable", "check_database_path",
           "consistent_copy", "copy_bytes", "is_own_file", "open_untouched", "uses_wal"]
