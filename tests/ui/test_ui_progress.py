"""Long steps in a panel: a bar with an ETA that moves while the step runs, and a line kept in the record."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from lightnb import progress, ui
from lightnb.backends.sqlite import files
from lightnb.progress import Progress
from lightnb.ui.panel import StepPanel
from lightnb.ui.progress import LongSteps

SANITIZE = Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_shows_how_far_and_the_eta_and_keeps_a_line_per_finished_step() -> None:
    clock = Clock()
    steps = LongSteps(clock=clock, interval=0.2)
    assert steps.widget.layout.display == "none"  # nothing reported: no bar
    steps(Progress("copying prod.db", 512 << 20, 2048 << 20, "bytes", elapsed=3.0))
    assert steps.widget.layout.display == "flex"
    assert steps.bar.value == 0.25
    assert "copying prod.db — 25%, 512.0 MiB/2.0 GiB, ETA 9s" in steps.label.value
    clock.now = 0.1  # sooner than the interval: not redrawn
    steps(Progress("copying prod.db", 1024 << 20, 2048 << 20, "bytes", elapsed=3.1))
    assert steps.bar.value == 0.25
    clock.now = 0.5
    steps(Progress("copying prod.db", 1536 << 20, 2048 << 20, "bytes", elapsed=4.5))
    assert steps.bar.value == 0.75 and "ETA 2s" in steps.label.value
    steps(Progress("copying prod.db", 2048 << 20, 2048 << 20, "bytes", elapsed=6.04, finished=True))
    steps(Progress("m: up again", 3, 3, "steps", elapsed=1.25, finished=True, name="proving 1 migration(s)"))
    assert steps.lines == ["copying prod.db: 2.0 GiB in 6.0 s", "proving 1 migration(s): 3 of 3 steps in 1.2 s"]
    assert "proving 1 migration(s): 3 of 3 steps in 1.2 s" in steps.label.value and steps.bar.value == 1.0
    steps.finish(True)
    assert steps.bar.bar_style == "success"
    steps.start()  # the next click starts afresh
    assert steps.lines == [] and steps.widget.layout.display == "none"


def test_the_kept_line_is_stable_in_a_saved_notebook() -> None:
    """The time changes every run; the notebook checks mask it (the sanitizer for elapsed seconds)."""
    config = configparser.ConfigParser()
    config.read(SANITIZE)
    rule = re.compile(config["elapsed"]["regex"])
    one = Progress("copying production.db", 1 << 20, 1 << 20, "bytes", elapsed=0.04, finished=True).summary()
    two = Progress("copying production.db", 1 << 20, 1 << 20, "bytes", elapsed=12.75, finished=True).summary()
    assert one != two
    assert rule.sub(config["elapsed"]["replace"], one) == rule.sub(config["elapsed"]["replace"], two) \
        == "copying production.db: 1.0 MiB in <SECONDS> s"


def test_a_panel_draws_its_action_s_long_step_while_it_runs_then_records_it() -> None:
    seen: list[tuple[str, float]] = []

    def action() -> str:
        with progress.task("copying big.db", 4 << 20, "bytes") as step:
            for done in range(1, 5):
                step.update(done << 20)
                seen.append((panel.long_steps.label.value, panel.long_steps.bar.value))  # as the user sees it now
        return "done"

    panel = StepPanel("Copy", action)
    panel.long_steps.interval = 0.0
    assert panel.long_steps.widget in panel.widget.children
    assert panel.run() == "done"
    assert [value for _label, value in seen] == [0.25, 0.5, 0.75, 1.0]
    assert all("ETA" in label for label, _value in seen[:-1])
    html_text, markdown_text, plain = panel.record.bundle()[0].values()
    assert re.search(r"Timed steps: copying big\.db: 4\.0 MiB in \d+\.\d s", markdown_text)
    assert "copying big.db: 4.0 MiB in" in html_text and "copying big.db: 4.0 MiB in" in plain
    assert panel.long_steps.bar.bar_style == "success"


def test_a_failing_step_turns_the_bar_red_and_a_panel_without_long_steps_records_none() -> None:
    def failing() -> None:
        with progress.task("proving 2 migration(s)", 6) as step:
            step.advance()
            raise ValueError("boom")

    panel = StepPanel("Test", failing)
    panel.long_steps.interval = 0.0
    panel.run()
    assert panel.state == "failed" and panel.long_steps.bar.bar_style == "danger"
    assert "stopped" in panel.long_steps.label.value
    quick = StepPanel("Quick", lambda: 1)
    quick.run()
    assert quick.long_steps.lines == [] and quick.long_steps.widget.layout.display == "none"
    assert "Timed steps" not in quick.record.bundle()[0]["text/markdown"]


def test_run_and_test_panels_show_their_copy_and_proof(workbook, exercise, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(files, "_PROGRESS_PIECE", 64 << 10)  # a small sample copied in many pieces
    ui.generate(workbook, exercise.name, now=True)
    ui.edit(workbook, up=exercise.up_sql, down=exercise.down_sql, now=True)
    checked = ui.test(workbook, run_tests=False)
    drawn: list[str] = []
    checked.long_steps.label.observe(lambda change: drawn.append(change["new"]), names="value")
    checked.long_steps.interval = 0.0
    checked.run()
    assert any("copying production.db —" in text and "ETA" in text for text in drawn), drawn  # moved while copying
    assert any(line.startswith("proving 1 migration(s): 3 of 3 steps in ") for line in checked.long_steps.lines)
    run = ui.run(workbook, now=True)
    assert run.result is not None and run.result.result.migrations
    assert any(line.startswith("copying workspace.db: ") for line in run.long_steps.lines), run.long_steps.lines
    assert "Timed steps: copying workspace.db: " in run.record.bundle()[0]["text/markdown"]


def test_opening_a_workbook_in_a_notebook_draws_the_copy_then_leaves_its_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import IPython.display

    from lightnb.ui.progress import ShownSteps
    shown: list[tuple[dict, dict]] = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw=False, metadata=None, display_id=None: shown.append((data, metadata or {})))
    copying = ShownSteps("Workspace copy", display=True)
    copying.steps.interval = 0.0
    with copying.following(), progress.task("copying production.db", 2 << 20, "bytes") as step:
        step.update(1 << 20)
        assert len(shown) == 1  # the bar, shown at the first report, in the cell being run
        assert shown[0][1] == {"lightnb": {"panel": "Workspace copy"}}
        assert shown[0][0]["text/plain"] == "<Workspace copy: progress bar>"
        assert "50%" in copying.steps.label.value and "ETA" in copying.steps.label.value
        step.update(2 << 20)
    copying.close(True)
    assert len(shown) == 2 and shown[1][1]["lightnb"]["record"] == "Workspace copy"
    assert re.fullmatch(r"Workspace copy: copying production\.db: 2\.0 MiB in \d+\.\d s", shown[1][0]["text/plain"])
    assert "lightnb-record" in shown[1][0]["text/html"]
    quiet = ShownSteps("Workspace copy", display=True)
    with quiet.following():
        pass
    quiet.close(True)
    assert len(shown) == 2  # nothing reported: nothing shown


def test_a_workbook_opened_outside_a_notebook_shows_nothing(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    workbook = ui.workbook(folder=tmp_path / "sample", users=30)
    assert workbook.workspace.path.is_file()
    assert capsys.readouterr().out == ""
