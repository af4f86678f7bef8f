"""`lightnb report` refuses every input that is not an executed notebook in one line, writing nothing."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lightnb.cli import main
from lightnb.errors import LightnbError
from lightnb.report import export, read_notebook


def _one_line_error(capsys, argv: list[str]) -> str:  # type: ignore[no-untyped-def]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == "" and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    return captured.err


@pytest.mark.parametrize(("make", "expected"), [
    (lambda d: d / "nope.ipynb", "does not exist; check the path"),
    (lambda d: d, "is a folder, not a notebook; give the executed .ipynb"),
    (lambda d: _write(d / "Cargo.toml", '[package]\nname = "x"\n'), "is not a Jupyter notebook (not JSON"),
    (lambda d: _write(d / "bin.ipynb", b"\xff\xfe\x00"), "is not a Jupyter notebook (not JSON"),
    (lambda d: _write(d / "list.ipynb", "[1, 2]"), "is JSON but not a Jupyter notebook"),
    (lambda d: _write(d / "cells.ipynb", '{"cells": 5, "nbformat": 4, "metadata": {}}'),
     "is JSON but not a Jupyter notebook"),
    (lambda d: _write(d / "v.ipynb", '{"cells": [{"cell_type": "bogus"}], "nbformat": 4, '
                                     '"nbformat_minor": 5, "metadata": {}}'), "is not a valid Jupyter notebook"),
])
def test_bad_notebook_is_one_line_and_writes_nothing(tmp_path: Path, capsys, make, expected) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "in"
    source.mkdir()
    out = tmp_path / "out"
    err = _one_line_error(capsys, ["report", str(make(source)), "--out", str(out)])
    assert expected in err
    assert not out.exists()


def test_out_that_is_a_file_is_refused_before_writing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    notebook = tmp_path / "ok.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# hi")]), notebook)
    target = tmp_path / "taken"
    target.write_text("keep me")
    err = _one_line_error(capsys, ["report", str(notebook), "--out", str(target), "--format", "markdown"])
    assert "is a file, not a folder" in err
    assert target.read_text() == "keep me"


def test_library_raises_lightnb_error_and_reads_a_good_notebook(tmp_path: Path) -> None:
    with pytest.raises(LightnbError, match="does not exist"):
        export(tmp_path / "missing.ipynb", tmp_path / "out", formats=("markdown",))
    good = tmp_path / "good.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")]), good)
    assert read_notebook(good).cells[0].source == "# Title"
    done = export(good, tmp_path / "out", formats=("markdown",))
    assert done.markdown is not None and "# Title" in done.markdown.read_text()


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_html_needs_mathjax_from_the_network_only_for_formulas(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from lightnb.report import export
    plain = new_notebook(cells=[new_markdown_cell("# Review\nNo formulas here."), new_code_cell("1")])
    nbformat.write(plain, tmp_path / "plain.ipynb")
    html = export(tmp_path / "plain.ipynb", tmp_path / "a").html.read_text()
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in html
    maths = new_notebook(cells=[new_markdown_cell("The rate is $x^2$.")])
    nbformat.write(maths, tmp_path / "maths.ipynb")
    html = export(tmp_path / "maths.ipynb", tmp_path / "b").html.read_text()
    assert '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax' in html
