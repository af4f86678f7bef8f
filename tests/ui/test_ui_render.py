"""How panels show a change: one before/after table per changed table, a chart when counts move."""

from __future__ import annotations

import re
import sqlite3

import pandas as pd

from lightnb import ui
from lightnb.inspect.preview import ComparedPreview
from lightnb.render import html


def _preview(before: dict, after: dict, status: list[str], changed: dict) -> ComparedPreview:
    index = pd.Index([1, 2, 3], name="id")
    data = {("status", ""): status}
    data.update({("before", c): v for c, v in before.items()})
    data.update({("after", c): v for c, v in after.items()})
    frame = pd.DataFrame(data, index=index)
    frame.columns = pd.MultiIndex.from_tuples(list(data))
    return ComparedPreview(table="t", key=("id",), frame=frame,
                           changed=pd.DataFrame(changed, index=index).astype(bool), note="3 row(s) of t")


def _header(fragment: str) -> list[str]:
    return re.findall(r"<th[^>]*>([^<]*)</th>", fragment)


def test_preview_is_one_table_with_changes_first_and_marked() -> None:
    preview = _preview(
        before={"name": ["a", "b", None], "score": [1.0, 2.5, None], "old": ["x", "y", None]},
        after={"name": ["a", "B", "c"], "score": [1.0, 2.5, 3.0], "new": [None, "n", "m"]},
        status=["unchanged", "changed", "added"], changed={"name": [False, True, False], "score": [False] * 3})
    out = html.compared_preview(preview)
    # key, status, then what changed (new, dropped, changed columns), then the rest
    assert _header(out) == ["id", "row", "new (new)", "old (dropped)", "name", "score"]
    assert '<td class="lightnb-changed"><del>b</del> → B</td>' in out
    assert '<tr class="lightnb-added"><td><b>3</b></td><td>added</td>' in out
    assert '<td class="lightnb-removed"><del>x</del></td>' in out
    assert "<td>1</td>" in out and "<td>2.5</td>" in out  # integral floats without ".0"
    assert "<td class=\"lightnb-added\">NULL</td>" in out  # missing values read NULL
    assert 'class="lightnb-scroll"' in out  # wide tables scroll inside the panel


def test_preview_escapes_values_and_names() -> None:
    preview = _preview(before={"<b>": ["<script>"] * 3}, after={"<b>": ["<script>"] * 3},
                       status=["unchanged"] * 3, changed={"<b>": [False] * 3})
    out = html.compared_preview(preview)
    assert "<script>" not in out and "&lt;script&gt;" in out and "&lt;b&gt;" in out


def test_bookkeeping_tables_are_left_out_of_counts() -> None:
    class T:
        def __init__(self, name: str, rows: int) -> None:
            self.name, self.row_count, self.column_names, self.fingerprint = name, rows, ("a",), ""

    class S:
        def __init__(self, *tables: T) -> None:
            self.tables = tables

        def table(self, name: str) -> T | None:
            return next((t for t in self.tables if t.name == name), None)

    before = S(T("__diesel_schema_migrations", 8), T("users", 5))
    after = S(T("__diesel_schema_migrations", 9), T("__lightnb_migration_checksums", 1), T("users", 6))
    assert html.count_rows(before, after) == [("users", 5, 6, "+1")]


def test_chart_appears_when_a_row_count_moves(workbook, exercise) -> None:  # type: ignore[no-untyped-def]
    ui.generate(workbook, "trim_message_log", now=True)
    ui.edit(workbook, up="DELETE FROM message_log WHERE id % 2 = 0;\n", down="SELECT 1;\n", now=True)
    panel = ui.run(workbook, now=True)
    out = panel.result_html.value
    assert panel.state == "applied 1 migration(s)", panel.banner.value
    assert 'class="lightnb-plot"' in out and "Rows per table, before and after" in out
    assert 'data-table="message_log"' in out and '<tr class="lightnb-removed">' in out


def test_pending_list_folds_applied_migrations(workbook) -> None:  # type: ignore[no-untyped-def]
    out = html.pending_list(workbook.status())
    assert "Nothing pending now</b>: every migration is applied" in out
    assert "<details><summary>8 already applied" in out and "create_users" in out


def test_previews_show_the_rows_a_data_change_touched(workbook) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(f"file:{workbook.database}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute("SELECT id FROM user_settings WHERE locale <> 'nl-NL' ORDER BY id DESC LIMIT 3")]
    conn.close()
    touched = sorted(ids)
    assert len(touched) == 3 and touched[0] > 10  # past the first rows by key
    ui.generate(workbook, "fix_some_locales", now=True)
    ui.edit(workbook, up=f"UPDATE user_settings SET locale = 'nl-NL' WHERE id IN {tuple(touched)};\n",
            down="SELECT 1;\n", now=True)
    run = ui.run(workbook, now=True)
    preview = run.result.preview("user_settings")
    assert list(preview.frame.index) == touched  # the touched rows, not the first rows by key
    assert set(preview.status) == {"changed"}
    assert "→ nl-NL</td>" in run.result_html.value
    inspected = ui.inspect(workbook, "user_settings", now=True)
    assert list(inspected.result.preview.frame.index) == touched
