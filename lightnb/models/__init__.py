"""Rust model structs: read them, check them against schema.rs, generate what a migration needs."""

from __future__ import annotations

from lightnb.models.changeable import LeftAlone
from lightnb.models.drift import CheckedStruct, DriftReport, Finding, check_files, check_models
from lightnb.models.house_style import HouseStyle, read_house_style
from lightnb.models.repository import repository_for_migration, repository_functions, repository_module
from lightnb.models.rust_reader import ModelField, ModelStruct, RustFile, read_models_dir, read_rust
from lightnb.models.scaffold import (
                                     ModelChange,
                                     ModelPlan,
                                     apply_change,
                                     generate_for_table,
                                     plan_model_changes,
                                     plan_models,
)
from lightnb.models.schema_rs import Schema, SchemaColumn, SchemaTable, load_schema, parse_schema

__all__ = [
    "CheckedStruct", "DriftReport", "Finding", "HouseStyle", "LeftAlone", "ModelChange", "ModelField", "ModelPlan",
    "ModelStruct", "RustFile",
    "Schema", "SchemaColumn", "SchemaTable", "apply_change", "check_files", "check_models",
    "generate_for_table", "load_schema", "parse_schema", "plan_model_changes", "plan_models", "read_house_style",
    "read_models_dir", "read_rust", "repository_for_migration", "repository_functions", "repository_module",
]
