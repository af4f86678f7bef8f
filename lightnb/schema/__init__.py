"""diesel print-schema: the options, the records, schema.rs text, and keeping schema files in sync.

SQLite's introspection (:mod:`~lightnb.schema.introspect`) and PostgreSQL's
(:mod:`~lightnb.schema.postgres`) both render through :mod:`~lightnb.schema.print_schema`.

The names below are imported from their modules when first used (PEP 562), so a PostgreSQL
print-schema, which needs the options, the records and the renderer, does not load SQLite's
introspection or the schema-file sync. ``print_schema`` is both a function of this package and a
module of it: the package's name is always the function, as when every module was imported here,
even after the module itself has been imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lightnb.lazy import load_on_first_use

if TYPE_CHECKING:
    from lightnb.schema.config import (
        FlagGroup,
        PrintSchemaOptions,
        TableFilter,
        apply_flags,
        configurations,
        options_from_config,
        options_from_flags,
    )
    from lightnb.schema.introspect import introspect, introspect_tables
    from lightnb.schema.model import Column, ForeignKey, Schema, SchemaError, Table
    from lightnb.schema.print_schema import print_schema, print_schemas
    from lightnb.schema.style import detect_style
    from lightnb.schema.sync import (
        FileSync,
        SyncReport,
        check_migrations_sync,
        check_schema_sync,
        regenerate_schema_files,
    )

_HOMES = {
    "lightnb.schema.config": ("FlagGroup", "PrintSchemaOptions", "TableFilter", "apply_flags", "configurations",
                              "options_from_config", "options_from_flags"),
    "lightnb.schema.introspect": ("introspect", "introspect_tables"),
    "lightnb.schema.model": ("Column", "ForeignKey", "Schema", "SchemaError", "Table"),
    "lightnb.schema.print_schema": ("print_schema", "print_schemas"),
    "lightnb.schema.style": ("detect_style",),
    "lightnb.schema.sync": ("FileSync", "SyncReport", "check_migrations_sync", "check_schema_sync",
                            "regenerate_schema_files"),
}
_SHADOWED = frozenset(name for names in _HOMES.values() for name in names if f"{__name__}.{name}" in _HOMES)
"""Names that are both a function here and a module of this package: the function wins."""

__all__ = [
    "Column", "FileSync", "FlagGroup", "ForeignKey", "PrintSchemaOptions", "Schema", "SchemaError",
    "SyncReport", "Table", "TableFilter", "apply_flags", "check_migrations_sync", "check_schema_sync",
    "configurations", "detect_style", "introspect", "introspect_tables", "options_from_config",
    "options_from_flags", "print_schema", "print_schemas", "regenerate_schema_files",
]


__getattr__, __dir__ = load_on_first_use(__name__, _HOMES, shadowed=_SHADOWED)


