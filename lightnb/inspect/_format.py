"""Turn SQLite values into JSON-ready and one-line text forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAX_TEXT = 60


def jsonable(value: Any) -> Any:
    """Return ``value`` in a form ``json.dumps`` accepts (blobs as ``x'hex'``)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "x'" + bytes(value).hex() + "'"
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def short(value: Any, limit: int = _MAX_TEXT) -> str:
    """Render one value on one short line (SQL-ish literals, long text cut with …)."""
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = "x'" + bytes(value).hex() + "'"
    elif isinstance(value, str):
        text = "'" + " ".join(value.split()) + "'"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_row(row: Mapping[str, Any]) -> str:
    """Render a row as ``{col: value, …}`` on one line."""
    return "{" + ", ".join(f"{k}: {short(v)}" for k, v in row.items()) + "}"
