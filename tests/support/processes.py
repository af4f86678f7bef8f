"""Processes seen through /proc, for tests that check what a command left running."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """Return the process ids whose parent is ``pid`` (read from /proc, so no extra package is needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
