"""Read the PostgreSQL catalogue into print-schema's records, with diesel's own queries.

Mirrors diesel_cli 2.3.12 ``infer_schema_internals``: ``information_schema.rs`` (table names,
primary keys), ``pg.rs`` (columns with udt names, nullability, varchar lengths, domains, comments;
table comments; foreign keys through ``load_foreign_keys.sql``), ``inference.rs`` (Rust names) and
``foreign_keys.rs`` (which foreign keys become ``joinable!``). The queries are diesel's, with the same
views, filters and order, run set-wise: one query per kind for all the tables of the schema.

Diesel's quirks are kept on purpose, because the printed bytes must match: the default schema is
``public`` whatever the search_path, comments are looked up through ``'"name"'::regclass`` (so a
table whose name holds a double quote cannot be printed), foreign keys between the same two tables
are grouped into one, and a primary key is any constraint whose *name* belongs to some primary key.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from lightnb.errors import DatabaseError
from lightnb.schema.config import DOCS_NONE, PrintSchemaOptions
from lightnb.schema.inference import table_groups
from lightnb.schema.model import Column, CustomType, ForeignKey, Schema, SchemaError, Table
from lightnb.schema.naming import column_rust_name, table_rust_name, upper_camel_case

DEFAULT_SCHEMA = "public"

# print_schema.rs `pg_diesel_types()`: struct names diesel::sql_types provides (no definition printed).
DIESEL_PG_TYPES = frozenset("""
    Cidr Citext Inet Jsonb MacAddr MacAddr8 Money Oid Range Timestamptz Uuid Json PgLsn Record Interval
    Int4range Int8range Daterange Numrange Tsrange Tstzrange Int4multirange Int8multirange Datemultirange
    Nummultirange Tsmultirange Tstzmultirange SmallSerial BigSerial Serial Bytea Bpchar Macaddr Macaddr8
    Bool Integer SmallInt BigInt Binary Text Double Float Numeric Timestamp Date Time
    Float4 Smallint Int2 Int4 Int8 Bigint Float8 Decimal VarChar Varchar Char Tinytext Mediumtext Longtext
    Tinyblob Blob Mediumblob Longblob Varbinary Bit
""".split())

_TABLE_NAMES = ("SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name NOT LIKE %s AND table_type LIKE 'BASE TABLE'")
_PRIMARY_KEYS = ("SELECT table_name, column_name FROM information_schema.key_column_usage "
                 "WHERE constraint_name IN (SELECT constraint_name FROM information_schema.table_constraints "
                 "WHERE constraint_type = 'PRIMARY KEY') AND table_name = ANY(%s) AND table_schema = %s "
                 "ORDER BY table_name, ordinal_position")
_COLUMNS = ("SELECT table_name, column_name, udt_name, udt_schema, domain_name, domain_schema, is_nullable, "
            "character_maximum_length, col_description((%s || '\"' || table_name || '\"')::regclass, "
            "ordinal_position) FROM information_schema.columns "
            "WHERE table_name = ANY(%s) AND table_schema = %s ORDER BY table_name, {order}")
_TABLE_COMMENTS = ("SELECT name, obj_description((%s || '\"' || name || '\"')::regclass, 'pg_class') "
                   "FROM unnest(%s::text[]) AS name")
# diesel_cli/src/infer_schema_internals/load_foreign_keys.sql, verbatim but for the placeholder.
_FOREIGN_KEYS = """SELECT
   sch.nspname                                   AS "self_schema",
   tbl.relname                                   AS "self_table",
   ARRAY_AGG(col.attname ORDER BY u.attposition) AS "self_columns",
   f_sch.nspname                                 AS "foreign_schema",
   f_tbl.relname                                 AS "foreign_table",
   ARRAY_AGG(f_col.attname ORDER BY f_u.attposition) AS "foreign_columns"
FROM pg_constraint c
       LEFT JOIN LATERAL UNNEST(c.conkey) WITH ORDINALITY AS u(attnum, attposition) ON TRUE
       LEFT JOIN LATERAL UNNEST(c.confkey) WITH ORDINALITY AS f_u(attnum, attposition)
              ON f_u.attposition = u.attposition
       JOIN pg_class tbl ON tbl.oid = c.conrelid
       JOIN pg_namespace sch ON sch.oid = tbl.relnamespace
       LEFT JOIN pg_attribute col ON (col.attrelid = tbl.oid AND col.attnum = u.attnum)
       LEFT JOIN pg_class f_tbl ON f_tbl.oid = c.confrelid
       LEFT JOIN pg_namespace f_sch ON f_sch.oid = f_tbl.relnamespace
       LEFT JOIN pg_attribute f_col ON (f_col.attrelid = f_tbl.oid AND f_col.attnum = f_u.attnum)
WHERE sch.nspname = %(schema)s and f_sch.nspname = %(schema)s and c.contype = 'f'
GROUP BY "self_schema", "self_table", "foreign_schema", "foreign_table"
ORDER BY "self_schema", "self_table";"""


@dataclass(frozen=True, slots=True)
class TableName:
    """diesel's ``TableName``: ordered by SQL name, Rust name, then schema (None first)."""

    sql_name: str
    schema: str | None = None

    @property
    def rust_name(self) -> str:
        return table_rust_name(self.sql_name)

    def key(self) -> tuple[str, str, tuple[int, str]]:
        return (self.sql_name, self.rust_name, (0, "") if self.schema is None else (1, self.schema))


@dataclass(frozen=True, slots=True)
class ForeignKeyConstraint:
    """One row of ``load_foreign_keys.sql``: every foreign key from one table to another, grouped."""

    child: TableName
    parent: TableName
    columns: tuple[str, ...]
    columns_rust: tuple[str, ...]
    parent_columns: tuple[str, ...]

    def key(self) -> tuple[Any, ...]:
        return (self.child.key(), self.parent.key(), self.columns, self.columns_rust, self.parent_columns)

    def ordered_tables(self) -> tuple[Any, Any]:
        """Return (smaller, larger) of the two tables, diesel's key for duplicate relations."""
        first, second = self.parent.key(), self.child.key()
        return (first, second) if first <= second else (second, first)


@dataclass(frozen=True, slots=True)
class ColumnInformation:
    """diesel's ``ColumnInformation`` for PostgreSQL (a row of information_schema.columns)."""

    table: str
    name: str
    type_name: str
    type_schema: str | None
    nullable: bool
    max_length: int | None
    comment: str | None


def _fail(error: psycopg.Error) -> DatabaseError:
    reason = " ".join(str(error).split())
    return DatabaseError(f"Failed to execute a database query: {reason}; check that the URL names the "
                         f"right PostgreSQL database and that its user may read the catalogue.")


class Catalogue:
    """The catalogue of one schema, read once with diesel's queries and answered per table."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str | None) -> None:
        self.conn = conn
        self.schema_name = schema or DEFAULT_SCHEMA
        # TableName.schema: None for the default schema (diesel strips it)
        self.schema = None if self.schema_name == DEFAULT_SCHEMA else self.schema_name
        self.names = sorted(r[0] for r in self._rows(_TABLE_NAMES, (self.schema_name, r"\_\_%")))
        self._primary_keys: dict[str, tuple[str, ...]] | None = None

    def _rows(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        try:
            return list(self.conn.execute(query, params).fetchall())
        except psycopg.Error as error:
            raise _fail(error) from error

    def _regclass_prefix(self) -> str:
        """diesel's ``regclass``: ``"schema"."table"`` outside the default schema, else ``"table"``."""
        return f'"{self.schema}".' if self.schema is not None else ""

    def primary_keys(self) -> dict[str, tuple[str, ...]]:
        """Return the primary-key columns of every table of the schema, in key order."""
        if self._primary_keys is None:
            keys: dict[str, list[str]] = defaultdict(list)
            for table, column in self._rows(_PRIMARY_KEYS, (self.names, self.schema_name)):
                keys[table].append(column)
            self._primary_keys = {name: tuple(columns) for name, columns in keys.items()}
        return self._primary_keys

    def primary_key(self, table: TableName) -> tuple[str, ...]:
        """Return a table's primary key (diesel's ``get_primary_keys``).

        :raises SchemaError: when the table has none, or none the connecting role may see.
        """
        key = self.primary_keys().get(table.sql_name, ())
        if key:
            return key
        shown = f"{table.schema}.{table.rust_name}" if table.schema is not None else table.rust_name
        owned = self._rows("SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c JOIN pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
                           (self.schema_name, table.sql_name))
        if owned and not owned[0][0]:
            raise SchemaError(f"Diesel only supports tables with primary keys. Table `{shown}` shows none to the "
                              f"connecting role, which does not own it (information_schema shows keys to owners "
                              f"only); print the schema as the table's owner.")
        raise SchemaError(f"Diesel only supports tables with primary keys. Table `{shown}` has no primary key; "
                          f"add one (ALTER TABLE … ADD PRIMARY KEY) or leave the table out with --except-tables.")

    def columns(self, tables: Sequence[str], sorting: str,
                domains_as_custom_types: Sequence[str] = ()) -> dict[str, list[ColumnInformation]]:
        """Return diesel's column information of ``tables``, in ordinal or name order.

        A column whose domain matches one of ``domains_as_custom_types`` (unanchored regexes) takes the
        domain as its type; other domain columns take the domain's base type.
        """
        _readable_by_regclass(tables, self.schema)
        order = "column_name" if sorting == "name" else "ordinal_position"
        query = _COLUMNS.replace("{order}", order)
        found: dict[str, list[ColumnInformation]] = defaultdict(list)
        for row in self._rows(query, (self._regclass_prefix(), list(tables), self.schema_name)):
            table, name, udt, udt_schema, domain, domain_schema, is_nullable, max_length, comment = row
            if domain is not None and any(re.search(p, domain) for p in domains_as_custom_types):
                udt, udt_schema = domain, domain_schema
            found[table].append(ColumnInformation(table, name, udt, udt_schema, is_nullable == "YES",
                                                  max_length, comment))
        return found

    def table_comments(self, tables: Sequence[str]) -> dict[str, str | None]:
        """Return each table's comment (``obj_description``), None when it has none."""
        _readable_by_regclass(tables, self.schema)
        return dict(self._rows(_TABLE_COMMENTS, (self._regclass_prefix(), list(tables))))

    def foreign_keys(self) -> list[ForeignKeyConstraint]:
        """Return diesel's foreign-key constraints of the schema, sorted as diesel sorts them."""
        constraints = []
        for self_schema, self_table, columns, foreign_schema, foreign_table, foreign_columns in self._rows(
                _FOREIGN_KEYS, {"schema": self.schema_name}):
            child = TableName(self_table, None if self_schema == DEFAULT_SCHEMA else self_schema)
            parent = TableName(foreign_table, None if foreign_schema == DEFAULT_SCHEMA else foreign_schema)
            columns = tuple(columns)
            constraints.append(ForeignKeyConstraint(
                child, parent, columns, tuple(column_rust_name(c, child.rust_name) for c in columns),
                tuple(c for c in foreign_columns)))
        return sorted(constraints, key=ForeignKeyConstraint.key)


def _readable_by_regclass(tables: Iterable[str], schema: str | None) -> None:
    """Refuse, like diesel, names its unescaped ``'"name"'::regclass`` lookup cannot read."""
    for name in tables:
        if '"' in name or (schema is not None and '"' in schema):
            shown = f"{schema}.{name}" if schema is not None else name
            raise SchemaError(f"Table `{shown}` has a double quote in its name, which diesel print-schema "
                              f"cannot read (its comment lookup fails); rename it, or leave it out with "
                              f"--except-tables.")


def column_type(info: ColumnInformation) -> tuple[CustomType, bool]:
    """Return diesel's type of a column (pg.rs ``determine_column_type``) and whether it is an array.

    ``_name`` is an array of ``name``; the struct name is the type's name in UpperCamelCase; the
    type's schema is kept unless it is the default schema.
    """
    array = info.type_name.startswith("_")
    base = info.type_name[1:] if array else info.type_name
    schema = None if info.type_schema == DEFAULT_SCHEMA else info.type_schema
    return CustomType(base, upper_camel_case(base), schema), array


def joinables(constraints: Sequence[ForeignKeyConstraint], selected: Sequence[TableName],
              primary_key: Callable[[TableName], tuple[str, ...]]) -> list[ForeignKey]:
    """Return the foreign keys that become ``joinable!`` lines (foreign_keys.rs
    ``remove_unsafe_foreign_keys_for_codegen``): both tables printed, not self-referencing, one column,
    pointing at the parent's single-column primary key, and the only relation between the two tables.
    """
    relations: dict[tuple[Any, Any], int] = defaultdict(int)
    for constraint in constraints:
        relations[constraint.ordered_tables()] += 1
    printed = {t.key() for t in selected}
    kept = []
    for fk in constraints:
        if fk.parent.key() == fk.child.key() or fk.parent.key() not in printed or fk.child.key() not in printed:
            continue
        if len(fk.columns) != 1:
            continue
        parent_key = primary_key(fk.parent)
        if len(parent_key) != 1 or fk.parent_columns[:1] != parent_key[:1]:
            continue
        if relations[fk.ordered_tables()] > 1:
            continue
        kept.append(ForeignKey(fk.child.sql_name, fk.parent.sql_name, fk.columns[0], fk.parent_columns,
                               fk.child.rust_name, fk.parent.rust_name, fk.columns_rust[0]))
    return kept


def _column_records(table: TableName, constraints: Sequence[ForeignKeyConstraint]) -> tuple[ForeignKey, ...]:
    """Return one record per referencing column of the table's foreign keys (composite ones included)."""
    records = []
    for fk in constraints:
        if fk.child != table:
            continue
        for column, rust, parent_column in zip(fk.columns, fk.columns_rust, fk.parent_columns):
            records.append(ForeignKey(fk.child.sql_name, fk.parent.sql_name, column, (parent_column,),
                                      fk.child.rust_name, fk.parent.rust_name, rust))
    return tuple(records)


def _column(info: ColumnInformation, table: TableName, options: PrintSchemaOptions,
            warnings: list[str]) -> Column:
    sql_type, array = column_type(info)
    if array and sql_type.sql_name.lower() in ("varchar", "citext"):  # pg.rs prints this on stderr
        warnings.append(f"The column `{info.name}` is of type `{sql_type.sql_name}[]`. This will cause problems "
                        f"when using Diesel. You should consider changing the column type to `text[]`.")
    custom = None
    if (options.generate_missing_sql_type_definitions and sql_type.rust_name not in DIESEL_PG_TYPES
            and not any(re.search(p, sql_type.rust_name) for p in options.except_custom_type_definitions)):
        custom = sql_type
    return Column(info.name, column_rust_name(info.name, table.rust_name), sql_type.rust_name, info.nullable,
                  info.type_name, array=array, max_length=info.max_length, comment=info.comment,
                  custom_type=custom)


def read_schema(conn: psycopg.Connection[Any], options: PrintSchemaOptions | None = None) -> Schema:
    """Read what one print-schema configuration renders for a PostgreSQL database.

    :raises SchemaError: for a printed table without primary key, or a name diesel cannot read.
    :raises DatabaseError: when a catalogue query fails.
    """
    options = options or PrintSchemaOptions()
    catalogue = Catalogue(conn, options.schema)
    selected = [TableName(n, catalogue.schema) for n in catalogue.names if options.filter.keeps(n)]
    constraints = catalogue.foreign_keys()
    kept = joinables(constraints, selected, catalogue.primary_key)
    names = [t.sql_name for t in selected]
    comments = catalogue.table_comments(names) if options.with_docs != DOCS_NONE and names else {}
    infos = catalogue.columns(names, options.column_sorting, options.pg_domains_as_custom_types) if names else {}
    warnings: list[str] = []
    tables = []
    for name in selected:
        primary_key = catalogue.primary_key(name)
        columns = tuple(_column(info, name, options, warnings) for info in infos.get(name.sql_name, ()))
        tables.append(Table(name.sql_name, name.rust_name, primary_key, columns, _column_records(name, constraints),
                            schema=name.schema, comment=comments.get(name.sql_name)))
    groups = table_groups(tables, kept, options.allow_tables)
    return Schema(tuple(tables), tuple(kept), tuple(groups), tuple(catalogue.names), module=options.schema,
                  warnings=tuple(warnings))
