"""The generate step: a name field checked as you type, then the new folder and its two files."""

from __future__ import annotations

import re

import ipywidgets as widgets

from lightnb import migrations as migration_files
from lightnb import steps
from lightnb.errors import LightnbError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook

CONVENTIONAL = re.compile(r"[a-z][a-z0-9_]*")


def name_advice(name: str, existing: list[str] = ()) -> tuple[str, str]:  # type: ignore[assignment]
    """Check a migration name as it is typed; return ``(kind, message)``.

    ``kind`` is ``error`` for a name lightnb cannot create a folder for (empty, a path separator,
    ``..``, control characters, too long: Generate is off), ``hint`` for a name diesel accepts but
    that breaks the usual convention (lower case letters, digits and underscores, starting with a
    letter) or repeats an existing migration's name, and ``""`` for a good name.

    :param existing: the names (after the version) of the project's migrations.
    """
    if not name:
        return "error", "Type a name saying what the change does, e.g. add_theme_to_user_settings."
    try:
        migration_files.validate_name(name)
    except LightnbError as error:
        return "error", str(error)
    suggestion = _suggest(name)
    if not CONVENTIONAL.fullmatch(name):
        odd = sorted({c for c in name if not ((c.islower() and c.isascii()) or c.isdigit() or c == "_")})
        reasons = (["has " + ", ".join(repr(c) for c in odd)] if odd else []) + \
            ([f"starts with {name[0]!r}"] if not name[0].isalpha() else [])
        what = " and ".join(reasons)
        return "hint", (f"diesel accepts this name, but it {what}; migration names are usually lower case "
                        f"letters, digits and underscores, starting with a letter, e.g. {suggestion}.")
    if name in existing:
        return "hint", f"A migration named {name} already exists; diesel allows it, but a new name is clearer."
    return "", ""


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    cleaned = re.sub(r"^[0-9_]+", "", cleaned)
    return cleaned or "my_change"


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

    def existing() -> list[str]:
        mine = panel.result.migration.name if panel.result is not None else None  # just made here
        return [m.name.split("_", 1)[-1] for m in migration_files.discover(workbook.project.migrations_dir)
                if m.name != mine]

    def validate(_change: object = None) -> bool:
        try:
            kind, message = name_advice(field.value, existing())
        except LightnbError as error:  # the migrations folder cannot be read
            kind, message = "hint", str(error)
        hint.value = html.banner(message, "error" if kind == "error" else "warn") if field.value and message else ""
        panel.button.disabled = kind == "error"
        return kind != "error"

    def action():  # type: ignore[no-untyped-def]
        result = steps.generate(workbook.project, field.value)
        workbook.migration = result.migration
        return result

    def inputs() -> tuple[str, str]:
        return (f"<p>Name: <code>{html.escape(field.value)}</code></p>", f"Name: {md.code(field.value or ' ')}")

    panel = StepPanel("Generate", action, controls=[field, hint], button="Generate", workbook=workbook,
                      records=True, inputs=inputs,
                      intro="Create a migration folder with an empty up.sql and down.sql.",
                      summary=lambda r: f"created {r.migration.name.split('_', 1)[-1]}")
    panel.name_field, panel.hint = field, hint  # type: ignore[attr-defined]
    panel.validate = validate  # type: ignore[attr-defined]
    field.observe(validate, names="value")
    validate()
    if now:
        panel.run()
    return panel
