"""`lightnb report` is made of the panels' records: no widget JavaScript, no scraping of widget HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from lightnb.cli import main
from lightnb.report import STATE_MIME, VIEW_MIME, export

STYLE = "<style>.lightnb-result{color:red}\n\n.x{y:z}</style>"
RECORD_MD = ("### Run\n\nStatus: **applied 1 migration(s)**\n\n| table | change |\n| --- | --- |\n"
             "| users | 3 row(s) updated |")
RECORD_HTML = STYLE + '<div class="lightnb-result"><div class="lightnb-record" data-panel="Run"><h3>Run</h3>' \
    "<table><tr><td>users</td><td>3 row(s) updated</td></tr></table></div></div>"


def view(model_id: str, text: str, **metadata: Any) -> Any:
    return nbformat.v4.new_output("display_data", data={
        "text/plain": text, VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": model_id}},
        metadata=metadata)


def record(title: str, markdown: str = RECORD_MD, body: str = RECORD_HTML) -> Any:
    return nbformat.v4.new_output("display_data", data={"text/html": body, "text/markdown": markdown,
                                                        "text/plain": f"{title}: applied 1 migration(s)"},
                                  metadata={"lightnb": {"record": title, "version": 1}})


def notebook(*cells: list[Any]) -> Any:
    made = []
    for index, outputs in enumerate(cells):
        cell = nbformat.v4.new_code_cell(f"cell_{index}()", execution_count=index + 1)
        cell.outputs = list(outputs)
        made.append(cell)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Review"), *made])
    nb.metadata["widgets"] = {STATE_MIME: {"version_major": 2, "version_minor": 0, "state": {
        "panel": {"model_name": "HTMLModel", "state": {"value": "<p>scraped from the widget</p>"}}}}}
    return nb


def frame_output() -> Any:
    return nbformat.v4.new_output("execute_result", execution_count=3, data={
        "text/html": STYLE + "<table>\n\n<tr><td>1</td></tr></table><script>x()</script>", "text/plain": "   a\n0  1"})


def test_report_shows_records_and_leaves_widget_views_out(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The first report on a machine with no widget-JavaScript cache and no npm: nothing to fetch.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    slider = view("slider", "IntSlider(value=3)")
    nb = notebook([view("panel", "<Run panel: applied 1 migration(s)>", lightnb={"panel": "Run"}), record("Run")],
                  [frame_output(), slider])
    report = export(nb, tmp_path / "out", name="r")
    assert report.records == 1
    markdown = report.markdown.read_text(encoding="utf-8")
    assert RECORD_MD in markdown  # the record's own Markdown, as it is
    assert "<Run panel" not in markdown and "scraped from the widget" not in markdown
    assert "<style" not in markdown and "<script" not in markdown and "<td>1</td>" in markdown  # plain HTML cleaned
    assert "IntSlider(value=3)" in markdown  # another library's widget keeps its text form
    html = report.html.read_text(encoding="utf-8")
    assert 'data-panel="Run"' in html and "3 row(s) updated" in html
    assert VIEW_MIME not in html and STATE_MIME not in html and "scraped from the widget" not in html
    assert "embed-amd" not in html and '<script src="http' not in html  # opens offline: nothing to fetch
    assert not (tmp_path / "empty-cache").exists() and not (tmp_path / "out" / "static").exists()
    assert nb.cells[1].outputs[0].data[VIEW_MIME]["model_id"] == "panel"  # the caller's notebook is untouched


def test_panels_without_a_record_are_refused_naming_the_cells(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    legacy_signoff = view("s", "VBox(children=(HTML(value='<h3>Sign-off</h3>'), Checkbox(value=False, "
                               "description='Approved')), _dom_classes=('lightnb-signoff',))")
    text_only = nbformat.v4.new_output("execute_result", execution_count=5,
                                       data={"text/plain": "<Test panel: verdict: safe>"})
    nb = notebook([view("a", "<Run panel: applied 1 migration(s)>")],  # saved by an older lightnb
                  [view("b", "<Verify panel: 1 query(ies) run>", lightnb={"panel": "Verify"}), record("Verify")],
                  [frame_output()],
                  [legacy_signoff],
                  [text_only])  # its widget view stripped: only the text form is left
    path = tmp_path / "old.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert ("old.ipynb: the lightnb panels in cell(s) 2 (`cell_0()`), 5 (`cell_3()`), 6 (`cell_4()`) hold no "
            "record") in captured.err
    assert "run all cells, save it, and report again" in captured.err
    assert not out.exists()  # nothing written


def test_a_panel_whose_record_is_missing_is_refused(tmp_path: Path) -> None:
    nb = notebook([view("a", "<Run panel: ready>", lightnb={"panel": "Run"}),
                   view("b", "<Revert panel: ready>", lightnb={"panel": "Revert"}), record("Run")])
    with pytest.raises(Exception, match=r"cell\(s\) 2 "):
        export(nb, tmp_path, name="half")


def test_secret_in_a_record_refuses_the_report(tmp_path: Path) -> None:
    # a canary no shape detector recognises: only the last-line guard (``secrets=``) can stop it
    nb = notebook([view("a", "<Run panel>", lightnb={"panel": "Run"}),
                   record("Run", markdown="leaked canary-9f3b2c-plain")])
    with pytest.raises(Exception, match="secret"):
        export(nb, tmp_path, name="leak", formats=("markdown",), secrets=["canary-9f3b2c-plain"])
    assert not (tmp_path / "leak.md").exists()
