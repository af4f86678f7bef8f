"""The catalogue of a database: one set of frozen records every backend fills and every step reads.

Tables with their columns (hidden and generated ones included), indexes and foreign keys; triggers;
views. :mod:`lightnb.backends.sqlite.catalog` fills them from SQLite's catalogue and
:mod:`lightnb.backends.postgres.records` from PostgreSQL's; snapshots, lint, print-schema, inspect
and models all read these records, never the catalogue tables themselves.

Which tables are the user's is decided here, once: a backend leaves out its own internals
(SQLite's ``sqlite_*`` tables), and the migration bookkeeping — diesel's
``__diesel_schema_migrations`` and lightnb's ``__lightnb_*`` sidecars — is in the catalogue (a
reversibility proof compares it too) but not among :attr:`Catalog.user_tables`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lightnb.layout import BOOKKEEPING_PREFIX, TRACKING_TABLE  # defined beside lightnb's other names

# ``hidden`` as SQLite's ``PRAGMA table_xinfo`` numbers it (PostgreSQL fills 0 and STORED).
VISIBLE, HIDDEN, GENERATED_VIRTUAL, GENERATED_STORED = 0, 1, 2, 3


def is_bookkeeping(name: str) -> bool:
    """Tell whether a table is migration bookkeeping (diesel's tracking table, lightnb's ``__lightnb_*``
    sidecars) rather than the user's data; names are compared without regard to case."""
    lowered = (name or "").lower()
    return lowered == TRACKING_TABLE or lowered.startswith(BOOKKEEPING_PREFIX)


def is_user_table(name: str) -> bool:
    """Tell whether a table of the catalogue holds the user's data (it is not bookkeeping)."""
    return not is_bookkeeping(name)


def primary_key_of(columns: Iterable[Column]) -> tuple[str, ...]:
    """Return the primary-key columns among ``columns``, in key order."""
    return tuple(c.name for c in sorted((c for c in columns if c.pk), key=lambda c: c.pk))


@dataclass(frozen=True, slots=True)
class Column:
    """One column.

    :param name: its name.
    :param type: the declared type, verbatim (``""`` when none was declared).
    :param notnull: whether it is ``NOT NULL``.
    :param default: the default's SQL text, or None (PostgreSQL: a generated column's expression).
    :param pk: its position in the primary key, from 1 (0: not in it).
    :param hidden: :data:`VISIBLE`, :data:`HIDDEN` (a virtual table's hidden column),
        :data:`GENERATED_VIRTUAL` or :data:`GENERATED_STORED`.
    :param identity: ``ALWAYS`` or ``BY DEFAULT`` for an identity column (PostgreSQL), else ``""``.
    """

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int = VISIBLE
    identity: str = ""

    @property
    def generated(self) -> bool:
        """Return whether the column is computed (``GENERATED ALWAYS AS``)."""
        return self.hidden in (GENERATED_VIRTUAL, GENERATED_STORED)

    @property
    def visible(self) -> bool:
        """Return whether ``SELECT *`` shows the column (every column but a virtual table's hidden ones)."""
        return self.hidden != HIDDEN


@dataclass(frozen=True, slots=True)
class Index:
    """One index of a table.

    :param columns: its columns in key order (``<expr>`` for an expression).
    :param partial: whether it has a ``WHERE`` clause.
    :param origin: ``c`` (``CREATE INDEX``), ``u`` (a ``UNIQUE`` constraint) or ``pk`` (the primary key).
    :param sql: the ``CREATE INDEX`` text, None for an index a constraint made.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    partial: bool
    origin: str
    sql: str | None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """One foreign key of a table (all its columns).

    :param ref_columns: the referenced columns, None where the key names none (the parent's primary key).
    """

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str | None, ...]
    on_update: str
    on_delete: str


@dataclass(frozen=True, slots=True)
class Trigger:
    """One trigger, the table it is on, and the SQL that created it."""

    name: str
    table: str
    sql: str


@dataclass(frozen=True, slots=True)
class View:
    """One view and the SQL that created it."""

    name: str
    sql: str

    @property
    def table(self) -> str:
        """The name the catalogue files the view under: its own."""
        return self.name


@dataclass(frozen=True, slots=True)
class Table:
    """One table and everything its definition holds.

    :param sql: the ``CREATE TABLE`` text (SQLite), or ``""`` where the catalogue keeps none.
    :param foreign_keys: in the order the definition declares them.
    :param indexes: sorted by name.
    :param rootpage: where its rows are stored (SQLite): the same through a rename, new after a rebuild.
    :param virtual: a virtual table (its rows live in shadow tables, or outside the database).
    :param unreadable: why its columns, keys and indexes could not be read (a virtual table whose
        module the reading library lacks), else None.
    """

    name: str
    sql: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    without_rowid: bool = False
    rootpage: int = 0
    virtual: bool = False
    unreadable: str | None = None

    def column(self, name: str) -> Column | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((c for c in self.columns if c.name.lower() == wanted), None)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """The primary-key columns in key order (empty when the key is the rowid)."""
        return primary_key_of(self.columns)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The schema of a database at one moment: tables (bookkeeping included), triggers and views.

    Tables, triggers and views are each sorted by name.
    """

    tables: tuple[Table, ...]
    triggers: tuple[Trigger, ...] = ()
    views: tuple[View, ...] = ()
    _by_name: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> Table | None:
        """Return the table called ``name`` (case-insensitive), or None."""
        if not self._by_name and self.tables:
            self._by_name.update((t.name.lower(), t) for t in reversed(self.tables))
        return self._by_name.get(name.lower())

    @property
    def table_names(self) -> tuple[str, ...]:
        """The names of every table, sorted."""
        return tuple(t.name for t in self.tables)

    @property
    def user_tables(self) -> tuple[Table, ...]:
        """The tables that hold the user's data: every table but the migration bookkeeping."""
        return tuple(t for t in self.tables if is_user_table(t.name))

    def without_bookkeeping(self) -> Catalog:
        """Return the catalogue of the user's tables only (triggers and views kept)."""
        return Catalog(self.user_tables, self.triggers, self.views)

    @property
    def indexes(self) -> tuple[Index, ...]:
        """Every index of every table, table by table."""
        return tuple(i for t in self.tables for i in t.indexes)

    def indexes_of(self, table: str) -> tuple[Index, ...]:
        """The indexes of ``table`` (case-insensitive)."""
        found = self.table(table)
        return found.indexes if found is not None else ()

    def triggers_of(self, table: str) -> tuple[Trigger, ...]:
        """The triggers on ``table`` (case-insensitive)."""
        wanted = table.lower()
        return tuple(t for t in self.triggers if t.table.lower() == wanted)


__all__ = ["BOOKKEEPING_PREFIX", "Catalog", "Column", "ForeignKey", "GENERATED_STORED", "GENERATED_VIRTUAL",
           "HIDDEN", "Index", "TRACKING_TABLE", "Table", "Trigger", "VISIBLE", "View", "is_bookkeeping",
           "is_user_table", "primary_key_of"]
