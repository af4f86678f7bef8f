"""The inspect step: pick a table; before/after rows, schema changes, row diff and measured impact."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.capture import Inspection
from lightnb.errors import WorkspaceError
from lightnb.runner import is_bookkeeping
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook


def inspect_panel(workbook: Workbook, table: str | None = None, *, now: bool = False) -> StepPanel:
    """Build the inspect panel over the latest run or revert of the workbook (redacted).

    The table list follows the workbook: after every run or revert it offers the tables that
    changed, first. ``now`` inspects at once (and again after each run or revert).
    """
    picker = widgets.Dropdown(description="Table", options=[], layout=widgets.Layout(width="50%"))

    def latest() -> Any:
        change = workbook.last_of("Change")
        if change is None:
            raise WorkspaceError("Nothing to inspect yet: run (or revert) a migration first.")
        return change

    def refresh(result: Any = None) -> None:
        change = workbook.last_of("Change")
        if change is None:
            return
        rest = [t.name for t in change.after.tables if t.name not in change.changed_tables
                and not is_bookkeeping(t.name)]
        changed = sorted(change.changed_tables, key=is_bookkeeping)  # user tables first
        options = changed + rest
        wanted = picker.value if picker.value in options else (table if table in options else None)
        picker.options = options
        picker.value = wanted or (options[0] if options else None)
        if now and type(result).__name__ == "Change":
            panel.run()

    def action() -> Inspection:
        change = latest()
        if not picker.value:
            raise WorkspaceError("Pick a table to inspect.")
        return steps.inspect(workbook.project, change, picker.value)

    panel = StepPanel("Inspect", action, controls=[picker], button="Inspect",
                      intro="Compare one table before and after the latest run or revert: rows side by "
                            "side, schema changes, row diff and measured impact. Sensitive values are "
                            "redacted.",
                      summary=lambda r: f"inspected {r.table}")
    panel.table = picker  # type: ignore[attr-defined]
    workbook.on_change(refresh)
    refresh()
    if now and workbook.last_of("Change") is not None:
        panel.run()
    return panel
