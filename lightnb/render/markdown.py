"""Results → Markdown for review reports (tables escaped for the pipe syntax)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lightnb.render._dispatch import Registry


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


def _fallback(result: Any) -> str:
    frame_of = getattr(result, "to_frame", None)
    if callable(frame_of):
        return frame(frame_of())
    return "```\n" + str(result) + "\n```"


render = Registry(_fallback)
"""Render any lightnb result as Markdown."""


@render.register("GenerateResult")
def generate_result(result: Any) -> str:
    """Render a created migration."""
    folder = Path(result.migration.path)
    return f"Created migration `{result.migration.name}`:\n\n" + "\n".join(
        f"- `{Path(f).relative_to(folder.parent)}`" for f in result.files)


@render.register("RunResult")
def run_result(result: Any) -> str:
    """Render what run / revert / redo did, with row counts when captured."""
    verb = {"up": "Applied", "down": "Reverted", "redo": "Redid"}.get(result.direction, result.direction)
    lines = [f"{verb} {len(result.migrations)} migration(s):", ""]
    lines += [f"- `{name}`" for name in result.names]
    if result.before is not None and result.after is not None:
        from lightnb.render.html import count_rows
        lines += ["", table(("table", "rows before", "rows after", "change"), count_rows(result.before, result.after))]
    return "\n".join(lines)
