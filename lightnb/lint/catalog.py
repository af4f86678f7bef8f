"""Read SQLite's catalogue into small frozen records (tables, columns, keys, indexes, triggers, views).

Foreign keys and indexes are read by :mod:`lightnb.inspect.snapshot` (the same records a snapshot
holds); columns keep ``PRAGMA table_xinfo``'s ``hidden`` flag, which generated columns need.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from lightnb.inspect.snapshot import ForeignKeyInfo, IndexInfo, read_foreign_keys, read_indexes
from lightnb.runner import is_bookkeeping



@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column as ``PRAGMA table_xinfo`` describes it (type and default verbatim)."""

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int = 0


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One table with everything a rebuild or a rule needs."""

    name: str
    sql: str
    columns: tuple[ColumnInfo, ...]
    foreign_keys: tuple[ForeignKeyInfo, ...]
    indexes: tuple[IndexInfo, ...]
    without_rowid: bool = False

    def column(self, name: str) -> ColumnInfo | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((c for c in self.columns if c.name.lower() == wanted), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Return the primary-key column names in key order."""
        return tuple(c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk))


@dataclass(frozen=True, slots=True)
class SchemaObject:
    """A trigger or a view: name, the table it is attached to, and its SQL."""

    name: str
    table: str
    sql: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """The user-visible schema of a database at one moment (internal tables left out)."""

    tables: tuple[TableInfo, ...]
    triggers: tuple[SchemaObject, ...]
    views: tuple[SchemaObject, ...]

    def table(self, name: str) -> TableInfo | None:
        """Return the table called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((t for t in self.tables if t.name.lower() == wanted), None)


def quote(name: str) -> str:
    """Quote an identifier for SQLite."""
    return '"' + name.replace('"', '""') + '"'


def read_catalog(conn: sqlite3.Connection) -> Catalog:
    """Read the user-visible schema of ``conn``'s main database."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'trigger', 'view') "
        "ORDER BY type, name").fetchall()
    tables, triggers, views = [], [], []
    for kind, name, table, sql in rows:
        if name.lower().startswith("sqlite_") or is_bookkeeping(name):
            continue
        if kind == "table":
            tables.append(read_table(conn, name, sql or ""))
        elif kind == "trigger":
            triggers.append(SchemaObject(name, table, sql or ""))
        else:
            views.append(SchemaObject(name, table, sql or ""))
    return Catalog(tuple(tables), tuple(triggers), tuple(views))


def read_table(conn: sqlite3.Connection, name: str, sql: str | None = None) -> TableInfo:
    """Read one table's columns, foreign keys and indexes."""
    if sql is None:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        sql = row[0] if row else ""
    columns = tuple(
        ColumnInfo(name=r[1], type=r[2] or "", notnull=bool(r[3]), default=r[4], pk=r[5], hidden=r[6])
        for r in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)))
    return TableInfo(name=name, sql=sql or "", columns=columns, foreign_keys=declared_order(read_foreign_keys(conn, name)),
                     indexes=read_indexes(conn, name), without_rowid=_without_rowid(conn, name))


def declared_order(keys: tuple[ForeignKeyInfo, ...]) -> tuple[ForeignKeyInfo, ...]:
    """Return foreign keys in the order the CREATE TABLE declares them (SQLite numbers the last one 0)."""
    return tuple(reversed(keys))


def _without_rowid(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", (table,)).fetchone()
    return bool(row and row[0])


def is_indexed(table: TableInfo, columns: tuple[str, ...]) -> bool:
    """Return True when some index (or the primary key) starts with ``columns``, in any order."""
    wanted = {c.lower() for c in columns}
    width = len(wanted)
    candidates = [tuple(c.lower() for c in i.columns) for i in table.indexes if not i.partial]
    pk = tuple(c.lower() for c in table.primary_key)
    if pk:
        candidates.append(pk)
    return any(len(c) >= width and set(c[:width]) == wanted for c in candidates)
