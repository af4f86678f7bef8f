"""Snapshots of a database: schema, row counts and a content fingerprint per table.

Everything is computed inside SQLite. The fingerprint is an order-independent sum
(mod 2**64) of a 64-bit hash of each row, aggregated by a deterministic SQL function
so that no table is ever loaded into Python; equal content gives equal fingerprints
whatever the row order or page layout (a VACUUM or a table rebuild keeps it).

A fingerprint is a function of the values: shown to people, a fingerprint over a masked
column would let them recover a short secret by trying every value (a 6-digit PIN takes
a second). So each table has two: ``fingerprint`` over every column, for exact comparisons
inside lightnb, and ``shown_fingerprint`` over the columns that are not masked (by name or
lineage), which is the only one the snapshot's text, frame and JSON forms print.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote, read_catalog, read_columns
from lightnb.catalog import Catalog, Column, ForeignKey, Index, Table, Trigger, View

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.inspect.redact import Redactor

_MASK64 = (1 << 64) - 1
FINGERPRINT_FUNCTION = "lightnb_fingerprint"
SPLIT_FINGERPRINT_FUNCTION = "lightnb_split_fingerprint"


@dataclass(frozen=True, slots=True)
class TableSnapshot:
    """One table at one moment: its catalogue record, row count and content fingerprints.

    :param table: the table as the catalogue describes it.
    :param fingerprint: over every column, for exact comparisons inside lightnb (None when not taken).
    :param shown_fingerprint: over the columns that are not masked; the only one ever printed.
    :param masked_columns: the columns ``shown_fingerprint`` leaves out.
    """

    table: Table
    row_count: int
    fingerprint: str | None
    shown_fingerprint: str | None = None
    masked_columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The table's name."""
        return self.table.name

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns ``SELECT *`` shows, in table order."""
        return tuple(c for c in self.table.columns if c.visible)

    @property
    def sql(self) -> str:
        """The ``CREATE TABLE`` text."""
        return self.table.sql

    @property
    def without_rowid(self) -> bool:
        """Whether the table was created ``WITHOUT ROWID``."""
        return self.table.without_rowid

    @property
    def rootpage(self) -> int:
        """Where its rows are stored: the same through a rename, new after a rebuild."""
        return self.table.rootpage

    @property
    def foreign_keys(self) -> tuple[ForeignKey, ...]:
        """Its foreign keys, in declared order."""
        return self.table.foreign_keys

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """The primary-key columns in key order (empty when the key is the rowid)."""
        return self.table.primary_key

    def column(self, name: str) -> Column | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        return self.table.column(name)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The schema and content summary of one database at one moment."""

    label: str
    taken_at: str
    tables: tuple[TableSnapshot, ...]
    indexes: tuple[Index, ...]
    triggers: tuple[Trigger, ...]
    views: tuple[View, ...]
    dialect: str = "sqlite"  # whose catalogue it was read from: "sqlite" or "postgres" (types and defaults differ)
    _by_name: dict[str, TableSnapshot] = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> TableSnapshot | None:
        """Return the table called ``name`` (case-insensitive), or None."""
        if not self._by_name:
            self._by_name.update({t.name.lower(): t for t in self.tables})
        return self._by_name.get(name.lower())

    @property
    def table_names(self) -> tuple[str, ...]:
        """The table names, sorted."""
        return tuple(t.name for t in self.tables)

    @property
    def catalog(self) -> Catalog:
        """The schema this snapshot holds, as a catalogue (its tables' definitions, triggers and views)."""
        return Catalog(tuple(t.table for t in self.tables), tuple(self.triggers), tuple(self.views))

    def indexes_of(self, table: str) -> tuple[Index, ...]:
        """The indexes of ``table``."""
        return tuple(i for i in self.indexes if i.table.lower() == table.lower())

    def to_frame(self) -> pd.DataFrame:
        """Return one row per table: columns, row count, fingerprint, indexes, triggers."""
        import pandas as pd

        rows = [{
            "table": t.name,
            "columns": len(t.columns),
            "rows": t.row_count,
            "fingerprint": t.shown_fingerprint,
            "primary_key": ", ".join(t.primary_key) or "rowid",
            "indexes": len(self.indexes_of(t.name)),
            "foreign_keys": len(t.foreign_keys),
            "triggers": sum(1 for tr in self.triggers if tr.table.lower() == t.name.lower()),
        } for t in self.tables]
        columns = ["table", "columns", "rows", "fingerprint", "primary_key", "indexes",
                   "foreign_keys", "triggers"]
        return pd.DataFrame(rows, columns=columns)

    def columns_frame(self) -> pd.DataFrame:
        """Return one row per column of every table."""
        import pandas as pd

        rows = [{"table": t.name, "column": c.name, "type": c.type, "notnull": c.notnull,
                 "default": c.default, "pk": c.pk} for t in self.tables for c in t.columns]
        return pd.DataFrame(rows, columns=["table", "column", "type", "notnull", "default", "pk"])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (schema facts, counts and fingerprints; no row values)."""
        return {
            "label": self.label,
            "taken_at": self.taken_at,
            "tables": {t.name: {"rows": t.row_count, "fingerprint": t.shown_fingerprint,
                                "fingerprint_leaves_out": list(t.masked_columns),
                                "columns": [c.name for c in t.columns],
                                "primary_key": list(t.primary_key)} for t in self.tables},
            "indexes": [i.name for i in self.indexes],
            "triggers": [t.name for t in self.triggers],
            "views": [v.name for v in self.views],
        }

    def to_text(self) -> str:
        """Return a short readable summary, one line per table."""
        head = f"Snapshot {self.label!r}: {len(self.tables)} table(s)" if self.label else \
            f"Snapshot: {len(self.tables)} table(s)"
        lines = [head]
        for t in self.tables:
            left_out = f" (leaves out masked {', '.join(t.masked_columns)})" \
                if t.masked_columns and t.shown_fingerprint else ""
            lines.append(f"  {t.name}: {t.row_count} row(s), {len(t.columns)} column(s), "
                         f"fingerprint {t.shown_fingerprint or '-'}{left_out}")
        return "\n".join(lines)


class _Fingerprint:
    """SQL aggregate: order-independent sum of a 64-bit hash of each row's values."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0

    def step(self, *values: Any) -> None:
        # pickle of (int, float, str, bytes, None) is deterministic for equal values.
        data = pickle.dumps(values, 4)
        low = zlib.crc32(data)
        self.total += low | (zlib.crc32(data, low ^ 0x5BD1E995) << 32)

    def finalize(self) -> str:
        return f"{self.total & _MASK64:016x}"


def _row_hash(values: tuple[Any, ...]) -> int:
    # pickle of (int, float, str, bytes, None) is deterministic for equal values.
    data = pickle.dumps(values, 4)
    low = zlib.crc32(data)
    return low | (zlib.crc32(data, low ^ 0x5BD1E995) << 32)


class _SplitFingerprint:
    """SQL aggregate ``(k, v1, …, vn)``: the fingerprint of the rows, and the one of their first ``k`` values.

    The first is exact over every value (a row's hash mixes the hashes of its two parts); the second,
    over the shown part only, is the one that may be printed. One pass computes both.
    """

    __slots__ = ("total", "shown")

    def __init__(self) -> None:
        self.total = 0
        self.shown = 0

    def step(self, k: int, *values: Any) -> None:
        shown = _row_hash(values[:k])
        hidden = _row_hash(values[k:])
        self.shown += shown
        self.total += (shown * 0x9E3779B97F4A7C15 + hidden) & _MASK64

    def finalize(self) -> str:
        return f"{self.total & _MASK64:016x} {self.shown & _MASK64:016x}"


def register_fingerprint(conn: sqlite.Connection) -> None:
    """Register the ``lightnb_fingerprint(...)`` aggregate (and its split form) on ``conn``."""
    # typeshed types an aggregate as one int argument and an int result; SQLite takes any arity (-1) and text.
    conn.create_aggregate(FINGERPRINT_FUNCTION, -1, _Fingerprint)  # type: ignore[arg-type]
    conn.create_aggregate(SPLIT_FINGERPRINT_FUNCTION, -1, _SplitFingerprint)  # type: ignore[arg-type]


def split_fingerprint(conn: sqlite.Connection, table: str, shown: list[str], hidden: list[str],
                      *, schema: str = "main") -> tuple[str, str]:
    """Return the fingerprint over ``shown + hidden`` columns and the one over ``shown`` only, in one pass."""
    register_fingerprint(conn)
    args = ", ".join([str(len(shown))] + [quote(c) for c in shown + hidden])
    row = conn.execute(f"SELECT count(*), {SPLIT_FINGERPRINT_FUNCTION}({args}) "
                       f"FROM {quote(schema)}.{quote(table)}").fetchone()
    if not row[0]:
        return "0" * 16, "0" * 16
    full, part = row[1].split()
    return full, part


def table_fingerprint(conn: sqlite.Connection, table: str, columns: list[str] | None = None,
                      *, schema: str = "main") -> str:
    """Compute the content fingerprint of ``table`` (optionally over some columns) in SQLite."""
    register_fingerprint(conn)
    cols = columns if columns is not None else [c.name for c in read_columns(conn, table, schema)]
    args = ", ".join(quote(c) for c in cols) or "NULL"
    row = conn.execute(f"SELECT count(*), {FINGERPRINT_FUNCTION}({args}) "
                       f"FROM {quote(schema)}.{quote(table)}").fetchone()
    return row[1] if row[0] else "0" * 16


def take_snapshot(conn: sqlite.Connection, *, label: str = "", fingerprint: bool = True,
                  schema: str = "main", shown_fingerprints: bool = False, exact_fingerprints: bool = True,
                  redactor: Redactor | None = None, known: Mapping[str, TableSnapshot] | None = None,
                  counted: Callable[[str], bool] | None = None, own: bool = False) -> Snapshot:
    """Capture the schema, row counts and content fingerprints of a database.

    :param conn: an open connection; nothing is written through it.
    :param label: a name for the moment ("before 2024-01-01-000000_add_users").
    :param fingerprint: compute content fingerprints (one pass over each table).
    :param schema: the attached schema to read ("main" by default).
    :param shown_fingerprints: also compute the fingerprints that may be shown to people, which
        leave masked columns out (the same pass; a table with masked columns costs about 1.5x).
        Without them the text, frame and JSON forms print no fingerprint at all.
    :param exact_fingerprints: with ``shown_fingerprints``, also compute the exact ones; a snapshot
        only printed for people skips them (and hashes fewer values than a full fingerprint).
    :param redactor: which columns are masked (the built-in sensitive words and their lineage by default).
    :param known: snapshots of tables (by lower-case name) whose rows the caller knows unchanged since
        they were taken (no SQL that can change them ran since); a table whose definition is still the
        same keeps their row count, and their fingerprints when they hold the ones asked for, unread.
    :param counted: without fingerprints, count the rows only of the tables it accepts (by name);
        the others read ``row_count == -1`` (for a caller that counts what it compares itself).
    :param own: the file is lightnb's own, or the database it is migrating through ``conn``: it may be
        read memory-mapped (see :func:`lightnb.backends.sqlite.mapped`).
    """
    shown = fingerprint and shown_fingerprints
    masked = _masked_columns(conn, redactor, schema) if shown else None
    catalog = read_catalog(conn, schema)
    known = known or {}
    with sqlite.mapped(conn, schema, own=own):
        tables = tuple(_known(known.get(table.name.lower()), table, fingerprint, shown,
                              exact_fingerprints or not shown, masked)
                       or _table_snapshot(conn, table, fingerprint, schema, masked, exact_fingerprints or not shown,
                                          count=fingerprint or counted is None or counted(table.name))
                       for table in catalog.tables if not table.virtual)
    if shown and masked is None:  # lineage unknown: print no fingerprint rather than one over a secret
        tables = tuple(replace(t, shown_fingerprint=None) for t in tables)
    indexes = tuple(ix for t in tables for ix in t.table.indexes)
    return Snapshot(label=label, taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    tables=tables, indexes=indexes, triggers=catalog.triggers, views=catalog.views)


def _known(found: TableSnapshot | None, table: Table, fingerprint: bool, shown: bool, exact: bool,
           masked: dict[str, set[str]] | None) -> TableSnapshot | None:
    """The snapshot of an unchanged table taken earlier, when it answers what is asked now (else None).

    Fingerprints are reused only when computed the same way (over the same masked columns).
    """
    if found is None or found.table != table:
        return None
    if not fingerprint:
        return replace(found, fingerprint=None, shown_fingerprint=None, masked_columns=())
    hidden = (masked or {}).get(table.name.lower(), set())
    left_out = tuple(c.name for c in table.columns if c.visible and c.name.lower() in hidden)
    if found.masked_columns != left_out or (exact and found.fingerprint is None) \
            or (shown and masked is not None and found.shown_fingerprint is None):
        return None
    return replace(found, fingerprint=found.fingerprint,
                   shown_fingerprint=found.shown_fingerprint if shown and masked is not None else None)


def _masked_columns(conn: sqlite.Connection, redactor: Redactor | None, schema: str) -> dict[str, set[str]] | None:
    """Map each table (lower case) to its masked columns (lower case), by name and lineage (None: unknown)."""
    from lightnb.inspect.lineage import derived_columns
    from lightnb.inspect.redact import DEFAULT_REDACTOR

    try:
        pairs = derived_columns(conn, redactor or DEFAULT_REDACTOR, schema)
    except sqlite.Error:
        return None
    out: dict[str, set[str]] = {}
    for table, column in pairs:
        out.setdefault(table.lower(), set()).add(column.lower())
    return out


def _table_snapshot(conn: sqlite.Connection, table: Table, fingerprint: bool, schema: str,
                    masked: dict[str, set[str]] | None = None, exact: bool = True, *,
                    count: bool = True) -> TableSnapshot:
    name = table.name
    rows = conn.execute(f"SELECT count(*) FROM {quote(schema)}.{quote(name)}").fetchone()[0] if count else -1
    hidden = (masked or {}).get(name.lower(), set())
    every = [c.name for c in table.columns if c.visible]
    left_out = tuple(c for c in every if c.lower() in hidden)
    fp = shown = None
    if fingerprint:
        if left_out and not exact and masked is not None:
            shown = table_fingerprint(conn, name, [c for c in every if c not in left_out], schema=schema)
        elif left_out:
            fp, shown = split_fingerprint(conn, name, [c for c in every if c not in left_out], list(left_out),
                                          schema=schema)
        else:
            fp = table_fingerprint(conn, name, every, schema=schema)
            shown = fp if masked is not None else None
    return TableSnapshot(table=table, row_count=rows, fingerprint=fp, shown_fingerprint=shown,
                         masked_columns=left_out)
