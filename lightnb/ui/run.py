"""The run step: pending migrations, a Run button, progress, then what changed before/after."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.capture import Change, captured
from lightnb.inspect.redact import Redactor
from lightnb.render import html
from lightnb.ui.panel import StepPanel
from lightnb.ui.progress import Progress
from lightnb.ui.workbook import Workbook


def run_panel(workbook: Workbook, *, limit: int | None = None, now: bool = False) -> StepPanel:
    """Build the run panel: apply every pending migration (or the next ``limit``) to the workspace copy.

    :param now: run at once (for notebooks run top to bottom).
    """
    pending = widgets.HTML("")
    progress = Progress()

    def refresh(_result: object = None) -> None:
        pending.value = html.wrap(html.pending_list(workbook.status()))

    def action() -> Change:
        progress.start()
        ok = False
        try:
            change = captured(workbook.workspace, lambda db, capture: steps.run(
                workbook.project, db, capture=capture, limit=limit, on_step=progress.on_step),
                label="run", redactor=Redactor.for_project(workbook.project))
            ok = True
        finally:
            progress.finish(ok)
        return workbook.record(change)

    panel = StepPanel("Run", action, controls=[pending], button="Run", extra=[progress.widget],
                      intro="Apply every pending migration to the workspace copy (production is never "
                            "touched), then compare before and after.",
                      summary=lambda c: _summary(c, "applied", "nothing pending"))
    panel.pending, panel.progress = pending, progress  # type: ignore[attr-defined]
    workbook.on_change(refresh)
    refresh()
    if now:
        panel.run()
    return panel


def _summary(change: Any, verb: str, nothing: str) -> str:
    count = len(change.result.migrations)
    return f"{verb} {count} migration(s)" if count else nothing
