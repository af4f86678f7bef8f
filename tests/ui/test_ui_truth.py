"""Panels tell the truth: only the current outcome, never stale without saying so, never a silent surprise."""

from __future__ import annotations

from pathlib import Path

from lightnb import steps, ui
from lightnb.capture import captured


def prepare(workbook, exercise, up=None, down=None):  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    return ui.edit(workbook, up=up or exercise.up_sql, down=down or exercise.down_sql, now=True)


def test_a_failed_run_clears_the_earlier_success(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    edit = prepare(workbook, exercise)
    run = ui.run(workbook, now=True)
    assert run.state == "applied 1 migration(s)" and 'data-table="user_settings"' in run.result_html.value
    ui.revert(workbook, now=True)
    edit.up.value = "ALTER TABLE user_settings ADD COLUMN theme TEXT;\nSELECT nope FROM nowhere;\n"
    edit.button.click()
    run.button.click()
    assert run.state == "failed" and run.result is None
    assert run.result_html.value == "" and "Applied" not in run.result_html.value  # no stale success below
    assert "nowhere" in run.banner.value
    record_html, record_md, record_text = run.record.bundle()[0].values()
    assert "nowhere" in record_md and "user_settings" not in record_md.split("History:")[0].split("Pending")[0]
    assert "Before / after" not in record_md and "Before / after" not in record_html
    assert record_text.startswith("Run: failed")


def test_run_with_nothing_pending_says_so_and_keeps_the_run_it_did(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    run = ui.run(workbook, now=True)
    before = len(workbook.results)
    run.button.click()
    assert run.state == "nothing pending"
    assert "Nothing to apply" in run.banner.value and "The result below is from before" in run.banner.value
    assert "theme (new)" in run.result_html.value  # what the earlier click applied is still shown
    assert len(workbook.results) == before  # a click that did nothing is not recorded as a change
    assert "Nothing pending now</b>: the run below applied" in run.pending.value


def test_a_later_revert_marks_earlier_panels_out_of_date_and_they_keep_the_run(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    run = ui.run(workbook, now=True)
    inspect = ui.inspect(workbook, now=True)
    models = ui.models(workbook, now=True)
    assert models.result.changes and models.apply_buttons.children  # the schema.rs diff and Apply buttons
    revert = ui.revert(workbook, now=True)
    assert revert.state == "reverted 1 migration(s)"
    # Inspect and models still tell the story of the run above them, and say a later step changed things.
    assert inspect.result.preview.frame[("after", "theme")].notna().all()
    assert any("+        theme ->" in f.diff for f in models.result.schema_files)
    for panel in (run, inspect, models):
        assert "Out of date" in panel.notice.value and "the Revert panel reverted 1 migration(s)" in panel.notice.value
    assert "1 pending now" in run.pending.value  # the list above Run is read again
    models.apply_buttons.children[0].click()  # a stale plan is not applied
    assert "click Check models" in models.banner.value and models.result is not None
    struct_file = models.result.changes[0].path
    assert "pub theme" not in struct_file.read_text()
    models.button.click()
    assert models.notice.value == "" and not models.result.changes  # reviewed again: nothing left to plan


def test_follow_reinspects_after_every_change(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    ui.run(workbook, now=True)
    inspect = ui.inspect(workbook, now=True, follow=True)
    ui.revert(workbook, now=True)
    assert inspect.notice.value == ""
    assert ("before", "theme") in inspect.result.preview.frame.columns  # it shows the revert now


def test_generate_checks_the_name_as_you_type(workbook) -> None:  # type: ignore[no-untyped-def]
    panel = ui.generate(workbook)
    assert panel.button.disabled  # no name yet
    panel.name_field.value = "Add Theme"
    assert "diesel accepts this name" in panel.hint.value and "add_theme" in panel.hint.value
    assert "lightnb-warn" in panel.hint.value and not panel.button.disabled
    panel.name_field.value = "2fix"
    assert "starts with &#x27;2&#x27;" in panel.hint.value
    panel.name_field.value = "a/b"
    assert "path separator" in panel.hint.value and "lightnb-error" in panel.hint.value and panel.button.disabled
    panel.name_field.value = "create_users"  # the sample's first migration
    assert "already exists" in panel.hint.value and not panel.button.disabled
    panel.name_field.value = "add_theme"
    assert panel.hint.value == "" and not panel.button.disabled
    panel.button.click()
    assert panel.hint.value == ""  # the migration it just made is not "another one with that name"


def test_edit_marks_unsaved_text_and_run_saves_it_first(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    edit = ui.edit(workbook)
    assert edit.unsaved() == [] and "unsaved" not in edit.up.value
    edit.up.value = exercise.up_sql
    edit.down.value = exercise.down_sql
    assert edit.unsaved() == ["up.sql", "down.sql"] and edit.state == "unsaved edits"
    assert "● unsaved edits in up.sql, down.sql" in edit.controls[0].value
    run = ui.run(workbook)
    run.button.click()
    assert run.state == "applied 1 migration(s)", run.banner.value
    assert workbook.migration.up_path.read_text() == exercise.up_sql  # saved before running
    assert "Saved the Edit panel&#x27;s unsaved up.sql and down.sql" in run.result_html.value
    assert "Saved the Edit panel's unsaved up.sql and down.sql" in run.record.bundle()[0]["text/markdown"]
    assert edit.unsaved() == [] and "unsaved" not in edit.controls[0].value and edit.state.startswith("saved")


def test_unsaved_edits_never_overwrite_a_file_changed_on_disk(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    ui.generate(workbook, exercise.name, now=True)
    edit = ui.edit(workbook)
    edit.up.value = "SELECT 1;\n"
    workbook.migration.up_path.write_text(exercise.up_sql)  # saved meanwhile in another editor
    run = ui.run(workbook)
    run.button.click()
    assert run.state == "failed" and "changed on disk" in run.banner.value
    assert workbook.migration.up_path.read_text() == exercise.up_sql
    assert len(workbook.status().pending) == 1  # nothing ran


def test_test_panel_is_out_of_date_after_a_save(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    edit = prepare(workbook, exercise)
    test = ui.test(workbook, run_tests=False, now=True)
    assert test.state == "verdict: safe"
    edit.down.value = "SELECT 1;\n"
    edit.button.click()
    assert "Out of date" in test.notice.value and "the Edit panel saved up.sql, down.sql" in test.notice.value


def _table_changes(workbook, up: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    created = steps.generate(workbook.project, "reshape").migration
    steps.save_sql(workbook.project, created.name, up=up, down="SELECT 1;\n")
    change = captured(workbook.workspace, lambda db, capture: steps.run(workbook.project, db, capture=capture))
    return {table: what for table, _b, _a, what in change.table_changes()}


def test_row_count_table_names_every_change(workbook) -> None:  # type: ignore[no-untyped-def]
    changes = _table_changes(workbook, """
        UPDATE user_settings SET locale = 'nl-NL' WHERE id <= 3;
        DELETE FROM message_log WHERE id % 2 = 0;
        INSERT INTO message_log (user_id, direction, channel, body_preview, status, sent_at)
            SELECT user_id, direction, channel, body_preview, status, sent_at FROM message_log WHERE id = 1;
        ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'system';
        ALTER TABLE oauth_connections DROP COLUMN scopes;
        CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL, phone_number TEXT, password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL CHECK (updated_at >= 0));
        INSERT INTO users_new SELECT * FROM users;
        DROP TABLE users;
        ALTER TABLE users_new RENAME TO users;
        CREATE TABLE scratch (id INTEGER PRIMARY KEY);
    """)
    assert changes["user_settings"] == "3 row(s) updated; column theme added"
    added = changes["message_log"]
    assert "1 row(s) added" in added and "row(s) removed" in added
    assert changes["oauth_connections"] == "column scopes dropped"
    assert "rebuilt" in changes["users"] and "constraint added: CHECK (updated_at >= 0)" in changes["users"]
    assert changes["scratch"] == "table added"


def test_row_count_table_names_a_removed_constraint(workbook) -> None:  # type: ignore[no-untyped-def]
    changes = _table_changes(workbook, """
        CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL,
            display_name TEXT NOT NULL, phone_number TEXT, password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
        INSERT INTO users_new SELECT * FROM users;
        DROP TABLE users;
        ALTER TABLE users_new RENAME TO users;
    """)
    assert "constraint removed: UNIQUE (email)" in changes["users"]
    assert "row(s)" not in changes["users"]  # the rows were copied unchanged


def test_model_drift_shows_paths_relative_to_the_project(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    models = workbook.project.root / "src" / "models" / "user_models.rs"
    text = models.read_text(encoding="utf-8")  # a field with no column: drift that is proven anywhere
    models.write_text(text.replace("pub struct NewUser {", "pub struct NewUser {\n    pub nickname: String,", 1),
                      encoding="utf-8")
    ui.run(workbook, now=True)
    panel = ui.models(workbook, now=True)
    assert panel.result.drift.findings, "the planted field must be reported"
    root = str(workbook.project.root.resolve())
    record_html, record_md, _text = panel.record.bundle()[0].values()
    for text in (panel.result_html.value, record_html, record_md):
        assert root not in text and str(Path(root).parent) not in text
        assert "src/models/user_models.rs:" in text  # the finding says where, relative to the project
    assert "--- a/src/models/user_models.rs" in panel.result_html.value
    assert "--- a/src/models/user_models.rs" in record_md


def test_old_run_folders_are_pruned_but_nothing_else(tmp_path: Path) -> None:
    import os
    import time

    from lightnb.ui.workbook import RUN_MARKER, prune_runs

    runs = []
    for index in range(7):
        folder = tmp_path / f"run-{index}"
        folder.mkdir()
        (folder / RUN_MARKER).write_text("")
        stamp = time.time() - 100 + index
        os.utime(folder / RUN_MARKER, (stamp, stamp))
        runs.append(folder)
    (tmp_path / "run-mine").mkdir()  # not made by lightnb: never touched
    (tmp_path / "notes.txt").write_text("keep")
    removed = prune_runs(tmp_path, keep=5)
    assert sorted(removed) == runs[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "run-2", "run-3", "run-4", "run-5",
                                                          "run-6", "run-mine"]


def test_workbook_in_lab_keeps_only_the_last_runs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib

    import jupyter_server.serverapp as serverapp

    module = importlib.import_module("lightnb.ui.workbook")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(serverapp, "list_running_servers", lambda: iter([{"root_dir": str(tmp_path)}]))
    made = [module._scratch_folder() for _ in range(module.KEEP_RUNS + 2)]
    left = sorted((tmp_path / "lightnb-runs").iterdir())
    assert len(left) == module.KEEP_RUNS and made[-1] in left


def test_a_broken_workspace_is_one_line_in_the_panel_and_its_record(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    prepare(workbook, exercise)
    run = ui.run(workbook)
    workbook.database.write_bytes(b"not a database at all, just text" * 100)
    run.button.click()
    assert run.state == "failed" and "\n" not in run.failure and "Traceback" not in run.banner.value
    markdown = run.record.bundle()[0]["text/markdown"]
    assert "Status: **failed**" in markdown and "> **Error:** Database " in markdown
