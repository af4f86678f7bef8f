"""A before/after preview laid out once for every format: which columns, in which order, and what each
cell shows (a value, a new or dropped column's value, a changed value's before and after)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cell:
    """One cell: ``kind`` is ``value`` (``after`` shown), ``empty``, ``new`` (a new column's ``after``),
    ``dropped`` (a dropped column's ``before``) or ``changed`` (``before`` → ``after``)."""

    kind: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Row:
    """One row: its status (added, removed, changed, unchanged), the label shown for it, its key, its cells."""

    status: str
    label: str
    key: tuple[str, ...]
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Layout:
    """The table: key column names, the other columns as ``(name, mark)`` (mark: ``new``, ``dropped`` or
    ``""``), what changed first, next to the key, so it shows without scrolling sideways; then the rows."""

    keys: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    rows: tuple[Row, ...]


def value_text(value: Any) -> str:
    """Return a preview value as text: NULL for missing, integral floats without a trailing ``.0``."""
    if value is None:
        return "NULL"
    try:
        import pandas as pd
        if value is pd.NA or (isinstance(value, float) and value != value):
            return "NULL"
    except ImportError:  # pragma: no cover - pandas is a core dependency
        pass
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def layout(result: Any) -> Layout:
    """Lay out a ``ComparedPreview``: new, dropped and changed columns first, then the rest."""
    frame = result.frame
    before = [c for side, c in frame.columns if side == "before"]
    after = [c for side, c in frame.columns if side == "after"]
    new, dropped = [c for c in after if c not in before], [c for c in before if c not in after]
    touched = [c for c in after if c in before and c in result.changed.columns and bool(result.changed[c].any())]
    first = new + dropped + touched
    columns = first + [c for c in after if c not in first]
    keys = list(frame.index.names) if any(n is not None for n in frame.index.names) else list(result.key)
    rows = []
    for i, key in enumerate(frame.index):
        status = frame[("status", "")].iat[i]
        label = status
        if status == "unchanged" and (new or dropped):
            label = "column added" if new and not dropped else "column dropped" if dropped and not new else "reshaped"
        cells = []
        for column in columns:
            b = value_text(frame[("before", column)].iat[i]) if column in before else ""
            a = value_text(frame[("after", column)].iat[i]) if column in after else ""
            if status == "added":
                cells.append(Cell("value", after=a) if column in after else Cell("empty"))
            elif status == "removed":
                cells.append(Cell("value", after=b) if column in before else Cell("empty"))
            elif column in new:
                cells.append(Cell("new", after=a))
            elif column in dropped:
                cells.append(Cell("dropped", before=b))
            elif _changed(result, i, column):
                cells.append(Cell("changed", before=b, after=a))
            else:
                cells.append(Cell("value", after=a))
        shown_key = tuple(value_text(k) for k in (key if isinstance(key, tuple) else (key,)))
        rows.append(Row(status, label, shown_key, tuple(cells)))
    marks = tuple((c, "new" if c in new else "dropped" if c in dropped else "") for c in columns)
    return Layout(tuple(keys), marks, tuple(rows))


def _changed(result: Any, row: int, column: str) -> bool:
    changed = result.changed
    return column in changed.columns and bool(changed.iat[row, changed.columns.get_loc(column)])
