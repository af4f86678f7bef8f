"""Results → Markdown: the records panels leave in saved notebooks, and the review report built from them.

The same facts as :mod:`lightnb.render.html`, in GitHub-flavoured Markdown (pipe tables, task lists,
strike-through, fenced code), rendered from the result objects, never from widget HTML. Every value
from a database, a file or a message is escaped so it reads literally; values were redacted by the
steps that produced them.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lightnb.render._compared import Cell, layout, value_text
from lightnb.render._dispatch import ByType, Registrar
from lightnb.render.text import reheaded_diff, relative_text
from lightnb.results import GenerateResult, ListResult, RegenerateResult, RunResult, SavedSql, SignOff, Verification
from lightnb.runner import is_bookkeeping


def cell(value: Any) -> str:
    """Return ``value`` safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def text(value: Any) -> str:
    """Return ``value`` escaped so Markdown shows it literally, on one line.

    An underscore between two letters or digits is left as it is (GitHub-flavoured Markdown never
    reads it as emphasis), so names such as ``add_theme`` read the same in the source.
    """
    escaped = _html.escape(" ".join(str("" if value is None else value).split()), quote=False)
    out = []
    for i, c in enumerate(escaped):
        intraword = c == "_" and 0 < i < len(escaped) - 1 and escaped[i - 1].isalnum() and escaped[i + 1].isalnum()
        out.append("\\" + c if c in "\\`*_[]#|~" and not intraword else c)
    return "".join(out)


def prose(value: Any) -> str:
    """Return ``value`` as Markdown text whose backtick-quoted parts are code spans (the rest escaped)."""
    parts = str("" if value is None else value).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: all literal
        return text(value)
    def literal(part: str) -> str:
        lead = " " if part[:1].isspace() else ""
        tail = " " if part[-1:].isspace() and part.strip() else ""
        return lead + text(part) + tail
    return "".join(code(part) if i % 2 else literal(part) for i, part in enumerate(parts))


def code(value: Any) -> str:
    """Return ``value`` as an inline code span (a fence longer than any backtick run inside it)."""
    body = " ".join(str(value).split())
    fence = "`" * (_longest_run(body, "`") + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def fenced(body: str, lang: str = "") -> str:
    """Return ``body`` as a fenced code block whose fence is longer than any backtick run in it."""
    fence = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{fence}{lang}\n{body.rstrip(chr(10))}\n{fence}"


def _longest_run(body: str, char: str) -> int:
    longest = run = 0
    for c in body:
        run = run + 1 if c == char else 0
        longest = max(longest, run)
    return longest


def heading(value: str, level: int = 4) -> str:
    """Return an escaped ATX heading."""
    return f"{'#' * level} {text(value)}"


def banner(message: str, kind: str = "error") -> str:
    """Return a one-line message as a quote: ``> **Error:** …`` (``kind``: error, ok or warn)."""
    label = {"error": "Error", "warn": "Note", "ok": "OK"}.get(kind, kind)
    return f"> **{label}:** {text(message)}"


def items(values: Iterable[Any], *, as_code: bool = False) -> str:
    """Return a bulleted list (``as_code`` sets each item as inline code)."""
    return "\n".join(f"- {code(v) if as_code else text(v)}" for v in values)


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """Return a Markdown pipe table."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def frame(data: Any, *, max_rows: int = 50) -> str:
    """Return a DataFrame as a Markdown table, cut to ``max_rows`` with a note."""
    shown = data.head(max_rows)
    out = table([str(c) for c in shown.columns], ([value_text(v) for v in row]
                                                   for row in shown.itertuples(index=False, name=None)))
    if len(data) > max_rows:
        out += f"\n\n_showing {max_rows} of {len(data)} rows_"
    return out


def join(*blocks: str) -> str:
    """Join non-empty blocks with blank lines."""
    return "\n\n".join(b for b in blocks if b)


def _fallback(result: Any) -> str:
    frame_of = getattr(result, "to_frame", None)
    if callable(frame_of):
        return frame(frame_of())
    return fenced(str(result))


render = ByType(_fallback, lambda register: _core_renderers(register))
"""Render any lightnb result as Markdown."""


@render.register(GenerateResult)
def generate_result(result: Any) -> str:
    """Render a created migration: its folder and files (relative to the migrations folder)."""
    folder = Path(result.migration.path)
    files = [_relative(Path(f), folder.parent) for f in result.files]
    return join(f"Created migration {code(result.migration.name)}", items(files, as_code=True))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@render.register(ListResult)
def list_result(result: Any) -> str:
    """Render migrations with their applied state, as a task list."""
    pending = len(result.pending)
    note = f"{pending} pending migration(s)" if pending else "Nothing pending"
    return join(note + ":", "\n".join(f"- [{'x' if m.applied else ' '}] {code(m.name)}" for m in result.migrations))


@render.register(RunResult)
def run_result(result: Any) -> str:
    """Render what run / revert / redo did, with row counts before and after when captured."""
    verb = {"up": "Applied", "down": "Reverted", "redo": "Redid"}.get(result.direction, result.direction)
    if not result.migrations:
        head = banner("Nothing to do: no migration was " + ("pending" if result.direction == "up" else "applied"),
                      "warn")
    else:
        head = f"**{verb} {len(result.migrations)} migration(s)**"
    parts = [head, items(result.names, as_code=True)]
    if result.schema_files:
        parts.append("Regenerated " + ", ".join(code(Path(p).name) for p in result.schema_files) + ".")
    parts.extend(text(n) for n in result.notes)
    return join(*parts)


def schema_diff_result(result: Any) -> str:
    """Render schema changes, one per line."""
    changes = [c for c in result.changes if not is_bookkeeping(c.table)]
    if not changes:
        return "Schema: no changes."
    return join("**Schema changes**", items((c.to_text() for c in changes), as_code=True))


def table_changes(rows: Iterable[tuple[str, Any, Any, str]]) -> str:
    """Render ``(table, rows before, rows after, what changed)`` as the row-count table."""
    return join("**Row counts**", table(("table", "rows before", "rows after", "change"),
                                         ((t, "" if b is None else b, "" if a is None else a, c)
                                          for t, b, a, c in rows)))


def change_result(result: Any) -> str:
    """Render a captured step: what ran, schema changes, row counts with every change named, previews."""
    parts = [run_result(result.result), schema_diff_result(result.schema), table_changes(result.table_changes())]
    if result.previews:
        parts.append("**Before / after**: per changed table, the rows the step changed, added or removed "
                     "(its first rows when only columns changed); sensitive values redacted.")
        parts.extend(compared_preview(p) for p in result.previews)
    else:
        parts.append("No table's rows or columns changed.")
    return join(*parts)


def preview_result(result: Any) -> str:
    """Render a bounded preview with its note."""
    return join(frame(result.frame, max_rows=len(result.frame)), f"_{text(result.note)}_")


def compared_preview(result: Any) -> str:
    """Render before/after rows as one table: changed cells read ``~~before~~ → after``.

    New columns are marked *(new)*, dropped ones *(dropped)* with their old values struck through;
    the row column says whether a row was added, removed, changed or kept.
    """
    table_ = layout(result)
    header = [*table_.keys, "row", *(f"{column} ({mark})" if mark else column for column, mark in table_.columns)]
    rows = [[*row.key, row.label, *(_compared_cell(cell) for cell in row.cells)] for row in table_.rows]
    redacted = f" Redacted: {', '.join(result.redacted)}." if getattr(result, "redacted", ()) else ""
    return join(heading(result.table, 5), f"_{text(result.note + redacted)}_", table(header, rows))


def _compared_cell(cell: Cell) -> str:
    if cell.kind == "dropped":
        return f"~~{cell.before}~~"
    if cell.kind == "changed":
        return f"~~{cell.before}~~ → {cell.after}"
    return cell.after  # a value, a new column's value, or nothing


def table_diff(result: Any) -> str:
    """Render one table's row-diff counts with its (redacted) samples."""
    counts = table(("added", "removed", "changed", "unchanged"),
                   [(result.added, result.removed, result.changed, result.unchanged)])
    head = f"**Rows of {text(result.table)}** (key {', '.join(code(k) for k in result.key)})"
    return join(head, counts, fenced(result.to_text()) if not result.is_unchanged else "")


def inspection(result: Any) -> str:
    """Render the inspect step for one table."""
    parts = [compared_preview(result.preview), schema_diff_result(result.schema)]
    diff = result.rows.table(result.table)
    if diff is not None:
        parts.append(table_diff(diff))
    parts.append("**Measured impact**")
    parts.append(items(i.to_text() for i in result.impact) if result.impact
                 else "No rows deleted, updated, lost or violating a constraint.")
    return join(*parts)


def findings(found: Sequence[Any]) -> str:
    """Render lint findings (severity, rule, where, message, fix) as a table; fixes in full."""
    if not found:
        return "No lint findings."
    return table(("severity", "rule", "where", "message", "fix"),
                 [(f.severity, f.rule, f.location(), f.message, " ".join((f.fix or "").split())) for f in found])


def check_result(result: Any) -> str:
    """Render the test step: one verdict, then per migration its reasons and findings, then the tests."""
    parts = [f"**Verdict: {text(result.verdict)}**"]
    if not result.migrations:
        parts.append("No pending migration to rehearse.")
    for check in result.migrations:
        parts.append(f"##### {code(check.migration)}: {text(check.verdict)}")
        parts.append(items(check.reasons))
        if check.steps:
            parts.append(f"Proof: {text(' → '.join(check.steps))}")
        if check.findings:
            parts.append(findings(check.findings))
    if result.project_findings:
        parts.append(join(heading("Project", 5), findings(result.project_findings)))
    if result.tests is not None:
        tests = result.tests
        parts.append(f"Tests {code(tests.command)}: **{text(tests.status)}**"
                     + (f" — {text(tests.message)}" if tests.message else ""))
        if tests.output_tail:
            parts.append(fenced("\n".join(tests.output_tail)))
    return join(*parts)


def drift_report(result: Any, root: Path | None = None) -> str:
    """Render model drift findings (paths relative to ``root``, the project, when given)."""
    if result.clean:
        return f"Models match schema.rs ({len(result.checked)} struct(s) checked)."
    return join(items((relative_text(str(f), root) for f in result.findings), as_code=True),
                text(str(result).splitlines()[-1]))


def regenerate_result(result: Any, root: Path | None = None) -> str:
    """Render the models step: the schema.rs diff, model drift, and the planned struct changes."""
    diff = "".join(f.diff for f in result.schema_files)
    parts = [heading("schema.rs", 5), fenced(relative_text(diff, root), "diff") if diff else "No differences.",
             heading("Model drift", 5),
             drift_report(result.drift, root) if result.drift is not None else "No models folder to check.",
             heading("Planned struct changes", 5)]
    if not result.changes:
        parts.append("No struct needs a change.")
    for change in result.changes:
        parts.append(prose(relative_text(change.description, root)))
        diff = reheaded_diff(change.diff, relative_text(str(change.path), root)) if root is not None else change.diff
        parts.append(fenced(diff, "diff"))
    left_alone = getattr(result, "left_alone", ())
    if left_alone:
        parts.append(heading("Left alone (change by hand)", 5))
        parts.extend(prose(relative_text(str(left), root)) for left in left_alone)
    return join(*parts)


render.register(RegenerateResult)(regenerate_result)


@render.register(Verification)
def verification(result: Any) -> str:
    """Render each verification query with what it returned."""
    return join(*(join(fenced(q, "sql"), preview_result(p)) for q, p in zip(result.queries, result.previews)))


@render.register(SignOff)
def sign_off(result: Any) -> str:
    """Render the checklist as a task list; each tick says who ticked it and when."""
    lines = []
    for tick in result.ticks:
        mark = "x" if tick.ticked else " "
        who = f" — ticked by **{text(tick.by)}**, {text(tick.at)}" if tick.ticked else ""
        lines.append(f"- [{mark}] {text(tick.item)}{who}")
    done = sum(t.ticked for t in result.ticks)
    return join(f"{done} of {len(result.ticks)} item(s) ticked.", "\n".join(lines))


@render.register(SavedSql)
def saved_sql(result: Any) -> str:
    """Render what the edit step saved: the migration and its SQL."""
    parts = [f"Saved {', '.join(result.files)} of {code(result.migration.name)}."]
    parts += [join(f"**{name}**", fenced(body, "sql")) for name, body in result.texts]
    return join(*parts)


def _core_renderers(register: Registrar) -> None:
    """Register the renderers of the result types core modules define (imported here, when first needed)."""
    from lightnb.capture import Change, Inspection
    from lightnb.checks import CheckResult
    from lightnb.inspect.preview import ComparedPreview, Preview
    from lightnb.inspect.row_diff import TableDiff
    from lightnb.inspect.schema_diff import SchemaDiff
    from lightnb.models.drift import DriftReport
    register(SchemaDiff, schema_diff_result)
    register(Change, change_result)
    register(Preview, preview_result)
    register(ComparedPreview, compared_preview)
    register(TableDiff, table_diff)
    register(Inspection, inspection)
    register(CheckResult, check_result)
    register(DriftReport, drift_report)
