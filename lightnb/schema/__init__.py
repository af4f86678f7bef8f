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

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

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
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
_SHADOWED = frozenset(name for name in _HOME_OF if f"{__name__}.{name}" in _HOMES)
"""Names that are both a function here and a module of this package: the function wins."""

__all__ = [
    "Column", "FileSync", "FlagGroup", "ForeignKey", "PrintSchemaOptions", "Schema", "SchemaError",
    "SyncReport", "Table", "TableFilter", "apply_flags", "check_migrations_sync", "check_schema_sync",
    "configurations", "detect_style", "introspect", "introspect_tables", "options_from_config",
    "options_from_flags", "print_schema", "print_schemas", "regenerate_schema_files",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME_OF})


class _Package(types.ModuleType):
    """This package, whose shadowed name stays the function when its module is imported.

    Importing ``lightnb.schema.print_schema`` binds the module to the package's ``print_schema``;
    for the shadowed name that binding is kept out, so ``from lightnb.schema import print_schema``
    keeps giving the function (the module stays in ``sys.modules``, where
    ``from lightnb.schema.print_schema import …`` finds it).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
