"""Run a step on a workspace and keep what it changed: snapshots, a before copy, previews.

The widgets and the notebooks show what a migration changed; that needs the database as
it was *before*. :func:`captured` asks one ``steps`` verb to keep a before copy and snapshots
on both sides (:class:`~lightnb.results.Capture`), then builds bounded, redacted before/after
previews of the tables that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightnb.backends import sqlite
from lightnb.catalog import is_bookkeeping
from lightnb.errors import LightnbError, WorkspaceError
from lightnb.inspect.preview import ComparedPreview, compare_preview
from lightnb.inspect.redact import Redactor
from lightnb.inspect.schema_diff import SchemaDiff, schema_diff
from lightnb.inspect.snapshot import Snapshot
from lightnb.results import Capture, Rendered
from lightnb.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.results import RunResult

CAPTURE_DIR = "captures"


@dataclass(frozen=True)
class RowChanges:
    """How many rows of one table a step added, removed and updated (measured by a row diff)."""

    table: str
    added: int
    removed: int
    updated: int


@dataclass(frozen=True)
class Change(Rendered):
    """A step's result with what it changed on the workspace.

    :param result: the step's own result, with ``before``, ``after`` and ``before_copy`` set.
    :param schema: the schema differences.
    :param previews: before/after previews of the tables whose rows or columns changed.
    :param changed_tables: the names of those tables (after-names), sorted.
    :param row_changes: rows added, removed and updated per changed table present on both sides.
    """

    result: RunResult
    schema: SchemaDiff
    previews: tuple[ComparedPreview, ...]
    changed_tables: tuple[str, ...]
    row_changes: tuple[RowChanges, ...] = ()

    @property
    def before(self) -> Snapshot:
        """The snapshot taken before the step."""
        return self.result.before

    @property
    def after(self) -> Snapshot:
        """The snapshot taken after the step."""
        return self.result.after

    def row_counts(self) -> pd.DataFrame:
        """Return rows per table before and after (one row per table of either side)."""
        import pandas as pd

        names = sorted(n for n in {t.name for t in self.before.tables} | {t.name for t in self.after.tables}
                       if not is_bookkeeping(n))
        rows = []
        for name in names:
            b, a = self.before.table(name), self.after.table(name)
            rows.append({"table": name, "before": b.row_count if b else None, "after": a.row_count if a else None})
        return pd.DataFrame(rows, columns=["table", "before", "after"]).astype({"before": "Int64",
                                                                                "after": "Int64"})

    def table_changes(self) -> list[tuple[str, int | None, int | None, str]]:
        """Return ``(table, rows before, rows after, what changed)`` for every table of either side.

        "What changed" names every change, in this order: the table itself (added, dropped,
        renamed, rebuilt), its rows (added, removed, updated, measured), its columns (added,
        dropped, renamed, changed) and its constraints and indexes; empty when nothing changed.
        """
        renamed_from = {new: old for old, new in self.schema.table_renames.items()}
        rows = {r.table: r for r in self.row_changes}
        names = sorted((n for n in {t.name for t in self.after.tables}
                        | {t.name for t in self.before.tables if t.name not in renamed_from.values()}
                        if not is_bookkeeping(n)), key=str.lower)
        out = []
        for name in names:
            after = self.after.table(name)
            before = self.before.table(renamed_from.get(name, name)) if after is not None else self.before.table(name)
            out.append((name, before.row_count if before else None, after.row_count if after else None,
                        "; ".join(_table_phrases(name, before, after, rows.get(name), self.schema))))
        return out

    def noted(self, notes: Collection[str]) -> Change:
        """Return this change whose step result also says ``notes`` first (e.g. edits saved before it ran)."""
        from dataclasses import replace

        from lightnb.inspect.ahead import keep_ahead, kept_ahead
        noted = replace(self, result=replace(self.result, notes=tuple(notes) + tuple(self.result.notes)))
        keep_ahead(noted.result, kept_ahead(self.result))
        return keep_row_diff(noted, kept_row_diff(self))  # the same two files: what was measured on them stands

    def preview(self, table: str) -> ComparedPreview:
        """Return the before/after preview of ``table``.

        :raises KeyError: when the table did not change.
        """
        for item in self.previews:
            if item.table.lower() == table.lower():
                return item
        raise KeyError(f"{table} did not change; changed tables: {', '.join(self.changed_tables) or 'none'}")


def captured(workspace: Workspace, step: Callable[[Path, Capture], RunResult], *, label: str = "",
             preview_rows: int = 5, max_previews: int = 4, redactor: Redactor | None = None,
             impact: bool = False, proved: Any = None) -> Change:
    """Call ``step(workspace.path, capture)`` and return its result with what it changed.

    :param step: a ``steps`` verb bound to its project, taking the database and a
        :class:`~lightnb.results.Capture` (e.g. ``lambda db, c: steps.run(project, db, capture=c)``).
    :param label: a name for the captured moment (names the before copy's folder).
    :param preview_rows: rows per before/after preview.
    :param max_previews: at most this many tables get a preview.
    :param redactor: which columns to mask in previews (the default sensitive words when None).
    :param impact: also measure, beside the step's migrations, the impact :func:`inspect_change` shows
        (``Capture.impact``).
    :param proved: the Test step's proved copy, taken instead of running the migrations when it stands for them
        (``Capture.proved``).
    """
    folder = workspace.folder / CAPTURE_DIR / (label or "step")
    result = step(workspace.path, Capture(snapshot=True, copy=True, folder=folder, impact=impact, proved=proved))
    return describe(result, preview_rows=preview_rows, max_previews=max_previews, redactor=redactor)


def describe(result: RunResult, *, preview_rows: int = 5, max_previews: int = 4,
             redactor: Redactor | None = None) -> Change:
    """Build the :class:`Change` of a result captured with before/after snapshots and a before copy.

    Rows are compared (set-wise, in SQLite, once) only where the step can have changed them: the
    tables whose schema or row count changed, and those the SQL that ran can change (its
    ``reachable`` tables, :mod:`lightnb.inspect.touched`); every other table provably kept its rows.
    """
    if result.before is None or result.after is None or result.before_copy is None:
        raise WorkspaceError("This result was not captured; run the step with capture=Capture(copy=True).")
    diff = schema_diff(result.before, result.after)
    before_path, after_path = Path(result.before_copy), Path(result.database)
    sure, unknown = _suspects(result.before, result.after, diff, result.reachable)
    present = [t for t in sorted(sure | set(unknown), key=str.lower) if result.after.table(t) is not None]
    diffs = None
    if present:
        from lightnb.inspect.kept_rows import kept_rows_of
        from lightnb.inspect.row_diff import row_diff
        # the tables whose rows the step provably kept (it only filled columns it added) are counted, not compared,
        # while both files are in the states the step left
        proved = kept_rows_of(result)
        kept = proved.holding(before_path, after_path) if proved is not None else frozenset()
        diffs = row_diff(before_path, after_path, tables=present, sample=preview_rows, reveal=True,
                         counts=_known_counts(result, after_path), own=True, kept=kept)
    changed = _sorted(sure | {name for name in unknown
                              if diffs is None or (found := diffs.table(name)) is None or not found.is_unchanged})
    compared = {t: found for t in changed
                if diffs is not None and (found := diffs.table(t)) is not None and found.status == "compared"}
    counted = tuple(RowChanges(d.table, d.added, d.removed, d.changed) for d in compared.values())
    keys = {t: _keys_of(found, preview_rows) for t, found in compared.items()}
    previews = _previews(before_path, after_path, changed[:max_previews], diff, preview_rows, redactor,
                         affected=keys)
    return keep_row_diff(Change(result, diff, previews, changed, counted), diffs)


# A Change keeps the row diff it was described with (revealed: it picks the rows previews show) out of its fields,
# so that nothing renders or serialises it; the inspect step starts from it while both files are provably unchanged.
_ROW_DIFF = "_row_diff"


def keep_row_diff(change: Change, diffs: Any) -> Change:
    """Return ``change`` holding ``diffs`` (the row diff of its two files measured when described, or None)."""
    object.__setattr__(change, _ROW_DIFF, diffs)
    return change


def kept_row_diff(change: Change) -> Any:
    """The row diff ``change`` was described with (None when it kept none): see :func:`keep_row_diff`."""
    return getattr(change, _ROW_DIFF, None)


def _known_counts(result: RunResult, after_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """The row counts the snapshots hold that are still the files' own (by lower-case name): the before
    copy's when no commit came between it and the before snapshot, the database's while it is in the
    committed state the after snapshot saw."""
    def counts(snapshot: Snapshot) -> dict[str, int]:
        return {t.name.lower(): t.row_count for t in snapshot.tables if t.row_count >= 0}

    before = counts(result.before) if result.before_copy_exact else {}
    after = counts(result.after) if result.after_state is not None \
        and sqlite.committed_state(after_path) == result.after_state else {}
    return before, after


def _table_phrases(name: str, before: Any, after: Any, rows: RowChanges | None, schema: SchemaDiff) -> list[str]:
    """Name every change of one table, one short phrase each (see :meth:`Change.table_changes`)."""
    phrases: list[str] = []
    if before is None:
        phrases.append("table added")
    elif after is None:
        phrases.append("table dropped")
    elif before.name != name:
        phrases.append(f"renamed from {before.name}")
    if rows is not None:
        phrases += [f"{count} row(s) {verb}" for count, verb in ((rows.added, "added"), (rows.removed, "removed"),
                                                                   (rows.updated, "updated")) if count]
    elif before is not None and after is not None and before.row_count != after.row_count:
        phrases.append(f"{after.row_count - before.row_count:+d} row(s)")
    if before is None or after is None:
        return phrases
    for change in schema.of(table=name):
        if change.kind == "table":
            if change.action == "rebuilt":  # PostgreSQL rewrites a table in place; SQLite's is dropped and made again
                phrases.append("rewritten" if change.detail.startswith("rewritten") else "rebuilt")
            else:
                phrases.append(change.detail or change.action)
        elif change.kind == "column":
            verb = {"removed": "dropped"}.get(change.action, change.action)
            phrases.append(f"column {change.old_name} renamed to {change.name}" if change.action == "renamed"
                           else f"column {change.name} {verb}" + (f" ({change.detail})" if change.action == "changed"
                                                                 else ""))
        elif change.kind in ("check", "foreign_key") or (change.kind == "index"
                                                         and change.name.startswith(("UNIQUE (", "PRIMARY KEY ("))):
            label = f"FOREIGN KEY {change.name}" if change.kind == "foreign_key" else change.name
            phrases.append(f"constraint {change.action}: {label}")
        elif change.kind in ("index", "trigger"):
            phrases.append(f"{change.kind} {change.name} {change.action}")
    if not phrases and before.fingerprint and after.fingerprint and before.fingerprint != after.fingerprint:
        phrases.append("values changed")
    return phrases


def changed_tables(before: Snapshot, after: Snapshot, diff: SchemaDiff, *, before_path: Path | None = None,
                   after_path: Path | None = None, reachable: Collection[str] | None = None) -> tuple[str, ...]:
    """Return the (after-)names of tables added, dropped, reshaped or whose content changed.

    Content is compared by fingerprint when both snapshots have one; otherwise (a capture that
    kept a before copy instead) by an exact row diff of the two databases, computed in SQLite, of
    the tables in ``reachable`` (lower-case names; every table when None): the others kept their rows.
    """
    sure, unknown = _suspects(before, after, diff, reachable)
    if unknown and before_path is not None and after_path is not None:
        from lightnb.inspect.row_diff import row_diff
        rows = row_diff(before_path, after_path, tables=unknown, sample=0)
        sure.update(name for name in unknown if (compared := rows.table(name)) is None or not compared.is_unchanged)
    return _sorted(sure)


def _suspects(before: Snapshot, after: Snapshot, diff: SchemaDiff,
              reachable: Collection[str] | None) -> tuple[set[str], list[str]]:
    """Return (tables changed for sure, tables whose rows only a row diff can tell), by after-name.

    A table the step's SQL cannot change (not in ``reachable``, lower-case names, judged when the
    step ran: :attr:`~lightnb.results.RunResult.reachable`), with the same definition and row count,
    kept its rows: it is in neither.
    """
    renames = diff.table_renames
    out = {c.table for c in diff.changes if c.kind in ("table", "column")}
    unknown: list[str] = []
    for table in after.tables:
        old = before.table(next((o for o, n in renames.items() if n == table.name), table.name))
        if old is None or table.name in out or is_bookkeeping(table.name):
            continue
        if old.row_count != table.row_count:
            out.add(table.name)
        elif old.fingerprint and table.fingerprint:
            if old.fingerprint != table.fingerprint:
                out.add(table.name)
        elif old.name == table.name and (reachable is None or table.name.lower() in reachable
                                         or old.table != table.table):
            unknown.append(table.name)
    return {t for t in out if not is_bookkeeping(t)}, unknown


def _sorted(tables: set[str]) -> tuple[str, ...]:
    return tuple(sorted((t for t in tables if not is_bookkeeping(t)), key=str.lower))


def _previews(before_path: Path, after_path: Path, tables: tuple[str, ...], diff: SchemaDiff, n: int,
              redactor: Redactor | None, *, affected: dict[str, list[tuple]] | None = None
              ) -> tuple[ComparedPreview, ...]:
    renamed_from = {new: old for old, new in diff.table_renames.items()}
    if affected is None:
        affected = affected_keys(before_path, after_path, tables, n)
    before_conn, after_conn = sqlite.open_readonly(before_path), sqlite.open_readonly(after_path)
    try:
        return tuple(_compare(before_conn, after_conn, renamed_from.get(t, t), t, n, affected.get(t), redactor,
                              diff.column_renames(t))
                     for t in tables)
    finally:
        before_conn.close()
        after_conn.close()


def _compare(before_conn: Any, after_conn: Any, before_table: str, table: str, n: int, keys: list[tuple] | None,
             redactor: Redactor | None, column_renames: dict[str, str] | None = None) -> ComparedPreview:
    """Preview the affected rows (``keys``) when known, else the first ``n`` rows by key.

    ``column_renames`` (old -> new, from the schema diff) pairs renamed columns for comparison.
    """
    if keys:
        try:
            return compare_preview(before_conn, after_conn, before_table, after_table=table, keys=keys,
                                   column_renames=column_renames, redactor=redactor)
        except LightnbError:
            pass  # e.g. the key changed with the table: the first rows still tell the story
    return compare_preview(before_conn, after_conn, before_table, after_table=table, n=n,
                           column_renames=column_renames, redactor=redactor)


def affected_keys(before_path: Path, after_path: Path, tables: tuple[str, ...] | list[str],
                  n: int) -> dict[str, list[tuple]]:
    """Return, per table, the keys of up to ``n`` rows the step changed, added or removed (in that order).

    The keys only pick which rows the (redacted) previews show; they are read unredacted so they
    match the database, and never shown as such. Tables whose rows all kept their values map to [].
    """
    from lightnb.inspect.row_diff import row_diff

    if not tables or n <= 0:
        return {}
    out: dict[str, list[tuple]] = {}
    diffs = row_diff(before_path, after_path, tables=list(tables), sample=n, reveal=True)
    for table in tables:
        found = diffs.table(table)
        if found is None or found.status != "compared":
            continue
        out[table] = _keys_of(found, n)
    return out


def _keys_of(found: Any, n: int) -> list[tuple]:
    """Return the keys of up to ``n`` rows of a revealed table diff: changed, then added, then removed."""
    keys: list[tuple] = []
    for kind in ("changed", "added", "removed"):
        for item in found.samples.get(kind, ()):
            row = item["key"] if kind == "changed" else item
            if any(k not in row for k in found.key):
                continue
            key = tuple(row[k] for k in found.key)
            if key not in keys:
                keys.append(key)
    return sorted(keys[:n], key=lambda k: tuple((v is None, str(type(v)), v) for v in k))


@dataclass(frozen=True)
class Inspection(Rendered):
    """Everything the inspect step shows about one table after a captured step.

    :param table: the table inspected.
    :param preview: its rows before and after, side by side (redacted).
    :param schema: the schema changes of that table.
    :param rows: row-diff counts with samples (redacted).
    :param impact: the measured impact of the step's SQL, statement by statement (redacted).
    """

    table: str
    preview: ComparedPreview
    schema: SchemaDiff
    rows: Any
    impact: tuple[Any, ...]


def inspect_change(change: Change, table: str, *, rows: int = 10, sample: int = 5,
                   redactor: Redactor | None = None) -> Inspection:
    """Inspect one table of a captured step: preview, schema changes, row diff and measured impact.

    :raises LightnbError: when the table is in neither database.
    """
    from lightnb.inspect.ahead import kept_ahead
    from lightnb.inspect.impact import measure_impacts
    from lightnb.inspect.redact import DEFAULT_REDACTOR
    from lightnb.inspect.row_diff import row_diff_pair

    result = change.result
    if result.before_copy is None:  # a Change is only made from a result that kept one (see describe)
        raise WorkspaceError("This result was not captured; run the step with capture=Capture(copy=True).")
    before_copy = Path(result.before_copy)
    before_name = {new: old for old, new in change.schema.table_renames.items()}.get(table, table)
    # one row diff, revealed to pick the rows the preview shows, redacted to be shown; measured when the step
    # was described, unless either file changed since
    revealed, diff = row_diff_pair(before_copy, result.database, tables=[table], revealed=max(rows, 0),
                                   sample=sample, redactor=redactor, measured=kept_row_diff(change))
    found = revealed.table(table)
    keys = _keys_of(found, rows) if rows > 0 and found is not None and found.status == "compared" else None
    before_conn, after_conn = sqlite.open_readonly(before_copy), sqlite.open_readonly(result.database)
    try:
        preview = _compare(before_conn, after_conn, before_name, table, rows, keys, redactor,
                           change.schema.column_renames(table))
    finally:
        before_conn.close()
        after_conn.close()
    schema = SchemaDiff(tuple(change.schema.of(table=table)), change.schema.before_label,
                        change.schema.after_label)
    ran = result.scripts_run()
    scripts = [m.down_sql() if way == "down" else m.up_sql() for m, way in ran]
    outside = [not m.run_in_transaction for m, _way in ran]  # measured as they ran: their own BEGIN/COMMIT
    ahead = kept_ahead(result)  # measured beside the migrations: taken while provably what measuring now gives
    # each migration's SQL acts on what the ones before it made: measured one after the other, as the step ran them
    taken = ahead.take(before_copy, scripts, redactor or DEFAULT_REDACTOR) if ahead is not None and scripts else None
    try:
        measured = taken if taken is not None else measure_impacts(before_copy, scripts, redactor=redactor,
                                                                   in_place=True, outside=outside)
    except LightnbError as error:  # not measurable (a script that undoes its own statements): said, the rest shown
        from lightnb.inspect.impact import Impact
        measured = [[Impact(0, 1, "", "error", None, None, 0, None, str(error))]]
    impact = tuple(i for found in measured for i in found
                   if i.table is None or i.table.lower() in (table.lower(), before_name.lower()))
    return Inspection(table, preview, schema, diff, impact)
