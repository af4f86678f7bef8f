"""The edit step: up.sql and down.sql side by side, Save, and lint findings under them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import LightnbError, MigrationError
from lightnb.migrations import Migration
from lightnb.render import html
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook, served_root


@dataclass(frozen=True)
class _Saved:
    """What the Save button wrote."""

    migration: Migration
    files: tuple[str, ...]


def _newest(workbook: Workbook) -> str:
    listing = workbook.status().migrations
    if not listing:
        raise MigrationError(f"No migrations in {workbook.project.migrations_dir}; generate one first.")
    return listing[-1].name


def _open_in_lab(paths: list[Path]) -> None:
    """Ask JupyterLab (through ipylab) to open ``paths`` in its own editor.

    :raises LightnbError: when a file lies outside the folder JupyterLab serves (the kernel's folder).
    """
    from ipylab import JupyterFrontEnd

    app = JupyterFrontEnd()
    root = _lab_root()
    for path in paths:
        relative = os.path.relpath(Path(path).resolve(), root)
        if relative.startswith(".."):
            raise LightnbError(f"{path} is outside JupyterLab's folder {root}; open it from the file browser "
                               f"or start JupyterLab in a folder that contains the project.")
        app.commands.execute("docmanager:open", {"path": Path(relative).as_posix(), "factory": "Editor"})


def _lab_root() -> Path:
    """Return the folder the JupyterLab server serves (paths it opens are relative to it).

    Falls back to the kernel's folder when no running server contains it.
    """
    return served_root() or Path.cwd().resolve()


def edit_panel(workbook: Workbook, migration: Migration | str | None = None, *, up: str | None = None,
               down: str | None = None, now: bool = False) -> StepPanel:
    """Build the edit panel for ``migration`` (default: the one just generated, else the newest).

    :param up: text to put in the up.sql editor instead of the file's content.
    :param down: text to put in the down.sql editor instead of the file's content.
    :param now: save at once (for notebooks run top to bottom).
    """
    target: list[Migration | None] = [None]
    up_box = widgets.Textarea(description="", layout=widgets.Layout(width="100%", height="160px"))
    down_box = widgets.Textarea(description="", layout=widgets.Layout(width="100%", height="160px"))
    up_box.add_class("lightnb-up-sql")
    down_box.add_class("lightnb-down-sql")
    heading = widgets.HTML("")
    findings = widgets.HTML("")
    findings.add_class("lightnb-lint")
    open_in_lab = widgets.Button(description="Open in JupyterLab editor", layout=widgets.Layout(width="auto"))
    editors = widgets.HBox([
        widgets.VBox([widgets.HTML("<b>up.sql</b>"), up_box], layout=widgets.Layout(width="50%")),
        widgets.VBox([widgets.HTML("<b>down.sql</b>"), down_box], layout=widgets.Layout(width="50%")),
    ])

    def load() -> None:
        name = migration.name if isinstance(migration, Migration) else migration
        if name is None:
            name = workbook.migration.name if workbook.migration else _newest(workbook)
        chosen = steps.find_migration(workbook.project, name)
        target[0] = chosen
        up_text, down_text = steps.read_sql(workbook.project, chosen.name)
        up_box.value = up if up is not None else up_text
        down_box.value = down if down is not None else (down_text or "")
        heading.value = f"<p>Migration <code>{html.escape(chosen.name)}</code></p>"
        lint()

    def lint(_change: object = None) -> None:
        if target[0] is None:
            return
        try:
            found = steps.lint_sql(workbook.project, up_box.value, down_box.value, name=target[0].name,
                                   run_in_transaction=target[0].run_in_transaction)
        except LightnbError as error:
            findings.value = html.banner(str(error), "warn")
            return
        panel.findings = found  # type: ignore[attr-defined]
        findings.value = html.wrap(html.heading("Lint", 5) + html.findings(found))

    def open_files(_button: object = None) -> None:
        if target[0] is None:
            return
        try:
            _open_in_lab([target[0].up_path] + ([target[0].down_path] if target[0].down_path else []))
        except LightnbError as error:
            panel.fail(str(error), error)

    def action() -> Any:
        if target[0] is None:
            load()
        assert target[0] is not None
        saved = steps.save_sql(workbook.project, target[0].name, up=up_box.value, down=down_box.value)
        return workbook.record(_Saved(saved, ("up.sql", "down.sql")))

    panel = StepPanel("Edit", action, controls=[heading, editors, open_in_lab], button="Save", extra=[findings],
                      intro="Write the change in up.sql and its exact undo in down.sql, then save.",
                      render=lambda saved: html.banner(f"Saved {', '.join(saved.files)} of {saved.migration.name}",
                                                       "ok"),
                      summary=lambda saved: "saved " + ", ".join(saved.files))
    panel.up, panel.down, panel.lint, panel.open_in_lab = up_box, down_box, findings, open_in_lab  # type: ignore[attr-defined]
    panel.findings = []  # type: ignore[attr-defined]
    up_box.observe(lint, names="value")
    down_box.observe(lint, names="value")
    open_in_lab.on_click(open_files)
    try:
        load()
    except LightnbError as error:
        panel.fail(str(error), error)
    if now and target[0] is not None:
        panel.run()
    return panel
