"""Results → plain terminal text (one line per fact; no colour, no IPython)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lightnb.render._dispatch import Registry


def _fallback(result: Any) -> str:
    text_of = getattr(result, "to_text", None)
    if callable(text_of):
        return str(text_of())
    frame_of = getattr(result, "to_frame", None)
    if callable(frame_of):
        return frame_of().to_string(index=False)
    return str(result)


render = Registry(_fallback)
"""Render any lightnb result as terminal text."""


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """Return an aligned plain-text table."""
    cells = [[str(h) for h in header]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells)


@render.register("GenerateResult")
def generate_result(result: Any) -> str:
    """Render a created migration as diesel prints it (``Creating <path>``)."""
    return "\n".join(f"Creating {f}" for f in result.files)


@render.register("ListResult")
def list_result(result: Any) -> str:
    """Render migrations as diesel's ``migration list``."""
    return "\n".join(["Migrations:"] + [f"  [{'X' if m.applied else ' '}] {m.name}" for m in result.migrations])


@render.register("RunResult")
def run_result(result: Any) -> str:
    """Render what run / revert / redo did."""
    verb = {"up": "Running migration", "down": "Rolling back migration"}
    lines = []
    for m in result.migrations:
        if result.direction == "redo":
            lines += [f"Rolling back migration {m.name}", f"Running migration {m.name}"]
        else:
            lines.append(f"{verb.get(result.direction, result.direction)} {m.name}")
    if not result.migrations:
        lines.append("Nothing to do.")
    lines += [f"Regenerated {Path(p).name}" for p in result.schema_files]
    if result.before is not None and result.after is not None:
        from lightnb.render.html import count_rows
        lines.append(table(("table", "rows before", "rows after", "change"), count_rows(result.before, result.after)))
    return "\n".join(lines)


def findings(found: Sequence[Any]) -> str:
    """Render lint findings, one per line with the first line of its fix indented, then a count."""
    lines = []
    for f in found:
        lines.append(f"{f.severity}[{f.rule}] {f.location()}: {f.message}")
        lines += [f"    {line}" for line in f.fix.splitlines()[:1]] if f.fix else []
    errors = sum(f.severity == "error" for f in found)
    lines.append(f"{len(found)} finding(s), {errors} error(s)")
    return "\n".join(lines)
