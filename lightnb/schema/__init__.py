"""diesel print-schema for SQLite: introspection, schema.rs text, and keeping schema files in sync."""

from __future__ import annotations

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
from lightnb.schema.sync import FileSync, SyncReport, check_migrations_sync, check_schema_sync, regenerate_schema_files

__all__ = [
    "Column", "FileSync", "FlagGroup", "ForeignKey", "PrintSchemaOptions", "Schema", "SchemaError",
    "SyncReport", "Table", "TableFilter", "apply_flags", "check_migrations_sync", "check_schema_sync",
    "configurations", "detect_style", "introspect", "introspect_tables", "options_from_config",
    "options_from_flags", "print_schema", "print_schemas", "regenerate_schema_files",
]
