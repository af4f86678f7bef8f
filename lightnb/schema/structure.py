"""Compare the structure a ``schema.rs`` declares with the database's, whoever wrote the file.

A hand-written schema.rs (teams whose diesel_cli could not print their backend) is not expected to
equal diesel's bytes: its tables come in its own order, with its own comments and joinables. What
must hold is the structure: the same tables, the same columns in the same order, the same SQL
types (diesel's aliases folded: ``Int4`` is ``Integer``, ``Varchar`` is ``Text``), nullability and
primary keys. :func:`compare_structure` names every difference; joinables are reported apart, as
information, because diesel's rules for printing them are narrower than what a team may declare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lightnb.schema.model import Schema, Table

if TYPE_CHECKING:
    from lightnb.models.schema_rs import Schema as SchemaFile
    from lightnb.models.schema_rs import SchemaTable

# diesel/src/sql_types/mod.rs and diesel/src/pg/types/mod.rs (2.3.12): `pub type Alias = Type;`
SQL_TYPE_ALIASES: dict[str, str] = {
    "Tinyint": "TinyInt", "Int2": "SmallInt", "Smallint": "SmallInt", "SmallSerial": "SmallInt",
    "Int4": "Integer", "Serial": "Integer", "Int8": "BigInt", "Bigint": "BigInt", "BigSerial": "BigInt",
    "Float4": "Float", "Float8": "Double", "Decimal": "Numeric",
    "VarChar": "Text", "Varchar": "Text", "Char": "Text", "Tinytext": "Text", "Mediumtext": "Text",
    "Longtext": "Text", "Bpchar": "Text",
    "Tinyblob": "Binary", "Blob": "Binary", "Mediumblob": "Binary", "Longblob": "Binary", "Varbinary": "Binary",
    "Bit": "Binary", "Bytea": "Binary", "Macaddr": "MacAddr", "Macaddr8": "MacAddr8",
    "Int4range": "Range<Integer>", "Int8range": "Range<BigInt>", "Daterange": "Range<Date>",
    "Numrange": "Range<Numeric>", "Tsrange": "Range<Timestamp>", "Tstzrange": "Range<Timestamptz>",
    "Int4multirange": "Multirange<Integer>", "Int8multirange": "Multirange<BigInt>",
    "Datemultirange": "Multirange<Date>", "Nummultirange": "Multirange<Numeric>",
    "Tsmultirange": "Multirange<Timestamp>", "Tstzmultirange": "Multirange<Timestamptz>",
}
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)*)|([<>,()]))")


@dataclass(frozen=True, slots=True)
class SqlTypeShape:
    """A column type with diesel's aliases folded: ``Nullable<Int4>`` is nullable ``Integer``."""

    nullable: bool
    folded: str

    def __str__(self) -> str:
        return f"Nullable<{self.folded}>" if self.nullable else self.folded


def fold_type(text: str) -> SqlTypeShape:
    """Return the type with paths dropped (``diesel::sql_types::Text``) and every alias folded."""
    parts = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # something diesel never prints: compare it as written
            return SqlTypeShape(False, re.sub(r"\s+", "", text))
        name, punctuation = match.groups()
        if name is not None:
            last = re.split(r"\s*::\s*", name)[-1]
            parts.append(SQL_TYPE_ALIASES.get(last, last))
        else:
            parts.append(punctuation)
        position = match.end()
    folded = "".join(parts).replace(",", ", ")
    if folded.startswith("Nullable<") and folded.endswith(">"):
        return SqlTypeShape(True, folded[len("Nullable<"):-1])
    return SqlTypeShape(False, folded)


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """A column present on both sides whose type or nullability differs."""

    column: str
    in_file: SqlTypeShape
    in_database: SqlTypeShape


@dataclass(frozen=True, slots=True)
class TableDrift:
    """How one table of schema.rs differs from the database's.

    :param columns_only_in_file: columns schema.rs declares that the database lacks.
    :param columns_only_in_database: columns of the database schema.rs lacks.
    :param order: (file order, database order) of the shared columns, when they differ.
    :param types: shared columns whose SQL type differs (aliases folded).
    :param nullability: shared columns nullable on one side only.
    :param primary_key: (file, database) primary keys, when they differ.
    """

    table: str
    columns_only_in_file: tuple[str, ...] = ()
    columns_only_in_database: tuple[str, ...] = ()
    order: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    types: tuple[ColumnDrift, ...] = ()
    nullability: tuple[ColumnDrift, ...] = ()
    primary_key: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def order_window(self) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
        """Return where the shared columns' orders part: (last column both agree on first, file's, database's)."""
        if self.order is None:
            return None, (), ()
        in_file, in_db = self.order
        start = 0
        while in_file[start] == in_db[start]:
            start += 1
        end = len(in_file)
        while in_file[end - 1] == in_db[end - 1]:
            end -= 1
        return (in_file[start - 1] if start else None), in_file[start:end], in_db[start:end]

    @property
    def drifts(self) -> bool:
        return bool(self.columns_only_in_file or self.columns_only_in_database or self.order or self.types
                    or self.nullability or self.primary_key)

    def lines(self, name: str) -> list[str]:
        """Return one readable line per difference."""
        t = self.table
        out = [f"{t}.{c}: column is in {name} but not in the database" for c in self.columns_only_in_file]
        out += [f"{t}.{c}: column is in the database but missing from {name}" for c in self.columns_only_in_database]
        if self.order is not None:
            after, in_file, in_db = self.order_window()
            where = f"after `{after}`" if after is not None else "from the first column"
            out.append(f"{t}: column order differs {where}: {name} has {', '.join(in_file)}; "
                       f"the database has {', '.join(in_db)}")
        out += [f"{t}.{d.column}: type {d.in_file.folded} in {name}, {d.in_database.folded} in the database"
                for d in self.types]
        out += [f"{t}.{d.column}: {'nullable' if d.in_file.nullable else 'NOT NULL'} in {name}, "
                f"{'nullable' if d.in_database.nullable else 'NOT NULL'} in the database" for d in self.nullability]
        if self.primary_key is not None:
            out.append(f"{t}: primary key ({', '.join(self.primary_key[0])}) in {name}, "
                       f"({', '.join(self.primary_key[1])}) in the database")
        return out


@dataclass(frozen=True, slots=True)
class StructureDrift:
    """Everything that differs between a schema.rs and the database, structurally.

    :param file_tables: how many tables schema.rs declares.
    :param database_tables: how many tables the database has (those print-schema prints).
    """

    tables_only_in_file: tuple[str, ...]
    tables_only_in_database: tuple[str, ...]
    tables: tuple[TableDrift, ...]
    joinables_only_in_file: tuple[tuple[str, str, str], ...] = ()
    joinables_only_in_database: tuple[tuple[str, str, str], ...] = ()
    file_tables: int = 0
    database_tables: int = 0
    name: str = field(default="schema.rs")

    @property
    def in_sync(self) -> bool:
        """Return whether tables, columns, order, types, nullability and primary keys all agree."""
        return not (self.tables_only_in_file or self.tables_only_in_database or self.tables)

    def table(self, name: str) -> TableDrift | None:
        """Return the drift of one table (None when it agrees or is on one side only)."""
        return next((t for t in self.tables if t.table == name), None)

    def lines(self) -> list[str]:
        """Return one readable line per difference, joinables last (marked as information)."""
        n = self.name
        out = [f"table `{t}` is in {n} but not in the database" for t in self.tables_only_in_file]
        out += [f"table `{t}` is in the database but missing from {n}" for t in self.tables_only_in_database]
        for table in self.tables:
            out += table.lines(n)
        out += [f"note: joinable `{c} -> {p} ({col})` is in {n} but the database has no foreign key diesel "
                f"would print it from" for c, p, col in self.joinables_only_in_file]
        out += [f"note: joinable `{c} -> {p} ({col})` follows from the database's foreign keys but is missing "
                f"from {n}" for c, p, col in self.joinables_only_in_database]
        return out

    def __str__(self) -> str:
        if self.in_sync:
            return f"{self.name}: tables, columns, types, nullability and primary keys match the database"
        return "\n".join(self.lines())


def _order(file_names: list[str], db_names: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    shared = set(file_names) & set(db_names)
    in_file = tuple(c for c in file_names if c in shared)
    in_db = tuple(c for c in db_names if c in shared)
    return None if in_file == in_db else (in_file, in_db)


def _table_drift(file_table: SchemaTable, table: Table) -> TableDrift:
    file_columns = {c.sql_name: c for c in file_table.columns}
    db_columns = {c.sql_name: c for c in table.columns}
    types, nullability = [], []
    for column in table.columns:
        other = file_columns.get(column.sql_name)
        if other is None:
            continue
        in_file, in_db = fold_type(other.type_text), fold_type(column.diesel_type)
        if in_file.folded != in_db.folded:
            types.append(ColumnDrift(column.sql_name, in_file, in_db))
        elif in_file.nullable != in_db.nullable:
            nullability.append(ColumnDrift(column.sql_name, in_file, in_db))
    key = None
    if tuple(file_table.primary_key) != table.primary_key_rust:
        key = (tuple(file_table.primary_key), table.primary_key_rust)
    return TableDrift(
        table.sql_name,
        columns_only_in_file=tuple(c.sql_name for c in file_table.columns if c.sql_name not in db_columns),
        columns_only_in_database=tuple(c.sql_name for c in table.columns if c.sql_name not in file_columns),
        order=_order([c.sql_name for c in file_table.columns], [c.sql_name for c in table.columns]),
        types=tuple(types), nullability=tuple(nullability), primary_key=key)


def compare_structure(file: str | SchemaFile, schema: Schema, name: str = "schema.rs") -> StructureDrift:
    """Compare a schema.rs (text or parsed) with the database's schema records, structurally.

    Tables are matched by SQL name, columns by SQL name (``#[sql_name]`` honoured); table order and
    doc comments are not compared.
    """
    from lightnb.models.schema_rs import parse_schema  # the Rust reader loads only when a file is compared
    parsed = parse_schema(file, strict=False) if isinstance(file, str) else file
    db_tables = {t.sql_name: t for t in schema.tables}
    file_tables = {t.sql_name: t for t in parsed.tables}
    drifts = [_table_drift(file_tables[t.sql_name], t) for t in schema.tables if t.sql_name in file_tables]
    db_joinables = {(j.child_rust, j.parent_rust, j.column_rust) for j in schema.joinables}
    file_joinables = {j.key for j in parsed.joinables}
    return StructureDrift(
        tables_only_in_file=tuple(t.sql_name for t in parsed.tables if t.sql_name not in db_tables),
        tables_only_in_database=tuple(t.sql_name for t in schema.tables if t.sql_name not in file_tables),
        tables=tuple(d for d in drifts if d.drifts),
        joinables_only_in_file=tuple(sorted(file_joinables - db_joinables)),
        joinables_only_in_database=tuple(sorted(db_joinables - file_joinables)),
        file_tables=len(parsed.tables), database_tables=len(schema.tables), name=name)
