"""The test step: reversibility proof, lint, integrity checks and the project's tests, one verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.ui.panel import StepPanel
from lightnb.ui.workbook import Workbook

if TYPE_CHECKING:
    from lightnb.steps import CheckResult

TAIL_LINES = 40


def test_panel(workbook: Workbook, *, run_tests: bool = True, now: bool = False,
               copied: dict[str, Any] | None = None) -> StepPanel:
    """Build the test panel: rehearse the pending migrations on a fresh copy of production.

    Unsaved edits in an Edit panel are saved first (the result says so): the verdict is about the
    files. A later save or a new migration makes the verdict out of date, and the panel says so.

    :param run_tests: also run the project's test command (``[test] command`` in lightnb.toml),
        streaming its output into the panel.
    :param copied: a fresh copy of production made beforehand (``lightnb rehearse`` makes it while the kernel
        starts): the first proof runs on it while it is provably untouched (see ``lightnb.checks.check``).
    """
    tests = widgets.Checkbox(value=run_tests, description="Run the project's tests", indent=False)
    output = widgets.HTML("")
    lines: list[str] = []
    saved_first: list[str] = []

    def stream(line: str) -> None:
        lines.append(line.rstrip("\n"))
        del lines[:-TAIL_LINES]
        output.value = f"<pre>{html.escape(chr(10).join(lines))}</pre>"

    def action() -> CheckResult:
        saved_first[:] = workbook.save_drafts()
        lines.clear()
        output.value = ""
        production = workbook.workspace.production or workbook.database
        return steps.test(workbook.project, production, run_tests=tests.value, on_output=stream, copied=copied)

    def inputs() -> tuple[str, str]:
        ran = "with the project's tests" if tests.value else "without the project's tests"
        notes = [ran] + saved_first
        return "".join(f"<p>{html.escape(n)}</p>" for n in notes), md.join(*(md.text(n) for n in notes))

    panel = StepPanel("Test", action, controls=[tests], button="Test", extra=[output], workbook=workbook,
                      records=True, stale_on=("SavedSql", "GenerateResult"), inputs=inputs,
                      stale_hint="Click Test to check the migrations as they are now.",
                      intro="Prove on a fresh copy of production that every pending migration goes up, "
                            "down and up again with nothing lost; lint; check integrity and foreign keys; "
                            "run the project's tests.",
                      summary=lambda r: f"verdict: {r.verdict}")
    panel.expose(run_tests=tests, output=output)
    if now:
        panel.run()
    return panel


test_panel.__test__ = False  # type: ignore[attr-defined]  # tells pytest this factory is not a test
