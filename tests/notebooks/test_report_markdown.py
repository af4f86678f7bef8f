"""The Markdown report shows each widget panel's saved content (tables, verdict, ticks), not its text form."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import mistune
import nbformat
import pytest

from lightnb.report import STATE_MIME, VIEW_MIME, export, widget_markdown

STYLE = "<style>.lightnb-result{color:red}\n\n.x{y:z}</style>"


def model(name: str, **state: Any) -> dict[str, Any]:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
            "state": state}


def panel_state() -> dict[str, Any]:
    """A saved panel: header with style, a button row with a status, a result table, a checkbox, a text area."""
    return {
        "box": model("VBoxModel", children=["IPY_MODEL_head", "IPY_MODEL_row", "IPY_MODEL_empty", "IPY_MODEL_result",
                                            "IPY_MODEL_tick", "IPY_MODEL_untick", "IPY_MODEL_sql"]),
        "head": model("HTMLModel", value=STYLE + "<h3>Verify</h3><p>Read-only queries.</p>"),
        "row": model("HBoxModel", children=["IPY_MODEL_button", "IPY_MODEL_status"]),
        "button": model("ButtonModel", description="Run queries"),
        "status": model("HTMLModel", value='<span class="lightnb-status">1 query(ies) run</span>'),
        "empty": model("HTMLModel", value=""),
        "result": model("HTMLMathModel", value=STYLE + '<div class="lightnb-result" onclick="x()" style="a:b">'
                        "<pre>SELECT 1\n\n\nFROM t</pre>\n\n<table>\n  <tr><td>[redacted]</td></tr>\n\n</table>"
                        "<button>Copy</button><script>alert(1)</script></div>"),
        "tick": model("CheckboxModel", value=True, description="Purpose *is* right"),
        "untick": model("CheckboxModel", value=False, description="Approved"),
        "sql": model("TextareaModel", value="UPDATE t SET a = '```';\n"),
    }


EXPECTED = (
    "<div>\n<h3>Verify</h3>\n<p>Read-only queries.</p>\n</div>\n\n"
    '<div>\n<span class="lightnb-status">1 query(ies) run</span>\n</div>\n\n'
    '<div>\n<div class="lightnb-result"><pre>SELECT 1&#10;&#10;\nFROM t</pre>\n <table> <tr><td>[redacted]</td>'
    "</tr>\n </table>\n</div>\n</div>\n\n"
    "- [x] Purpose \\*is\\* right\n- [ ] Approved\n\n"
    "````\nUPDATE t SET a = '```';\n````"
)


def test_widget_markdown_follows_children_and_keeps_only_content() -> None:
    assert widget_markdown(panel_state(), "box") == EXPECTED


def test_each_html_fragment_stays_one_markdown_html_block() -> None:
    text = widget_markdown(panel_state(), "box")
    tokens = [t for t in mistune.create_markdown(renderer="ast")(text) if t["type"] != "blank_line"]
    assert [t["type"] for t in tokens] == ["block_html"] * 3 + ["list", "block_code"]
    assert all(t["raw"].startswith("<div>") and t["raw"].rstrip().endswith("</div>") for t in tokens[:3])
    pre = _PreText()
    pre.feed(tokens[2]["raw"])
    assert pre.text == "SELECT 1\n\n\nFROM t"  # the blank lines of <pre> survive as &#10;


def test_missing_or_cyclic_models_are_skipped() -> None:
    state = {"a": model("VBoxModel", children=["IPY_MODEL_b", "IPY_MODEL_gone"]),
             "b": model("HBoxModel", children=["IPY_MODEL_a", "IPY_MODEL_c"]),
             "c": model("HTMLModel", value="<b>ok</b>")}
    assert widget_markdown(state, "a") == "<div>\n<b>ok</b>\n</div>"


def test_export_replaces_widget_views_and_cleans_html_outputs_only_in_markdown(tmp_path: Path) -> None:
    nb = _notebook({"box": "Verify panel: 1 query(ies) run", "lost": "Lost panel"})
    report = export(nb, tmp_path, name="r", fetch_js=False)
    assert report.markdown is not None and report.html is not None
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "<h3>Verify</h3>" in markdown and "<td>[redacted]</td>" in markdown and "- [x] Purpose" in markdown
    assert "<Verify panel" not in markdown and "Run queries" not in markdown
    assert "<Lost panel>" in markdown  # a view whose state was not saved keeps its text form
    assert "<style" not in markdown and "<script" not in markdown and "<b>workbook</b>" in markdown
    html = report.html.read_text(encoding="utf-8")
    assert "lightnb-result{color:red}" in html  # the HTML export is untouched
    assert nb.cells[0].outputs[0].data[VIEW_MIME]["model_id"] == "box"  # the caller's notebook is untouched


def test_secret_in_widget_state_refuses_the_markdown(tmp_path: Path) -> None:
    nb = _notebook({"box": "Verify panel"})
    nb.metadata.widgets[STATE_MIME]["state"]["status"]["state"]["value"] = "canary.9f3b2c@leak.example"
    with pytest.raises(Exception, match="secret"):
        export(nb, tmp_path, name="leak", formats=("markdown",), secrets=["canary.9f3b2c@leak.example"])
    assert not (tmp_path / "leak.md").exists()


def _notebook(views: dict[str, str]) -> Any:
    cell = nbformat.v4.new_code_cell("ui.verify(wb, queries)")
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1, data={
        "text/plain": f"<{text}>", VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": model_id}})
        for model_id, text in views.items()]
    cell.outputs.append(nbformat.v4.new_output("display_data", data={
        "text/html": STYLE + "<p><b>workbook</b></p>", "text/plain": "Workbook"}))
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["widgets"] = {STATE_MIME: {"version_major": 2, "version_minor": 0, "state": panel_state()}}
    return nb


class _PreText(HTMLParser):
    """Collect the text inside ``<pre>`` as a browser reads it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside, self.text = False, ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = self.inside or tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "pre"

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data
