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
import sqlite3
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lightnb.inspect._sql import q, table_columns, user_tables

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.inspect.redact import Redactor

_MASK64 = (1 << 64) - 1
FINGERPRINT_FUNCTION = "lightnb_fingerprint"
SPLIT_FINGERPRINT_FUNCTION = "lightnb_split_fingerprint"


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column: name, declared type, NOT NULL, default SQL text, primary-key position (0 = none)."""

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index: its columns, UNIQUE, partial (with its WHERE SQL), and origin (c, u, pk)."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    partial: bool
    origin: str
    sql: str | None


@dataclass(frozen=True, slots=True)
class ForeignKeyInfo:
    """One foreign key of a table."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str | None, ...]
    on_update: str
    on_delete: str


@dataclass(frozen=True, slots=True)
class TriggerInfo:
    """One trigger and the SQL that created it."""

    name: str
    table: str
    sql: str


@dataclass(frozen=True, slots=True)
class ViewInfo:
    """One view and the SQL that created it."""

    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One table: columns, storage facts, row count and content fingerprint.

    ``rootpage`` identifies the table's storage: it stays through a rename and
    changes when a table is dropped and created again (a rebuild).
    """

    name: str
    columns: tuple[ColumnInfo, ...]
    sql: str
    without_rowid: bool
    rootpage: int
    row_count: int
    fingerprint: str | None
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()
    shown_fingerprint: str | None = None
    masked_columns: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """The primary-key columns in key order (empty when the key is the rowid)."""
        return tuple(c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk))

    def column(self, name: str) -> ColumnInfo | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        for c in self.columns:
            if c.name.lower() == name.lower():
                return c
        return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The schema and content summary of one database at one moment."""

    label: str
    taken_at: str
    tables: tuple[TableInfo, ...]
    indexes: tuple[IndexInfo, ...]
    triggers: tuple[TriggerInfo, ...]
    views: tuple[ViewInfo, ...]
    _by_name: dict[str, TableInfo] = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> TableInfo | None:
        """Return the table called ``name`` (case-insensitive), or None."""
        if not self._by_name:
            self._by_name.update({t.name.lower(): t for t in self.tables})
        return self._by_name.get(name.lower())

    @property
    def table_names(self) -> tuple[str, ...]:
        """The table names, sorted."""
        return tuple(t.name for t in self.tables)

    def indexes_of(self, table: str) -> tuple[IndexInfo, ...]:
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


def register_fingerprint(conn: sqlite3.Connection) -> None:
    """Register the ``lightnb_fingerprint(...)`` aggregate (and its split form) on ``conn``."""
    conn.create_aggregate(FINGERPRINT_FUNCTION, -1, _Fingerprint)
    conn.create_aggregate(SPLIT_FINGERPRINT_FUNCTION, -1, _SplitFingerprint)


def split_fingerprint(conn: sqlite3.Connection, table: str, shown: list[str], hidden: list[str],
                      *, schema: str = "main") -> tuple[str, str]:
    """Return the fingerprint over ``shown + hidden`` columns and the one over ``shown`` only, in one pass."""
    register_fingerprint(conn)
    args = ", ".join([str(len(shown))] + [q(c) for c in shown + hidden])
    row = conn.execute(f"SELECT count(*), {SPLIT_FINGERPRINT_FUNCTION}({args}) "
                       f"FROM {q(schema)}.{q(table)}").fetchone()
    if not row[0]:
        return "0" * 16, "0" * 16
    full, part = row[1].split()
    return full, part


def table_fingerprint(conn: sqlite3.Connection, table: str, columns: list[str] | None = None,
                      *, schema: str = "main") -> str:
    """Compute the content fingerprint of ``table`` (optionally over some columns) in SQLite."""
    register_fingerprint(conn)
    cols = columns if columns is not None else [c[1] for c in table_columns(conn, table, schema)]
    args = ", ".join(q(c) for c in cols) or "NULL"
    row = conn.execute(f"SELECT count(*), {FINGERPRINT_FUNCTION}({args}) "
                       f"FROM {q(schema)}.{q(table)}").fetchone()
    return row[1] if row[0] else "0" * 16


def take_snapshot(conn: sqlite3.Connection, *, label: str = "", fingerprint: bool = True,
                  schema: str = "main", shown_fingerprints: bool = False, exact_fingerprints: bool = True,
                  redactor: Redactor | None = None) -> Snapshot:
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
    """
    shown = fingerprint and shown_fingerprints
    masked = _masked_columns(conn, redactor, schema) if shown else None
    tables = tuple(_table_info(conn, name, fingerprint, schema, masked, exact_fingerprints or not shown)
                   for name in user_tables(conn, schema))
    if shown and masked is None:  # lineage unknown: print no fingerprint rather than one over a secret
        tables = tuple(replace(t, shown_fingerprint=None) for t in tables)
    master = conn.execute(f"SELECT type, name, tbl_name, sql FROM {q(schema)}.sqlite_master "
                          f"WHERE type IN ('trigger', 'view') ORDER BY name").fetchall()
    triggers = tuple(TriggerInfo(n, t, s or "") for kind, n, t, s in master if kind == "trigger")
    views = tuple(ViewInfo(n, s or "") for kind, n, _t, s in master if kind == "view")
    indexes = tuple(ix for t in tables for ix in _indexes(conn, t.name, schema))
    return Snapshot(label=label, taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    tables=tables, indexes=indexes, triggers=triggers, views=views)


def _masked_columns(conn: sqlite3.Connection, redactor: Redactor | None, schema: str) -> dict[str, set[str]] | None:
    """Map each table (lower case) to its masked columns (lower case), by name and lineage (None: unknown)."""
    from lightnb.inspect.lineage import derived_columns
    from lightnb.inspect.redact import DEFAULT_REDACTOR

    try:
        pairs = derived_columns(conn, redactor or DEFAULT_REDACTOR, schema)
    except sqlite3.Error:
        return None
    out: dict[str, set[str]] = {}
    for table, column in pairs:
        out.setdefault(table.lower(), set()).add(column.lower())
    return out


def _table_info(conn: sqlite3.Connection, name: str, fingerprint: bool, schema: str,
                masked: dict[str, set[str]] | None = None, exact: bool = True) -> TableInfo:
    sql, rootpage = conn.execute(
        f"SELECT sql, rootpage FROM {q(schema)}.sqlite_master WHERE type = 'table' AND name = ?",
        (name,)).fetchone()
    cols = read_columns(conn, name, schema)
    count = conn.execute(f"SELECT count(*) FROM {q(schema)}.{q(name)}").fetchone()[0]
    hidden = (masked or {}).get(name.lower(), set())
    left_out = tuple(c.name for c in cols if c.name.lower() in hidden)
    fp = shown = None
    if fingerprint:
        every = [c.name for c in cols]
        if left_out and not exact and masked is not None:
            shown = table_fingerprint(conn, name, [c for c in every if c not in left_out], schema=schema)
        elif left_out:
            fp, shown = split_fingerprint(conn, name, [c for c in every if c not in left_out], list(left_out),
                                          schema=schema)
        else:
            fp = table_fingerprint(conn, name, every, schema=schema)
            shown = fp if masked is not None else None
    return TableInfo(name=name, columns=cols, sql=sql or "", without_rowid=_without_rowid(conn, name, schema),
                     rootpage=rootpage or 0, row_count=count, fingerprint=fp,
                     foreign_keys=_foreign_keys(conn, name, schema), shown_fingerprint=shown,
                     masked_columns=left_out)


def read_columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> tuple[ColumnInfo, ...]:
    """Return the visible columns of ``table`` in table order."""
    return tuple(ColumnInfo(name=c[1], type=c[2] or "", notnull=bool(c[3]), default=c[4], pk=c[5])
                 for c in table_columns(conn, table, schema))


def read_foreign_keys(conn: sqlite3.Connection, table: str, schema: str = "main") -> tuple[ForeignKeyInfo, ...]:
    """Return the foreign keys of ``table`` as a snapshot records them."""
    return _foreign_keys(conn, table, schema)


def read_indexes(conn: sqlite3.Connection, table: str, schema: str = "main") -> tuple[IndexInfo, ...]:
    """Return the indexes of ``table`` (sorted by name) as a snapshot records them."""
    return tuple(_indexes(conn, table, schema))


def _without_rowid(conn: sqlite3.Connection, name: str, schema: str) -> bool:
    try:
        conn.execute(f"SELECT _rowid_ FROM {q(schema)}.{q(name)} LIMIT 0")
    except sqlite3.OperationalError:
        return True
    return False


def _foreign_keys(conn: sqlite3.Connection, table: str, schema: str) -> tuple[ForeignKeyInfo, ...]:
    rows = conn.execute(f"PRAGMA {q(schema)}.foreign_key_list({q(table)})").fetchall()
    grouped: dict[int, list[tuple]] = {}
    for r in rows:  # (id, seq, table, from, to, on_update, on_delete, match)
        grouped.setdefault(r[0], []).append(r)
    out = []
    for _id, parts in sorted(grouped.items()):
        parts.sort(key=lambda r: r[1])
        out.append(ForeignKeyInfo(table=table, columns=tuple(p[3] for p in parts), ref_table=parts[0][2],
                                  ref_columns=tuple(p[4] for p in parts), on_update=parts[0][5],
                                  on_delete=parts[0][6]))
    return tuple(out)


def _indexes(conn: sqlite3.Connection, table: str, schema: str) -> list[IndexInfo]:
    out = []
    for _seq, name, unique, origin, partial in conn.execute(
            f"PRAGMA {q(schema)}.index_list({q(table)})").fetchall():
        info = conn.execute(f"PRAGMA {q(schema)}.index_xinfo({q(name)})").fetchall()
        cols = tuple((r[2] if r[2] is not None else "<expr>") for r in info if r[5])
        sql = conn.execute(f"SELECT sql FROM {q(schema)}.sqlite_master WHERE type = 'index' AND name = ?",
                           (name,)).fetchone()
        out.append(IndexInfo(name=name, table=table, columns=cols, unique=bool(unique),
                             partial=bool(partial), origin=origin, sql=sql[0] if sql else None))
    return sorted(out, key=lambda i: i.name)
