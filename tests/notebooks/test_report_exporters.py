"""The report's nbconvert exporters are made once per process and kept: a kept exporter renders exactly what a new
one would (its per-report settings set again every time), a template whose file changed is never used, and
nothing is cached on disk."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter, MarkdownExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lightnb import report
from lightnb.rehearse import _warm_exporters


def _notebook(*, math: bool = False, javascript: bool = False, title: str = "Rows") -> nbformat.NotebookNode:
    data = {"text/html": "<table><tr><th>id</th><th>email</th></tr><tr><td>1</td><td>a@b.example</td></tr></table>",
            "text/markdown": "| id |\n|---|\n| 1 |", "text/plain": "rows"}
    if javascript:
        data["application/javascript"] = "console.log(1)"
    cells = [new_markdown_cell(f"# {title}" + (" with $x^2$" if math else "")),
             new_code_cell("rows = 1", outputs=[new_output("display_data", data=data),
                                                new_output("stream", name="stdout", text="done\n")])]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                              "display_name": "Python 3"},
                                               "language_info": {"name": "python", "pygments_lexer": "ipython3",
                                                                 "codemirror_mode": {"name": "ipython",
                                                                                     "version": 3}}})


def _ids_out(html: str) -> str:
    """``html`` without the random element ids nbconvert gives JavaScript outputs."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", html)


def _fresh_html(nb: nbformat.NotebookNode) -> str:
    """The HTML a newly made exporter renders, with the settings report gives it."""
    exporter = HTMLExporter()
    if not report._has_math(nb):
        exporter.mathjax_url = "data:text/javascript,"
    if not report._has_javascript(nb):
        exporter.require_js_url = "data:text/javascript,"
    return exporter.from_notebook_node(nb)[0]


def test_a_kept_exporter_renders_what_a_new_one_would_whatever_the_report_before_it() -> None:
    plain, math, script = _notebook(), _notebook(math=True, title="Formula"), _notebook(javascript=True)
    for nb in (plain, math, script, plain, script, math, plain):  # each report's settings differ from the last's
        assert _ids_out(report._html(nb)) == _ids_out(_fresh_html(nb))
        ready = report._markdown_ready(nb)
        assert report._markdown(nb) == MarkdownExporter().from_notebook_node(ready)[0]
    kept = report._EXPORTERS.get("html")
    report._html(plain)
    assert report._EXPORTERS.get("html") is kept  # one exporter, its templates compiled once
    # offline: no script from a CDN unless the notebook needs one
    assert 'src="https://' not in report._html(plain) and 'src="https://' in report._html(math)


def test_a_template_whose_file_changed_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _notebook()
    before = report._html(nb)
    kept = report._EXPORTERS.get("html")
    # the report's own template: its exporter is made again
    monkeypatch.setattr(kept.template, "_uptodate", lambda: False)
    assert report._html(nb) == before
    remade = report._EXPORTERS.get("html")
    assert remade is not kept and remade.template.is_up_to_date
    # the templates it includes are checked by Jinja itself before each use
    assert remade.environment.auto_reload


def test_the_report_caches_nothing_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, cache, temp = tmp_path / "home", tmp_path / "cache", tmp_path / "tmp"
    for folder in (home, cache, temp):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    report._EXPORTERS.__init__()  # type: ignore[misc]  # as in a new process: the exporters are made here
    _warm_exporters()
    done = report.export(_notebook(), tmp_path / "out", name="r")
    assert done.html is not None and done.markdown is not None
    assert [p for folder in (home, cache, temp) for p in folder.rglob("*")] == []
    assert sorted(os.listdir(tmp_path / "out")) == ["r.html", "r.md"]


def test_warming_up_makes_the_exporters_the_next_report_uses(tmp_path: Path) -> None:
    report._EXPORTERS.__init__()  # type: ignore[misc]
    _warm_exporters()  # notebook 02 with outputs of each kind, rendered into nothing
    warmed = report._EXPORTERS.get("html"), report._EXPORTERS.get("markdown")
    report.export(_notebook(), tmp_path, name="after")
    assert (report._EXPORTERS.get("html"), report._EXPORTERS.get("markdown")) == warmed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after.html", "after.md"]


def test_a_rehearsal_masks_its_notebook_once_and_reports_what_it_wrote(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the executed notebook was masked when written, then read and masked again for the report
    from lightnb import rehearse
    from lightnb.inspect import redact_outputs
    from lightnb.inspect.redact import DEFAULT_REDACTOR

    executed = tmp_path / "02_rehearse_on_production_copy.ipynb"
    nbformat.write(_notebook(), executed)
    calls: list[int] = []
    real = redact_outputs.mask_notebook

    def counted(nb: nbformat.NotebookNode, redactor: object = None) -> nbformat.NotebookNode:
        calls.append(1)
        return real(nb, redactor)

    monkeypatch.setattr(redact_outputs, "mask_notebook", counted)

    class Tools:
        def redactor(self) -> object:
            return DEFAULT_REDACTOR

        def wait_for_report(self) -> None:
            pass

    masked = rehearse._mask_outputs(executed, DEFAULT_REDACTOR)
    made = rehearse._export(Tools(), executed, tmp_path / "out", (), masked)  # type: ignore[arg-type]
    assert len(calls) == 1
    assert "a@b.example" not in executed.read_text(encoding="utf-8")
    again = report.export(executed, tmp_path / "again", redactor=DEFAULT_REDACTOR)  # from the file, masked again
    assert made.html.name == again.html.name == "02_rehearse_on_production_copy.html"
    assert _ids_out(made.html.read_text(encoding="utf-8")) == _ids_out(again.html.read_text(encoding="utf-8"))
    assert made.markdown.read_text(encoding="utf-8") == again.markdown.read_text(encoding="utf-8")
