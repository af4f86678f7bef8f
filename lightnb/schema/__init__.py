"""diesel print-schema for SQLite: introspection, schema.rs text, and keeping schema files in sync."""

from __future__ import annotations

from lightnb.schema.config import (FlagGroup, PrintSchemaOptions, TableFilter, apply_flags,
                                   configurations, options_from_config, options_from_flags)
from lightnb.schema.introspect import introspect, introspect_tables
from lightnb.schema.model import Column, ForeignKey, Schema, SchemaError, Table
from lightnb.schema.print_schema import print_schema, print_schemas

__all__ = [
    "Column", "FlagGroup", "ForeignKey", "PrintSchemaOptions", "Schema", "SchemaError", "Table",
    "TableFilter", "apply_flags", "configurations", "introspect", "introspect_tables",
    "options_from_config", "options_from_flags", "print_schema", "print_schemas",
]
