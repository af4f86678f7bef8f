"""Inspect databases: snapshots, previews, schema and row diffs, measured impact, redaction.

The schema records a snapshot holds are :mod:`lightnb.catalog`'s (``Table``, ``Column``, ``Index``,
``ForeignKey``, ``Trigger``, ``View``).

The names below are imported from their modules when first used (PEP 562), so a part that needs
one module (an error line masked by :mod:`lightnb.inspect.redact`, say) does not load the SQL
parser and the data frames the others use. Three names are both a function of this package and a
module of it (``preview``, ``row_diff``, ``schema_diff``): the package's name is always the
function, as when every module was imported here, even after the module itself has been imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lightnb.lazy import load_on_first_use

if TYPE_CHECKING:
    from lightnb.inspect.impact import Impact, impacts_frame, impacts_text, measure_impact, measure_impacts
    from lightnb.inspect.preview import ComparedPreview, Preview, compare_preview, preview
    from lightnb.inspect.redact import DEFAULT_PATTERNS, MASK, Redactor, name_words
    from lightnb.inspect.row_diff import RowDiff, TableDiff, iter_row_changes, row_diff
    from lightnb.inspect.schema_diff import SchemaChange, SchemaDiff, schema_diff
    from lightnb.inspect.snapshot import Snapshot, TableSnapshot, table_fingerprint, take_snapshot

_HOMES = {
    "lightnb.inspect.impact": ("Impact", "impacts_frame", "impacts_text", "measure_impact", "measure_impacts"),
    "lightnb.inspect.preview": ("ComparedPreview", "Preview", "compare_preview", "preview"),
    "lightnb.inspect.redact": ("DEFAULT_PATTERNS", "MASK", "Redactor", "name_words"),
    "lightnb.inspect.row_diff": ("RowDiff", "TableDiff", "iter_row_changes", "row_diff"),
    "lightnb.inspect.schema_diff": ("SchemaChange", "SchemaDiff", "schema_diff"),
    "lightnb.inspect.snapshot": ("Snapshot", "TableSnapshot", "table_fingerprint", "take_snapshot"),
}
_SHADOWED = frozenset(name for names in _HOMES.values() for name in names if f"{__name__}.{name}" in _HOMES)
"""Names that are both a function here and a module of this package: the function wins."""

__all__ = [
    "DEFAULT_PATTERNS", "MASK", "ComparedPreview", "Impact", "Preview", "Redactor", "RowDiff", "SchemaChange",
    "SchemaDiff", "Snapshot", "TableDiff", "TableSnapshot", "compare_preview", "impacts_frame", "impacts_text",
    "iter_row_changes", "measure_impact", "measure_impacts", "name_words", "preview", "row_diff", "schema_diff",
    "table_fingerprint", "take_snapshot",
]


__getattr__, __dir__ = load_on_first_use(__name__, _HOMES, shadowed=_SHADOWED)


