"""Run a step on a workspace and keep what it changed: snapshots, a before copy, previews.

The widgets and the notebooks show what a migration changed; that needs the database as
it was *before*. :func:`captured` keeps a consistent copy (SQLite backup API, through
:class:`~lightnb.workspace.Workspace`) and snapshots on both sides of one ``steps`` call,
then builds bounded, redacted before/after previews of the tables that changed.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightnb.inspect._sql import open_ro
from lightnb.inspect.preview import ComparedPreview, compare_preview
from lightnb.inspect.redact import Redactor
from lightnb.inspect.schema_diff import SchemaDiff, schema_diff
from lightnb.inspect.snapshot import Snapshot, take_snapshot
from lightnb.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.results import RunResult

CAPTURE_DIR = "captures"
# lightnb's own bookkeeping tables (e.g. migration checksums) are not the user's data.
INTERNAL_PREFIX = "__lightnb_"


def _user_table(name: str) -> bool:
    return not name.lower().startswith(INTERNAL_PREFIX)


@dataclass(frozen=True)
class Change:
    """A step's result with what it changed on the workspace.

    :param result: the step's own result, with ``before``, ``after`` and ``before_copy`` set.
    :param schema: the schema differences.
    :param previews: before/after previews of the tables whose rows or columns changed.
    :param changed_tables: the names of those tables (after-names), sorted.
    """

    result: RunResult
    schema: SchemaDiff
    previews: tuple[ComparedPreview, ...]
    changed_tables: tuple[str, ...]

    @property
    def before(self) -> Snapshot:
        """The snapshot taken before the step."""
        return self.result.before

    @property
    def after(self) -> Snapshot:
        """The snapshot taken after the step."""
        return self.result.after

    def row_counts(self) -> pd.DataFrame:
        """Return rows per table before and after (one row per table of either side)."""
        import pandas as pd

        names = sorted(n for n in {t.name for t in self.before.tables} | {t.name for t in self.after.tables}
                       if _user_table(n))
        rows = []
        for name in names:
            b, a = self.before.table(name), self.after.table(name)
            rows.append({"table": name, "before": b.row_count if b else None, "after": a.row_count if a else None})
        return pd.DataFrame(rows, columns=["table", "before", "after"]).astype({"before": "Int64",
                                                                                "after": "Int64"})

    def preview(self, table: str) -> ComparedPreview:
        """Return the before/after preview of ``table``.

        :raises KeyError: when the table did not change.
        """
        for item in self.previews:
            if item.table.lower() == table.lower():
                return item
        raise KeyError(f"{table} did not change; changed tables: {', '.join(self.changed_tables) or 'none'}")


def captured(workspace: Workspace, step: Callable[[Path], RunResult], *, label: str = "",
             preview_rows: int = 5, max_previews: int = 4, redactor: Redactor | None = None) -> Change:
    """Call ``step(workspace.path)`` and return its result with what it changed.

    :param step: a function of the database path returning a RunResult
        (e.g. ``lambda db: steps.run(project, db)``).
    :param label: a name for the captured moment, used in the snapshot labels.
    :param preview_rows: rows per before/after preview.
    :param max_previews: at most this many tables get a preview.
    :param redactor: which columns to mask in previews (the default sensitive words when None).
    """
    folder = workspace.folder / CAPTURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    before_copy = workspace.copy_to(_next_free(folder, label or "step"))
    before = _snapshot(before_copy, f"before {label}".strip())
    result = step(workspace.path)
    after = _snapshot(workspace.path, f"after {label}".strip())
    result = dataclasses.replace(result, before=before, after=after, before_copy=before_copy)
    diff = schema_diff(before, after)
    changed = changed_tables(before, after, diff)
    previews = _previews(before_copy, workspace.path, changed[:max_previews], diff, preview_rows, redactor)
    return Change(result, diff, previews, changed)


def changed_tables(before: Snapshot, after: Snapshot, diff: SchemaDiff) -> tuple[str, ...]:
    """Return the (after-)names of tables added, dropped, reshaped or whose content changed."""
    renames = diff.table_renames
    out = {c.table for c in diff.changes if c.kind in ("table", "column")}
    for table in after.tables:
        old = before.table(next((o for o, n in renames.items() if n == table.name), table.name))
        if old is not None and (old.fingerprint != table.fingerprint or old.row_count != table.row_count):
            out.add(table.name)
    return tuple(sorted((t for t in out if _user_table(t)), key=str.lower))


def _previews(before_path: Path, after_path: Path, tables: tuple[str, ...], diff: SchemaDiff, n: int,
              redactor: Redactor | None) -> tuple[ComparedPreview, ...]:
    renamed_from = {new: old for old, new in diff.table_renames.items()}
    before_conn, after_conn = open_ro(before_path), open_ro(after_path)
    try:
        return tuple(compare_preview(before_conn, after_conn, renamed_from.get(t, t), after_table=t, n=n,
                                     redactor=redactor) for t in tables)
    finally:
        before_conn.close()
        after_conn.close()


def _snapshot(path: Path, label: str) -> Snapshot:
    conn = open_ro(path)
    try:
        return take_snapshot(conn, label=label)
    finally:
        conn.close()


def _next_free(folder: Path, label: str) -> Path:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)[:60]
    for n in itertools.count(1):
        candidate = folder / f"{n:03d}-{stem}.db"
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover
