"""Panels built headless: click the buttons, read HTML.value and the result objects."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lightnb import ui
from lightnb.workspace import file_sha256


def columns(db: Path, table: str) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
    finally:
        conn.close()


def prepare(workbook, exercise, up=None):  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    return ui.edit(workbook, up=up or exercise.up_sql, down=exercise.down_sql, now=True)


def test_workbook_describes_project_and_workspace(workbook) -> None:  # type: ignore[no-untyped-def]
    assert repr(workbook) == ("Workbook on sample_backend: workspace copy of production.db; "
                              "8 migration(s) applied, 0 pending")
    assert workbook.workspace.production.name == "production.db"
    assert workbook.database != workbook.workspace.production
    assert "create_users" in workbook._repr_html_()


def test_generate_click_creates_folder_and_shows_files(workbook) -> None:  # type: ignore[no-untyped-def]
    panel = ui.generate(workbook)
    panel.name_field.value = "add_theme"
    panel.button.click()
    folder = panel.result.migration.path
    assert (folder / "up.sql").is_file() and (folder / "down.sql").is_file()
    assert "Created migration" in panel.result_html.value and "up.sql" in panel.result_html.value
    assert panel.state == "created add_theme" and panel.banner.value == ""
    assert workbook.migration == panel.result.migration
    assert repr(panel) == "<Generate panel: created add_theme>"


def test_generate_validates_live_and_reports_one_line_error(workbook) -> None:  # type: ignore[no-untyped-def]
    panel = ui.generate(workbook)
    panel.name_field.value = "../escape"
    assert "path separator" in panel.hint.value
    before = sorted(p.name for p in workbook.project.migrations_dir.iterdir())
    panel.button.click()
    assert panel.result is None and panel.state == "failed"
    assert "lightnb-error" in panel.banner.value and "Traceback" not in panel.banner.value
    assert "\n" not in panel.error_message
    assert sorted(p.name for p in workbook.project.migrations_dir.iterdir()) == before
    panel.name_field.value = "fine_name"
    assert panel.hint.value == ""


def test_edit_saves_both_files(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    panel = ui.edit(workbook)
    assert "Your SQL goes here" in panel.up.value
    panel.up.value = exercise.up_sql
    panel.down.value = exercise.down_sql
    panel.button.click()
    assert workbook.migration.up_path.read_text() == exercise.up_sql
    assert workbook.migration.down_path.read_text() == exercise.down_sql
    assert panel.state == "saved up.sql, down.sql"


def test_run_click_applies_and_previews_before_after(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    production_hash = file_sha256(workbook.workspace.production)
    panel = ui.run(workbook)
    assert "<b>1 pending now</b>" in panel.pending.value and "8 already applied" in panel.pending.value
    panel.button.click()
    assert panel.state == "applied 1 migration(s)", panel.banner.value
    assert exercise.column in columns(workbook.database, exercise.table)
    html = panel.result_html.value
    assert 'data-table="user_settings"' in html and "column added: user_settings.theme" in html
    assert "data:image/png;base64," not in html  # no row count moved: no chart, a sentence instead
    assert "Every table kept its number of rows" in html
    assert "__diesel_schema_migrations" not in html and "__lightnb_" not in html  # bookkeeping
    assert '<th class="lightnb-added">theme (new)</th>' in html
    change = panel.result
    assert change.changed_tables == ("user_settings",)  # bookkeeping tables are not the data
    assert list(change.row_counts()["table"])[:2] == ["message_log", "oauth_connections"]
    preview = change.preview("user_settings")
    assert set(preview.status) == {"unchanged"}  # common columns kept their values
    assert set(preview.frame[("after", "theme")]) == {"system"}
    assert ("after", "theme") in preview.frame.columns and ("before", "theme") not in preview.frame.columns
    assert panel.progress.bar.bar_style == "success" and panel.progress.bar.value == panel.progress.bar.max
    # refreshed after the click, and it does not contradict the result below it
    assert "Nothing pending now</b>: the run below applied the last migration" in panel.pending.value
    assert file_sha256(workbook.workspace.production) == production_hash


def test_run_failure_shows_banner_and_leaves_workspace_unchanged(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise, up="ALTER TABLE user_settings ADD COLUMN theme TEXT;\nSELECT nope FROM nowhere;\n")
    panel = ui.run(workbook)
    panel.button.click()
    assert panel.state == "failed" and panel.result is None
    assert "nowhere" in panel.banner.value and "Traceback" not in panel.banner.value
    assert "theme" not in columns(workbook.database, "user_settings")  # the transaction rolled back
    assert panel.progress.bar.bar_style == "danger"
    assert len(workbook.status().pending) == 1


def test_revert_click_restores_and_previews(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    ui.run(workbook, now=True)
    panel = ui.revert(workbook)
    panel.button.click()
    assert panel.state == "reverted 1 migration(s)", panel.banner.value
    assert exercise.column not in columns(workbook.database, exercise.table)
    assert 'data-table="user_settings"' in panel.result_html.value
    assert ("before", "theme") in panel.result.preview("user_settings").frame.columns
    newest_sample = [m.name for m in workbook.status().migrations if m.applied][-1]
    assert f"<code>{newest_sample} (production has it)</code>" in panel.plan.value  # what the next click undoes
    panel.button.click()  # would revert one of the sample's own migrations: asks instead
    assert panel.state == "waiting for confirmation" and newest_sample in panel.banner.value
    assert len(workbook.status().pending) == 1 and panel.asking.layout.display == "flex"
    assert ("before", "theme") in panel.result.preview("user_settings").frame.columns  # the result stays
    panel.cancel.click()
    assert len(workbook.status().pending) == 1 and panel.asking.layout.display == "none"
    panel.button.click()
    panel.confirm.click()  # Revert anyway
    assert panel.state == "reverted 1 migration(s)" and panel.result.result.names == [newest_sample]
    assert len(workbook.status().pending) == 2


def test_panel_mimebundle_has_text_and_widget_view(workbook) -> None:  # type: ignore[no-untyped-def]
    bundle = ui.revert(workbook)._repr_mimebundle_()
    assert bundle["text/plain"] == "<Revert panel: ready>"
    assert "model_id" in bundle["application/vnd.jupyter.widget-view+json"]


def test_edit_lints_as_you_type(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    panel = ui.edit(workbook, up=exercise.up_sql, down=exercise.down_sql)
    clean = panel.lint.value
    panel.down.value = ""  # an up.sql without its undo
    assert panel.findings and panel.lint.value != clean
    assert any(f.file == "down.sql" for f in panel.findings), [f.rule for f in panel.findings]
    panel.down.value = exercise.down_sql
    assert panel.lint.value == clean


def test_edit_open_in_lab_refuses_files_outside_the_served_folder(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    panel = ui.edit(workbook)
    panel.open_in_lab.click()
    assert "is outside JupyterLab" in panel.banner.value


def test_models_panel_shows_schema_changes_since_the_workbook_opened(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    ui.run(workbook, now=True)
    panel = ui.models(workbook, now=True)
    result = panel.result
    assert any(f"+        {exercise.column} ->" in f.diff for f in result.schema_files)
    assert result.drift is not None and result.changes  # the new column is planned for its struct
    assert [b.description for b in panel.apply_buttons.children] == [f"Apply: {c.struct}" for c in result.changes]
    assert exercise.column in panel.result_html.value


def test_lab_root_is_the_serving_folder_not_the_kernel_folder(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib
    edit = importlib.import_module("lightnb.ui.edit")  # the module, not the panel factory of the same name
    root = tmp_path / "lab"
    (root / "sub").mkdir(parents=True)
    monkeypatch.chdir(root / "sub")
    import jupyter_server.serverapp as serverapp
    monkeypatch.setattr(serverapp, "list_running_servers",
                        lambda: iter([{"root_dir": str(tmp_path / "elsewhere")}, {"root_dir": str(root)}]))
    assert edit._lab_root() == root.resolve()
    monkeypatch.setattr(serverapp, "list_running_servers", lambda: iter([]))
    assert edit._lab_root() == (root / "sub").resolve()


def test_fresh_sample_goes_where_jupyterlab_can_open_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib

    import jupyter_server.serverapp as serverapp
    workbook_module = importlib.import_module("lightnb.ui.workbook")  # the module, not the factory
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(serverapp, "list_running_servers", lambda: iter([{"root_dir": str(tmp_path)}]))
    served = workbook_module._scratch_folder()
    assert served.parent == (tmp_path / "lightnb-runs")
    monkeypatch.setattr(serverapp, "list_running_servers", lambda: iter([]))
    elsewhere = workbook_module._scratch_folder()
    assert tmp_path not in elsewhere.parents
