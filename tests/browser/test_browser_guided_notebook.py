"""Real browser: open notebook 01 in JupyterLab, Run All, then click Run and Revert in its widgets.

A second Revert would roll back one of the sample's own migrations: the panel asks instead. The
notebook saved with the keyboard shortcut holds each panel's record as the last click left it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

from lightnb import samples

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
OUTPUT = REPO / "test-output"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def _columns(db: Path, table: str) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
    finally:
        conn.close()


def _wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def _notebook_on(project_dir: Path, production: Path, dest: Path) -> Path:
    """Copy notebook 01 with outputs stripped and its parameters pointing at our sample."""
    nb = nbformat.read(NOTEBOOKS / "01_guided_migration.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = re.sub(r"^project_dir = .*$", f"project_dir = {str(project_dir)!r}",
                                     cell.source, flags=re.M)
                cell.source = re.sub(r"^production_db = .*$", f"production_db = {str(production)!r}",
                                     cell.source, flags=re.M)
    nb.metadata.pop("widgets", None)
    path = dest / "01_guided_migration.ipynb"
    nbformat.write(nb, path)
    return path


def _applied(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM __diesel_schema_migrations").fetchone()[0]
    finally:
        conn.close()


def test_run_all_then_click_run_and_revert(lab, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, nbdir = lab
    project_dir, production = samples.sample_workbook(tmp_path / "sample", users=300, workspace=False)
    path = _notebook_on(project_dir, production, nbdir)
    production_bytes = production.read_bytes()
    workspace_db = project_dir / ".lightnb" / "workspace.db"

    OUTPUT.mkdir(exist_ok=True)
    try:
        _drive(page, base, workspace_db)
        _revert_again_asks(page, workspace_db)
        _save(page, path)
    except Exception:
        page.screenshot(path=str(OUTPUT / "browser-01-failure.png"), full_page=True)
        raise
    assert production.read_bytes() == production_bytes, "production must never be written"
    records = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            mark = output.get("metadata", {}).get("lightnb", {})
            if "record" in mark:
                records[mark["record"]] = "".join(output["data"]["text/markdown"])
    assert "Status: **waiting for confirmation**" in records["Revert"]
    assert "production already has" in records["Revert"] and "- `" in records["Revert"]
    assert "Out of date: since this result, the Revert panel reverted 1 migration(s)" in records["Run"]
    assert "theme (new)" in records["Run"]  # the run the last click of Run made
    assert "+        theme -> Text," in records["Regenerate models"]  # the models step still shows the run


def _revert_again_asks(page, workspace_db: Path) -> None:  # type: ignore[no-untyped-def]
    """A second Revert would undo one of the sample's own migrations: it names it and asks."""
    nb = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    revert_panel = nb.locator(".lightnb-panel", has_text="Run down.sql of the latest migrations")
    applied = _applied(workspace_db)
    expect(revert_panel).to_contain_text("(production has it)")
    revert_panel.locator(".widget-button", has_text=re.compile(r"^Revert$")).click()
    expect(revert_panel.locator(".lightnb-status")).to_have_text("waiting for confirmation")
    expect(revert_panel.locator(".widget-button", has_text="Revert anyway")).to_be_visible()
    expect(revert_panel.locator(".lightnb-banner.lightnb-warn")).to_contain_text("production already has")
    time.sleep(1)
    assert _applied(workspace_db) == applied  # nothing was reverted
    revert_panel.screenshot(path=str(OUTPUT / "browser-01-revert-asks.png"))


def _save(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    nb = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    nb.locator(".jp-MarkdownCell").first.click()
    page.keyboard.press("Control+s")
    _wait_for(lambda: "waiting for confirmation" in path.read_text(encoding="utf-8"), timeout=30)


def _run_all(page, nb) -> None:  # type: ignore[no-untyped-def]
    """Run > Run All Cells, once the kernel is really ready; retry once if nothing started."""
    # The toolbar's idle dot turns idle too early; the status bar text is the real readiness.
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"ipykernel\) \| Idle$")).wait_for(timeout=120_000)
    first_prompt = nb.locator(".jp-CodeCell .jp-InputArea-prompt").first
    for attempt in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:  # a started cell shows [*] or [1]; a too-early Run All silently leaves [ ]
            expect(first_prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=30_000)
            return
        except AssertionError:
            if attempt:
                raise


def _drive(page, base: str, workspace_db: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/lab/tree/01_guided_migration.ipynb")
    nb = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    _run_all(page, nb)

    run_panel = nb.locator(".lightnb-panel", has_text="Apply every pending migration")
    revert_panel = nb.locator(".lightnb-panel", has_text="Run down.sql of the latest migrations")
    expect(run_panel.locator(".lightnb-status")).to_have_text("applied 1 migration(s)", timeout=120_000)
    expect(revert_panel.locator(".lightnb-status")).to_have_text("reverted 1 migration(s)", timeout=120_000)
    _wait_for(lambda: "theme" not in _columns(workspace_db, "user_settings"))
    # Read top to bottom, the notebook tells its story: inspect and models show what the run did (with
    # the schema.rs diff and the Apply buttons), and say that the revert below came later.
    inspect_panel = nb.locator(".lightnb-panel", has_text="Compare one table before and after")
    models_panel = nb.locator(".lightnb-panel", has_text="schema.rs is regenerated by every run")
    expect(inspect_panel.locator("th.lightnb-added", has_text="theme (new)")).to_be_visible()
    expect(models_panel.locator(".lightnb-diff .lightnb-added", has_text="theme -> Text")).to_be_visible()
    expect(models_panel.locator(".widget-button", has_text="Apply: UserSettings")).to_be_visible()
    for panel in (run_panel, inspect_panel, models_panel):
        banner = panel.locator(".lightnb-banner.lightnb-warn")
        expect(banner).to_contain_text("the Revert panel reverted 1 migration(s)")
    page.screenshot(path=str(OUTPUT / "browser-01-after-run-all.png"), full_page=True)

    run_panel.locator(".widget-button", has_text=re.compile(r"^Run$")).click()
    _wait_for(lambda: "theme" in _columns(workspace_db, "user_settings"))
    expect(run_panel.locator(".lightnb-status")).to_have_text("applied 1 migration(s)")
    compare = run_panel.locator('.lightnb-compare[data-table="user_settings"]')
    expect(compare).to_be_visible()
    expect(compare).to_contain_text("theme")
    expect(compare).to_contain_text("system")  # the new column's default, shown after
    expect(run_panel.locator(".lightnb-banner.lightnb-error")).to_have_count(0)
    expect(compare.locator("th.lightnb-added", has_text="theme (new)")).to_be_visible()  # the change is marked
    run_panel.scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / "browser-01-after-run.png"))
    run_panel.screenshot(path=str(OUTPUT / "browser-01-run-panel.png"))

    revert_panel.locator(".widget-button", has_text=re.compile(r"^Revert$")).click()
    _wait_for(lambda: "theme" not in _columns(workspace_db, "user_settings"))
    restored = revert_panel.locator('.lightnb-compare[data-table="user_settings"]')
    expect(restored).to_be_visible()
    expect(revert_panel.locator(".lightnb-banner.lightnb-error")).to_have_count(0)
    expect(restored.locator("th.lightnb-removed", has_text="theme (dropped)")).to_be_visible()
    revert_panel.scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / "browser-01-after-revert.png"), full_page=True)
    revert_panel.screenshot(path=str(OUTPUT / "browser-01-revert-panel.png"))
