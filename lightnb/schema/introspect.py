"""diesel print-schema's view of a SQLite catalogue: its tables, types, keys and joinables.

Mirrors diesel_cli's ``infer_schema_internals/sqlite.rs`` and ``inference.rs`` (diesel_spec.md
§4.2–§4.8) over the :mod:`lightnb.catalog` records the SQLite backend reads: diesel's own filter
of table names (``__%`` and ``sqlite%`` left out), its order, its rowid fallback and its reading of
``pragma_table_list`` are kept here, quirks included, because the printed bytes must be diesel's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from lightnb.backends import sqlite
from lightnb.catalog import Catalog
from lightnb.errors import DatabaseError, with_advice
from lightnb.schema.config import PrintSchemaOptions
from lightnb.schema.inference import table_groups
from lightnb.schema.model import Column, ForeignKey, Schema, SchemaError, Table
from lightnb.schema.naming import column_rust_name, joinable_column_name, table_rust_name

_ROWID_NAMES = ("rowid", "oid", "_rowid_")
_BIGINT_MIN_SQLITE = (3, 37, 0)


@dataclass(frozen=True, slots=True)
class _RawColumn:
    name: str
    declared_type: str
    notnull: bool
    pk: bool


def diesel_table_names(catalog: Catalog) -> list[str]:
    """Return the tables diesel's print-schema lists, in its order (diesel_cli sqlite.rs ``load_table_names``).

    Its filter is ``NOT LIKE '\\_\\_%' AND NOT LIKE 'sqlite%'`` (LIKE is ASCII case-insensitive), its
    order SQLite's byte order of the names.
    """
    return [t.name for t in catalog.tables if not t.name.startswith("__") and not t.name.lower().startswith("sqlite")]


class _Catalogue:
    """diesel's view of the catalogue: its table names, columns as ``table_xinfo`` lists them, keys."""

    def __init__(self, catalog: Catalog) -> None:
        unreadable = [t for t in catalog.tables if t.unreadable is not None]
        if unreadable:  # diesel reads every table's columns in one query, which then fails whole
            raise DatabaseError(with_advice(f"Failed to execute a database query: {unreadable[0].unreadable}",
                                            "check that the database is a readable SQLite file"))
        self.catalog = catalog
        self.names = diesel_table_names(catalog)
        self._listed = set(self.names)
        self._primary_keys: dict[str, tuple[str, ...]] = {}
        self.rowid_fallback = True

    def columns(self, table: str) -> list[_RawColumn]:
        """Return ``PRAGMA table_xinfo`` rows of ``table`` (any spelling SQLite accepts)."""
        found = self.catalog.table(table)
        if found is None:
            return []
        return [_RawColumn(c.name, c.type, c.notnull, bool(c.pk)) for c in found.columns]

    def foreign_key_rows(self, table: str) -> list[tuple[str, str, str | None]]:
        """Return ``(parent, column, referenced column)`` rows of ``table``'s keys, in SQLite's ``id`` order.

        SQLite numbers the last declared key 0 (the catalogue keeps declared order).
        """
        found = self.catalog.table(table)
        keys = reversed(found.foreign_keys) if found is not None and table in self._listed else ()
        return [(fk.ref_table, column, target) for fk in keys for column, target in zip(fk.columns, fk.ref_columns)]

    def primary_key(self, table: str) -> tuple[str, ...]:
        """Return the primary key, falling back to rowid/oid/_rowid_ (diesel_spec.md §4.3; 2.2.0+)."""
        if table not in self._primary_keys:
            columns = self.columns(table)
            key = tuple(c.name for c in columns if c.pk)
            if not key and self.rowid_fallback:
                names = {c.name for c in columns}
                key = next(((n,) for n in _ROWID_NAMES if n not in names), ())
            self._primary_keys[table] = key
        return self._primary_keys[table]

    def is_rowid_table(self, table: str) -> bool:
        """Return whether ``table`` exists (exact name) and is not ``WITHOUT ROWID``.

        diesel asks ``pragma_table_list``, which lists views too (as rowid tables).

        :raises SchemaError: on SQLite before 3.37, which has no ``pragma_table_list``.
        """
        if sqlite.version_info < _BIGINT_MIN_SQLITE:
            raise SchemaError(with_advice(
                f"Parameter `sqlite_integer_primary_key_is_bigint` needs SQLite 3.37 or above. "
                f"Your current SQLite version is {sqlite.version}.",
                "drop the option, or run lightnb with a newer SQLite"))
        found = next((t for t in self.catalog.tables if t.name == table), None)
        if found is not None:
            return not found.without_rowid
        return any(v.name == table for v in self.catalog.views)

    def without_rowid(self, table: str) -> bool:
        """Return whether ``table`` was created ``WITHOUT ROWID`` (False when SQLite cannot tell)."""
        if sqlite.version_info < _BIGINT_MIN_SQLITE:
            return False
        return table in self._listed and not self.is_rowid_table(table)


def sql_type(declared: str) -> str:
    """Map a declared SQLite type to diesel's SQL type (diesel_spec.md §4.5), nullability aside.

    :raises SchemaError: for a type diesel cannot map.
    """
    t = declared.lower()
    if t == "generated always":  # what old SQLite reported for a typeless generated column
        t = ""
    if t in ("boolean", "bool") or ("tiny" in t and "int" in t):
        return "Bool"
    if t == "int2" or ("small" in t and "int" in t):
        return "SmallInt"
    if t == "int8" or ("big" in t and "int" in t):
        return "BigInt"
    if "int" in t:
        return "Integer"
    if any(word in t for word in ("char", "clob", "text")):
        return "Text"
    if "blob" in t or "binary" in t or t == "":
        return "Binary"
    if "float" in t or "real" in t:
        return "Float"
    if any(word in t for word in ("double", "num", "dec")):
        return "Double"
    if t in ("datetime", "timestamp"):
        return "Timestamp"
    if t in ("date", "time"):
        return t.capitalize()
    raise SchemaError(with_advice(f"Unsupported type: `{t}`", "declare the column with a type diesel can map "
                                  "(INTEGER, TEXT, REAL, BLOB, BOOLEAN, TIMESTAMP …)"))


def foreign_keys(catalogue: _Catalogue, style: str) -> list[ForeignKey]:
    """Return every foreign-key record of every table, sorted (diesel_spec.md §4.7 steps 1–3)."""
    records = []
    for child in catalogue.names:
        for parent, column, target in catalogue.foreign_key_rows(child):
            referenced = (target,) if target is not None else catalogue.primary_key(parent)
            records.append(ForeignKey(child, parent, column, referenced, table_rust_name(child, style),
                                      table_rust_name(parent, style), joinable_column_name(column, style)))
    return sorted(records, key=ForeignKey.sort_key)


class _TypeMapper:
    """Per-table column type rules, including ``sqlite_integer_primary_key_is_bigint``."""

    def __init__(self, catalogue: _Catalogue, options: PrintSchemaOptions,
                 records: list[ForeignKey]) -> None:
        self.catalogue = catalogue
        self.options = options
        self.by_column: dict[str, dict[str, ForeignKey]] = defaultdict(dict)
        for record in records:  # keyed by the joinable name; the last sorted record wins
            self.by_column[record.child_table][record.column_rust] = record

    def map(self, table: str, column: _RawColumn, primary_key: tuple[str, ...]) -> str:
        base = sql_type(column.declared_type)
        # the option exists since 2.2.0 (diesel_spec.md §7)
        if base != "Integer" or not self.options.integer_primary_key_is_bigint or self.options.style == "2.1":
            return base
        if self._is_rowid_alias(table, column, primary_key) or self._references_rowid(table, column):
            return "BigInt"
        return base

    def _is_rowid_alias(self, table: str, column: _RawColumn, primary_key: tuple[str, ...]) -> bool:
        return (column.declared_type.lower() == "integer" and primary_key == (column.name,)
                and self.catalogue.is_rowid_table(table))

    def _references_rowid(self, table: str, column: _RawColumn) -> bool:
        # 2.3.0+: a foreign key to a rowid table is BigInt too (diesel_spec.md §4.5).
        if self.options.style != "2.3":
            return False
        record = self.by_column[table].get(column.name)
        if record is None:
            return False
        return (len(self.catalogue.primary_key(record.parent_table)) == 1
                and self.catalogue.is_rowid_table(record.parent_table))


def _table(catalogue: _Catalogue, name: str, mapper: _TypeMapper, records: list[ForeignKey],
           options: PrintSchemaOptions) -> Table:
    style = options.style
    rust = table_rust_name(name, style)
    raw = catalogue.columns(name)
    primary_key = catalogue.primary_key(name)
    if not primary_key and style == "2.1":  # 2.1 knew no rowid fallback, nor backticks here
        raise SchemaError(with_advice(f"Diesel only supports tables with primary keys. Table {rust} has no primary key",
                                      "diesel 2.1 needs an explicit PRIMARY KEY (2.2+ falls back to rowid)"))
    if not primary_key:
        raise SchemaError(with_advice(f"Diesel only supports tables with primary keys. Table `{rust}` has no "
                                      f"primary key", "its columns rowid, oid and _rowid_ hide the implicit rowid; "
                                                      "declare a PRIMARY KEY"))
    columns = [Column(c.name, column_rust_name(c.name, rust, style), mapper.map(name, c, primary_key),
                      not c.notnull, c.declared_type) for c in raw]
    if len(primary_key) == 1 and all(c.name != primary_key[0] for c in raw):
        implicit = _RawColumn(primary_key[0], "Integer", True, True)
        columns.insert(0, Column(implicit.name, column_rust_name(implicit.name, rust, style),
                                 mapper.map(name, implicit, primary_key), False, "Integer", implicit=True))
    if options.column_sorting == "name":
        columns.sort(key=lambda c: c.sql_name)
    own = tuple(r for r in records if r.child_table == name)
    return Table(name, rust, primary_key, tuple(columns), own, catalogue.without_rowid(name))


def _joinables(catalogue: _Catalogue, records: list[ForeignKey], selected: set[str]) -> list[ForeignKey]:
    """Keep the records that become ``joinable!`` lines (diesel_spec.md §4.7 step 4)."""
    pairs: dict[frozenset[str], int] = defaultdict(int)
    for record in records:
        pairs[frozenset((record.child_table, record.parent_table))] += 1
    kept = []
    for record in records:
        parent_key = catalogue.primary_key(record.parent_table)
        if (record.parent_table != record.child_table
                and record.parent_table in selected and record.child_table in selected
                and len(parent_key) == 1 and parent_key[0] == record.parent_columns[0]
                and pairs[frozenset((record.child_table, record.parent_table))] == 1):
            kept.append(record)
    return kept


def introspect(catalog: Catalog, options: PrintSchemaOptions | None = None) -> Schema:
    """Read what one print-schema configuration renders from a SQLite catalogue: tables, joinables, groups.

    :raises SchemaError: for an unsupported type, a table without usable primary key, or a schema name.
    :raises DatabaseError: when the catalogue could not be read whole.
    """
    options = options or PrintSchemaOptions()
    if options.schema is not None:
        raise SchemaError(with_advice("sqlite cannot infer schema for databases other than the main database",
                                      "remove `schema` from diesel.toml, or --schema"))
    catalogue = _Catalogue(catalog)
    catalogue.rowid_fallback = options.style != "2.1"
    records = foreign_keys(catalogue, options.style)
    mapper = _TypeMapper(catalogue, options, records)
    selected = [name for name in catalogue.names if options.filter.keeps(name)]
    tables = [_table(catalogue, name, mapper, records, options) for name in selected]
    joinables = _joinables(catalogue, records, set(selected))
    groups = table_groups(tables, joinables, options.allow_tables)
    return Schema(tuple(tables), tuple(joinables), tuple(groups), tuple(catalogue.names))


def introspect_tables(catalog: Catalog, options: PrintSchemaOptions | None = None) -> list[Table]:
    """Return the tables print-schema would render, with columns, types, keys and foreign keys.

    :raises SchemaError: for an unsupported type or a table without usable primary key.
    """
    return list(introspect(catalog, options).tables)
