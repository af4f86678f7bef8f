"""Map model structs to schema tables, and render the field lines that fit a column.

A struct's ``table_name`` (or diesel's default) is a Rust path resolved in the struct's module:
through its ``use`` declarations, globs, ``crate``/``super``/``self``. Only tables that resolve to
the schema module being checked are compared; structs for another schema module are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lightnb.models.fit import rust_type_for

if TYPE_CHECKING:
    from lightnb.models.rust_reader import ModelField, ModelStruct, UseImport
    from lightnb.models.schema_rs import Schema, SchemaColumn, SchemaTable

DEFAULT_SCHEMA_MODULE: tuple[str, ...] = ("crate", "schema")


@dataclass(frozen=True, slots=True)
class TableMatch:
    """Where a struct's table path leads.

    :param status: ``"schema"`` (a table of the checked schema module), ``"missing"`` (the
        schema module, but no such table), ``"other"`` (another module), or ``"unresolved"``.
    :param table: the table, for ``"schema"`` (also for ``"unresolved"`` when a table of that
        name exists, to be compared without proof).
    :param path: the resolved absolute path, when resolved.
    """

    status: str
    table: SchemaTable | None
    path: tuple[str, ...] | None


def resolve_table(struct: ModelStruct, schema: Schema,
                  schema_module: tuple[str, ...] = DEFAULT_SCHEMA_MODULE) -> TableMatch:
    """Resolve a struct's table path against its module scope and the checked schema module."""
    written = struct.table_path or (struct.table_name,)
    candidates, explicit = _candidates(written, struct.module, struct.uses)
    inside = [p for p in candidates
              if p[:len(schema_module)] == schema_module and len(p) > len(schema_module)]
    for path in inside:
        inner = path[len(schema_module):]
        table = schema.table(inner[-1], inner[:-1])
        if table is not None:
            return TableMatch("schema", table, path)
    if explicit:
        return TableMatch("missing" if inside else "other", None, candidates[0])
    same_name = schema.table(written[-1]) if len(written) == 1 else None
    return TableMatch("unresolved", same_name, None)


def _candidates(path: tuple[str, ...], module: tuple[str, ...],
                uses: tuple[UseImport, ...]) -> tuple[list[tuple[str, ...]], bool]:
    """Return the absolute paths a written path may denote, and whether the first is certain."""
    head = path[0]
    if head in ("crate", "super", "self"):
        return [_absolute(path, module)], True
    for use in reversed(uses):
        if use.local == head:
            return _expand(use.path + path[1:], module), True
    globbed = [p for use in uses if use.glob for p in _expand(use.path + path, module)]
    return globbed + [module + path], False


def _expand(path: tuple[str, ...], module: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Return what a ``use`` path may denote: relative to the module (2018), or to the crate (2015)."""
    if path and path[0] in ("crate", "super", "self"):
        return [_absolute(path, module)]
    return [module + path, ("crate",) + path]


def _absolute(path: tuple[str, ...], module: tuple[str, ...]) -> tuple[str, ...]:
    """Turn a ``crate``/``super``/``self`` path absolute (anything else is taken as crate-relative)."""
    if not path:
        return path
    if path[0] == "crate":
        return path
    if path[0] == "self":
        return module + path[1:]
    if path[0] == "super":
        base = list(module)
        rest = list(path)
        while rest and rest[0] == "super":
            rest.pop(0)
            if len(base) > 1:
                base.pop()
        return tuple(base) + tuple(rest)
    return ("crate",) + path


# -- rendering ---------------------------------------------------------------------------------


def field_line(column: SchemaColumn, *, indent: str = "    ", visibility: str = "pub") -> str:
    """Return the field line that fits a column: ``    pub theme: Option<String>,``."""
    prefix = f"{visibility} " if visibility else ""
    return f"{indent}{prefix}{column.rust_name}: {rust_type_for(column.sql_type)},"


def struct_style(struct: ModelStruct, text: str) -> tuple[str, str]:
    """Return the indentation and visibility the struct's fields are written with."""
    if not struct.fields:
        return "    ", "pub"
    first = struct.fields[0]
    line_start = text.rfind("\n", 0, _name_byte(first, text)) + 1
    indent = text[line_start:_name_byte(first, text)]
    indent = indent[:len(indent) - len(indent.lstrip())] or "    "
    visibilities = [f.visibility for f in struct.fields]
    visibility = max(set(visibilities), key=visibilities.count)
    return indent, visibility


def _name_byte(field: ModelField, text: str) -> int:
    """Return the offset of the start of the field's own line (after its attributes)."""
    return _line_start_offset(text, field.line)


def _line_start_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a new field line goes: after ``field`` (on the line after ``line``), or before it."""

    field: ModelField | None
    after: bool
    line: int


def insertion_anchor(struct: ModelStruct, table: SchemaTable, column: SchemaColumn,
                     text: str) -> Anchor:
    """Find where a field for ``column`` belongs: after the field of the nearest earlier column."""
    by_column = {f.column: f for f in struct.fields}
    names = table.column_names
    index = names.index(column.rust_name)
    for earlier in reversed(names[:index]):
        if earlier in by_column:
            found = by_column[earlier]
            return Anchor(found, True, text.count("\n", 0, found.end_byte) + 1)
    for later in names[index + 1:]:
        if later in by_column:
            found = by_column[later]
            return Anchor(found, False, text.count("\n", 0, found.start_byte) + 1)
    if struct.fields:
        last = struct.fields[-1]
        return Anchor(last, True, text.count("\n", 0, last.end_byte) + 1)
    return Anchor(None, True, text.count("\n", 0, struct.body_span[0]) + 1)
