"""The inspect step: pick a table; before/after rows, schema changes, row diff and measured impact."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import WorkspaceError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook

if TYPE_CHECKING:
    from lightnb.steps import Inspection


def inspect_panel(workbook: Workbook, table: str | None = None, *, now: bool = False,
                  follow: bool = False) -> StepPanel:
    """Build the inspect panel over the latest run or revert of the workbook (redacted).

    The table list follows the workbook: after every run or revert it offers the tables that
    changed, first. ``now`` inspects at once. After a later run or revert the result says it is out
    of date, unless ``follow``: then the panel inspects again by itself.
    """
    picker = widgets.Dropdown(description="Table", options=[], layout=widgets.Layout(width="50%"))
    inspected: list[Any] = [None]  # the Change the current result describes

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
                and not steps.is_bookkeeping(t.name)]
        changed = sorted(change.changed_tables, key=steps.is_bookkeeping)  # user tables first
        options = changed + rest
        wanted = picker.value if picker.value in options else (table if table in options else None)
        picker.options = options
        picker.value = wanted or (options[0] if options else None)
        if follow and type(result).__name__ == "Change":
            panel.run()

    def action() -> Inspection:
        inspected[0] = None
        change = latest()
        if not picker.value:
            raise WorkspaceError("Pick a table to inspect.")
        found = steps.inspect(workbook.project, change, picker.value)
        inspected[0] = change
        return found

    def inputs() -> tuple[str, str]:
        change = inspected[0]
        if change is None:
            return "", ""
        verb = {"down": "revert", "redo": "redo"}.get(change.result.direction, "run")
        what = f"{verb} of {', '.join(change.result.names) or 'nothing'}"
        shown = panel.result.table if panel.result is not None else (picker.value or "")
        return (f"<p>Table <code>{html.escape(shown)}</code>, after the {html.escape(what)}</p>",
                f"Table {md.code(shown or ' ')}, after the {md.text(what)}")

    panel = StepPanel("Inspect", action, controls=[picker], button="Inspect", workbook=workbook,
                      stale_on=() if follow else ("Change",), inputs=inputs,
                      stale_hint="Click Inspect to look at the workspace as it is now.",
                      intro="Compare one table before and after the latest run or revert: rows side by "
                            "side, schema changes, row diff and measured impact. Sensitive values are "
                            "redacted.",
                      summary=lambda r: f"inspected {r.table}")
    panel.expose(table=picker)
    workbook.on_change(refresh)
    refresh()
    if now and workbook.last_of("Change") is not None:
        panel.run()
    return panel
