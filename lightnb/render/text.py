"""Results → plain terminal text (one line per fact; no colour, no IPython).

Where diesel prints the same thing, the lines are diesel's, byte for byte. ``render(result)`` picks
the renderer by the result's type; ``str()`` of every result of :mod:`lightnb.results` is this text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightnb.listing import ListResult
from lightnb.render._dispatch import ByType, Registrar, loaded
from lightnb.rendered import Rendered

if TYPE_CHECKING:
    from lightnb.printed_schema import PrintSchemaResult, SchemaCheckResult
    from lightnb.results import (
        LintResult,
        ModelsPlan,
        RegenerateResult,
        SavedSql,
        SignOff,
        Verification,
        WorkspaceStatus,
    )
    from lightnb.run_result import RunResult

NO_SCHEMA_FILE = "No schema file is configured: add `file = \"src/schema.rs\"` to [print_schema] in diesel.toml."


def _fallback(result: Any) -> str:
    # A result of lightnb.results shows through render(): its repr here, never str() (which comes back).
    return repr(result) if isinstance(result, Rendered) else str(result)


render = ByType(_fallback, lambda register: _core_renderers(register))
"""Render any lightnb result as terminal text."""


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """Return an aligned plain-text table."""
    cells = [[str(h) for h in header]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells)


def generate_result(result: Any, *, relative_to: Path | None = None) -> str:
    """Render a created migration as diesel prints it (``Creating <path>``).

    :param relative_to: print each path relative to this folder (diesel: the current directory).
    """
    def shown(path: Path) -> str:
        return os.path.relpath(Path(path).resolve(), relative_to.resolve()) if relative_to else str(path)
    return "\n".join(f"Creating {shown(f)}" for f in result.files)


@render.register(ListResult)
def list_result(result: Any) -> str:
    """Render migrations as diesel's ``migration list``."""
    return "\n".join(["Migrations:"] + [f"  [{'X' if m.applied else ' '}] {m.name}" for m in result.migrations])


def findings(found: Sequence[Any]) -> str:
    """Render lint findings, one per line with its whole fix indented under it, then a count."""
    lines = []
    for f in found:
        lines.append(f"{f.severity}[{f.rule}] {f.location()}: {f.message}")
        lines += [f"    {line}".rstrip() for line in f.fix.splitlines()] if f.fix else []
    errors = sum(f.severity == "error" for f in found)
    lines.append(f"{len(found)} finding(s), {errors} error(s)")
    return "\n".join(lines)


def relative_text(value: str, root: Path | None) -> str:
    """Return ``value`` with every absolute path below ``root`` written relative to it.

    Messages about a project's files read the same on every machine (``src/models/user.rs:12``,
    not ``/home/ada/work/backend/src/models/user.rs:12``).
    """
    if root is None or not value:
        return value
    prefixes = {str(Path(root)), str(Path(root).resolve())}
    for prefix in sorted(prefixes, key=len, reverse=True):
        value = value.replace(prefix.rstrip(os.sep) + os.sep, "")
    return value


def reheaded_diff(diff: str, label: str) -> str:
    """Return a unified diff whose ``---``/``+++`` header lines name ``a/LABEL`` and ``b/LABEL``."""
    lines = diff.splitlines(keepends=True)
    if len(lines) >= 2 and lines[0].startswith("--- ") and lines[1].startswith("+++ "):
        lines[0], lines[1] = f"--- a/{label}\n", f"+++ b/{label}\n"
    return "".join(lines)


def run_result(result: RunResult) -> str:
    """Render what run / revert / redo did: one line, then the migrations, then the schema files regenerated."""
    verb = {"up": "Applied", "down": "Reverted", "redo": "Redid"}.get(result.direction, result.direction)
    if not result.migrations:
        lines = ["Nothing to do: no migration was " + ("pending" if result.direction == "up" else "applied")]
    else:
        lines = [f"{verb} {len(result.migrations)} migration(s) on {result.database} in {result.seconds:.2f} s"]
        lines += [f"  {name}" for name in result.names]
    lines += [f"Regenerated {path}" for path in result.schema_files]
    return "\n".join(lines + list(result.notes))


def regenerate_result(result: RegenerateResult) -> str:
    """Render the models step: the schema.rs diff, model drift, and the planned struct changes."""
    diff = "".join(f.diff for f in result.schema_files)
    parts = [diff.rstrip("\n") if diff else "schema.rs: no differences"]
    parts.append(str(result.drift) if result.drift is not None else "No models folder to check.")
    parts += [f"{change.description}\n{change.diff}".rstrip("\n") for change in result.changes] or \
        ["No struct needs a change."]
    parts += [str(left) for left in result.left_alone]
    return "\n".join(parts)


def print_schema_result(result: PrintSchemaResult) -> str:
    """Render printed schema.rs: diesel's bytes."""
    return result.text


def schema_check_result(result: SchemaCheckResult) -> str:
    """Render a schema file check: its differences, or what to configure when no file is."""
    return result.text if result.configured else NO_SCHEMA_FILE


def lint_result(result: LintResult) -> str:
    """Render a lint: which migrations it covered (when none was named), then the findings and a count."""
    return "\n".join(part for part in (result.scope, findings(result.findings)) if part)


def workspace_status(result: WorkspaceStatus) -> str:
    """Render where the workspace is, what it copies, and how it differs from that production now."""
    workspace = result.workspace
    return (f"Workspace {workspace.path} (copy of {workspace.production or 'an empty database'})\n"
            f"{render(result.divergence)}")


def models_plan(result: ModelsPlan) -> str:
    """Render planned model changes as diffs (each marked when applied), the structs left alone, and the
    repository functions when asked for."""
    out = []
    for change in result.changes:
        out.append(change.diff)
        if change in result.applied:
            out.append(f"applied: {change.description}\n")
    out += [f"{left}\n" for left in result.left_alone]
    if not result.changes and not result.left_alone:
        out.append("models: nothing to generate\n")
    if result.repository is not None:
        out.append(f"{result.repository}\n")
    return "".join(out).removesuffix("\n")


def verification(result: Verification) -> str:
    """Render each verification query with what it returned."""
    return "\n\n".join(f"{query}\n{render(preview)}" for query, preview in zip(result.queries, result.previews))


def saved_sql(result: SavedSql) -> str:
    """Render what the edit step saved."""
    return f"Saved {', '.join(result.files)} of {result.migration.name}"


def sign_off(result: SignOff) -> str:
    """Render the checklist, one item per line, each tick with who ticked it and when."""
    lines = [f"{result.title}: {result.done} of {len(result.ticks)} ticked"]
    lines += [f"[{'x' if t.ticked else ' '}] {t.item}" + (f" — {t.by}, {t.at}" if t.ticked else "")
              for t in result.ticks]
    return "\n".join(lines)


def schema_diff(result: Any) -> str:
    """Render schema changes of the user's tables, one per line (diesel's and lightnb's bookkeeping left out)."""
    from lightnb.catalog import is_bookkeeping
    changes = [c for c in result.changes if not is_bookkeeping(c.table)]
    if not changes:
        return "Schema: no changes."
    return "\n".join(["Schema changes:"] + [f"  {c.to_text()}" for c in changes])


def change(result: Any) -> str:
    """Render a captured step: what ran, the schema changes, then every table's rows before and after and what
    changed in it."""
    rows = table(("table", "rows before", "rows after", "change"), result.table_changes())
    return "\n".join((run_result(result.result), schema_diff(result.schema), rows))


def inspection(result: Any) -> str:
    """Render the inspect step for one table: its schema changes, row diff and measured impact."""
    parts = [f"Table {result.table}", schema_diff(result.schema)]
    diff = result.rows.table(result.table)
    if diff is not None:
        parts.append(_to_text(diff))
    parts += [impact.to_text() for impact in result.impact] or \
        ["No rows deleted, updated, lost or violating a constraint."]
    return "\n".join(parts)


def _to_text(result: Any) -> str:
    text: str = result.to_text()
    return text


def _core_renderers(register: Registrar) -> None:
    """Register the renderers of the result types core modules define, for the modules already imported
    (a result's module is imported before it is shown: a diff's renderer loads no check, no capture)."""
    for module, renderers in _CORE_RENDERERS.items():
        if (loaded_module := loaded(module)) is not None:
            for name, render in renderers:
                register(getattr(loaded_module, name), render)


# module -> (result type, renderer): registered once the module is imported
_CORE_RENDERERS: dict[str, tuple[tuple[str, Callable[[Any], str]], ...]] = {
    "lightnb.results": (("GenerateResult", generate_result), ("RegenerateResult", regenerate_result),
                        ("LintResult", lint_result), ("WorkspaceStatus", workspace_status),
                        ("ModelsPlan", models_plan), ("Verification", verification), ("SavedSql", saved_sql),
                        ("SignOff", sign_off)),
    "lightnb.run_result": (("RunResult", run_result),),
    "lightnb.printed_schema": (("PrintSchemaResult", print_schema_result),
                               ("SchemaCheckResult", schema_check_result)),
    "lightnb.capture": (("Change", change), ("Inspection", inspection)),
    "lightnb.checks": (("CheckResult", _to_text),),
    "lightnb.inspect.divergence": (("Divergence", _to_text),),
    "lightnb.inspect.preview": (("Preview", _to_text),),
    "lightnb.inspect.row_diff": (("RowDiff", _to_text), ("TableDiff", _to_text)),
    "lightnb.inspect.snapshot": (("Snapshot", _to_text),),
    "lightnb.inspect.schema_diff": (("SchemaDiff", schema_diff),),
}
