"""Inspect databases: snapshots, previews, schema and row diffs, measured impact, redaction.

The schema records a snapshot holds are :mod:`lightnb.catalog`'s (``Table``, ``Column``, ``Index``,
``ForeignKey``, ``Trigger``, ``View``).
"""

from __future__ import annotations

from lightnb.inspect.impact import Impact, impacts_frame, impacts_text, measure_impact
from lightnb.inspect.preview import ComparedPreview, Preview, compare_preview, preview
from lightnb.inspect.redact import DEFAULT_PATTERNS, MASK, Redactor, name_words
from lightnb.inspect.row_diff import RowDiff, TableDiff, iter_row_changes, row_diff
from lightnb.inspect.schema_diff import SchemaChange, SchemaDiff, schema_diff
from lightnb.inspect.snapshot import Snapshot, TableSnapshot, table_fingerprint, take_snapshot

__all__ = [
    "DEFAULT_PATTERNS", "MASK", "ComparedPreview", "Impact", "Preview", "Redactor", "RowDiff", "SchemaChange",
    "SchemaDiff", "Snapshot", "TableDiff", "TableSnapshot", "compare_preview", "impacts_frame", "impacts_text",
    "iter_row_changes", "measure_impact", "name_words", "preview", "row_diff", "schema_diff", "table_fingerprint",
    "take_snapshot",
]
