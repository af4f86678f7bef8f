"""Results → plain terminal text (one line per fact; no colour, no IPython)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """Return an aligned plain-text table."""
    cells = [[str(h) for h in header]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells)


def generate_result(result: Any, *, relative_to: Path | None = None) -> str:
    """Render a created migration as diesel prints it (``Creating <path>``).

    :param relative_to: print each path relative to this folder (diesel: the current directory).
    """
    def shown(path: Path) -> str:
        return os.path.relpath(Path(path).resolve(), relative_to.resolve()) if relative_to else str(path)
    return "\n".join(f"Creating {shown(f)}" for f in result.files)


def list_result(result: Any) -> str:
    """Render migrations as diesel's ``migration list``."""
    return "\n".join(["Migrations:"] + [f"  [{'X' if m.applied else ' '}] {m.name}" for m in result.migrations])


def findings(found: Sequence[Any]) -> str:
    """Render lint findings, one per line with its whole fix indented under it, then a count."""
    lines = []
    for f in found:
        lines.append(f"{f.severity}[{f.rule}] {f.location()}: {f.message}")
        lines += [f"    {line}".rstrip() for line in f.fix.splitlines()] if f.fix else []
    errors = sum(f.severity == "error" for f in found)
    lines.append(f"{len(found)} finding(s), {errors} error(s)")
    return "\n".join(lines)


def relative_text(value: str, root: Path | None) -> str:
    """Return ``value`` with every absolute path below ``root`` written relative to it.

    Messages about a project's files read the same on every machine (``src/models/user.rs:12``,
    not ``/home/ada/work/backend/src/models/user.rs:12``).
    """
    if root is None or not value:
        return value
    prefixes = {str(Path(root)), str(Path(root).resolve())}
    for prefix in sorted(prefixes, key=len, reverse=True):
        value = value.replace(prefix.rstrip(os.sep) + os.sep, "")
    return value


def reheaded_diff(diff: str, label: str) -> str:
    """Return a unified diff whose ``---``/``+++`` header lines name ``a/LABEL`` and ``b/LABEL``."""
    lines = diff.splitlines(keepends=True)
    if len(lines) >= 2 and lines[0].startswith("--- ") and lines[1].startswith("+++ "):
        lines[0], lines[1] = f"--- a/{label}\n", f"+++ b/{label}\n"
    return "".join(lines)
