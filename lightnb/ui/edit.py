"""The edit step: up.sql and down.sql side by side, Save, and lint findings under them.

Text that differs from the files is marked unsaved. A step that uses the files (Run, Revert, Test)
saves such edits first and says so; when a file changed on disk since the panel loaded it, it
refuses instead of overwriting that change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import LightnbError, MigrationError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.results import SavedSql
from lightnb.steps import Migration
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook, served_root

__all__ = ["SavedSql", "edit_panel"]


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


def _on_disk(migration: Migration) -> tuple[str, str]:
    up = migration.up_path.read_text(encoding="utf-8") if migration.up_path.is_file() else ""
    down = migration.down_path.read_text(encoding="utf-8") if migration.down_path and migration.down_path.is_file() \
        else ""
    return up, down


def edit_panel(workbook: Workbook, migration: Migration | str | None = None, *, up: str | None = None,
               down: str | None = None, now: bool = False) -> StepPanel:
    """Build the edit panel for ``migration`` (default: the one just generated, else the newest).

    :param up: text to put in the up.sql editor instead of the file's content.
    :param down: text to put in the down.sql editor instead of the file's content.
    :param now: save at once (for notebooks run top to bottom).
    """
    target: list[Migration | None] = [None]
    loaded: list[tuple[str, str]] = [("", "")]  # the files' text when loaded or last saved
    up_box = widgets.Textarea(description="", layout=widgets.Layout(width="100%", height="160px"))
    down_box = widgets.Textarea(description="", layout=widgets.Layout(width="100%", height="160px"))
    up_box.add_class("lightnb-up-sql")
    down_box.add_class("lightnb-down-sql")
    heading = widgets.HTML("")
    up_label, down_label = widgets.HTML("<b>up.sql</b>"), widgets.HTML("<b>down.sql</b>")
    findings = widgets.HTML("")
    findings.add_class("lightnb-lint")
    open_in_lab = widgets.Button(description="Open in JupyterLab editor", layout=widgets.Layout(width="auto"))
    editors = widgets.HBox([
        widgets.VBox([up_label, up_box], layout=widgets.Layout(width="50%")),
        widgets.VBox([down_label, down_box], layout=widgets.Layout(width="50%")),
    ])
    shown_state: list[tuple[Any, ...]] = [()]
    linted: list[Any] = []  # the lint findings of the text in the editors

    def unsaved() -> list[str]:
        """The files whose editor text differs from what was loaded or last saved."""
        return [name for name, box, text in (("up.sql", up_box, loaded[0][0]), ("down.sql", down_box, loaded[0][1]))
                if box.value != text]

    def mark(_change: object = None) -> None:
        dirty = unsaved()
        for label, name in ((up_label, "up.sql"), (down_label, "down.sql")):
            mark = ' <span class="lightnb-unsaved">● unsaved</span>' if name in dirty else ""
            label.value = f"<b>{name}</b>{mark}"
        if target[0] is not None:
            note = (f' <span class="lightnb-unsaved">● unsaved edits in {", ".join(dirty)}</span>' if dirty else "")
            heading.value = f"<p>Migration <code>{html.escape(target[0].name)}</code>{note}</p>"
        if dirty and panel.state not in ("failed", "working…"):
            panel.set_status("unsaved edits")
        state = (tuple(dirty), tuple((f.rule, f.location()) for f in linted))
        if state != shown_state[0]:  # the record follows what changed, not every keystroke
            shown_state[0] = state
            panel.record.update()

    def load() -> None:
        name = migration.name if isinstance(migration, Migration) else migration
        if name is None:
            name = workbook.migration.name if workbook.migration else _newest(workbook)
        chosen = steps.find_migration(workbook.project, name)
        target[0] = chosen
        up_text, down_text = steps.read_sql(workbook.project, chosen.name)
        loaded[0] = (up_text, down_text or "")
        up_box.value = up if up is not None else up_text
        down_box.value = down if down is not None else (down_text or "")
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
        linted[:] = found
        panel.expose(findings=found)
        findings.value = html.wrap(html.heading("Lint", 5) + html.findings(found))
        mark()

    def open_files(_button: object = None) -> None:
        if target[0] is None:
            return
        try:
            _open_in_lab([target[0].up_path] + ([target[0].down_path] if target[0].down_path else []))
        except LightnbError as error:
            panel.fail(str(error), error, keep_result=True)

    def action() -> Any:
        if target[0] is None:
            load()
        assert target[0] is not None
        saved = steps.save_sql(workbook.project, target[0].name, up=up_box.value, down=down_box.value)
        loaded[0] = (up_box.value, down_box.value)
        return SavedSql(saved, ("up.sql", "down.sql"), (("up.sql", up_box.value), ("down.sql", down_box.value)))

    def save_first() -> str | None:
        """Save unsaved edits before another step uses the files; refuse to overwrite a change on disk."""
        dirty = unsaved()
        if target[0] is None or not dirty:
            return None
        if _on_disk(target[0]) != loaded[0]:
            raise LightnbError(f"{' and '.join(dirty)} of {target[0].name} changed on disk after the Edit panel "
                               f"loaded it, and the panel holds unsaved edits; click Save there to keep the "
                               f"panel's text, or rerun the Edit cell to load the files.")
        if panel.run() is None:
            raise LightnbError(f"Could not save the Edit panel's unsaved {' and '.join(dirty)} of "
                               f"{target[0].name}: {panel.failure}")
        return f"Saved the Edit panel's unsaved {' and '.join(dirty)} of {target[0].name} first."

    def inputs() -> tuple[str, str]:
        if target[0] is None:
            return "", ""
        dirty = unsaved()
        found = linted
        note = f" — unsaved edits in {', '.join(dirty)} (not saved, so not shown here)" if dirty else ""
        lint_html = html.heading("Lint", 5) + html.findings(found)
        lint_md = md.join(md.heading("Lint", 5), md.findings(found))
        return (f"<p>Migration <code>{html.escape(target[0].name)}</code>{html.escape(note)}</p>" + lint_html,
                md.join(f"Migration {md.code(target[0].name)}{md.text(note)}", lint_md))

    panel = StepPanel("Edit", action, controls=[heading, editors, open_in_lab], button="Save", extra=[findings],
                      workbook=workbook, records=True, inputs=inputs,
                      intro="Write the change in up.sql and its exact undo in down.sql, then save.",
                      summary=lambda saved: "saved " + ", ".join(saved.files))
    panel.expose(up=up_box, down=down_box, lint=findings, open_in_lab=open_in_lab, findings=[], unsaved=unsaved,
                 save_first=save_first)
    up_box.observe(lint, names="value")
    down_box.observe(lint, names="value")
    open_in_lab.on_click(open_files)
    workbook.on_save_drafts(save_first)
    workbook.on_change(lambda result: mark() if isinstance(result, SavedSql) else None)
    try:
        load()
    except LightnbError as error:
        panel.fail(str(error), error)
    if now and target[0] is not None:
        panel.run()
    mark()
    return panel
