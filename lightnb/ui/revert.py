"""The revert step: revert the last (or last N) migrations, and preview what the revert restores.

The panel always says which migrations the next click would revert. When one of them is a
migration production already has (not one this workbook applied), it does not revert at once: it
names it and asks, with a *Revert anyway* and a *Cancel* button.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import LightnbError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.ui.panel import NeedsConfirmation, StepPanel
from lightnb.ui.progress import Progress
from lightnb.ui.run import _summary
from lightnb.ui.workbook import Workbook

if TYPE_CHECKING:
    from lightnb.steps import Change


def next_to_revert(workbook: Workbook, number: int) -> list[tuple[str, bool]]:
    """Return ``(migration, production has it)`` for the migrations a revert of ``number`` would undo, newest first."""
    applied = [m for m in workbook.status().migrations if m.applied]
    return [(m.name, m.version in workbook.production_applied) for m in reversed(applied)][:max(number, 0)]


def revert_panel(workbook: Workbook, number: int = 1, *, now: bool = False) -> StepPanel:
    """Build the revert panel: run the down.sql of the latest ``number`` migrations.

    :param now: revert at once (for notebooks run top to bottom); a migration production has is
        still only reverted after *Revert anyway* is clicked.
    """
    count = widgets.BoundedIntText(value=number, min=1, max=10_000, description="How many",
                                   layout=widgets.Layout(width="180px"))
    plan = widgets.HTML("")
    confirm = widgets.Button(description="Revert anyway", button_style="danger", layout=widgets.Layout(width="auto"))
    cancel = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
    asking = widgets.HBox([confirm, cancel])
    asking.layout.display = "none"
    progress = Progress()
    confirmed = [False]
    saved_first: list[str] = []

    def refresh(_result: object = None) -> None:
        try:
            targets = next_to_revert(workbook, count.value)
        except LightnbError as error:
            plan.value = html.banner(str(error), "warn")
            return
        if not targets:
            plan.value = "<p><b>Nothing to revert</b>: no migration is applied to the workspace copy.</p>"
            return
        names = [f"{name} (production has it)" if theirs else name for name, theirs in targets]
        plan.value = html.wrap("<p><b>Revert would undo</b> (newest first):</p>" + html.items(names, code=True))

    def action() -> Change:
        targets = next_to_revert(workbook, count.value)
        theirs = [name for name, has in targets if has]
        if theirs and not confirmed[0]:
            asking.layout.display = "flex"
            raise NeedsConfirmation(f"Not reverted yet: this would revert {', '.join(theirs)}, which production "
                                    f"already has (this workbook did not apply it). Click Revert anyway to revert "
                                    f"it on the workspace copy, or Cancel.")
        confirmed[0] = False
        asking.layout.display = "none"
        saved_first[:] = workbook.save_drafts()
        progress.start()
        ok = False
        try:
            change = steps.revert_on_workspace(workbook.project, workbook.workspace, number=count.value,
                                               on_step=progress.on_step, durable=not workbook.scratch)
            ok = True
        finally:
            progress.finish(ok)
        return change.noted(saved_first) if saved_first else change

    def go_ahead(_button: object = None) -> None:
        confirmed[0] = True
        panel.run()

    def call_off(_button: object = None) -> None:
        confirmed[0] = False
        asking.layout.display = "none"
        panel.banner.value, panel.warning = "", ""
        panel.set_status(panel.summary(panel.result) if panel.result is not None else "ready")
        panel.log("cancelled: nothing was reverted")

    def inputs() -> tuple[str, str]:
        targets = next_to_revert(workbook, count.value)
        names = [f"{name} (production has it)" if theirs else name for name, theirs in targets]
        if not names:
            return "<p>Revert would undo: nothing.</p>", "Revert would undo: nothing."
        return ("<p>Revert would undo now (newest first):</p>" + html.items(names, code=True),
                md.join("Revert would undo now (newest first):", md.items(names, as_code=True)))

    panel = StepPanel("Revert", action, controls=[count, plan], button="Revert",
                      extra=[asking, progress.widget], workbook=workbook, records=True, stale_on=("Change",),
                      inputs=inputs, after=refresh,
                      no_op=lambda c: ("Nothing to revert: no migration is applied." if not c.result.migrations
                                       else None),
                      intro="Run down.sql of the latest migrations on the workspace copy; the previews "
                            "show what the revert restores.",
                      summary=lambda c: _summary(c, "reverted", "nothing to revert"))
    panel.expose(number=count, progress=progress, plan=plan, confirm=confirm, cancel=cancel, asking=asking)
    confirm.on_click(go_ahead)
    cancel.on_click(call_off)
    def recount(_change: object = None) -> None:
        confirmed[0] = False  # a confirmation answers one question, not a changed one
        asking.layout.display = "none"
        refresh()
        panel.record.update()

    count.observe(recount, names="value")
    workbook.on_change(refresh)
    refresh()
    if now:
        panel.run()
    return panel
