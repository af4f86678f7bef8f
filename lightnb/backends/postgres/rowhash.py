"""Compare the rows of one table in two databases of a cluster, hashing rows in the server.

PostgreSQL has no ATTACH: the two sides are two connections. Rows are compared by column name over
the columns both sides have (a column re-added at the end of its table is the same column), as
whole rows, key included:

1. each side computes, in the server, its row count and an order-free sum of row hashes
   (``hashtextextended``, PostgreSQL's own 64-bit text hash, of the row's values as text); equal sums
   mean equal tables and nothing more is read. The two servers compute their sums at the same time
   (:func:`summaries_side_by_side`);
2. otherwise each side streams ``(key, row hash)`` ordered by the primary key — a single integer key by
   its value, in its index's order, any other key by its text in byte order (``COLLATE "C"``, the order
   Python compares ``str`` in) — and the two streams are merged in order: memory bounded whatever the
   table's size. To say which columns changed, the per-column hashes of the rows whose row hash differs
   are looked up by key, a batch at a time (streamed with every row for a key of another kind). A table
   without a primary key is compared as a multiset of row hashes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from lightnb.backends.postgres.connect import CANCEL_AGAIN, CANCEL_TIMEOUT
from lightnb.backends.postgres.shape import TableShape

SAMPLE_KEYS = 3
_SEPARATOR = sql.SQL("chr(31)")
_FETCH = 20_000
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint", "int2", "int4", "int8"})


@dataclass(frozen=True, slots=True)
class TableRows:
    """How the rows of one table compare.

    :param added: rows only in the second database (by key).
    :param removed: rows only in the first.
    :param changed: rows in both whose values differ.
    :param changed_columns: per compared column, how many changed rows differ in it.
    :param sample_keys: a few keys of rows that differ (key values as text, for people).
    """

    table: str
    rows_before: int
    rows_after: int
    added: int = 0
    removed: int = 0
    changed: int = 0
    changed_columns: dict[str, int] = field(default_factory=dict)
    keyed: bool = True
    sample_keys: tuple[str, ...] = ()

    @property
    def equal(self) -> bool:
        """True when both sides hold the same rows."""
        return not (self.added or self.removed or self.changed)

    def describe(self) -> str:
        """One line: ``users: 3 row(s) before, 3 after — 0 row(s) added, 0 removed, 2 changed (email 2)``."""
        head = (f"{self.table}: {self.rows_before} row(s) before, {self.rows_after} after" if
                self.rows_before != self.rows_after else f"{self.table}: same row count, different content")
        columns = ", ".join(f"{c} {n}" for c, n in self.changed_columns.items() if n)
        return (f"{head} — {self.added} row(s) added, {self.removed} removed, {self.changed} changed"
                + (f" ({columns})" if columns else ""))


def _identifier(table: str) -> sql.Composable:
    return sql.Identifier(*table.split(".", 1)) if "." in table else sql.Identifier(table)


def _text(column: str) -> sql.Composable:
    return sql.SQL("quote_nullable({}::text)").format(sql.Identifier(column))


def _row_hash(columns: Sequence[str]) -> sql.Composable:
    if not columns:
        return sql.SQL("0::bigint")
    values = sql.SQL(", ").join(_text(c) for c in columns)
    return sql.SQL("hashtextextended(concat_ws({}, {}), 0)").format(_SEPARATOR, values)


def _key(columns: Sequence[str]) -> sql.Composable:
    values = sql.SQL(", ").join(_text(c) for c in columns)
    return sql.SQL("concat_ws({}, {})").format(_SEPARATOR, values)


def _summary_query(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("SELECT count(*), coalesce(sum(h::numeric), 0) "
                   "FROM (SELECT {} AS h FROM {}) AS rows").format(_row_hash(columns), _identifier(table))


def summaries(conn: psycopg.Connection[Any], tables: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[int, int]]:
    """Return ``(row count, order-free sum of row hashes)`` of each ``(table, columns)``, computed in the server,
    in one round trip (one query, one row per table, in order)."""
    if not tables:
        return []
    parts = [sql.SQL("SELECT {}::int AS i, * FROM ({}) AS s").format(sql.Literal(i), _summary_query(t, c))
             for i, (t, c) in enumerate(tables)]
    rows = conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    found = {int(i): (int(count), int(total)) for i, count, total in rows}
    return [found[i] for i in range(len(tables))]


def common_columns(before_table: TableShape, after_table: TableShape) -> list[str]:
    """The columns both sides have, by name (sorted): what rows are compared over."""
    return sorted(set(before_table.column_names) & set(after_table.column_names))


def _stream(conn: psycopg.Connection[Any], query: sql.Composed) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows in batches (a server-side cursor, binary: constant memory, little parsing)."""
    with conn.transaction(), conn.cursor(name="lightnb_rows", binary=True) as cursor:
        cursor.itersize = _FETCH
        cursor.execute(query)
        while batch := cursor.fetchmany(_FETCH):
            yield batch


def _column_hashes(columns: Sequence[str]) -> sql.Composable:
    if not columns:
        return sql.SQL("''")
    return sql.SQL("concat_ws(',', {})").format(sql.SQL(", ").join(
        sql.SQL("hashtextextended({}, 0)").format(_text(c)) for c in columns))


def _keyed_rows(conn: psycopg.Connection[Any], table: str, key: Sequence[str], columns: Sequence[str],
                integer_key: bool = False) -> Iterator[list[tuple[Any, ...]]]:
    """``(key, row hash[, column hashes])`` in key order; an integer key streams no column hashes (they are
    looked up for the changed rows only, by key, through the primary key's index)."""
    if integer_key:
        query = sql.SQL("SELECT {key}, {hash} FROM {table} ORDER BY {key}").format(
            key=sql.Identifier(key[0]), hash=_row_hash(columns), table=_identifier(table))
    else:
        query = sql.SQL("SELECT {key} COLLATE \"C\" AS k, {hash}, {columns} FROM {table} ORDER BY k").format(
            key=_key(key), hash=_row_hash(columns), columns=_column_hashes(columns), table=_identifier(table))
    return _stream(conn, query)


def _integer_key(table: TableShape, key: Sequence[str]) -> bool:
    """True when the key is one integer column (streamed and merged by its value, in its index's order)."""
    column = table.column(key[0]) if len(key) == 1 else None
    return column is not None and column.type in _INTEGER_TYPES


def _hashes_by_key(conn: psycopg.Connection[Any], table: str, key: str, columns: Sequence[str],
                   keys: Sequence[int]) -> dict[int, str]:
    query = sql.SQL("SELECT {key}, {columns} FROM {table} WHERE {key} = ANY(%s)").format(
        key=sql.Identifier(key), columns=_column_hashes(columns), table=_identifier(table))
    return {row[0]: row[1] for row in conn.execute(query, (list(keys),))}


def summaries_side_by_side(before: psycopg.Connection[Any], before_tables: Sequence[tuple[str, Sequence[str]]],
                           after: psycopg.Connection[Any], after_tables: Sequence[tuple[str, Sequence[str]]]
                           ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """:func:`summaries` of ``before_tables`` in ``before`` and of ``after_tables`` in ``after``, the two servers
    computing at the same time (``after``'s asked for in a thread of its own: psycopg waits for a result without
    Python's lock).

    Stopped here (an error of this side's query, Ctrl-C, SIGTERM), the other side's query is cancelled in its
    server, and its thread waited for, before the stop is raised: no query goes on after the call.
    """
    outcome: list[tuple[bool, Any]] = []

    def theirs() -> None:
        try:
            outcome.append((True, summaries(after, after_tables)))
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome.append((False, error))

    def ended(seconds: float) -> bool:
        thread.join(seconds)
        return not thread.is_alive()

    thread = threading.Thread(target=theirs, name="lightnb-row-sums", daemon=True)
    thread.start()
    try:
        mine = summaries(before, before_tables)
        thread.join()
    except BaseException:
        _cancel_until(after, ended)
        thread.join()
        raise
    ok, value = outcome[0]
    if not ok:
        raise value
    return mine, value


def _cancel_until(conn: psycopg.Connection[Any], ended: Callable[[float], bool]) -> None:
    """Cancel the query another thread runs on ``conn`` in the server, asking again (a cancel request that lands
    before the server began the query is ignored) until ``ended(seconds)`` — which waits up to that long — says that
    thread's query has ended, for at most :data:`~lightnb.backends.postgres.connect.CANCEL_TIMEOUT` seconds."""
    deadline = time.monotonic() + CANCEL_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # closed, or the server did not answer in time: ask again
            conn.cancel_safe(timeout=CANCEL_TIMEOUT)
        if ended(CANCEL_AGAIN):
            return


def compare_table(before: psycopg.Connection[Any], before_table: TableShape, after: psycopg.Connection[Any],
                  after_table: TableShape, summarised: tuple[tuple[int, int], tuple[int, int]] | None = None
                  ) -> TableRows:
    """Compare one table's rows in two databases (see the module docstring).

    :param summarised: both sides' ``(row count, sum of row hashes)`` (:func:`summaries`), when already computed.
    """
    common = common_columns(before_table, after_table)
    name = after_table.name
    if summarised is None:
        (mine,), (theirs,) = summaries_side_by_side(before, [(before_table.name, common)],
                                                    after, [(after_table.name, common)])
        summarised = mine, theirs
    (count_before, sum_before), (count_after, sum_after) = summarised
    if (count_before, sum_before) == (count_after, sum_after):
        return TableRows(name, count_before, count_after)
    key = [c for c in before_table.primary_key if c in common]
    if not key or list(key) != [c for c in after_table.primary_key if c in common]:
        return _compare_bags(before, before_table.name, after, after_table.name, common, count_before, count_after)
    added = removed = changed = 0
    differing: Counter[str] = Counter()
    samples: list[Any] = []
    integer = _integer_key(before_table, key) and _integer_key(after_table, key)
    waiting: list[int] = []  # changed rows whose columns are compared by key, a batch at a time

    def compare_columns(old_hashes: str, new_hashes: str) -> None:
        for column, a, b in zip(common, old_hashes.split(","), new_hashes.split(",")):
            if a != b:
                differing[column] += 1

    def flush() -> None:
        if waiting:
            old_hashes = _hashes_by_key(before, before_table.name, key[0], common, waiting)
            new_hashes = _hashes_by_key(after, after_table.name, key[0], common, waiting)
            for changed_key in waiting:
                compare_columns(old_hashes[changed_key], new_hashes[changed_key])
            waiting.clear()

    def note(keys: Iterable[Any]) -> None:
        if len(samples) < SAMPLE_KEYS:
            samples.extend(sorted(keys)[:SAMPLE_KEYS - len(samples)])

    for old_rows, new_rows in _aligned(_read_ahead(_keyed_rows(before, before_table.name, key, common, integer),
                                                   before),
                                       _read_ahead(_keyed_rows(after, after_table.name, key, common, integer),
                                                   after)):
        old_keys = [row[0] for row in old_rows]
        new_keys = [row[0] for row in new_rows]
        if old_keys == new_keys:
            if [row[1] for row in old_rows] == [row[1] for row in new_rows]:
                continue  # the common case: the same rows, unchanged
            pairs = [(a, b) for a, b in zip(old_rows, new_rows) if a[1] != b[1]]
            note(a[0] for a, _b in pairs)
        else:
            old_by_key = {row[0]: row for row in old_rows}
            new_by_key = {row[0]: row for row in new_rows}
            gone = old_by_key.keys() - new_by_key.keys()
            came = new_by_key.keys() - old_by_key.keys()
            removed += len(gone)
            added += len(came)
            pairs = [(old_by_key[k], new_by_key[k]) for k in old_keys if k in new_by_key
                     and old_by_key[k][1] != new_by_key[k][1]]
            note(list(gone) + list(came) + [a[0] for a, _b in pairs])
        changed += len(pairs)
        for a, b in pairs:
            if integer:
                waiting.append(a[0])
            else:
                compare_columns(a[2], b[2])
        if len(waiting) >= _FETCH:
            flush()
    flush()
    return TableRows(name, count_before, count_after, added, removed, changed,
                     {c: differing[c] for c in common if differing[c]}, True,
                     tuple((f"'{s}'" if integer else s.replace("\x1f", ", ")) for s in samples))


def _read_ahead(batches: Iterator[list[tuple[Any, ...]]], conn: psycopg.Connection[Any]
                ) -> Iterator[list[tuple[Any, ...]]]:
    """Yield ``batches`` (read from ``conn``), asking for the next one before handing out this one: the server
    computes (and the rows travel) while the caller compares; one batch at a time is ever requested from the stream.

    Stopped meanwhile (an error, Ctrl-C, SIGTERM, the caller giving up), the batch still being fetched has its query
    cancelled in the server and is waited for: a stream that sorts a large table first does not run on.
    """
    from concurrent.futures import Future, ThreadPoolExecutor, wait
    nothing: list[tuple[Any, ...]] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        coming: Future[list[tuple[Any, ...]]] = pool.submit(next, batches, nothing)
        try:
            while batch := coming.result():
                coming = pool.submit(next, batches, nothing)
                yield batch
        except BaseException:
            pending = coming
            _cancel_until(conn, lambda seconds: not wait([pending], seconds).not_done)
            raise


def _aligned(left: Iterator[list[tuple[Any, ...]]], right: Iterator[list[tuple[Any, ...]]]
             ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Cut two key-ordered batch streams into pairs of chunks covering the same key range, in order."""
    from bisect import bisect_right
    buffers: list[list[tuple[Any, ...]]] = [[], []]
    done = [False, False]
    streams = (left, right)
    while True:
        for side in (0, 1):
            if not buffers[side] and not done[side]:
                buffers[side] = next(streams[side], [])
                done[side] = not buffers[side]
        if not buffers[0] and not buffers[1]:
            return
        limits = [buffers[side][-1][0] for side in (0, 1) if buffers[side] and not done[side]]
        if not limits:  # both streams ended: what is buffered is the rest
            chunks = (buffers[0], buffers[1])
            buffers = [[], []]
            yield chunks
            continue
        bound = min(limits)
        cut = [bisect_right([row[0] for row in buffers[side]], bound) for side in (0, 1)]
        chunks = (buffers[0][:cut[0]], buffers[1][:cut[1]])
        buffers = [buffers[0][cut[0]:], buffers[1][cut[1]:]]
        yield chunks


def _compare_bags(before: psycopg.Connection[Any], before_name: str, after: psycopg.Connection[Any],
                  after_name: str, columns: Sequence[str], count_before: int, count_after: int) -> TableRows:
    def bag(conn: psycopg.Connection[Any], table: str) -> Counter[str]:
        query = sql.SQL("SELECT {} FROM {}").format(_row_hash(columns), _identifier(table))
        return Counter(row[0] for row in conn.execute(query))

    old, new = bag(before, before_name), bag(after, after_name)
    removed = sum((old - new).values())
    added = sum((new - old).values())
    return TableRows(after_name, count_before, count_after, added, removed, 0, {}, keyed=False)
