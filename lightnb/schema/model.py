"""Schema records: what print-schema knows about tables, columns and foreign keys.

Mirrors diesel_cli's ``infer_schema_internals/data_structures.rs``. SQLite fills the common fields;
PostgreSQL also fills schemas, comments, arrays, ``max_length`` and custom SQL types.
"""

from __future__ import annotations

from dataclasses import dataclass

from lightnb.errors import LightnbError


class SchemaError(LightnbError):
    """The database holds something diesel print-schema cannot express (type, primary key)."""


@dataclass(frozen=True, slots=True)
class CustomType:
    """A SQL type diesel does not provide, defined in ``pub mod sql_types`` (PostgreSQL enums, domains …).

    :param sql_name: the type's name in the database, e.g. ``my_enum``.
    :param rust_name: the struct's name, e.g. ``MyEnum``.
    :param schema: the type's schema when it is not the default schema (``public``), else None.
    """

    sql_name: str
    rust_name: str
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """One column as print-schema renders it.

    :param sql_name: the name in the database.
    :param rust_name: the identifier in ``table!`` (differs for reserved or unmappable names).
    :param sql_type: diesel's SQL type without nullability or array, e.g. ``Text``, ``Int4``.
    :param nullable: whether the type is wrapped in ``Nullable<…>``.
    :param declared_type: the type as declared in SQLite (``""`` when none); PostgreSQL's udt name.
    :param implicit: True for the ``rowid`` column diesel adds to tables without a primary key.
    :param array: whether the type is ``Array<Nullable<…>>`` (PostgreSQL arrays).
    :param max_length: the declared length of a ``varchar(N)`` / ``char(N)``, printed as ``#[max_length]``.
    :param comment: the database comment of the column (PostgreSQL), or None.
    :param custom_type: the definition print-schema generates for this column's type, or None.
    """

    sql_name: str
    rust_name: str
    sql_type: str
    nullable: bool
    declared_type: str = ""
    implicit: bool = False
    array: bool = False
    max_length: int | None = None
    comment: str | None = None
    custom_type: CustomType | None = None

    @property
    def diesel_type(self) -> str:
        """Return the rendered type, e.g. ``Nullable<Text>`` or ``Array<Nullable<Int4>>``."""
        base = f"Array<Nullable<{self.sql_type}>>" if self.array else self.sql_type
        return f"Nullable<{base}>" if self.nullable else base


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """One column of a foreign key (a composite key gives one record per column).

    :param child_table: SQL name of the referencing table.
    :param parent_table: SQL name of the referenced table, as written in ``REFERENCES``.
    :param column: SQL name of the referencing column.
    :param parent_columns: referenced columns (the parent's primary key when not written).
    :param child_rust: Rust name of the child table.
    :param parent_rust: Rust name of the parent table.
    :param column_rust: the column as ``joinable!`` writes it.
    """

    child_table: str
    parent_table: str
    column: str
    parent_columns: tuple[str, ...]
    child_rust: str
    parent_rust: str
    column_rust: str

    def sort_key(self) -> tuple[str, str, str, str, str, str, tuple[str, ...]]:
        """Return diesel's ordering key of foreign-key records (diesel_spec.md §4.7 step 2)."""
        return (self.child_table, self.child_rust, self.parent_table, self.parent_rust,
                self.column, self.column_rust, self.parent_columns)


@dataclass(frozen=True, slots=True)
class Table:
    """One table as print-schema renders it.

    :param sql_name: the name in the database.
    :param rust_name: the identifier in ``table!``.
    :param primary_key: SQL names of the primary-key columns, in column order.
    :param columns: the columns in rendered order.
    :param foreign_keys: foreign-key records whose child is this table (sorted, unfiltered).
    :param without_rowid: whether the table was created ``WITHOUT ROWID``.
    :param schema: the table's schema when it is not the default one (PostgreSQL ``--schema``), else None.
    :param comment: the database comment of the table (PostgreSQL), or None.
    """

    sql_name: str
    rust_name: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    without_rowid: bool = False
    schema: str | None = None
    comment: str | None = None

    @property
    def full_sql_name(self) -> str:
        """Return ``schema.name`` for a table outside the default schema, else the name."""
        return f"{self.schema}.{self.sql_name}" if self.schema is not None else self.sql_name

    @property
    def qualified_rust_name(self) -> str:
        """Return the name in the ``table!`` header: ``schema.rust_name`` outside the default schema."""
        return f"{self.schema}.{self.rust_name}" if self.schema is not None else self.rust_name

    def column(self, sql_name: str) -> Column | None:
        """Return the column with this SQL name, or None."""
        return next((c for c in self.columns if c.sql_name == sql_name), None)

    @property
    def primary_key_rust(self) -> tuple[str, ...]:
        """Return the Rust names of the primary-key columns, as in the ``table!`` header."""
        names = {c.sql_name: c.rust_name for c in self.columns}
        return tuple(names.get(name, name) for name in self.primary_key)


@dataclass(frozen=True, slots=True)
class Schema:
    """What one print-schema configuration renders.

    :param tables: the selected tables, in rendered order.
    :param joinables: the foreign keys that become ``joinable!`` lines, in order.
    :param groups: Rust table names of each ``allow_tables_to_appear_in_same_query!`` invocation.
    :param table_names: every table of the database (before the filter), in diesel's order.
    :param module: the ``pub mod`` the schema is wrapped in (PostgreSQL ``--schema``), or None.
    :param warnings: what diesel prints on stderr while reading the database (one line each).
    """

    tables: tuple[Table, ...]
    joinables: tuple[ForeignKey, ...]
    groups: tuple[tuple[str, ...], ...]
    table_names: tuple[str, ...] = ()
    module: str | None = None
    warnings: tuple[str, ...] = ()

    def custom_types(self) -> tuple[CustomType, ...]:
        """Return the types ``pub mod sql_types`` defines: by struct name, one per name."""
        seen: dict[str, CustomType] = {}
        for table in self.tables:
            for column in table.columns:
                if column.custom_type is not None:
                    seen.setdefault(column.custom_type.rust_name, column.custom_type)
        return tuple(seen[name] for name in sorted(seen))
