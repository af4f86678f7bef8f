"""Every panel leaves a static record beside its widget view, replaced on every click."""

from __future__ import annotations

import pytest

from lightnb import ui
from lightnb.report import VIEW_MIME


@pytest.fixture
def shell():  # type: ignore[no-untyped-def]
    """An IPython shell whose display outputs are captured (what a kernel would send)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    with capture_output(stdout=False, stderr=False) as captured:
        yield captured


def test_a_displayed_panel_shows_its_view_and_its_record(workbook, exercise, shell) -> None:  # type: ignore[no-untyped-def]
    from IPython.display import display

    ui.generate(workbook, exercise.name, now=True)
    ui.edit(workbook, up=exercise.up_sql, down=exercise.down_sql, now=True)
    run = ui.run(workbook, now=True)
    display(run)
    view, record = shell.outputs
    assert VIEW_MIME in view.data and view.metadata == {"lightnb": {"panel": "Run"}}
    assert set(record.data) == {"text/html", "text/markdown", "text/plain"} and VIEW_MIME not in record.data
    assert record.metadata["lightnb"]["record"] == "Run"
    display_id = record.transient["display_id"]
    assert "theme (new)" in record.data["text/markdown"] and "theme (new)" in record.data["text/html"]
    assert 'class="lightnb-record"' in record.data["text/html"]

    ui.revert(workbook, now=True)  # another panel changes the workspace: the Run record says so, in place
    update = shell.outputs[-1]
    assert update.update and update.transient["display_id"] == display_id
    assert update.metadata["lightnb"]["record"] == "Run"  # the update keeps the marker the report looks for
    assert "Out of date" in update.data["text/markdown"] and "1 pending now" not in update.data["text/markdown"]
    assert "Pending now: 1" in update.data["text/markdown"]


def test_a_record_follows_every_click(workbook, exercise, shell) -> None:  # type: ignore[no-untyped-def]
    from IPython.display import display

    panel = ui.generate(workbook)
    display(panel)
    assert "Status: **ready**" in shell.outputs[-1].data["text/markdown"]
    panel.name_field.value = exercise.name
    panel.button.click()
    latest = shell.outputs[-1]
    assert latest.update and "Status: **created add_theme_to_user_settings**" in latest.data["text/markdown"]
    assert "History:" in latest.data["text/markdown"]
    panel.name_field.value = "../x"
    panel.button.click()
    latest = shell.outputs[-1]
    assert "Status: **failed**" in latest.data["text/markdown"] and "path separator" in latest.data["text/markdown"]
    assert latest.data["text/plain"].startswith("Generate: failed")


def test_signoff_records_who_ticked_and_when(shell) -> None:  # type: ignore[no-untyped-def]
    from IPython.display import display

    panel = ui.signoff(["Purpose is right", "Rows are as expected", "Approved"])
    panel.clock = lambda: "2026-11-24 14:03:12+01:00"
    display(panel)
    assert shell.outputs[0].metadata == {"lightnb": {"panel": "Sign-off"}}
    panel.boxes[0].value = True  # no name yet: the tick is undone, with a hint
    assert panel.boxes[0].value is False and "Type your name" in panel.hint.value
    assert panel.result.done == 0
    panel.name.value = "Ada Reviewer"
    panel.boxes[0].value = True
    panel.tick("Approved")
    assert panel.hint.value == "" and panel.result.done == 2
    assert "Ada Reviewer, 2026-11-24 14:03:12+01:00" in panel.who[0].value
    record = shell.outputs[-1]
    assert record.update and record.metadata["lightnb"]["record"] == "Sign-off"
    markdown = record.data["text/markdown"]
    assert "- [x] Purpose is right — ticked by **Ada Reviewer**, 2026-11-24 14:03:12+01:00" in markdown
    assert "- [ ] Rows are as expected\n" in markdown and "2 of 3 item(s) ticked" in markdown
    assert "ticked by <b>Ada Reviewer</b>, 2026-11-24 14:03:12+01:00" in record.data["text/html"]
    assert "[x] Approved — Ada Reviewer, 2026-11-24 14:03:12+01:00" in record.data["text/plain"]
    panel.boxes[0].value = False
    assert panel.result.ticks[0].by == "" and "- [ ] Purpose is right" in shell.outputs[-1].data["text/markdown"]
    assert repr(panel) == "<Sign-off: 1 of 3 ticked>"


def test_signoff_escapes_names_and_items() -> None:
    panel = ui.signoff(["<b>scope</b> | *ok*"], reviewer="<script>x</script>")
    panel.boxes[0].value = True
    body, markdown, _text = panel.record.bundle()[0].values()
    assert "<script>" not in body and "<b>scope</b>" not in body
    assert "\\*ok\\*" in markdown and "\\|" in markdown and "<script>" not in markdown
