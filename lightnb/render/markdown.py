"""Results → Markdown for review reports (tables escaped for the pipe syntax)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def cell(value: Any) -> str:
    """Return ``value`` safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """Return a Markdown pipe table."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def frame(data: Any, *, max_rows: int = 50) -> str:
    """Return a DataFrame as a Markdown table, cut to ``max_rows`` with a note."""
    shown = data.head(max_rows)
    out = table([str(c) for c in shown.columns], shown.itertuples(index=False, name=None))
    if len(data) > max_rows:
        out += f"\n\n_showing {max_rows} of {len(data)} rows_"
    return out
