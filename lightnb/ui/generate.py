"""The generate step: a name field checked as you type, then the new folder and its two files."""

from __future__ import annotations

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import LightnbError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.results import GenerateResult
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook


def generate_panel(workbook: Workbook, name: str = "", *, now: bool = False) -> StepPanel:
    """Build the generate panel: type a migration name, click Generate.

    The name is checked on every keystroke: a name lightnb cannot create turns Generate off with
    the reason; a name diesel accepts but that breaks the convention gets a hint.

    :param name: the name to start with.
    :param now: generate at once with ``name`` (for notebooks run top to bottom).
    """
    field = widgets.Text(value=name, description="Name", placeholder="add_theme_to_user_settings",
                         continuous_update=True, layout=widgets.Layout(width="60%"))
    hint = widgets.HTML("")

    def validate(_change: object = None) -> bool:
        mine = panel.result.migration.name if panel.result is not None else None  # just made here
        try:
            kind, message = steps.name_advice(workbook.project, field.value, mine=mine)
        except LightnbError as error:  # the migrations folder cannot be read
            kind, message = "hint", str(error)
        hint.value = html.banner(message, "error" if kind == "error" else "warn") if field.value and message else ""
        panel.button.disabled = kind == "error"
        return kind != "error"

    def action() -> GenerateResult:
        result = steps.generate(workbook.project, field.value)
        workbook.migration = result.migration
        return result

    def inputs() -> tuple[str, str]:
        return (f"<p>Name: <code>{html.escape(field.value)}</code></p>", f"Name: {md.code(field.value or ' ')}")

    panel = StepPanel("Generate", action, controls=[field, hint], button="Generate", workbook=workbook,
                      records=True, inputs=inputs,
                      intro="Create a migration folder with an empty up.sql and down.sql.",
                      summary=lambda r: f"created {r.migration.name.split('_', 1)[-1]}")
    panel.expose(name_field=field, hint=hint, validate=validate)
    field.observe(validate, names="value")
    validate()
    if now:
        panel.run()
    return panel
