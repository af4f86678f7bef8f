"""The generate step: a name field validated as you type, then the new folder and its two files."""

from __future__ import annotations

import ipywidgets as widgets

from lightnb import migrations as migration_files
from lightnb import steps
from lightnb.errors import LightnbError
from lightnb.render import html
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook


def generate_panel(workbook: Workbook, name: str = "", *, now: bool = False) -> StepPanel:
    """Build the generate panel: type a migration name, click Generate.

    :param name: the name to start with.
    :param now: generate at once with ``name`` (for notebooks run top to bottom).
    """
    field = widgets.Text(value=name, description="Name", placeholder="add_theme_to_user_settings",
                         continuous_update=True, layout=widgets.Layout(width="60%"))
    hint = widgets.HTML("")

    def validate(_change: object = None) -> bool:
        try:
            migration_files.validate_name(field.value)
        except LightnbError as error:
            hint.value = html.banner(str(error), "warn") if field.value else ""
            return False
        hint.value = ""
        return True

    def action():  # type: ignore[no-untyped-def]
        result = steps.generate(workbook.project, field.value)
        workbook.migration = result.migration
        return workbook.record(result)

    field.observe(validate, names="value")
    validate()
    panel = StepPanel("Generate", action, controls=[field, hint], button="Generate",
                      intro="Create a migration folder with an empty up.sql and down.sql.",
                      summary=lambda r: f"created {r.migration.name.split('_', 1)[-1]}")
    panel.name_field, panel.hint = field, hint  # type: ignore[attr-defined]
    if now:
        panel.run()
    return panel
