"""Notebook outputs lightnb did not make are masked before a report is written."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from lightnb.inspect.redact import MASK, Redactor
from lightnb.inspect.redact_outputs import mask_html, mask_markdown, mask_notebook, mask_text

SECRET = ("pw-4f1d-ann", "pw-4f1d-bob", "ann@example.org", "tok-4f1d")


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2], "name": ["ann", "bob"], "password_hash": ["pw-4f1d-ann", "pw-4f1d-bob"],
                         "contact": ["ann@example.org", "none"], "email_timestamp": [1700000000, 1700000001],
                         "app_version": ["1.2.3.4", "2.0"], "prefs": ['{"token":"tok-4f1d","theme":"dark"}', "{}"]})


def _clean(text: str, *, structured: bool = True) -> None:
    assert not [s for s in SECRET if s in text], text
    assert "ann" in text and "1700000000" in text and "dark" in text
    # A dotted quad under a *version* header stays a version where cells are known (HTML); in text the
    # line is scanned as a whole and it is masked like an address (the safe side).
    assert ("1.2.3.4" in text) is structured


@pytest.fixture(autouse=True)
def _wide():
    with pd.option_context("display.width", 400, "display.max_columns", 50, "display.max_colwidth", 80):
        yield


@pytest.mark.parametrize("render", [
    lambda f: mask_html(f.to_html()), lambda f: mask_html(f.set_index("id").to_html()),
    lambda f: mask_html(f.T.to_html()), lambda f: mask_html(f.style.to_html()),
])
def test_every_html_rendering_of_a_frame_is_masked_by_column(frame, render) -> None:
    _clean(render(frame))


@pytest.mark.parametrize("render", [
    lambda f: repr(f), lambda f: f.to_string(), lambda f: repr(f.set_index("id")), lambda f: repr(f.T),
])
def test_every_text_rendering_of_a_frame_is_masked_by_column(frame, render) -> None:
    _clean(mask_text(render(frame)), structured=False)


def test_a_truncated_text_frame_is_masked_too(frame) -> None:
    with pd.option_context("display.width", 60, "display.max_columns", 4):
        text = mask_text(repr(pd.concat([frame] * 40)))
    assert not [s for s in SECRET if s in text] and "..." in text


def test_multiindex_columns_are_masked_by_their_last_level(frame) -> None:
    both = pd.concat({"before": frame, "after": frame}, axis=1)
    _clean(mask_html(both.to_html()))
    _clean(mask_text(both.to_string()), structured=False)


def test_markdown_tables_are_masked_by_header() -> None:
    text = "| id | email | note | city |\n|---:|:--|--|--|\n| 1 | ann@example.org | pw-4f1d-ann | Oslo |\n"
    masked = mask_markdown(text, Redactor.from_settings({"redact": {"columns": ["*.note"]}}))
    assert masked == "| id | email | note | city |\n|---:|:--|--|--|\n| 1 | [redacted] | [redacted] | Oslo |\n"


def test_prose_that_mentions_a_sensitive_word_is_not_a_table() -> None:
    text = "Rotating the token for 3 users\nDone: 3 rows updated\n"
    assert mask_text(text) == text


def test_mask_notebook_covers_streams_errors_and_json(frame) -> None:
    cell = nbformat.v4.new_code_cell("frame")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", execution_count=1,
                               data={"text/html": frame.to_html(), "text/plain": repr(frame)}),
        nbformat.v4.new_output("stream", name="stdout", text=f"first row {frame.iloc[0].to_dict()}\n"),
        nbformat.v4.new_output("error", ename="OperationalError", evalue="JSON path error near 'pw-4f1d-ann'",
                               traceback=["OperationalError: JSON path error near 'pw-4f1d-ann'"]),
        nbformat.v4.new_output("display_data", data={"application/json": {"password_hash": "pw-4f1d-bob"}}),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    masked = mask_notebook(nb)
    assert not [s for s in SECRET if s in nbformat.writes(masked)]
    assert "pw-4f1d-ann" in nbformat.writes(nb)  # the notebook given is not changed
    assert MASK in masked.cells[0].outputs[0]["data"]["text/html"]
