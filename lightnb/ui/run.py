"""The run step: pending migrations, a Run button, progress, then what changed before/after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import LightnbError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.ui.panel import StepPanel
from lightnb.ui.progress import Progress
from lightnb.ui.workbook import Workbook

if TYPE_CHECKING:
    from lightnb.steps import Change


def run_panel(workbook: Workbook, *, limit: int | None = None, now: bool = False) -> StepPanel:
    """Build the run panel: apply every pending migration (or the next ``limit``) to the workspace copy.

    The pending list above the button is read again after every action of any panel. Unsaved
    edits in an Edit panel are saved first (the result says so). Clicking Run with nothing pending
    says so and keeps the earlier result on show.

    :param now: run at once (for notebooks run top to bottom).
    """
    pending = widgets.HTML("")
    progress = Progress()
    saved_first: list[str] = []

    def refresh(_result: object = None) -> None:
        try:
            listing = workbook.status()
        except LightnbError as error:
            pending.value = html.banner(str(error), "warn")
            return
        applied = panel.result.result.names if panel.result is not None else ()
        pending.value = html.wrap(html.pending_list(listing, just_applied=applied))

    def action() -> Change:
        saved_first[:] = workbook.save_drafts()
        progress.start()
        ok = False
        try:
            tested = workbook.last_of("CheckResult")  # the Test step's proof may hand its copy over
            change = steps.run_on_workspace(workbook.project, workbook.workspace, limit=limit,
                                            on_step=progress.on_step, durable=not workbook.scratch,
                                            proved=tested.handed_over if tested is not None else None)
            ok = True
        finally:
            progress.finish(ok)
        if saved_first:
            change = change.noted(saved_first)
        return change

    def inputs() -> tuple[str, str]:
        listing = workbook.status()
        waiting = [m.name for m in listing.pending]
        if waiting:
            return (f"<p>Pending now: {len(waiting)}</p>" + html.items(waiting, code=True),
                    md.join(f"Pending now: {len(waiting)}", md.items(waiting, as_code=True)))
        return "<p>Pending now: none.</p>", "Pending now: none."

    panel = StepPanel("Run", action, controls=[pending], button="Run", extra=[progress.widget],
                      workbook=workbook, records=True, stale_on=("Change",), inputs=inputs, after=refresh,
                      stale_hint="The pending list above shows what Run would apply now.",
                      no_op=lambda c: ("Nothing to apply: every migration is applied to the workspace copy."
                                       if not c.result.migrations else None),
                      intro="Apply every pending migration to the workspace copy (production is never "
                            "touched), then compare before and after.",
                      summary=lambda c: _summary(c, "applied", "nothing pending"))
    panel.expose(pending=pending, progress=progress)
    workbook.on_change(refresh)
    refresh()
    if now:
        panel.run()
    return panel


def _summary(change: Any, verb: str, nothing: str) -> str:
    count = len(change.result.migrations)
    return f"{verb} {count} migration(s)" if count else nothing
