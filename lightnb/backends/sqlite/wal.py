"""Fold a copied write-ahead log into a copied database file, as SQLite's checkpoint would.

A WAL database's committed pages may live in its ``-wal`` file. A copy of it is made
self-contained (the workspace is renamed into place alone) by writing, for each page, the last
copy of it the log holds in a committed transaction, and giving the file the size the last commit
recorded: what SQLite's recovery and ``wal_checkpoint(TRUNCATE)`` produce, page for page.

SQLite's format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header (magic,
version, page size, checkpoint sequence, two salts, a checksum of the first 24 bytes), then frames
of a 24-byte header (page number, database size in pages for a commit frame else 0, the two salts,
a cumulative checksum) and one page. A frame counts when its salts are the header's and its
checksum continues the chain; a transaction counts when its commit frame does.

The ``-shm`` file's index header (read under SQLite's reader locks, see
:func:`~lightnb.backends.sqlite.files.consistent_copy`) says which prefix of the log is committed
(``mxFrame``) and the checksum of its last frame, so that prefix needs no checksum pass in Python;
frames after it (a transaction committed after the index was read, or whose index update a crash
cut short) are checked frame by frame. Whatever does not fit this fast path (no usable index, an
index of another log generation, a long unchecked tail, an unusual header) returns False: the
caller lets SQLite itself recover and checkpoint the copy.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

WAL_HEADER = 32
FRAME_HEADER = 24
_MAGIC = 0x377F0682  # | 1: checksums over big-endian words
_VERSION = 3007000
INDEX_HEADER = 48  # one copy of the wal-index header; the -shm starts with two
# Frames after the index's committed prefix checked in Python (a page's checksum is ~0.2 ms there);
# a longer tail that ends in a commit is left to SQLite's recovery.
TAIL_LIMIT = 32
_IOV_MAX = 1024


def fold(copy: str | Path, wal: bytes, index: bytes | None) -> bool:
    """Write the committed frames of ``wal`` (the copied ``-wal`` bytes) into the database file ``copy``.

    :param index: the first bytes (two index headers) of the ``-shm`` read before ``wal`` was, under
        SQLite's reader locks; None when there is none.
    :returns: True when ``copy`` now holds what a checkpoint of it with that log holds; False when
        nothing was written and SQLite must do it (see the module's docstring).
    """
    if len(wal) < WAL_HEADER:
        return False
    magic, version, page_size, _sequence = struct.unpack_from(">4I", wal, 0)
    if magic & ~1 != _MAGIC or version != _VERSION or not _valid_page_size(page_size):
        return False
    big = bool(magic & 1)
    if _checksum(wal, 0, WAL_HEADER - 8, (0, 0), big) != struct.unpack_from(">2I", wal, WAL_HEADER - 8):
        return False
    header = _index_header(index)
    if header is None:
        return False
    committed, pages, frame_checksum, salts, big_index, index_page_size = header
    salt = wal[16:24]
    if salts != salt or big_index != big or index_page_size != page_size:
        return False  # an index of another log generation (or being rewritten): SQLite recovers
    frame = FRAME_HEADER + page_size
    available = (len(wal) - WAL_HEADER) // frame
    if committed > available or page_size != _database_page_size(copy):
        return False
    if committed:
        at = WAL_HEADER + (committed - 1) * frame
        number, size = struct.unpack_from(">2I", wal, at)
        if wal[at + 8:at + 16] != salt or struct.unpack_from(">2I", wal, at + 16) != frame_checksum \
                or size != pages or number == 0:
            return False
        chain = frame_checksum
    else:
        chain = struct.unpack_from(">2I", wal, WAL_HEADER - 8)
    tail = _committed_tail(wal, committed, available, frame, salt, chain, big)
    if tail is None:
        return False
    if tail[0]:
        committed, pages = tail
    if not committed:
        return True  # nothing committed in the log: the file is as SQLite's checkpoint leaves it
    latest: dict[int, int] = {}  # page number -> its last frame in the committed prefix
    for number_of_frame in range(committed):
        at = WAL_HEADER + number_of_frame * frame
        number = struct.unpack_from(">I", wal, at)[0]
        if number == 0 or wal[at + 8:at + 16] != salt:
            return False
        latest[number] = number_of_frame
    _write_pages(copy, wal, latest, pages, page_size, frame)
    return True


def _valid_page_size(size: int) -> bool:
    return 512 <= size <= 65536 and size & (size - 1) == 0


def _database_page_size(copy: str | Path) -> int:
    with open(copy, "rb") as handle:
        head = handle.read(18)
    if len(head) < 18:
        return 0
    size = struct.unpack_from(">H", head, 16)[0]
    return 65536 if size == 1 else size


def _index_header(index: bytes | None) -> tuple[int, int, tuple[int, int], bytes, bool, int] | None:
    """Return (mxFrame, nPage, last frame's checksum, salts, big-endian checksums, page size) from the
    -shm's first bytes when they are a complete, initialised, unchanging index header; else None.

    The index is in the machine's byte order; its two copies are equal and checksummed unless a
    writer was updating it (SQLite's own readers then retry; here SQLite recovers instead).
    """
    if index is None or len(index) < 2 * INDEX_HEADER or index[:INDEX_HEADER] != index[INDEX_HEADER:2 * INDEX_HEADER]:
        return None
    version, _unused, _change, initialised, big, size, committed, pages, check1, check2 = \
        struct.unpack_from("=3I2BH4I", index, 0)
    if version != _VERSION or not initialised:
        return None
    native_big = sys.byteorder == "big"
    if _checksum(index, 0, 40, (0, 0), native_big) != struct.unpack_from("=2I", index, 40):
        return None
    page_size = (size & 0xFE00) + ((size & 1) << 16)
    return committed, pages, (check1, check2), bytes(index[32:40]), bool(big), page_size


def _committed_tail(wal: bytes, committed: int, available: int, frame: int, salt: bytes,
                    chain: tuple[int, int], big: bool) -> tuple[int, int] | None:
    """Return (last commit frame, database size) of transactions after the index's prefix ((0, 0): none),
    or None when too many frames would need a checksum pass here.

    A frame counts only in an unbroken chain of frames of this generation (same salts, page number
    not 0) whose checksums continue from the prefix; no commit frame in that run: nothing to check.
    """
    last_commit = 0
    run = committed
    while run < available:
        at = WAL_HEADER + run * frame
        number, size = struct.unpack_from(">2I", wal, at)
        if number == 0 or wal[at + 8:at + 16] != salt:
            break
        run += 1
        if size:
            last_commit = run
    if not last_commit:
        return (0, 0)
    if last_commit - committed > TAIL_LIMIT:
        return None
    found = (0, 0)
    for number_of_frame in range(committed, last_commit):
        at = WAL_HEADER + number_of_frame * frame
        chain = _checksum(wal, at, 8, chain, big)
        chain = _checksum(wal, at + FRAME_HEADER, frame - FRAME_HEADER, chain, big)
        if chain != struct.unpack_from(">2I", wal, at + 16):
            break
        size = struct.unpack_from(">I", wal, at + 4)[0]
        if size:
            found = (number_of_frame + 1, size)
    return found


def _checksum(data: bytes, start: int, length: int, seed: tuple[int, int], big: bool) -> tuple[int, int]:
    """SQLite's WAL checksum (``walChecksumBytes``) of ``length`` bytes (a multiple of 8) from ``start``."""
    words = struct.unpack_from(f"{'>' if big else '<'}{length // 4}I", data, start)
    first, second = seed
    for i in range(0, len(words), 2):
        first = (first + words[i] + second) & 0xFFFFFFFF
        second = (second + words[i + 1] + first) & 0xFFFFFFFF
    return first, second


def _write_pages(copy: str | Path, wal: bytes, latest: dict[int, int], pages: int, page_size: int,
                 frame: int) -> None:
    """Write each page's last committed version into ``copy`` (runs of neighbours in one call) and give the
    file the committed size, as SQLite's checkpoint does (pages past that size are not written)."""
    view = memoryview(wal)
    fd = os.open(copy, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        numbers = sorted(n for n in latest if n <= pages)
        start = 0
        while start < len(numbers):
            end = start + 1
            while end < len(numbers) and numbers[end] == numbers[end - 1] + 1 and end - start < _IOV_MAX:
                end += 1
            pieces = [view[WAL_HEADER + latest[n] * frame + FRAME_HEADER:WAL_HEADER + (latest[n] + 1) * frame]
                      for n in numbers[start:end]]
            offset = (numbers[start] - 1) * page_size
            # a page alone (most often: a log holds scattered pages) in the plainer, cheaper call
            written = os.pwrite(fd, pieces[0], offset) if len(pieces) == 1 else os.pwritev(fd, pieces, offset)
            if written != len(pieces) * page_size:  # a short write: the rest, piece by piece
                _write_rest(fd, pieces, offset, written)
            start = end
        if os.fstat(fd).st_size != pages * page_size:
            os.ftruncate(fd, pages * page_size)
    finally:
        os.close(fd)


def _write_rest(fd: int, pieces: list[memoryview], offset: int, written: int) -> None:
    data = b"".join(pieces)[written:]
    offset += written
    while data:
        count = os.pwrite(fd, data, offset)
        data = data[count:]
        offset += count


__all__ = ["fold"]
