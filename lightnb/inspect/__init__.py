"""Inspect databases: snapshots, previews, schema and row diffs, measured impact, redaction."""

from __future__ import annotations

from lightnb.inspect.impact import Impact, impacts_frame, impacts_text, measure_impact
from lightnb.inspect.preview import ComparedPreview, Preview, compare_preview, preview
from lightnb.inspect.redact import DEFAULT_PATTERNS, MASK, Redactor, name_words
from lightnb.inspect.row_diff import RowDiff, TableDiff, iter_row_changes, row_diff
from lightnb.inspect.schema_diff import SchemaChange, SchemaDiff, schema_diff
from lightnb.inspect.snapshot import (
    ColumnInfo, ForeignKeyInfo, IndexInfo, Snapshot, TableInfo, TriggerInfo, ViewInfo,
    table_fingerprint, take_snapshot,
)

__all__ = [
    "DEFAULT_PATTERNS", "MASK", "ColumnInfo", "ComparedPreview", "Impact", "Preview", "ForeignKeyInfo", "IndexInfo", "Redactor", "RowDiff",
    "SchemaChange", "SchemaDiff", "Snapshot", "TableDiff", "TableInfo", "TriggerInfo", "ViewInfo",
    "compare_preview", "impacts_frame", "impacts_text", "measure_impact", "preview",
    "iter_row_changes", "name_words", "row_diff", "schema_diff", "table_fingerprint", "take_snapshot",
]
