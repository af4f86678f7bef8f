"""Two database files: one, and a copy of it with a change run on it (the before and after of a comparison)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def changed_copy(folder: Path, base: str, change: str, *, journal: str = "delete") -> tuple[Path, Path]:
    """Make ``folder``/before.db with ``base``, and ``folder``/after.db: a copy of it (sharing every page ``change``
    does not write, as a before copy and the database copied from it do) with ``change`` run on it, left in
    ``journal`` mode; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    before, after = folder / "before.db", folder / "after.db"
    conn = sqlite3.connect(before)
    conn.executescript(base)
    conn.close()
    shutil.copy(before, after)
    conn = sqlite3.connect(after)
    conn.executescript(change)
    if journal != "delete":
        conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.close()
    return before, after
