"""Real browser: notebook 03 run in JupyterLab, clicked, signed off and saved reads the same everywhere.

After Run All, a click on Run and two ticks of the sign-off, the notebook is saved with the keyboard
shortcut. Then (a) `lightnb report` on the saved file, and (b) the saved file converted by plain
nbconvert and opened with every network request refused (so no widget JavaScript can load) both
show the affected rows, the verification results, the verdict and the two ticks (who and when);
(c) no value planted in production appears in either.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

from lightnb import samples
from lightnb.cli import main

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "03_document_a_data_change.ipynb"
OUTPUT = REPO / "test-output"
SECRET_EMAIL = "canary.77e1c0@leak.example"
SECRET_HASH = "$argon2id$v=19$m=65536,t=3,p=4$CANARYSALT$CANARYHASH77e1c0"
REVIEWER = "Ada Reviewer"
TICKED = ("Purpose and scope are right", "Affected row count is as expected")
QUERIES = ["SELECT locale, count(*) AS users FROM user_settings WHERE timezone = 'Europe/Amsterdam' "
           "GROUP BY locale ORDER BY locale",
           "SELECT id, email, password_hash, display_name FROM users WHERE id <= 3 ORDER BY id"]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _notebook_on(project_dir: Path, production: Path, dest: Path) -> Path:
    """Copy notebook 03 with outputs stripped and its parameters pointing at our planted sample."""
    nb = nbformat.read(REPO / "notebooks" / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []):
                for name, value in (("project_dir", str(project_dir)), ("production_db", str(production)),
                                    ("verification", QUERIES), ("sample_users", 300)):
                    cell.source = re.sub(rf"^{name} = .*$", lambda _m, n=name, v=value: f"{n} = {v!r}",
                                         cell.source, flags=re.M)
    nb.metadata.pop("widgets", None)
    path = dest / NOTEBOOK
    nbformat.write(nb, path)
    return path


def _plant(production: Path) -> None:
    conn = sqlite3.connect(production)
    with conn:
        conn.execute("UPDATE users SET email = ?, password_hash = ? WHERE id = 1", (SECRET_EMAIL, SECRET_HASH))
    conn.close()


def _run_all(page, nb) -> None:  # type: ignore[no-untyped-def]
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"ipykernel\) \| Idle$")).wait_for(timeout=120_000)
    first_prompt = nb.locator(".jp-CodeCell .jp-InputArea-prompt").first
    for attempt in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            expect(first_prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=30_000)
            return
        except AssertionError:
            if attempt:
                raise


def _wait_saved(path: Path, needle: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if data is not None and needle in json.dumps(data):
            return data
        time.sleep(0.3)
    outputs = [(o.get("output_type"), o.get("metadata"), _text(o.get("data", {}).get("text/plain", ""))[:80])
               for c in (data or {}).get("cells", []) for o in c.get("outputs", [])]
    raise AssertionError(f"{path.name} was not saved with {needle!r}: {outputs}")


def _records(saved: dict) -> dict[str, dict]:
    found = {}
    for cell in saved["cells"]:
        for output in cell.get("outputs", []):
            mark = output.get("metadata", {}).get("lightnb", {})
            if "record" in mark:
                found[mark["record"]] = output
    return found


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def test_saved_notebook_03_reads_the_same_without_widgets(lab, page, server_log, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, nbdir = lab
    project_dir, production = samples.sample_workbook(tmp_path / "sample", users=300, workspace=False)
    _plant(production)
    path = _notebook_on(project_dir, production, nbdir)
    production_bytes = production.read_bytes()
    OUTPUT.mkdir(exist_ok=True)
    try:
        _drive(page, base, path)
    except Exception:
        page.screenshot(path=str(OUTPUT / "browser-03-failure.png"), full_page=True)
        raise
    assert production.read_bytes() == production_bytes, "production must never be written"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert "application/vnd.jupyter.widget-state+json" in saved["metadata"]["widgets"]  # Lab saved widget state
    records = _records(saved)
    assert set(records) >= {"Generate", "Edit", "Test", "Run", "Inspect", "Verify", "Sign-off"}
    signed = _text(records["Sign-off"]["data"]["text/markdown"])
    assert all(f"- [x] {item} — ticked by **{REVIEWER}**" in signed for item in TICKED), signed
    assert "Nothing to apply" in _text(records["Run"]["data"]["text/markdown"])  # the click is recorded too

    # (a) lightnb report on the saved file
    out = tmp_path / "report"
    assert main(["report", str(path), "--out", str(out)]) == 0
    report_md = (out / f"{Path(NOTEBOOK).stem}.md").read_text(encoding="utf-8")
    report_html = (out / f"{Path(NOTEBOOK).stem}.html").read_text(encoding="utf-8")
    affected = report_md.split("## Affected rows", 1)[1].split("## Verification", 1)[0]
    assert "| ~~en-US~~ → nl-NL |" in affected and "row(s) updated" in affected
    verified = report_md.split("## Verification", 1)[1].split("## Sign-off", 1)[0]
    assert "| nl-NL |" in verified and "| id | email | password_hash | display_name |" in verified
    assert "[redacted]" in verified
    assert "**Verdict: safe**" in report_md
    for item in TICKED:
        assert re.search(rf"- \[x\] {re.escape(item)} — ticked by \*\*{REVIEWER}\*\*, \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d",
                         report_md)
    assert "- [ ] Approved to run on production" in report_md
    assert "ticked by <b>Ada Reviewer</b>" in report_html and "~~" not in report_html

    # (b) the saved file through plain nbconvert, opened where no widget JavaScript can load
    converted = tmp_path / "nbconvert"
    done = subprocess.run([str(Path(sys.executable).parent / "jupyter-nbconvert"), "--to", "html", str(path),
                           "--output-dir", str(converted)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    page_file = converted / f"{Path(NOTEBOOK).stem}.html"
    nbconvert_html = page_file.read_text(encoding="utf-8")
    page.goto(page_file.as_uri())
    run_record = page.locator('.lightnb-record[data-panel="Run"]')
    expect(run_record).to_be_visible()
    expect(run_record).to_contain_text("nl-NL")
    expect(run_record.locator("td.lightnb-changed").first).to_contain_text("en-US → nl-NL")
    expect(page.locator('.lightnb-record[data-panel="Test"]')).to_contain_text("Verdict: safe")
    verify = page.locator('.lightnb-record[data-panel="Verify"]')
    expect(verify).to_contain_text("nl-NL")
    expect(verify).to_contain_text("[redacted]")
    signoff = page.locator('.lightnb-record[data-panel="Sign-off"]')
    for item in TICKED:
        expect(signoff.locator("li", has_text=item)).to_contain_text(f"ticked by {REVIEWER}")
    expect(signoff).to_contain_text("2 of 5 item(s) ticked")
    expect(page.locator(".lightnb-panel")).to_have_count(0)  # no widget was drawn: the records carry it all
    page.screenshot(path=str(OUTPUT / "browser-03-nbconvert.png"), full_page=True)

    # (c) no planted secret anywhere
    for text in (report_md, report_html, nbconvert_html, path.read_text(encoding="utf-8")):
        assert SECRET_EMAIL not in text and "CANARYHASH" not in text
    assert "without encryption" not in server_log.read_text()  # the kernel's transport is quiet


def _drive(page, base: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/lab/tree/{path.name}")
    nb = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    _run_all(page, nb)
    run_panel = nb.locator(".lightnb-panel", has_text="Apply every pending migration")
    expect(run_panel.locator(".lightnb-status")).to_have_text("applied 1 migration(s)", timeout=180_000)
    signoff = nb.locator(".lightnb-signoff")
    expect(signoff.locator(".widget-checkbox").first).to_be_visible(timeout=120_000)
    # While the panel is drawn, its static record (the output beside it) is hidden: the facts show once.
    expect(nb.locator('.lightnb-record[data-panel="Run"]')).to_be_hidden()

    run_panel.locator(".widget-button", has_text=re.compile(r"^Run$")).click()
    expect(run_panel.locator(".lightnb-status")).to_have_text("nothing pending")
    expect(run_panel.locator(".lightnb-banner.lightnb-warn")).to_contain_text("Nothing to apply")
    expect(run_panel.locator('.lightnb-compare[data-table="user_settings"]')).to_be_visible()  # still shown

    signoff.scroll_into_view_if_needed()
    signoff.locator(".lightnb-reviewer input").fill(REVIEWER)
    for item in TICKED:
        signoff.locator(".widget-checkbox", has_text=item).locator("input").check()
        expect(signoff.locator(".widget-hbox", has_text=item)).to_contain_text(REVIEWER)
    page.screenshot(path=str(OUTPUT / "browser-03-signed.png"), full_page=True)

    nb.locator(".jp-MarkdownCell").first.click()
    page.keyboard.press("Control+s")
    _wait_saved(path, "2 of 5 item(s) ticked")
