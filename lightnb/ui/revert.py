"""The revert step: revert the last (or last N) migrations, and preview what the revert restores."""

from __future__ import annotations

import ipywidgets as widgets

from lightnb import steps
from lightnb.capture import Change, captured
from lightnb.inspect.redact import Redactor
from lightnb.ui.panel import StepPanel
from lightnb.ui.progress import Progress
from lightnb.ui.run import _summary
from lightnb.ui.workbook import Workbook


def revert_panel(workbook: Workbook, number: int = 1, *, now: bool = False) -> StepPanel:
    """Build the revert panel: run the down.sql of the latest ``number`` migrations.

    :param now: revert at once (for notebooks run top to bottom).
    """
    count = widgets.BoundedIntText(value=number, min=1, max=10_000, description="How many",
                                   layout=widgets.Layout(width="180px"))
    progress = Progress()

    def action() -> Change:
        progress.start()
        ok = False
        try:
            change = captured(workbook.workspace, lambda db, capture: steps.revert(
                workbook.project, db, capture=capture, number=count.value, on_step=progress.on_step),
                label="revert", redactor=Redactor.for_project(workbook.project))
            ok = True
        finally:
            progress.finish(ok)
        return workbook.record(change)

    panel = StepPanel("Revert", action, controls=[count], button="Revert", extra=[progress.widget],
                      intro="Run down.sql of the latest migrations on the workspace copy; the previews "
                            "show what the revert restores.",
                      summary=lambda c: _summary(c, "reverted", "nothing to revert"))
    panel.number, panel.progress = count, progress  # type: ignore[attr-defined]
    if now:
        panel.run()
    return panel
