"""Rust model structs: read them, check them against schema.rs, generate what a migration needs."""

from __future__ import annotations

from lightnb.models.drift import CheckedStruct, DriftReport, Finding, check_files, check_models
from lightnb.models.rust_reader import ModelField, ModelStruct, RustFile, read_models_dir, read_rust
from lightnb.models.schema_rs import Schema, SchemaColumn, SchemaTable, load_schema, parse_schema

__all__ = [
    "CheckedStruct", "DriftReport", "Finding", "ModelField", "ModelStruct", "RustFile", "Schema",
    "SchemaColumn", "SchemaTable", "check_files", "check_models", "load_schema", "parse_schema",
    "read_models_dir", "read_rust",
]
