"""Results → JSON: what ``--format json`` prints, one document per result.

Each result becomes plain data: a result with ``to_dict()`` gives its own; a dataclass (or a record) gives its
fields; paths and other values become strings. A few results keep the shapes scripts already read
(a lint is the list of its findings; a preview is its rows with the note).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightnb import records
from lightnb.render._dispatch import ByType, Registrar, loaded
from lightnb.results import LintResult


def dumps(data: Any) -> str:
    """Return ``data`` as indented JSON (non-ASCII text kept as it is; unknown values as strings)."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: dicts, lists, strings, numbers, booleans and None."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not hasattr(value, "iloc"):
        return plain(to_dict())
    if hasattr(value, "to_json") and hasattr(value, "iloc"):  # a DataFrame: its rows
        return json.loads(value.to_json(orient="records", default_handler=str))
    if (records.is_record(value) or dataclasses.is_dataclass(value)) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in records.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _fallback(result: Any) -> str:
    return dumps(plain(result))


render = ByType(_fallback, lambda register: _core_renderers(register))
"""Render any lightnb result as a JSON document."""


@render.register(LintResult)
def lint_result(result: LintResult) -> str:
    """Render a lint as the list of its findings."""
    return dumps([f.to_dict() for f in result.findings])


def preview(result: Any) -> str:
    """Render a bounded preview: where its rows come from, whether they were cut, the note, the rows."""
    return dumps({"source": result.source, "mode": result.mode, "truncated": result.truncated, "note": result.note,
                  "rows": plain(result.frame)})


def _core_renderers(register: Registrar) -> None:
    """Register the renderers of the result types core modules define, for the modules already imported."""
    if (module := loaded("lightnb.inspect.preview")) is not None:
        register(module.Preview, preview)
