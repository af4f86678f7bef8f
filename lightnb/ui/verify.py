"""Verification queries and a sign-off checklist, for documenting a data change for review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets

from lightnb.inspect._sql import open_ro
from lightnb.inspect.preview import Preview, preview
from lightnb.inspect.redact import Redactor
from lightnb.render import html
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook


@dataclass(frozen=True)
class Verification:
    """The verification queries and what each returned on the workspace (bounded, redacted)."""

    queries: tuple[str, ...]
    previews: tuple[Preview, ...]


def _render(result: Verification) -> str:
    return "".join(f"<pre>{html.escape(q)}</pre>{html.render(p)}" for q, p in zip(result.queries, result.previews))


def verify_panel(workbook: Workbook, queries: Sequence[str], *, rows: int = 20, now: bool = False) -> StepPanel:
    """Build a panel running read-only SELECT ``queries`` on the workspace (sensitive values redacted)."""
    def action() -> Verification:
        conn = open_ro(workbook.database)
        try:
            redactor = Redactor.for_project(workbook.project)
            return Verification(tuple(queries), tuple(preview(conn, q, n=rows, redactor=redactor) for q in queries))
        finally:
            conn.close()

    panel = StepPanel("Verify", action, render=_render, button="Run queries",
                      intro="Read-only queries a reviewer can rerun to check the change.",
                      summary=lambda r: f"{len(r.previews)} query(ies) run")
    if now:
        panel.run()
    return panel


def signoff(items: Sequence[str], *, title: str = "Sign-off") -> widgets.VBox:
    """Return a checklist of ``items`` for the reviewer to tick (state is saved with the notebook)."""
    boxes = [widgets.Checkbox(value=False, description=item, indent=False, layout=widgets.Layout(width="auto"))
             for item in items]
    box = widgets.VBox([widgets.HTML(html.heading(title, 3)), *boxes])
    box.add_class("lightnb-signoff")
    return box
