"""Scaffold repository functions for columns, in the project's own pattern.

For a column ``theme`` this writes a getter and an updater. When the project already has
repository functions (read by :mod:`lightnb.models.house_style`), they decide: the key the
table's updates filter on (``user_settings::user_id``), the columns every update also sets
(``updated_at.eq(now)``), and the return type (``Result<usize, DieselError>``). Otherwise: a
UNIQUE foreign-key column when the caller knows one (a one-to-one table is addressed by its
parent), else the primary key, and ``Result<(), DieselError>``. The text follows rustfmt's
default layout (100 columns, chains and tuples over 60 columns one item per line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lightnb.errors import ModelDrift
from lightnb.models.fit import rust_type_for
from lightnb.models.house_style import HouseStyle, Touch
from lightnb.models.naming import singular_snake

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from lightnb.models.schema_rs import Schema, SchemaColumn, SchemaTable

_BORROWED = {"Text": "&str", "Binary": "&[u8]"}
MAX_WIDTH = 100  # rustfmt max_width
SMALL_WIDTH = 60  # rustfmt chain_width / fn_call_width


def parameter_type(column: SchemaColumn) -> str:
    """Return the type a function takes a value of this column as (``Option<&str>``)."""
    canonical = column.sql_type.canonical
    base = _BORROWED.get(canonical or "") or rust_type_for(column.sql_type.inner)
    return f"Option<{base}>" if column.nullable else base


@dataclass(frozen=True, slots=True)
class _Key:
    """One part of the row key: ``column`` None means ``table.find(parameter)``."""

    parameter: str
    column: str | None
    type: str


def _key(table: SchemaTable, style: HouseStyle | None, unique_foreign_keys: Iterable[str]) -> list[_Key]:
    """Return the key functions of this table take: the house's, a UNIQUE foreign key, or the primary key."""
    if style is not None and table.rust_name in style.keys:
        return [_Key(k.parameter, k.column, k.type) for k in style.keys[table.rust_name]]
    for name in unique_foreign_keys:
        column = table.column(name)
        if column is not None and name not in table.primary_key:
            return [_Key(name, name, rust_type_for(column.sql_type.inner))]
    keys = []
    for name in table.primary_key:
        column = table.column(name)
        if column is None:
            raise ModelDrift(f"primary key `{name}` of table `{table.rust_name}` is not one of its columns; "
                             f"regenerate schema.rs")
        parameter = f"{singular_snake(table.rust_name)}_{name}" if name == "id" else name
        keys.append(_Key(parameter, name, rust_type_for(column.sql_type.inner)))
    return keys


def _entity(table: SchemaTable, keys: list[_Key]) -> str:
    """Return the noun of the function names: ``user`` for a ``user_id`` key, else the table's singular."""
    if len(keys) == 1 and keys[0].parameter.endswith("_id") and len(keys[0].parameter) > 3:
        return keys[0].parameter[:-3]
    return singular_snake(table.rust_name)


def unique_foreign_keys(schema: Schema, table: str, unique: Iterable[str]) -> tuple[str, ...]:
    """Return the columns of ``table`` that are both UNIQUE (``unique``) and a ``joinable!`` foreign key."""
    foreign = {j.column for j in schema.joinables if j.child == table}
    return tuple(c for c in unique if c in foreign)


def repository_functions(table: SchemaTable, columns: Iterable[str] | None = None, *,
                         style: HouseStyle | None = None, unique_keys: Iterable[str] = ()) -> str:
    """Return ``get_…`` and ``update_…`` functions for columns of a table (all non-key columns by default).

    :param style: the project's update pattern (see :func:`lightnb.models.house_style.read_house_style`).
    :param unique_keys: UNIQUE foreign-key columns of the table (see :func:`unique_foreign_keys`),
        used as the key when ``style`` has none for the table.
    :raises ModelDrift: when a column is not in the table.
    """
    keys = _key(table, style, unique_keys)
    key_columns = {k.column for k in keys} | set(table.primary_key)
    touches = style.touches_for(table.column_names) if style is not None else ()
    names = list(columns) if columns is not None else [
        c.rust_name for c in table.columns
        if c.rust_name not in key_columns and all(t.column != c.rust_name for t in touches)]
    blocks = []
    for name in names:
        column = table.column(name)
        if column is None:
            raise ModelDrift(f"column `{name}` is not in table `{table.rust_name}`; "
                             f"choose one of: {', '.join(table.column_names)}")
        blocks.append(_getter(table, column, keys, style))
        blocks.append(_updater(table, column, keys, style,
                               tuple(t for t in touches if t.column != column.rust_name)))
    return "\n".join(blocks)


def _returns(style: HouseStyle | None, value: str) -> str:
    house = style.update_return if style is not None else None
    if house and "usize" in house:
        return house.replace("usize", value, 1)
    return f"Result<{value}, DieselError>"


def _signature(name: str, parameters: list[tuple[str, str]], returns: str) -> str:
    flat = ", ".join(f"{p}: {t}" for p, t in parameters)
    line = f"pub fn {name}({flat}) -> {returns} {{"
    if len(line) <= MAX_WIDTH:
        return line + "\n"
    inner = "".join(f"    {p}: {t},\n" for p, t in parameters)
    return f"pub fn {name}(\n{inner}) -> {returns} {{\n"


def _chain(base: str, calls: list[str], indent: str = "    ") -> str:
    """Lay out ``base.call().call()`` on one line when short, else one call per line (rustfmt)."""
    if not any("\n" in c for c in calls) and len(base + "".join(calls)) <= SMALL_WIDTH:
        return f"{indent}{base}{''.join(calls)}"
    inner = indent + "    "
    return f"{indent}{base}" + "".join(f"\n{inner}{c.replace(chr(10), chr(10) + inner)}" for c in calls)


def _set(items: list[str]) -> str:
    if len(items) == 1:
        return f".set({items[0]})"
    flat = f"({', '.join(items)})"
    if len(flat) <= SMALL_WIDTH:
        return f".set({flat})"
    return ".set((\n" + "".join(f"    {i},\n" for i in items) + "))"


def _target(table: SchemaTable, keys: list[_Key]) -> tuple[str, list[str]]:
    """Return the table expression and its filters: ``t::table.find(k)``, or ``t::table`` + ``.filter``s."""
    t = table.rust_name
    found = [k for k in keys if k.column is None]
    base = f"{t}::table.find({found[0].parameter})" if found else f"{t}::table"
    return base, [f".filter({t}::{k.column}.eq({k.parameter}))" for k in keys if k.column is not None]


def _getter(table: SchemaTable, column: SchemaColumn, keys: list[_Key], style: HouseStyle | None) -> str:
    t = table.rust_name
    parameters = [("conn", "&mut SqliteConnection"), *((k.parameter, k.type) for k in keys)]
    base, filters = _target(table, keys)
    signature = _signature(f"get_{_entity(table, keys)}_{column.rust_name}", parameters,
                           _returns(style, rust_type_for(column.sql_type)))
    body = _chain(base, [*filters, f".select({t}::{column.rust_name})", ".first(conn)"])
    return f"{signature}{body}\n}}\n"


def _updater(table: SchemaTable, column: SchemaColumn, keys: list[_Key], style: HouseStyle | None,
             touches: tuple[Touch, ...]) -> str:
    t = table.rust_name
    value = column.rust_name
    parameters = [("conn", "&mut SqliteConnection"), *((k.parameter, k.type) for k in keys),
                  (value, parameter_type(column))]
    for touch in touches:
        if touch.parameter is not None and all(p != touch.parameter[0] for p, _ in parameters):
            parameters.append(touch.parameter)
    base, filters = _target(table, keys)
    assignments = [f"{t}::{value}.eq({value})", *(f"{t}::{x.column}.eq({x.value})" for x in touches)]
    house = style is not None and style.update_return is not None
    returns = _returns(style, "usize") if house else "Result<(), DieselError>"
    signature = _signature(f"update_{_entity(table, keys)}_{value}", parameters, returns)
    body = _chain(f"diesel::update({base})", [*filters, _set(assignments), ".execute(conn)"])
    if not house:
        return f"{signature}{body}?;\n    Ok(())\n}}\n"
    return f"{signature}{body}\n}}\n"


def repository_module(table: SchemaTable, columns: Iterable[str] | None = None, *,
                      schema_module: tuple[str, ...] = ("crate", "schema"), style: HouseStyle | None = None,
                      unique_keys: Iterable[str] = ()) -> str:
    """Return a whole Rust module: the ``use`` lines the functions need, then the functions."""
    header = ("use diesel::prelude::*;\n"
              "use diesel::result::Error as DieselError;\n"
              f"use {'::'.join(schema_module + table.module)}::{table.rust_name};\n")
    return header + "\n" + repository_functions(table, columns, style=style, unique_keys=unique_keys)


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


def repository_for_migration(previous: Schema, current: Schema, *, style: HouseStyle | None = None,
                             unique: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Return repository functions, per table, for the columns a migration added.

    :param style: the project's update pattern, if it has repository functions.
    :param unique: per table, its UNIQUE single columns (e.g. read from the database).
    """
    out = {}
    for table_name, columns in added_columns(previous, current).items():
        table = current.table(table_name)
        if table is not None:
            keys = unique_foreign_keys(current, table_name, (unique or {}).get(table_name, ()))
            out[table_name] = repository_functions(table, columns, style=style, unique_keys=keys)
    return out
