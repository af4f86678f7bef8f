"""Results → escaped HTML fragments for widgets and reports.

Every value that comes from a database, a file or an error message goes through
:func:`escape`; the fragments carry ``lightnb-*`` classes and a small inline style so
they read the same in JupyterLab, in an exported report and in a plain browser.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lightnb.render._compared import Cell, layout
from lightnb.render._dispatch import ByType, Registrar
from lightnb.render.text import reheaded_diff, relative_text
from lightnb.results import GenerateResult, ListResult, RegenerateResult, RunResult, SavedSql, SignOff, Verification
from lightnb.runner import is_bookkeeping

CSS = """
.lightnb-result{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;line-height:1.4;max-width:100%;
overflow-wrap:anywhere}
div.lightnb-result table{border-collapse:collapse;margin:4px 0;table-layout:auto}
div.lightnb-result table th,div.lightnb-result table td{border:1px solid #ccc;padding:2px 6px;text-align:left;
vertical-align:top;overflow-wrap:normal}
div.lightnb-result table caption{text-align:left;font-weight:bold;padding:2px 0}
.lightnb-scroll{overflow-x:auto;max-width:100%}
.lightnb-panel,.lightnb-panel .widget-html,.lightnb-panel .widget-html-content{min-width:0;max-width:100%}
.lightnb-panel .widget-html-content{overflow-x:auto}
.lightnb-compare table td{white-space:nowrap}
.lightnb-compare del{color:#8a1c13}
.lightnb-note{color:#555;font-style:italic}
.lightnb-result pre{white-space:pre-wrap}
.lightnb-banner{padding:6px 10px;border-radius:4px;margin:4px 0}
.lightnb-error{background:#fdecea;color:#8a1c13;border:1px solid #f5c2bd}
.lightnb-ok{background:#e9f7ef;color:#1d5e36;border:1px solid #bfe5cd}
.lightnb-warn{background:#fff8e1;color:#6b4e00;border:1px solid #f3df9c}
.lightnb-side{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
.lightnb-side>div{flex:1 1 0;min-width:240px;overflow-x:auto}
div.lightnb-result .lightnb-added{background:#e6ffed}
div.lightnb-result .lightnb-removed{background:#ffeef0}
div.lightnb-result .lightnb-changed{background:#fff5b1}
.lightnb-legend span{padding:0 4px;border:1px solid #ddd}
.lightnb-unsaved{color:#6b4e00;font-weight:bold}
.lightnb-record{border:1px solid #ddd;padding:6px;margin:4px 0}
.lightnb-record-meta{color:#555}
.jp-OutputArea:has(.lightnb-panel)>.jp-OutputArea-child:has(.lightnb-record),
.output_area:has(.lightnb-panel)~.output_area:has(.lightnb-record){display:none}
""".strip()
"""The fragments' style. Where a panel's live widget is drawn in the same output area (JupyterLab, or an
exported page whose widget JavaScript loaded), its static record is hidden: the facts show once."""


def escape(value: Any) -> str:
    """Return ``value`` as text safe to put inside HTML (quotes escaped too)."""
    return _html.escape("" if value is None else str(value), quote=True)


def style() -> str:
    """Return the ``<style>`` block the fragments rely on (include it once per page or widget)."""
    return f"<style>{CSS}</style>"


def banner(message: str, kind: str = "error") -> str:
    """Return a one-line message box; ``kind`` is ``error``, ``ok`` or ``warn``."""
    return f'<div class="lightnb-banner lightnb-{escape(kind)}" role="status">{escape(message)}</div>'


def wrap(body: str) -> str:
    """Wrap fragments in the result container (with the style block)."""
    return f'{style()}<div class="lightnb-result">{body}</div>'


def heading(text: str, level: int = 4) -> str:
    """Return an escaped heading."""
    return f"<h{level}>{escape(text)}</h{level}>"


def items(values: Iterable[Any], *, code: bool = False) -> str:
    """Return an escaped bulleted list (``code`` sets each item in monospace)."""
    inner = "".join(f"<li><code>{escape(v)}</code></li>" if code else f"<li>{escape(v)}</li>" for v in values)
    return f"<ul>{inner}</ul>" if inner else ""


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> str:
    """Return an escaped HTML table."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<div class="lightnb-scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'



def frame(data: Any, *, caption: str | None = None, max_rows: int = 50) -> str:
    """Return a DataFrame (or a pandas Styler) as escaped HTML, cut to ``max_rows`` with a note."""
    if hasattr(data, "to_html") and hasattr(data, "data") and not hasattr(data, "iloc"):
        body = data.to_html()  # a Styler: it escapes through its own format(escape="html")
        return (f"<p><b>{escape(caption)}</b></p>" if caption else "") + scroll(body)
    shown = data.head(max_rows)
    body = shown.to_html(escape=True, index=False, border=0, na_rep="NULL", classes="lightnb-frame")
    note = ""
    if len(data) > max_rows:
        note = f"<p><i>{escape(f'showing {max_rows} of {len(data)} rows')}</i></p>"
    cap = f"<p><b>{escape(caption)}</b></p>" if caption else ""
    return cap + scroll(body) + note


def scroll(body: str) -> str:
    """Wrap a (wide) fragment so it scrolls sideways inside its panel instead of overflowing it."""
    return f'<div class="lightnb-scroll">{body}</div>'


def _fallback(result: Any) -> str:
    frame_of = getattr(result, "to_frame", None)
    if callable(frame_of):
        return frame(frame_of())
    return f"<pre>{escape(result)}</pre>"


render = ByType(_fallback, lambda register: _core_renderers(register))
"""Render any lightnb result as an HTML fragment (without the style block)."""


def _rel(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            pass
    return str(path)


@render.register(GenerateResult)
def generate_result(result: Any) -> str:
    """Render a created migration: its folder and files."""
    folder = Path(result.migration.path)
    files = [_rel(Path(f), folder.parent) for f in result.files]
    return banner(f"Created migration {result.migration.name}", "ok") + items(files, code=True)


@render.register(ListResult)
def list_result(result: Any) -> str:
    """Render migrations with their applied state."""
    rows = [("[X]" if m.applied else "[ ]", m.name) for m in result.migrations]
    pending = len(result.pending)
    body = table(("applied", "migration"), rows)
    note = f"{pending} pending migration(s)" if pending else "No pending migrations"
    return f"<p>{escape(note)}</p>{body}"


def pending_list(result: Any, *, just_applied: Sequence[str] = ()) -> str:
    """Render a ListResult for the run panel: the pending migrations, with the applied ones folded away.

    :param just_applied: the migrations the panel's own last run applied; when nothing is pending
        and they are still applied, the line says the run applied them instead of "nothing pending".
    """
    applied = [m.name for m in result.migrations if m.applied]
    pending = [m.name for m in result.migrations if not m.applied]
    ran = [n for n in just_applied if n in applied]
    if pending:
        head = (f"<p><b>{len(pending)} pending now</b> (Run applies them in this order):</p>"
                + items(pending, code=True))
    elif ran:
        head = (f"<p><b>Nothing pending now</b>: the run below applied the last "
                f"{'migration' if len(ran) == 1 else f'{len(ran)} migrations'}.</p>")
    else:
        head = "<p><b>Nothing pending now</b>: every migration is applied to the workspace copy.</p>"
    if not applied:
        return head
    return (head + f"<details><summary>{len(applied)} already applied (newest: <code>{escape(applied[-1])}</code>)"
            f"</summary>{items(applied, code=True)}</details>")


@render.register(RunResult)
def run_result(result: Any, *, counts: bool = True) -> str:
    """Render what run / revert / redo did, with row counts before and after when captured (``counts``)."""
    verb = {"up": "Applied", "down": "Reverted", "redo": "Redid"}.get(result.direction, result.direction)
    if not result.migrations:
        head = banner("Nothing to do: no migration was " + ("pending" if result.direction == "up"
                                                            else "applied"), "warn")
    else:
        head = banner(f"{verb} {len(result.migrations)} migration(s) in {result.seconds:.2f} s", "ok")
    parts = [head, items(result.names, code=True)]
    if result.schema_files:
        parts.append("<p>Regenerated " + ", ".join(f"<code>{escape(Path(p).name)}</code>"
                                                   for p in result.schema_files) + "</p>")
    if counts and result.before is not None and result.after is not None:
        parts.append(row_counts(result.before, result.after))
    parts.extend(f"<p>{escape(n)}</p>" for n in result.notes)
    return "".join(parts)


def row_counts(before: Any, after: Any) -> str:
    """Render row counts per table of two snapshots, marking what changed."""
    return table(("table", "rows before", "rows after", "change"), count_rows(before, after),
                 caption="Row counts")


def table_changes(rows: Iterable[tuple[str, Any, Any, str]]) -> str:
    """Render ``(table, rows before, rows after, what changed)`` rows as the row-count table."""
    return table(("table", "rows before", "rows after", "change"),
                 [(t, "" if b is None else b, "" if a is None else a, c) for t, b, a, c in rows], caption="Row counts")


def count_rows(before: Any, after: Any) -> list[tuple[str, Any, Any, str]]:
    """Return ``(table, before, after, change)`` for every table of either snapshot."""
    names = sorted(n for n in {t.name for t in before.tables} | {t.name for t in after.tables}
                   if not is_bookkeeping(n))
    out = []
    for name in names:
        b, a = before.table(name), after.table(name)
        nb_, na = (b.row_count if b else None), (a.row_count if a else None)
        if b is None:
            change = "added"
        elif a is None:
            change = "dropped"
        elif nb_ is not None and na is not None and nb_ != na:
            change = f"{na - nb_:+d}"
        elif b.column_names != a.column_names:
            change = "columns changed"
        elif b.fingerprint and a.fingerprint and b.fingerprint != a.fingerprint:
            change = "values changed"
        else:
            change = ""
        out.append((name, "" if nb_ is None else nb_, "" if na is None else na, change))
    return out


def snapshot_result(result: Any) -> str:
    """Render a snapshot: one row per table."""
    rows = [(t.name, t.row_count, len(t.columns)) for t in result.tables]
    return table(("table", "rows", "columns"), rows, caption=result.label or None)


def styler(data: Any) -> str:
    """Return a pandas Styler as HTML with every value and label escaped."""
    safe = data.format(escape="html", na_rep="NULL").format_index(escape="html", axis=0) \
        .format_index(escape="html", axis=1)
    return scroll(safe.to_html())


def preview_result(result: Any) -> str:
    """Render a bounded preview with its note."""
    return frame(result.frame, max_rows=len(result.frame)) + f"<p><i>{escape(result.note)}</i></p>"


LEGEND = ('<p class="lightnb-legend"><span class="lightnb-added">added row or new column</span> '
          '<span class="lightnb-removed">removed row or dropped column</span> '
          '<span class="lightnb-changed"><del>before</del> → after</span></p>')


def compared_preview(result: Any) -> str:
    """Render before/after rows as one table: one column per column, changed cells as ``before → after``.

    Added rows and new columns are green, removed rows and dropped columns red, changed cells
    yellow; the table scrolls sideways inside its panel when it is wide.
    """
    table_ = layout(result)
    head = "".join(f"<th>{escape(k)}</th>" for k in table_.keys) + "<th>row</th>"
    for column, mark in table_.columns:
        cls = {"new": ' class="lightnb-added"', "dropped": ' class="lightnb-removed"'}.get(mark, "")
        head += f"<th{cls}>{escape(column)}{escape(f' ({mark})' if mark else '')}</th>"
    rows = []
    for row in table_.rows:
        key_cells = "".join(f"<td><b>{escape(k)}</b></td>" for k in row.key)
        cells = "".join(_compared_cell(cell) for cell in row.cells)
        row_cls = {"added": ' class="lightnb-added"', "removed": ' class="lightnb-removed"'}.get(row.status, "")
        rows.append(f"<tr{row_cls}>{key_cells}<td>{escape(row.label)}</td>{cells}</tr>")
    body = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    redacted = (f" Redacted: {', '.join(result.redacted)}." if getattr(result, "redacted", ()) else "")
    return (f'<div class="lightnb-compare" data-table="{escape(result.table)}">{heading(result.table, 5)}'
            f'<p class="lightnb-note">{escape(result.note + redacted)}</p>{scroll(body)}{LEGEND}</div>')


def _compared_cell(cell: Cell) -> str:
    if cell.kind == "empty":
        return "<td></td>"
    if cell.kind == "new":
        return f'<td class="lightnb-added">{escape(cell.after)}</td>'
    if cell.kind == "dropped":
        return f'<td class="lightnb-removed"><del>{escape(cell.before)}</del></td>'
    if cell.kind == "changed":
        return f'<td class="lightnb-changed"><del>{escape(cell.before)}</del> → {escape(cell.after)}</td>'
    return f"<td>{escape(cell.after)}</td>"


def schema_diff_result(result: Any) -> str:
    """Render schema changes, one per line."""
    changes = [c for c in result.changes if not is_bookkeeping(c.table)]
    if not changes:
        return "<p>Schema: no changes.</p>"
    return "<p><b>Schema changes</b></p>" + items((c.to_text() for c in changes), code=True)


def change_result(result: Any) -> str:
    """Render a captured step: what ran, schema changes, row counts with every change named, a chart of
    the counts when one moved (when matplotlib is installed: the workbook extra), and previews."""
    counts = result.row_counts()
    parts = [run_result(result.result, counts=False), schema_diff_result(result.schema),
             table_changes(result.table_changes())]
    moved = [bool(b != a) if not (_missing(b) or _missing(a)) else not (_missing(b) and _missing(a))
             for b, a in zip(counts["before"], counts["after"])]
    if any(moved):
        parts.append(_chart(list(counts["table"]), counts["before"].tolist(), counts["after"].tolist()))
    elif len(counts):
        parts.append("<p>Every table kept its number of rows (no chart: nothing to compare).</p>")
    if result.previews:
        parts.append("<p><b>Before / after</b>: per changed table, the rows the step changed, added or "
                     "removed (its first rows when only columns changed); sensitive values redacted</p>")
        parts.extend(compared_preview(p) for p in result.previews)
    else:
        parts.append("<p>No table's rows or columns changed.</p>")
    return "".join(parts)


def _chart(labels: list[str], before: list[Any], after: list[Any]) -> str:
    try:
        from lightnb.render.plot import bars_html
        return bars_html(labels, before, after, title="Rows per table, before and after")
    except ImportError:  # the library without the workbook extra: the row-count table says it all
        return ""


def _missing(value: Any) -> bool:
    try:
        import pandas as pd
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def table_diff(result: Any) -> str:
    """Render one table's row-diff counts with its (redacted) samples."""
    counts = table(("added", "removed", "changed", "unchanged"),
                   [(result.added, result.removed, result.changed, result.unchanged)],
                   caption=f"Rows of {result.table} (key {', '.join(result.key)})")
    return counts + (f"<pre>{escape(result.to_text())}</pre>" if not result.is_unchanged else "")


def inspection(result: Any) -> str:
    """Render the inspect step for one table."""
    parts = [compared_preview(result.preview), schema_diff_result(result.schema)]
    diff = result.rows.table(result.table)
    if diff is not None:
        parts.append(table_diff(diff))
    parts.append("<p><b>Measured impact</b></p>")
    parts.append(items(i.to_text() for i in result.impact) if result.impact
                 else "<p>No rows deleted, updated, lost or violating a constraint.</p>")
    return "".join(parts)


def findings(found: Sequence[Any]) -> str:
    """Render lint findings (severity, rule, where, message, fix) as a table."""
    if not found:
        return banner("No lint findings", "ok")
    head = "".join(f"<th>{h}</th>" for h in ("severity", "rule", "where", "message", "fix"))
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in (f.severity, f.rule, f.location(), f.message))
                   + f"<td>{_fix_cell(f.fix)}</td></tr>" for f in found)
    return f'<div class="lightnb-scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _fix_cell(fix: str) -> str:
    """Return a finding's fix in full: one line as text, several (SQL to paste) in a <pre> block."""
    if "\n" not in fix.strip():
        return escape(fix)
    return f'<pre class="lightnb-fix">{escape(fix.strip())}</pre>'


def check_result(result: Any) -> str:
    """Render the test step: one verdict, then per migration its reasons and findings, then the tests."""
    kind = {"safe": "ok", "needs attention": "warn"}.get(result.verdict, "error")
    parts = [banner(f"Verdict: {result.verdict}", kind)]
    baseline = getattr(result, "baseline", None)
    if baseline is not None and baseline.differs:
        parts.append(banner(baseline.to_text().splitlines()[0], "warn") + items(baseline.lines()))
    if not result.migrations:
        parts.append("<p>No pending migration to rehearse.</p>")
    for check in result.migrations:
        parts.append(heading(f"{check.migration}: {getattr(check, 'verdict_text', check.verdict)}", 5))
        parts.append(items(check.reasons))
        if check.steps:
            parts.append(f"<p>Proof: {escape(' → '.join(check.steps))}</p>")
        if check.findings:
            parts.append(findings(check.findings))
    if result.project_findings:
        parts.append(heading("Project", 5) + findings(result.project_findings))
    if result.tests is not None:
        tests = result.tests
        parts.append(f"<p>Tests <code>{escape(tests.command)}</code>: <b>{escape(tests.status)}</b>"
                     + (f" — {escape(tests.message)}" if tests.message else "") + "</p>")
        if tests.output_tail:
            parts.append(f"<pre>{escape(chr(10).join(tests.output_tail))}</pre>")
    return "".join(parts)


def drift_report(result: Any, root: Path | None = None) -> str:
    """Render model drift findings (paths relative to ``root``, the project, when given)."""
    if result.clean:
        return banner(f"Models match schema.rs ({len(result.checked)} struct(s) checked)", "ok")
    return items((relative_text(str(f), root) for f in result.findings), code=True) + \
        f"<p>{escape(str(result).splitlines()[-1])}</p>"


def regenerate_result(result: Any, root: Path | None = None) -> str:
    """Render the models step: the schema.rs diff, model drift, and the planned struct changes.

    Paths are shown relative to ``root`` (the project) when given.
    """
    parts = [heading("schema.rs", 5), code_diff(relative_text("".join(f.diff for f in result.schema_files), root)),
             heading("Model drift", 5),
             drift_report(result.drift, root) if result.drift is not None else "<p>No models folder to check.</p>",
             heading("Planned struct changes", 5)]
    if not result.changes:
        parts.append("<p>No struct needs a change.</p>")
    for change in result.changes:
        label = relative_text(str(change.path), root)
        parts.append(f"<p>{escape(relative_text(change.description, root))}</p>"
                     + code_diff(reheaded_diff(change.diff, label) if root is not None else change.diff))
    left_alone = getattr(result, "left_alone", ())
    if left_alone:
        parts.append(heading("Left alone (change by hand)", 5))
        parts.append("".join(f"<p>{escape(relative_text(str(left), root))}</p>" for left in left_alone))
    return "".join(parts)


render.register(RegenerateResult)(regenerate_result)


@render.register(Verification)
def verification(result: Any) -> str:
    """Render each verification query with what it returned."""
    return "".join(f"<pre>{escape(q)}</pre>{preview_result(p)}" for q, p in zip(result.queries, result.previews))


@render.register(SignOff)
def sign_off(result: Any) -> str:
    """Render the checklist: each item ticked or not, and who ticked it, when."""
    rows = []
    for tick in result.ticks:
        mark = "&#9745;" if tick.ticked else "&#9744;"
        who = (f' <span class="lightnb-record-meta">— ticked by <b>{escape(tick.by)}</b>, {escape(tick.at)}</span>'
               if tick.ticked else "")
        rows.append(f"<li>{mark} {escape(tick.item)}{who}</li>")
    done = sum(t.ticked for t in result.ticks)
    return (f"<p>{done} of {len(result.ticks)} item(s) ticked.</p>"
            f'<ul class="lightnb-ticks" style="list-style:none;padding-left:0">{"".join(rows)}</ul>')


@render.register(SavedSql)
def saved_sql(result: Any) -> str:
    """Render what the edit step saved: the migration and its SQL."""
    head = banner(f"Saved {', '.join(result.files)} of {result.migration.name}", "ok")
    return head + "".join(f"<p><b>{escape(name)}</b></p><pre>{escape(body)}</pre>" for name, body in result.texts)


def code_diff(text: str) -> str:
    """Render a unified diff with added and removed lines marked."""
    lines = []
    for line in text.splitlines():
        cls = "lightnb-added" if line.startswith("+") and not line.startswith("+++") else \
            "lightnb-removed" if line.startswith("-") and not line.startswith("---") else ""
        lines.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return '<pre class="lightnb-diff">' + "\n".join(lines) + "</pre>" if lines else "<p>No differences.</p>"


def _core_renderers(register: Registrar) -> None:
    """Register the renderers of the result types core modules define (imported here, when first needed)."""
    from lightnb.capture import Change, Inspection
    from lightnb.checks import CheckResult
    from lightnb.inspect.preview import ComparedPreview, Preview
    from lightnb.inspect.row_diff import TableDiff
    from lightnb.inspect.schema_diff import SchemaDiff
    from lightnb.inspect.snapshot import Snapshot
    from lightnb.models.drift import DriftReport
    register(Snapshot, snapshot_result)
    register(Preview, preview_result)
    register(ComparedPreview, compared_preview)
    register(SchemaDiff, schema_diff_result)
    register(Change, change_result)
    register(TableDiff, table_diff)
    register(Inspection, inspection)
    register(CheckResult, check_result)
    register(DriftReport, drift_report)
