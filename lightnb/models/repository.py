"""Scaffold repository functions for columns, in the team's pattern.

For a column ``theme`` of ``users`` this writes ``get_user_theme(conn, user_id)`` and
``update_user_theme(conn, user_id, theme)``, the latter as
``diesel::update(users::table).filter(users::id.eq(user_id)).set(users::theme.eq(theme)).execute(conn)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lightnb.errors import ModelDrift
from lightnb.models.naming import singular_snake
from lightnb.models.types import rust_type_for

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lightnb.models.schema_rs import Schema, SchemaColumn, SchemaTable

_BORROWED = {"Text": "&str", "Binary": "&[u8]"}


def parameter_type(column: SchemaColumn) -> str:
    """Return the type a function takes a value of this column as (``Option<&str>``)."""
    canonical = column.sql_type.canonical
    base = _BORROWED.get(canonical or "") or rust_type_for(column.sql_type.inner)
    return f"Option<{base}>" if column.nullable else base


def _key_parameters(table: SchemaTable) -> list[tuple[str, SchemaColumn]]:
    """Return (parameter name, column) for the primary key: ``user_id`` for ``users.id``."""
    keys = []
    for name in table.primary_key:
        column = table.column(name)
        if column is None:
            raise ModelDrift(f"primary key `{name}` of table `{table.rust_name}` is not one of its columns; "
                             f"regenerate schema.rs")
        parameter = f"{singular_snake(table.rust_name)}_{name}" if name == "id" else name
        keys.append((parameter, column))
    return keys


def repository_functions(table: SchemaTable, columns: Iterable[str] | None = None) -> str:
    """Return ``get_…`` and ``update_…`` functions for columns of a table (all non-key columns by default).

    :raises ModelDrift: when a column is not in the table.
    """
    keys = _key_parameters(table)
    names = list(columns) if columns is not None else [c.rust_name for c in table.columns
                                                         if c.rust_name not in table.primary_key]
    blocks = []
    for name in names:
        column = table.column(name)
        if column is None:
            raise ModelDrift(f"column `{name}` is not in table `{table.rust_name}`; "
                             f"choose one of: {', '.join(table.column_names)}")
        blocks.append(_getter(table, column, keys))
        blocks.append(_updater(table, column, keys))
    return "\n".join(blocks)


def _signature_keys(keys: list[tuple[str, SchemaColumn]]) -> str:
    return "".join(f", {name}: {rust_type_for(column.sql_type.inner)}" for name, column in keys)


def _filters(table: SchemaTable, keys: list[tuple[str, SchemaColumn]], indent: str) -> str:
    return "".join(f"\n{indent}.filter({table.rust_name}::{column.rust_name}.eq({name}))"
                   for name, column in keys)


def _getter(table: SchemaTable, column: SchemaColumn, keys: list[tuple[str, SchemaColumn]]) -> str:
    entity = singular_snake(table.rust_name)
    t = table.rust_name
    return (f"pub fn get_{entity}_{column.rust_name}(conn: &mut SqliteConnection{_signature_keys(keys)})"
            f" -> Result<{rust_type_for(column.sql_type)}, DieselError> {{\n"
            f"    {t}::table{_filters(table, keys, '        ')}\n"
            f"        .select({t}::{column.rust_name})\n"
            f"        .first(conn)\n"
            f"}}\n")


def _updater(table: SchemaTable, column: SchemaColumn, keys: list[tuple[str, SchemaColumn]]) -> str:
    entity = singular_snake(table.rust_name)
    t = table.rust_name
    value = column.rust_name
    return (f"pub fn update_{entity}_{column.rust_name}(conn: &mut SqliteConnection{_signature_keys(keys)}, "
            f"{value}: {parameter_type(column)}) -> Result<(), DieselError> {{\n"
            f"    diesel::update({t}::table){_filters(table, keys, '        ')}\n"
            f"        .set({t}::{column.rust_name}.eq({value}))\n"
            f"        .execute(conn)?;\n"
            f"    Ok(())\n"
            f"}}\n")


def repository_module(table: SchemaTable, columns: Iterable[str] | None = None, *,
                      schema_module: tuple[str, ...] = ("crate", "schema")) -> str:
    """Return a whole Rust module: the ``use`` lines the functions need, then the functions."""
    header = ("use diesel::prelude::*;\n"
              "use diesel::result::Error as DieselError;\n"
              f"use {'::'.join(schema_module + table.module)}::{table.rust_name};\n")
    return header + "\n" + repository_functions(table, columns)


def added_columns(previous: Schema, current: Schema) -> dict[str, tuple[str, ...]]:
    """Return, per table present in both, the columns ``current`` has and ``previous`` lacks."""
    added: dict[str, tuple[str, ...]] = {}
    for table in current.tables:
        old = previous.table(table.rust_name, table.module)
        if old is None:
            continue
        new = tuple(c.rust_name for c in table.columns if old.column(c.rust_name) is None)
        if new:
            added[table.rust_name] = new
    return added


def repository_for_migration(previous: Schema, current: Schema) -> dict[str, str]:
    """Return repository functions, per table, for the columns a migration added."""
    out = {}
    for table_name, columns in added_columns(previous, current).items():
        table = current.table(table_name)
        if table is not None:
            out[table_name] = repository_functions(table, columns)
    return out
