"""Which rows of a table two database files can hold differently, proved from their pages.

A before copy is the database byte for byte, and a migration rewrites only the pages it changes. So
instead of comparing every row of a large table, the row diff compares the two files page by page
(a memory comparison, several times cheaper than matching rows) and reads the interior pages of the
table's b-tree in the later file: a row whose leaf page is identical in both files, reached from the
same root page through identical interior pages, is the same row on both sides. Only the key ranges
of the leaves (or interior pages) that differ are left for SQLite to compare row by row.

The proof is exact, and taken only where each of its steps holds; otherwise :func:`compare_pages`
answers None for the table and its rows are compared whole:

- both files are rollback-journal databases whose header tells their page count, with the same page
  size, reserved bytes, text encoding and schema format, read inside the caller's read transaction
  (no writer can change either file meanwhile);
- the table is an ordinary rowid table (its key is the rowid), with the same root page and the same
  definition in both files, so identical records decode to identical rows;
- every page that differs is accounted for in the later file (a b-tree page of some table or index,
  a freelist page, the header page, a pointer-map or the lock-byte page): then no overflow page
  differs, and a row spilling onto overflow pages from an identical leaf is identical too (SQLite
  overwrites a same-sized row in place, overflow pages included, leaving its leaf unchanged);
- few enough of the table's leaves differ for the ranges to be cheaper than the whole table.

Only the table's own pages and the pages with no other role (overflow pages) are compared, in runs of
:data:`CHUNK_PAGES` pages: the other tables' and the indexes' pages are not read.

Files lightnb does not own are read with ordinary reads, never memory-mapped: a mapped file that is
truncated or fails to read while mapped ends the process (SIGBUS) instead of raising an error.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lightnb.backends import sqlite

if TYPE_CHECKING:
    import numpy as np

# Below this size the rows are compared whole. Measured (CPU time, 1% of the rows of a table of 100-byte
# or 1 KB rows updated, their counts known): the proof costs a pass over both files' pages, about
# 0.3 ms per MiB of the file, and the whole-table join 0.3-1 µs per row; they break even between 4 and
# 9 MiB, where either takes a few milliseconds, so the switch makes no step in the cost. Above, the
# proof costs less: 0.77 of the join's CPU time at 159 MiB, 0.66 at 1.3 GB (1% of 1 KB rows updated),
# and its page comparison runs on two threads where the join runs on one.
MIN_FILE_BYTES = 8 << 20
# Another program's files are read without mapping them, and the proof loads NumPy: below this size
# (a diff of two files lightnb did not make) comparing the rows whole costs less.
MIN_FOREIGN_FILE_BYTES = 128 << 20
# Above this share of a table's leaves differing, comparing its rows whole is as cheap.
MAX_DIFFERING_SHARE = 0.5
CHUNK_PAGES = 1024
WORKERS = 2  # threads comparing pages (each reads its own runs of both files)

ROWID_MIN, ROWID_MAX = -(1 << 63), (1 << 63) - 1
_TABLE_INTERIOR, _TABLE_LEAF, _INDEX_INTERIOR, _INDEX_LEAF = 0x05, 0x0D, 0x02, 0x0A


class _Unprovable(Exception):
    """A step of the proof does not hold (an unexpected page, a size that does not add up)."""


@dataclass(frozen=True)
class _Header:
    page_size: int
    pages: int
    reserved: int
    encoding: int
    schema_format: int
    freelist_trunk: int
    auto_vacuum: bool


@dataclass
class _Level:
    """The interior pages of one level of a b-tree, their cells and their children, in key order."""

    pages: np.ndarray  # the level's page numbers
    data: np.ndarray  # their bytes, one page after the other
    page_size: int
    counts: np.ndarray  # cells per page (a page has one child more: its right-most child)
    first: np.ndarray  # index in ``kids`` of each page's first child
    cells: np.ndarray  # where each cell starts in ``data`` (the pages' cells one after the other)
    kids: np.ndarray  # the children: each page's cells' children, then its right-most child


@dataclass
class _Tree:
    """The interior pages of one b-tree, level by level from the root, and its leaf page numbers."""

    root: int
    kind: int | None  # the interior pages' type (None: the root is a leaf)
    levels: list[_Level]
    leaves: np.ndarray

    @property
    def interior(self) -> np.ndarray:
        import numpy as np

        return np.concatenate([level.pages for level in self.levels]) if self.levels else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class PageProof:
    """The outcome of a page comparison: the key ranges to compare per table (lower-case names)."""

    ranges: dict[str, list[tuple[int, int]]]

    def of(self, table: str) -> list[tuple[int, int]] | None:
        """The inclusive rowid ranges outside which ``table``'s rows are proved equal, or None."""
        return self.ranges.get(table.lower())


def compare_pages(conn: sqlite.Connection, tables: Sequence[str], *, before: str, after: str = "main",
                  own: bool = False) -> PageProof | None:
    """Prove, for each of ``tables``, which rowid ranges alone can differ between two attached files.

    Call it inside a read transaction that holds both schemas (the files must not change until the
    rows in the ranges are compared). A table is left out of the answer where the proof does not hold.

    :param tables: table names present in both schemas.
    :param own: the files are lightnb's own (its copies, the database it just migrated): they may be
        memory-mapped, as files lightnb made always are. Others are read with ordinary reads.
    :returns: None when no table can be proved from the pages.
    """
    after_file, before_file = sqlite.database_file(conn, after), sqlite.database_file(conn, before)
    if not after_file or not before_file:
        return None
    own = own or (sqlite.is_own_file(after_file) and sqlite.is_own_file(before_file))
    try:
        with open(after_file, "rb", buffering=0) as fa, open(before_file, "rb", buffering=0) as fb:
            ha, hb = _header(fa.fileno()), _header(fb.fileno())
            if (ha.page_size, ha.reserved, ha.encoding, ha.schema_format) != \
                    (hb.page_size, hb.reserved, hb.encoding, hb.schema_format):
                return None
            if ha.pages * ha.page_size < (MIN_FILE_BYTES if own else MIN_FOREIGN_FILE_BYTES):
                return None
            import numpy as np
            roots = _roots(conn, after, before, tables)
            if not roots:
                return None
            trees = {root: _tree(fa.fileno(), root, ha) for root in _all_roots(conn, after)}
            wanted = {name: trees[root] for name, root in roots.items() if root in trees}
            known = _known_pages(fa.fileno(), ha, trees.values())
            # the pages to compare: the tables' own, and every page with no other role (an overflow page)
            relevant = ~known
            relevant[0] = False
            for tree in wanted.values():
                relevant[tree.interior] = True
                relevant[tree.leaves] = True
            runs = _runs(relevant, min(ha.pages, hb.pages))
            leaves = np.zeros(ha.pages + 1, dtype=bool)
            for tree in wanted.values():
                leaves[tree.leaves] = True
            if int(leaves.sum()) * 4 < len(runs) * CHUNK_PAGES:  # a small part of what to read: rows are cheaper
                return None
            differing = _differing(fa, fb, ha, hb, own, runs, leaves)
            if bool((differing & ~known).any()):  # a differing page may be an overflow page: no proof
                return None
            out = {}
            for name, tree in wanted.items():
                found = _ranges(tree, differing)
                if found is not None:
                    out[name] = found
            return PageProof(out) if out else None
    except (OSError, _Unprovable, ValueError, IndexError, struct.error):
        return None


def _header(fd: int) -> _Header:
    head = os.pread(fd, 100, 0)
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        raise _Unprovable("not a database")
    page_size = struct.unpack_from(">H", head, 16)[0]
    page_size = 65536 if page_size == 1 else page_size
    if head[18] != 1 or head[19] != 1:  # WAL: the file alone is not the database
        raise _Unprovable("not a rollback-journal database")
    counter, pages, trunk = struct.unpack_from(">III", head, 24)
    (valid_for,) = struct.unpack_from(">I", head, 92)
    size = os.fstat(fd).st_size
    if counter != valid_for or pages == 0 or pages * page_size > size:
        raise _Unprovable("page count not known from the header")
    (largest_root,) = struct.unpack_from(">I", head, 52)
    (encoding,) = struct.unpack_from(">I", head, 56)
    (schema_format,) = struct.unpack_from(">I", head, 44)
    return _Header(page_size, pages, head[20], encoding, schema_format, trunk, largest_root != 0)


def _roots(conn: sqlite.Connection, after: str, before: str, tables: Sequence[str]) -> dict[str, int]:
    """The root page of each rowid table with the same definition and root in both schemas."""
    def catalogue(schema: str) -> dict[str, tuple[int, str]]:
        return {name.lower(): (root, sql) for kind, name, root, sql in sqlite.read_roots(conn, schema)
                if kind == "table"}

    a, b = catalogue(after), catalogue(before)
    out = {}
    for name in {t.lower() for t in tables}:
        if name in a and a[name] == b.get(name) and a[name][0] > 0 and _rowid_table(conn, after, name):
            out[name] = a[name][0]
    return out


def _rowid_table(conn: sqlite.Connection, schema: str, table: str) -> bool:
    try:
        conn.execute(f"SELECT _rowid_ FROM {sqlite.quote(schema)}.{sqlite.quote(table)} LIMIT 0")
    except sqlite.OperationalError:
        return False  # WITHOUT ROWID: its rows live in an index b-tree
    return True


def _all_roots(conn: sqlite.Connection, schema: str) -> list[int]:
    return sorted({1, *(root for _kind, _name, root, _sql in sqlite.read_roots(conn, schema))})


def _page(fd: int, number: int, header: _Header) -> bytes:
    if not 1 <= number <= header.pages:
        raise _Unprovable(f"page {number} out of the file")
    data = os.pread(fd, header.page_size, (number - 1) * header.page_size)
    if len(data) != header.page_size:
        raise _Unprovable("short read")
    return data


def _tree(fd: int, root: int, header: _Header) -> _Tree:
    """Read the interior pages of the b-tree at ``root`` level by level (all leaves are at one depth)."""
    import numpy as np

    size = header.page_size
    levels: list[_Level] = []
    level = np.array([root], dtype=np.int64)
    kind: int | None = None
    while True:
        head = _page(fd, int(level[0]), header)
        if head[100 if int(level[0]) == 1 else 0] in (_TABLE_LEAF, _INDEX_LEAF):  # the leaves: not read
            return _Tree(root, kind, levels, level)
        # (with room after the last page for a varint read to end in: it is checked against its page)
        data = np.frombuffer(b"".join([head, *(_page(fd, number, header) for number in level[1:].tolist()),
                                       bytes(9)]), dtype=np.uint8)
        start = np.where(level == 1, 100, 0)  # page 1 begins with the file header
        base = np.arange(level.size, dtype=np.int64) * size + start
        types = data[base]
        kind = int(types[0]) if kind is None else kind
        if bool((types != kind).any()) or kind not in (_TABLE_INTERIOR, _INDEX_INTERIOR):
            raise _Unprovable("unexpected page type" if not levels else "unbalanced b-tree")
        counts = _be(data, base + 3, 2)
        total = int(counts.sum())
        page_of = np.repeat(np.arange(level.size, dtype=np.int64), counts)
        first_cell = np.cumsum(counts) - counts  # index of each page's first cell among all cells
        # the cell pointer arrays (2-byte offsets, at even offsets of the pages), read as one array
        pointers = data[:data.size - data.size % 2].view(">u2")
        nth = np.arange(total, dtype=np.int64) - first_cell[page_of]  # each cell's place in its page
        at = pointers[(base[page_of] + 12) // 2 + nth].astype(np.int64)
        if total and (bool((at < start[page_of] + 12 + 2 * counts[page_of]).any()) or int(at.max()) + 4 > size):
            raise _Unprovable("cell out of its page")
        cells = page_of * size + at
        first = first_cell + np.arange(level.size, dtype=np.int64)  # each page has one child more than cells
        kids = np.empty(total + level.size, dtype=np.int64)
        kids[first[page_of] + nth] = _be(data, cells, 4)
        kids[first + counts] = _be(data, base + 8, 4)
        levels.append(_Level(level, data, size, counts, first, cells, kids))
        level = kids
        if level.size > header.pages or (level.size and (level.min() < 1 or level.max() > header.pages)):
            raise _Unprovable("child out of the file")


def _be(data: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """The big-endian unsigned integers of ``width`` bytes at the offsets ``at`` of ``data``."""
    import numpy as np

    value = np.zeros(at.size, dtype=np.int64)
    for i in range(width):
        value = (value << 8) | data[at + i]
    return value


def _varints(data: np.ndarray, at: np.ndarray, page_size: int) -> np.ndarray:
    """SQLite's varints (1 to 9 bytes, big-endian, seven bits a byte but the ninth's eight) at the offsets
    ``at`` of ``data`` (pages of ``page_size`` bytes one after the other), as signed 64-bit integers.

    :raises _Unprovable: when a varint does not end in its page.
    """
    import numpy as np

    if not at.size:
        return np.zeros(0, dtype=np.int64)
    if int(at.max()) + 9 > data.size:
        raise _Unprovable("varint out of the pages read")
    raw = data[at[:, None] + np.arange(9)].astype(np.uint64)
    more = raw[:, :8] >= 0x80
    last = np.where(more.all(axis=1), 8, np.argmin(more, axis=1))  # the index of each varint's last byte
    if bool((at + last >= (at // page_size + 1) * page_size).any()):
        raise _Unprovable("varint out of its page")
    value = np.zeros(at.size, dtype=np.uint64)
    for i in range(9):
        part, shift = (raw[:, i] & np.uint64(0x7F), np.uint64(7)) if i < 8 else (raw[:, i], np.uint64(8))
        value = np.where(last >= i, (value << shift) | part, value)
    return value.view(np.int64)


def _runs(relevant: np.ndarray, common: int) -> list[int]:
    """The first pages (0-based) of the runs of :data:`CHUNK_PAGES` pages that hold a relevant page."""
    return [first for first in range(0, common, CHUNK_PAGES) if relevant[first + 1:first + 1 + CHUNK_PAGES].any()]


def _differing(fa: object, fb: object, ha: _Header, hb: _Header, own: bool, runs: list[int],
               leaves: np.ndarray) -> np.ndarray:
    """A mask over the later file's pages (index = page number): True where the page differs.

    Only the pages in ``runs`` are compared (the others read False), on up to :data:`WORKERS`
    threads (NumPy compares without the GIL); pages the earlier file does not have read True.

    :param leaves: a mask of the compared tables' leaf pages: once a share of them is compared and more
        than :data:`MAX_DIFFERING_SHARE` differ, the rest is not read (the rows are compared whole).
    :raises _Unprovable: when most leaves differ.
    """
    import threading

    import numpy as np

    size = ha.page_size
    common = min(ha.pages, hb.pages)
    mask = np.zeros(ha.pages + 1, dtype=bool)
    mask[common + 1:] = True  # pages the earlier file does not have
    workers = max(1, min(WORKERS, os.cpu_count() or 1, len(runs)))
    enough = max(256, int(leaves.sum()) // (20 * workers))  # leaves a thread sees before judging the share
    most = threading.Event()
    stopped = threading.Event()  # this thread was stopped (an error, Ctrl-C): the others read no further

    # one mapping of each file, shared by the threads (each reads its own runs of pages)
    shared = (_Blocks(fa, common * size, size, own), _Blocks(fb, common * size, size, own)) if own else None

    def compare(share: int) -> None:
        flags = np.empty((CHUNK_PAGES, size // 8), dtype=bool)
        left, right = shared or (_Blocks(fa, common * size, size, own), _Blocks(fb, common * size, size, own))
        seen = dirty = 0
        try:
            for first in runs[share::workers]:
                if most.is_set() or stopped.is_set():
                    return
                pages = min(CHUNK_PAGES, common - first)
                np.not_equal(left.block(first, pages), right.block(first, pages), out=flags[:pages])
                span = slice(first + 1, first + 1 + pages)
                mask[span] = flags[:pages].any(axis=1)
                seen += int(leaves[span].sum())
                dirty += int((leaves[span] & mask[span]).sum())
                if seen >= enough and dirty > MAX_DIFFERING_SHARE * seen:
                    most.set()
        finally:
            if shared is None:
                left.close()
                right.close()

    try:
        if workers == 1:
            compare(0)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                try:
                    for done in [pool.submit(compare, share) for share in range(workers)]:
                        done.result()
                except BaseException:
                    stopped.set()  # the pool waits for its threads: each ends after the run of pages it reads
                    raise
    finally:
        for blocks in shared or ():
            blocks.close()
    if most.is_set():
        raise _Unprovable("most of the table's leaves differ")
    return mask


class _Blocks:
    """Runs of pages of one file as arrays of 64-bit words: mapped for lightnb's own files (one mapping
    the threads share), else read into a buffer of the thread's own."""

    def __init__(self, file: object, length: int, page_size: int, own: bool) -> None:
        import numpy as np

        self.fd = file.fileno()  # type: ignore[attr-defined]
        self.page_size, self.words = page_size, page_size // 8
        self.mapping = mmap.mmap(self.fd, length, access=mmap.ACCESS_READ) if own and length else None
        self.buffer = None if self.mapping is not None else np.empty(CHUNK_PAGES * self.words, dtype=np.uint64)

    def block(self, first: int, pages: int) -> np.ndarray:
        """Pages ``first`` … ``first + pages - 1`` (0-based), one row each."""
        import numpy as np

        if self.mapping is not None:
            return np.frombuffer(self.mapping, dtype=np.uint64, count=pages * self.words,
                                 offset=first * self.page_size).reshape(pages, self.words)
        assert self.buffer is not None
        want, got = pages * self.page_size, 0
        with memoryview(self.buffer.data).cast("B") as view:
            while got < want:
                n = os.preadv(self.fd, [view[got:want]], first * self.page_size + got)
                if n <= 0:
                    raise _Unprovable("the file ended early")
                got += n
        return self.buffer[:pages * self.words].reshape(pages, self.words)

    def close(self) -> None:
        if self.mapping is not None:
            try:
                self.mapping.close()
            except BufferError:  # an array of it still held (by an error's traceback): freed with it
                pass


def _known_pages(fd: int, header: _Header, trees: object) -> np.ndarray:
    """A mask over the later file's pages: True for a page with a role other than overflow (a b-tree
    page of a table or index, a freelist page, the header page, a pointer-map or the lock-byte page)."""
    import numpy as np

    known = np.zeros(header.pages + 1, dtype=bool)
    known[1] = True
    for tree in trees:  # type: ignore[attr-defined]
        known[tree.interior] = True
        known[tree.leaves] = True
    trunk, seen = header.freelist_trunk, 0
    while trunk:
        page = _page(fd, trunk, header)
        known[trunk] = True
        following, count = struct.unpack_from(">II", page, 0)
        if 8 + 4 * count > header.page_size:
            raise _Unprovable("freelist trunk overflows its page")
        leaves = np.array(struct.unpack_from(f">{count}I", page, 8), dtype=np.int64)
        if leaves.size and (leaves.min() < 1 or leaves.max() > header.pages):
            raise _Unprovable("freelist page out of the file")
        known[leaves] = True
        trunk, seen = following, seen + 1
        if seen > header.pages:
            raise _Unprovable("freelist loop")
    if header.auto_vacuum:
        usable = header.page_size - header.reserved
        known[2::usable // 5 + 1] = True
    lock_page = (1 << 30) // header.page_size + 1
    if lock_page <= header.pages:
        known[lock_page] = True
    return known


def _ranges(tree: _Tree, differing: np.ndarray) -> list[tuple[int, int]] | None:
    """The inclusive rowid ranges of the table's pages that differ (merged), or None when most do.

    Level by level from the root, each child's range of keys is bounded by its neighbours' cells in
    its parent (a table b-tree's interior cell holds the largest key of the child before it): a
    differing child's whole range is compared; an identical one under an identical parent holds the
    same rows, and only its children below it (when interior) are looked at.
    """
    import numpy as np

    if differing[tree.root]:
        return None
    if not tree.levels:
        return []
    if tree.kind != _TABLE_INTERIOR:
        raise _Unprovable("a rowid table stored in an index b-tree")
    dirty_leaves = int(differing[tree.leaves].sum())
    if dirty_leaves > MAX_DIFFERING_SHARE * tree.leaves.size:
        return None
    low, high = np.array([ROWID_MIN], dtype=np.int64), np.array([ROWID_MAX], dtype=np.int64)
    alive = np.array([True])  # the level's pages that are identical and under identical pages
    found_low: list[np.ndarray] = []
    found_high: list[np.ndarray] = []
    for depth, level in enumerate(tree.levels):
        page_of = np.repeat(np.arange(level.pages.size, dtype=np.int64), level.counts + 1)
        marks = differing[level.kids] & alive[page_of]
        bottom = depth == len(tree.levels) - 1
        # the children whose bounds are needed: the differing ones, and above the leaves every live one
        wanted = np.flatnonzero(marks if bottom else alive[page_of])
        page = page_of[wanted]
        position = wanted - level.first[page]
        cell = wanted - page  # the cell of the child (holding its largest key) when it is not right-most
        lo, hi = low[page].copy(), high[page].copy()
        has_high, has_low = position < level.counts[page], position > 0
        hi[has_high] = _varints(level.data, level.cells[cell[has_high]] + 4, level.page_size)
        # the largest key before the child: its lower bound is one more
        below = _varints(level.data, level.cells[cell[has_low] - 1] + 4, level.page_size)
        if below.size and int(below.max()) == ROWID_MAX:
            raise _Unprovable("a key after the largest rowid")
        lo[has_low] = below + 1
        dirty = marks[wanted]
        found_low.append(lo[dirty])
        found_high.append(hi[dirty])
        if not bottom:  # the next level's pages are this level's children, in order
            low, high = np.zeros(level.kids.size, dtype=np.int64), np.zeros(level.kids.size, dtype=np.int64)
            alive = np.zeros(level.kids.size, dtype=bool)
            low[wanted], high[wanted], alive[wanted] = lo, hi, ~dirty
    merged: list[tuple[int, int]] = []
    for lo_, hi_ in sorted(zip(np.concatenate(found_low).tolist(), np.concatenate(found_high).tolist())):
        if merged and lo_ <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi_, merged[-1][1]))
        else:
            merged.append((lo_, hi_))
    return merged


def ranges_json(ranges: Sequence[tuple[int, int]]) -> str:
    """The ranges as the JSON array the row diff's queries read with ``json_each``."""
    return "[" + ",".join(f"[{lo},{hi}]" for lo, hi in ranges) + "]"


__all__ = ["MIN_FILE_BYTES", "MIN_FOREIGN_FILE_BYTES", "PageProof", "compare_pages", "ranges_json"]
