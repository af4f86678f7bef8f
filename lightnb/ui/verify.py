"""Verification queries and a sign-off checklist, for documenting a data change for review."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import ipywidgets as widgets

from lightnb import steps
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.results import SignOff, Tick, Verification
from lightnb.ui.panel import Recorded, StepPanel
from lightnb.ui.record import Record
from lightnb.ui.record import now as local_now
from lightnb.ui.workbook import Workbook

__all__ = ["SignOff", "SignOffPanel", "Tick", "Verification", "signoff", "verify_panel"]


def verify_panel(workbook: Workbook, queries: Sequence[str], *, rows: int = 20, now: bool = False) -> StepPanel:
    """Build a panel running read-only SELECT ``queries`` on the workspace (sensitive values redacted)."""
    def action() -> Verification:
        return steps.verify(workbook.project, workbook.database, queries, rows=rows)

    panel = StepPanel("Verify", action, button="Run queries", workbook=workbook, stale_on=("Change",),
                      stale_hint="Click Run queries to check the workspace as it is now.",
                      intro="Read-only queries a reviewer can rerun to check the change.",
                      summary=lambda r: f"{len(r.previews)} query(ies) run")
    if now:
        panel.run()
    return panel


class SignOffPanel(Recorded):
    """A checklist a reviewer ticks; every tick records the reviewer's name and the time.

    Type the name once in *Reviewer*, then tick. A tick without a name is undone with a hint. The
    ticks, names and times are the panel's record, kept in the saved notebook and its report.
    """

    def __init__(self, items: Sequence[str], *, title: str = "Sign-off", reviewer: str = "",
                 clock: Callable[[], str] = local_now) -> None:
        self.title = title
        self.clock = clock
        self.sheet = SignOff(title, tuple(Tick(item) for item in items))
        self.name = widgets.Text(value=reviewer, description="Reviewer", placeholder="your name",
                                 continuous_update=True, layout=widgets.Layout(width="50%"))
        self.name.add_class("lightnb-reviewer")
        self.boxes = [widgets.Checkbox(value=False, description=item, indent=False,
                                       layout=widgets.Layout(width="auto")) for item in items]
        self.hint = widgets.HTML("")
        self.who = [widgets.HTML("") for _ in items]
        rows = [widgets.HBox([box, who]) for box, who in zip(self.boxes, self.who)]
        self.widget = widgets.VBox([widgets.HTML(html.style() + html.heading(title, 3)
                                                 + "<p>Type your name, then tick each item you checked.</p>"),
                                    self.name, self.hint, *rows])
        self.widget.add_class("lightnb-signoff")
        self.widget.add_class("lightnb-panel")
        self.record = Record(title, self._record)
        self._undoing = False
        for index, box in enumerate(self.boxes):
            box.observe(lambda change, i=index: self._ticked(i, bool(change["new"])), names="value")

    @property
    def result(self) -> SignOff:
        """The ticks as they are now."""
        return self.sheet

    def tick(self, item: int | str, reviewer: str | None = None) -> SignOff:
        """Tick ``item`` (its index or text) as ``reviewer`` (default: the name typed), as a click does."""
        index = item if isinstance(item, int) else [t.item for t in self.sheet.ticks].index(item)
        if reviewer is not None:
            self.name.value = reviewer
        self.boxes[index].value = True
        return self.sheet

    def _ticked(self, index: int, value: bool) -> None:
        if self._undoing:
            return
        ticks = list(self.sheet.ticks)
        name = " ".join(self.name.value.split())
        if value and not name:
            self._undoing = True
            try:
                self.boxes[index].value = False
            finally:
                self._undoing = False
            self.hint.value = html.banner("Type your name in Reviewer first: each tick records who ticked it.",
                                          "warn")
            return
        self.hint.value = ""
        ticks[index] = replace(ticks[index], ticked=value, by=name if value else "", at=self.clock() if value else "")
        self.sheet = replace(self.sheet, ticks=tuple(ticks))
        tick = ticks[index]
        self.who[index].value = (f'<span class="lightnb-record-meta">{html.escape(tick.by)}, {html.escape(tick.at)}'
                                 f"</span>" if tick.ticked else "")
        self.record.update()

    def _record(self) -> tuple[str, str, str]:
        status = f"{self.sheet.done} of {len(self.sheet.ticks)} ticked"
        body = html.wrap(f'<div class="lightnb-record" data-panel="{html.escape(self.title)}">'
                         f"{html.heading(self.title, 3)}{html.render(self.sheet)}</div>")
        plain = "\n".join([f"{self.title}: {status}"] + [
            f"[{'x' if t.ticked else ' '}] {t.item}" + (f" — {t.by}, {t.at}" if t.ticked else "")
            for t in self.sheet.ticks])
        return body, md.join(md.heading(self.title, 3), md.render(self.sheet)), plain

    def __repr__(self) -> str:
        return f"<{self.title}: {self.sheet.done} of {len(self.sheet.ticks)} ticked>"


def signoff(items: Sequence[str], *, title: str = "Sign-off", reviewer: str = "") -> SignOffPanel:
    """Return a checklist of ``items`` for the reviewer to tick; each tick records who and when.

    :param reviewer: the name to start with in the *Reviewer* field.
    """
    return SignOffPanel(items, title=title, reviewer=reviewer)
