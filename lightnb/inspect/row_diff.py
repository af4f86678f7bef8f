"""Row-level diff of two database files, keyed by primary key (or rowid).

Both files are opened read-only: the after file as ``main`` and the before file
ATTACHed as ``lnb_before``. Counts come from set-wise SQL (counts and one join per
table); samples are ``LIMIT``-bounded queries; :func:`iter_row_changes` streams every
difference from a cursor. No table is ever loaded into Python.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote, read_catalog
from lightnb.catalog import Table
from lightnb.errors import LightnbError
from lightnb.inspect._format import jsonable, short, short_row
from lightnb.inspect.definition import affinity
from lightnb.inspect.lineage import SecretFinder, bind, carry_renames, known_secrets, mask_copies
from lightnb.inspect.pages import PageProof, compare_pages, ranges_json
from lightnb.inspect.redact import DEFAULT_REDACTOR, Redactor
from lightnb.inspect.schema_diff import SchemaDiff, schema_diff
from lightnb.inspect.snapshot import Snapshot, TableSnapshot, take_snapshot
from lightnb.reader import Reader

if TYPE_CHECKING:
    import pandas as pd

BEFORE = "lnb_before"
_A = TypeVar("_A")
KINDS = ("added", "removed", "changed")
# Samples under a page proof read this many key ranges first (then eight times more at each step):
# the first rows by key are in the first ranges, and a sample needs only a few.
FIRST_RANGES = 16
# A comparison of at least this many rows (of a table keyed by its rowid, both files in rollback-journal
# mode) is split in two halves by rowid, counted at once by this thread and a reader thread on a connection
# of its own (two cores). The second connection and thread cost about 1 ms; measured on a 2-core machine,
# the count of 10,000 rows takes 3.0 ms in one pass and 2.7 ms split, 60,000 rows 18 ms and 12 ms,
# 1,000,000 rows 289 ms and 173 ms. Below this size the gain is small enough for a busy second core to undo.
SPLIT_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class TableDiff:
    """Row differences of one table.

    :param table: the table's name after (its before-name when it was removed).
    :param before_table: the table's name before (None when it was added).
    :param status: ``compared``, ``added`` (table created) or ``removed`` (table dropped).
    :param key: the columns identifying a row (``rowid`` when there is no primary key).
    :param changed_columns: column -> number of rows where that column changed.
    :param samples: ``added``/``removed``: rows; ``changed``: ``{"key", "before", "after",
        "columns"}``; bounded and redacted unless revealed.
    """

    table: str
    before_table: str | None
    status: str
    key: tuple[str, ...]
    added: int
    removed: int
    changed: int
    unchanged: int
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    columns_renamed: tuple[tuple[str, str], ...] = ()
    changed_columns: dict[str, int] = field(default_factory=dict)
    samples: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    note: str = ""

    @property
    def is_unchanged(self) -> bool:
        """True when no row was added, removed or changed and no column moved."""
        return not (self.added or self.removed or self.changed or self.columns_added
                    or self.columns_removed or self.columns_renamed) and self.status == "compared"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of this table's diff."""
        return {
            "status": self.status, "before_table": self.before_table,
            "added": self.added, "removed": self.removed, "changed": self.changed,
            "unchanged": self.unchanged, "key": list(self.key),
            "columns_added": list(self.columns_added), "columns_removed": list(self.columns_removed),
            "columns_renamed": dict(self.columns_renamed),
            "changed_columns": dict(self.changed_columns),
            "samples": jsonable({k: list(v) for k, v in self.samples.items()}),
            "note": self.note,
        }

    def to_text(self) -> str:
        """Return a readable block: counts, column changes, then the samples."""
        name = self.table if self.before_table in (None, self.table) else f"{self.before_table} -> {self.table}"
        head = {"added": "table added", "removed": "table removed"}.get(self.status, "")
        lines = [f"{name} (key {', '.join(self.key)}){': ' + head if head else ''}: "
                 f"{self.added} added, {self.removed} removed, {self.changed} changed, "
                 f"{self.unchanged} unchanged"]
        cols = []
        if self.columns_added:
            cols.append("columns added: " + ", ".join(self.columns_added))
        if self.columns_removed:
            cols.append("columns removed: " + ", ".join(self.columns_removed))
        if self.columns_renamed:
            cols.append("columns renamed: " + ", ".join(f"{o} -> {n}" for o, n in self.columns_renamed)
                        + " [heuristic]")
        if cols:
            lines.append("  " + "; ".join(cols))
        changed = [f"{c} {n}" for c, n in self.changed_columns.items() if n]
        if changed:
            lines.append("  changed columns: " + ", ".join(changed))
        if self.note:
            lines.append("  note: " + self.note)
        for row in self.samples.get("added", ()):
            lines.append("  + " + short_row(row))
        for row in self.samples.get("removed", ()):
            lines.append("  - " + short_row(row))
        for item in self.samples.get("changed", ()):
            key = ", ".join(f"{k}={short(v)}" for k, v in item["key"].items())
            parts = [f"{c}: {short(item['before'][c])} -> {short(item['after'][c])}" for c in item["columns"]]
            lines.append(f"  ~ {key}: " + "; ".join(parts))
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class RowDiff:
    """Row differences between two databases, per table, with the schema diff."""

    before: str
    after: str
    tables: tuple[TableDiff, ...]
    schema: SchemaDiff
    revealed: bool = False
    # the committed states (sqlite.committed_state) of the before and the after file the counts were measured
    # on, when both files provably stayed in them throughout (None otherwise): see ``measured`` of row_diff
    states: tuple[tuple[int, ...], tuple[int, ...]] | None = field(default=None, compare=False, repr=False)

    def table(self, name: str) -> TableDiff | None:
        """Return the diff of ``name`` (after-name or before-name), or None."""
        for t in self.tables:
            if name.lower() in (t.table.lower(), (t.before_table or "").lower()):
                return t
        return None

    @property
    def summary(self) -> dict[str, int]:
        """Totals over all tables."""
        return {
            "tables": len(self.tables),
            "tables_changed": sum(1 for t in self.tables if not t.is_unchanged),
            "added": sum(t.added for t in self.tables),
            "removed": sum(t.removed for t in self.tables),
            "changed": sum(t.changed for t in self.tables),
            "unchanged": sum(t.unchanged for t in self.tables),
            "schema_changes": len(self.schema.changes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per table with its counts and column changes."""
        import pandas as pd

        cols = ["table", "status", "key", "added", "removed", "changed", "unchanged",
                "columns_added", "columns_removed"]
        rows = [{"table": t.table, "status": t.status, "key": ", ".join(t.key), "added": t.added,
                 "removed": t.removed, "changed": t.changed, "unchanged": t.unchanged,
                 "columns_added": ", ".join(t.columns_added),
                 "columns_removed": ", ".join(t.columns_removed)} for t in self.tables]
        return pd.DataFrame(rows, columns=cols)

    def samples_frame(self, table: str, kind: str = "changed") -> pd.DataFrame:
        """Return the bounded (redacted) samples of one table and kind as a DataFrame."""
        import pandas as pd

        diff = self.table(table)
        if diff is None:
            raise LightnbError(f"table {table!r} is not in this diff; pick one of "
                               f"{', '.join(t.table for t in self.tables)}.")
        items = diff.samples.get(kind, ())
        if kind != "changed":
            return pd.DataFrame(list(items))
        flat = []
        for item in items:
            row = dict(item["key"])
            for c in item["columns"]:
                row[f"{c} (before)"] = item["before"][c]
                row[f"{c} (after)"] = item["after"][c]
            flat.append(row)
        return pd.DataFrame(flat)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: ``{"tables": {...}, "schema": {...}, "summary": {...}}``."""
        return {
            "before": self.before, "after": self.after, "redacted": not self.revealed,
            "tables": {t.table: t.to_dict() for t in self.tables},
            "schema": self.schema.to_dict(),
            "summary": self.summary,
        }

    def to_text(self) -> str:
        """Return a readable summary with (redacted) samples."""
        s = self.summary
        lines = [f"Row diff: {self.before} -> {self.after}",
                 f"{s['tables']} table(s), {s['tables_changed']} with changes: {s['added']} row(s) added, "
                 f"{s['removed']} removed, {s['changed']} changed, {s['unchanged']} unchanged."]
        if self.revealed:
            lines.append("WARNING: sensitive values are revealed in this output.")
        lines.append(self.schema.to_text())
        lines.append("Tables:")
        for t in self.tables:
            lines.extend("  " + line for line in t.to_text().splitlines())
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to compare one table pair: names, key, compared and moved columns."""

    table: str
    before_table: str | None
    status: str
    key_after: tuple[str, ...]
    key_before: tuple[str, ...]
    compare: tuple[tuple[str, str, bool], ...]  # (after column, before column, strict typeof)
    after_columns: tuple[str, ...]
    before_columns: tuple[str, ...]
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    columns_renamed: tuple[tuple[str, str], ...] = ()
    note: str = ""

    def join(self) -> str:
        return " AND ".join(f"a.{_ref(ka)} = b.{_ref(kb)}" for ka, kb in zip(self.key_after, self.key_before))

    def differs(self) -> list[str]:
        out = []
        for ca, cb, strict in self.compare:
            expr = f"a.{quote(ca)} IS NOT b.{quote(cb)}"
            if strict:
                expr = f"({expr} OR typeof(a.{quote(ca)}) <> typeof(b.{quote(cb)}))"
            out.append(expr)
        return out

    def order(self, alias: str, before: bool = False) -> str:
        keys = self.key_before if before else self.key_after
        return ", ".join(f"{alias}.{_ref(k)}" for k in keys)


def _ref(column: str) -> str:
    return "rowid" if column == "rowid" else quote(column)


def row_diff(before_path: str | Path, after_path: str | Path, *, tables: Sequence[str] | None = None,
             sample: int = 5, redactor: Redactor | None = None, reveal: bool = False,
             counts: tuple[Mapping[str, int], Mapping[str, int]] | None = None, own: bool = False,
             measured: RowDiff | None = None,
             opened: Callable[[sqlite.Connection], None] | None = None, kept: Collection[str] = ()) -> RowDiff:
    """Compare the rows of two database files table by table.

    A large table is compared row by row only where its pages differ between the files (see
    :mod:`lightnb.inspect.pages`: a before copy and the database it was copied from share every page
    the change did not write); the counts and samples are the same as a whole-table comparison's.
    The rows of a table keyed by its rowid, at least :data:`SPLIT_ROWS` of them, are counted in two rowid
    halves at once, the second on a connection of its own in a reader thread, when both files are in
    rollback-journal mode and so provably read in the same committed states by both; the counts are
    those of one pass.

    :param before_path: the earlier database (opened read-only).
    :param after_path: the later database (opened read-only).
    :param tables: only these tables (after- or before-names); all by default.
    :param sample: at most this many sample rows per table and kind.
    :param redactor: which columns to mask (defaults to the built-in sensitive words).
    :param reveal: show sensitive values; never the default.
    :param counts: rows per table (lower-case names) the caller knows the before and the after file
        hold as they are now; those tables are not counted again.
    :param own: both files are lightnb's own (a before copy it kept, the database it just migrated):
        they may be read memory-mapped. Other files are read with ordinary reads, so a file that is
        truncated or fails to read meanwhile gives an error, not a crash (see :func:`sqlite.mapped`).
    :param measured: an earlier diff of the same two files (see :func:`row_diff_pair`).
    :param opened: called with the connection that reads both files, before it reads them (a caller
        in another thread makes it interruptible).
    :param kept: tables (lower-case names) whose rows the caller proved the same in both files, each with its
        rowid and the value of every column the earlier table has (:mod:`lightnb.inspect.kept_rows`): their rows
        are counted, not compared (every one unchanged).
    :raises DatabaseError: a file is missing or not an SQLite database.
    """
    revealed, redacted = _row_diffs(before_path, after_path, tables, redactor, counts, own, measured,
                                    revealed=sample if reveal else None, redacted=None if reveal else sample,
                                    opened=opened, kept=kept)
    found = revealed if reveal else redacted
    assert found is not None
    return found


def row_diff_pair(before_path: str | Path, after_path: str | Path, *, tables: Sequence[str] | None = None,
                  revealed: int = 10, sample: int = 5, redactor: Redactor | None = None,
                  counts: tuple[Mapping[str, int], Mapping[str, int]] | None = None, own: bool = False,
                  measured: RowDiff | None = None) -> tuple[RowDiff, RowDiff]:
    """Compare the rows of two database files once; return the diff revealed and redacted.

    Both are exactly what :func:`row_diff` returns with ``reveal=True, sample=revealed`` and with
    ``sample=sample`` (redacted): the rows are counted and sampled once (the first rows by key, as many as
    the larger of the two asks), and the redacted one masks its own samples as :func:`row_diff` does.

    :param revealed: sample rows per table and kind of the revealed diff (it picks which rows a preview shows).
    :param sample: sample rows per table and kind of the redacted diff (the one shown).
    :param measured: an earlier diff of these two files (a capture's): its counts, and its samples when
        revealed and enough, are taken instead of being measured again, but only while both files are
        provably in the committed states it was measured on (same file, size, times and SQLite's change
        counter, checked while this diff holds both files' read locks); otherwise everything is measured.
    """
    shown, masked = _row_diffs(before_path, after_path, tables, redactor, counts, own, measured,
                               revealed=revealed, redacted=sample)
    assert shown is not None and masked is not None
    return shown, masked


def _row_diffs(before_path: str | Path, after_path: str | Path, tables: Sequence[str] | None,
               redactor: Redactor | None, counts: tuple[Mapping[str, int], Mapping[str, int]] | None, own: bool,
               measured: RowDiff | None, *, revealed: int | None, redacted: int | None,
               opened: Callable[[sqlite.Connection], None] | None = None,
               kept: Collection[str] = ()) -> tuple[RowDiff | None, RowDiff | None]:
    """Measure the row diff once; return it revealed (``revealed`` samples) and redacted (``redacted``
    samples), each None when not asked for."""
    redactor = redactor or DEFAULT_REDACTOR
    with _open_pair(before_path, after_path, opened) as conn, sqlite.mapped(conn, "main", BEFORE, own=own):
        at_open = _states(before_path, after_path)  # (once opened: both paths are checked to be files, no FIFO)
        # rows are counted where compared (_count); a snapshot counts only the tables that may be
        # gone, for the schema diff to say how many rows went with them
        after = take_snapshot(conn, label=str(after_path), fingerprint=False, counted=lambda _name: False, own=own)
        before = take_snapshot(conn, label=str(before_path), fingerprint=False, schema=BEFORE,
                               counted=lambda name: after.table(name) is None, own=own)
        sdiff = schema_diff(before, after)
        plans = _plans(before, after, sdiff, tables)
        masking = _follow_data(redactor, conn, plans) if redacted is not None else redactor
        known = counts or ({}, {})
        most = max(revealed or 0, redacted or 0)
        with _read_transaction(conn):  # the pages proved equal stay so while the rows are compared
            # the files' states now that both read locks are held: no commit can come until the block ends
            states = _states(before_path, after_path)
            states = states if states is not None and states == at_open else None
            prior = measured if measured is not None and states is not None and measured.states == states else None
            reused = {plan.table: found for plan in plans
                      if prior is not None and (found := _reusable(prior, plan, most)) is not None}
            counted = {plan.table: numbers for plan in plans
                       if plan.table not in reused and (numbers := _counts_of(prior, plan)) is not None}
            # the tables whose rows the caller proved kept, each row in every column it had: all unchanged
            counted.update({plan.table: ({"added": 0, "removed": 0, "changed": 0,
                                          "unchanged": _rows_in(conn, "main", plan.table, known[1])},
                                         {ca: 0 for ca, _cb, _strict in plan.compare})
                            for plan in plans if plan.table not in reused and plan.table not in counted
                            and _kept(plan, kept)})
            # the rows are compared (where their pages differ) only for the tables not measured before
            fresh = [plan for plan in plans if plan.table not in reused and plan.table not in counted]
            proof = _page_proof(conn, fresh, before, after, own)
            # a second reader sees what this one does only while no commit can come: both files in
            # rollback-journal mode (``states``), both read locks held (this block)
            split = _Split(before_path, after_path, own, states) if states is not None else None
            diffs = tuple(reused[plan.table] if plan.table in reused else
                          _diff_table(conn, plan, most, redactor, True, known,
                                      proof.of(plan.table) if proof is not None and plan.table not in counted
                                      else None, counted=counted.get(plan.table),
                                      split=split if split is not None and _rowid_keyed(
                                          plan, before.table(plan.before_table or plan.table),
                                          after.table(plan.table)) else None)
                          for plan in plans)
        shown = RowDiff(str(before_path), str(after_path), tuple(cut_samples(d, revealed) for d in diffs), sdiff,
                        revealed=True, states=states) if revealed is not None else None
        masked = None
        if redacted is not None:
            hidden = tuple(masked_samples(cut_samples(d, redacted), masking) for d in diffs)
            hidden = mask_copied_samples(hidden, known_secrets(conn, masking, ("main", BEFORE)))
            masked = RowDiff(str(before_path), str(after_path), hidden, sdiff, revealed=False, states=states)
    return shown, masked


def _kept(plan: _Plan, kept: Collection[str]) -> bool:
    """Whether ``plan`` compares a table ``kept`` names, under the same name in both files."""
    return bool(kept) and plan.status == "compared" and plan.table.lower() in kept and \
        (plan.before_table or plan.table).lower() == plan.table.lower()


def _states(before_path: str | Path, after_path: str | Path) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Both files' committed states (:func:`sqlite.committed_state`), or None when either has none (WAL...)."""
    before, after = sqlite.committed_state(before_path), sqlite.committed_state(after_path)
    return (before, after) if before is not None and after is not None else None


def _matches(found: TableDiff, plan: _Plan) -> bool:
    return (found.table, found.before_table, found.status, found.key) == (plan.table, plan.before_table,
                                                                          plan.status, plan.key_after)


def _reusable(prior: RowDiff, plan: _Plan, sample: int) -> TableDiff | None:
    """The earlier diff of the plan's table when it answers all (its samples revealed, enough of each kind)."""
    found = prior.table(plan.table)
    if found is None or not _matches(found, plan) or not prior.revealed:
        return None
    for kind in KINDS:
        wanted = min(sample, getattr(found, kind))
        if wanted > 0 and len(found.samples.get(kind, ())) < wanted:
            return None  # measured with fewer samples: the counts are taken, the samples read again
    return cut_samples(found, sample)


def _counts_of(prior: RowDiff | None, plan: _Plan) -> tuple[dict[str, int], dict[str, int]] | None:
    """The counts the earlier diff measured for the plan's table (its states proven the same), or None."""
    found = prior.table(plan.table) if prior is not None else None
    if found is None or not _matches(found, plan):
        return None
    return ({kind: getattr(found, kind) for kind in (*KINDS, "unchanged")}, dict(found.changed_columns))


def cut_samples(found: TableDiff, sample: int | None) -> TableDiff:
    """``found`` with at most ``sample`` sample rows of each kind (the first by key: each kind's are in key order).

    Shared by both backends' row diffs (a diff measured once with the larger sample, cut for each view).
    """
    if not sample:
        return replace(found, samples={})
    return replace(found, samples={kind: rows[:sample] for kind, rows in found.samples.items()})


def masked_samples(found: TableDiff, redactor: Redactor) -> TableDiff:
    """``found`` (revealed) with its samples masked as :func:`row_diff` masks them when it reads them
    (``redactor.row`` on each sample: a removed row by its before table, the rest by the table)."""
    def mask(kind: str, row: dict[str, Any]) -> dict[str, Any]:
        if kind == "changed":
            return {**row, "key": redactor.row(row["key"], found.table),
                    "before": redactor.row(row["before"], found.table),
                    "after": redactor.row(row["after"], found.table)}
        return redactor.row(row, (found.before_table or found.table) if kind == "removed" else found.table)

    return replace(found, samples={kind: tuple(mask(kind, row) for row in rows)
                                   for kind, rows in found.samples.items()})


def iter_row_changes(before_path: str | Path, after_path: str | Path, table: str, kind: str = "changed", *,
                     redactor: Redactor | None = None, reveal: bool = False) -> Iterator[dict[str, Any]]:
    """Stream every added, removed or changed row of one table, in key order, redacted.

    :param kind: ``added``, ``removed`` or ``changed``.
    :raises LightnbError: unknown kind or table.
    """
    if kind not in KINDS:
        raise LightnbError(f"unknown change kind {kind!r}; use one of {', '.join(KINDS)}.")
    redactor = redactor or DEFAULT_REDACTOR
    with _open_pair(before_path, after_path) as conn:
        before = take_snapshot(conn, fingerprint=False, schema=BEFORE, counted=lambda _name: False)
        after = take_snapshot(conn, fingerprint=False, counted=lambda _name: False)
        plans = _plans(before, after, schema_diff(before, after), [table])
        if not plans:
            raise LightnbError(f"table {table!r} is in neither database; check the name.")
        if reveal:
            yield from _iter_kind(conn, plans[0], kind, None, redactor, reveal)
            return
        redactor = _follow_data(redactor, conn, plans)
        finder = known_secrets(conn, redactor, ("main", BEFORE))
        batch: list[dict[str, Any]] = []
        for row in _iter_kind(conn, plans[0], kind, None, redactor, reveal):
            batch.append(row)
            if len(batch) == 200:
                yield from mask_copied_items(batch, finder)
                batch = []
        yield from mask_copied_items(batch, finder)


def mask_copied_samples(diffs: tuple[TableDiff, ...], finder: SecretFinder) -> tuple[TableDiff, ...]:
    """Mask copies of secrets in every table's samples (one lookup for all of them; shared by both backends)."""
    values = [v for d in diffs for rows in d.samples.values() for row in rows
              for v in ([*row["key"].values(), *row["before"].values(), *row["after"].values()]
                        if "columns" in row else row.values())]
    if not finder.hits(values):
        return diffs
    return tuple(replace(d, samples={kind: tuple(mask_copied_items(list(rows), finder))
                                     for kind, rows in d.samples.items()}) for d in diffs)


def _follow_data(redactor: Redactor, conn: sqlite.Connection, plans: Sequence[_Plan]) -> Redactor:
    """Mask what derives from masked columns on either side, and renamed masked columns by both names."""
    redactor = bind(redactor, conn, ("main", BEFORE))
    return carry_renames(redactor, [
        (p.before_table or p.table, p.table, [(cb, ca) for ca, cb, _s in p.compare]
         + [(k_b, k_a) for k_a, k_b in zip(p.key_after, p.key_before)]) for p in plans if p.status == "compared"])


def mask_copied_items(rows: list[dict[str, Any]], finder: SecretFinder) -> list[dict[str, Any]]:
    """Mask copies of secrets (values a masked column holds) in rows or changed-row items."""
    if not rows or "columns" not in rows[0]:
        return mask_copies(rows, finder)
    flat = [{**item["key"], **{f"b:{c}": v for c, v in item["before"].items()},
             **{f"a:{c}": v for c, v in item["after"].items()}} for item in rows]
    hits = finder.hits(v for row in flat for v in row.values())
    if not hits:
        return rows
    copied = {c.split(":", 1)[-1] for row in flat for c, v in row.items() if isinstance(v, str) and v in hits}
    mask = finder.redactor.mask

    def hide(part: dict[str, Any]) -> dict[str, Any]:
        return {c: (mask if c in copied and v is not None else v) for c, v in part.items()}

    return [{**item, "key": hide(item["key"]), "before": hide(item["before"]), "after": hide(item["after"])}
            for item in rows]


def changed_tables(before_path: str | Path, after_path: str | Path, tables: Sequence[str] | None = None,
                   *, own: bool = False, opened: Callable[[sqlite.Connection], None] | None = None) -> list[str]:
    """Return the tables present in both files whose rows differ, comparing columns by name.

    Only the columns both sides have are compared, whatever their order: a column added, removed or
    moved is a schema matter, not a row difference. Rows are compared as a whole (key included), as
    multisets: a table rebuilt with new rowids but the same content is unchanged. The comparison
    is exact and runs inside SQLite (:func:`same_rows`); both files are opened read-only.

    A keyed table of at least :data:`SPLIT_ROWS` rows is compared in two halves at once, as :func:`row_diff`
    counts (the second half by a reader thread, when both files are in rollback-journal mode).

    :param tables: only these tables (names as in the before file); all common tables by default.
    :param opened: called with the connection that reads both files, before it reads them (a caller
        in another thread makes it interruptible).
    """
    with _open_pair(before_path, after_path, opened) as conn, sqlite.mapped(conn, "main", BEFORE, own=own), \
            _read_transaction(conn):  # one point in time of each file; a second reader sees the same meanwhile
        before = {t.name.lower(): t for t in _ordinary_tables(conn, BEFORE)}
        after = {t.name.lower(): t for t in _ordinary_tables(conn, "main")}
        wanted = [t.lower() for t in tables] if tables is not None else sorted(before)
        out = []
        states = _states(before_path, after_path)
        split = _Split(before_path, after_path, own, states) if states is not None else None
        for key in wanted:
            if key not in before or key not in after:
                continue
            old_cols = {c.name.lower(): c.name for c in before[key].columns if c.visible}
            new_cols = {c.name.lower(): c.name for c in after[key].columns if c.visible}
            common = sorted(set(old_cols) & set(new_cols))
            if not same_rows(conn, before[key].name, after[key].name,
                             [(old_cols[c], new_cols[c]) for c in common], records=(before[key], after[key]),
                             split=split):
                out.append(before[key].name)
        return out


def same_rows(conn: sqlite.Connection, before_table: str, after_table: str,
              columns: Sequence[tuple[str, str]], *, before_schema: str = BEFORE, after_schema: str = "main",
              records: tuple[Table, Table] | None = None, split: _Split | None = None) -> bool:
    """Tell, exactly, whether two tables hold the same rows over ``columns`` ((before, after) name pairs).

    Values are equal when their storage class and their bytes are (``1`` is not ``1.0``, ``'a'`` is
    not ``'A'`` whatever the column's collation). Rows are compared as multisets, set-wise inside
    SQLite: when both sides' declared key is among the columns and cannot repeat, by one join on
    that key (equal counts and every row matched by an equal row); otherwise by grouping equal rows
    with their number on each side and finding a group of one side missing from the other.

    :param records: the two tables' catalogue records when the caller has them (else each is read).
    :param split: given (by a caller holding both files' read locks, see :class:`_Split`), a keyed table of
        at least :data:`SPLIT_ROWS` rows is joined in two halves of the before table's rowids at once.
    """
    before_ref = f"{quote(before_schema)}.{quote(before_table)}"
    after_ref = f"{quote(after_schema)}.{quote(after_table)}"
    count_before = conn.execute(f"SELECT count(*) FROM {before_ref}").fetchone()[0]
    count_after = conn.execute(f"SELECT count(*) FROM {after_ref}").fetchone()[0]
    if count_before != count_after:
        return False
    if not count_before:
        return True
    if not columns:
        return True  # no common column: equal numbers of empty rows
    pair: tuple[Table | None, Table | None] = records if records is not None else (
        sqlite.read_table(conn, before_table, before_schema), sqlite.read_table(conn, after_table, after_schema))
    key = _unique_key(conn, before_schema, pair[0], after_schema, pair[1], columns)
    if key:
        on = " AND ".join(f"a.{quote(b)} = b.{quote(a)}" for b, a in key)
        equal = " AND ".join(f"(a.{quote(b)} IS b.{quote(a)} COLLATE BINARY "
                             f"AND typeof(a.{quote(b)}) = typeof(b.{quote(a)}))" if _typed(pair, b, a)
                             else f"a.{quote(b)} IS b.{quote(a)} COLLATE BINARY" for b, a in columns)
        halves = _halves_of(conn, before_ref, pair[0]) if split is not None and count_before >= SPLIT_ROWS and \
            len(key) == 1 and _rowid_alias(pair[1]) == key[0][1].lower() else None
        if split is not None and halves is not None:
            # the before table's rows read in two rowid spans, each row's partner found by its rowid (NOT INDEXED:
            # else SQLite carries the span over to the after table and reads it through another index)
            (matched,) = split.count(conn, halves, lambda c, span: c.execute(
                f"SELECT count(*) FROM {before_ref} AS a CROSS JOIN {after_ref} AS b NOT INDEXED ON {on} "
                f"WHERE a.rowid BETWEEN ? AND ? AND {equal}", span).fetchone())
        else:
            matched = conn.execute(f"SELECT count(*) FROM {before_ref} AS a JOIN {after_ref} AS b ON {on} "
                                   f"WHERE {equal}").fetchone()[0]
        return bool(matched == count_before)

    def grouped(ref: str, names: list[str]) -> str:
        values = ", ".join(f"typeof({quote(n)}), {quote(n)} COLLATE BINARY" for n in names)
        return f"SELECT {values}, count(*) FROM {ref} GROUP BY {', '.join(str(i + 1) for i in range(2 * len(names)))}"

    missing = conn.execute(f"SELECT EXISTS ({grouped(before_ref, [b for b, _ in columns])} EXCEPT "
                           f"{grouped(after_ref, [a for _, a in columns])})").fetchone()[0]
    return not missing


def _typed(pair: tuple[Table | None, Table | None], before: str, after: str) -> bool:
    """Tell whether equal values of a column pair must also be compared by storage class.

    Only one pair of storage classes compares equal by value: INTEGER and REAL (``1 IS 1.0``). A
    column with INTEGER, NUMERIC or REAL affinity stores an integral number in one class only, and
    one with TEXT affinity stores no number; so when both sides have the same such affinity, ``IS``
    with the BINARY collation already tells values apart by class (half the cost on a wide table).
    A column without affinity (BLOB, no type, a STRICT table's ANY) keeps what it is given, and
    sides with different affinities may hold either: those are compared by class too.
    """
    found = [record.column(name) if record is not None else None for record, name in zip(pair, (before, after))]
    if any(column is None for column in found):
        return True
    kinds = {affinity(column.type) for column in found if column is not None}
    return len(kinds) != 1 or "BLOB" in kinds or any(
        (column.type or "").strip().upper() == "ANY" for column in found if column is not None)


def _unique_key(conn: sqlite.Connection, before_schema: str, before_table: Table | None, after_schema: str,
                after_table: Table | None, columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (before, after) columns of a key both tables declare alike and that cannot hold equal rows, or []."""
    pairs = {b.lower(): (b, a) for b, a in columns}

    def key_of(schema: str, record: Table | None) -> list[str] | None:
        if record is None:
            return None
        table = record.name
        pk = sorted((c for c in record.columns if c.visible and c.pk), key=lambda c: c.pk)
        if not pk:
            return None
        strict = _without_rowid(conn, table, schema)  # its key is NOT NULL and unique
        # An INTEGER PRIMARY KEY is the rowid itself (never NULL, never twice) unless it has an index of
        # its own (``INTEGER PRIMARY KEY DESC``, SQLite's quirk).
        alias = len(pk) == 1 and pk[0].type.upper() == "INTEGER" and not any(
            index.origin == "pk" for index in record.indexes)
        # A rowid table's other primary keys may hold NULLs (SQLite's legacy), which may repeat.
        if not (strict or alias or all(c.notnull for c in pk)):
            return None
        return [c.name.lower() for c in pk]

    before_key, after_key = key_of(before_schema, before_table), key_of(after_schema, after_table)
    if not before_key or not after_key or any(k not in pairs for k in before_key):
        return []
    key = [pairs[k] for k in before_key]
    if [a.lower() for _, a in key] != after_key:
        return []
    return key


def _without_rowid(conn: sqlite.Connection, table: str, schema: str) -> bool:
    try:
        conn.execute(f"SELECT _rowid_ FROM {quote(schema)}.{quote(table)} LIMIT 0")
    except sqlite.OperationalError:
        return True
    return False


def _ordinary_tables(conn: sqlite.Connection, schema: str) -> list[Table]:
    """The tables of ``schema`` that hold their own rows (virtual tables left out)."""
    return [t for t in read_catalog(conn, schema).tables if not t.virtual]


class _open_pair:
    """Context manager: the after file as main, the before file attached, both read-only."""

    def __init__(self, before: str | Path, after: str | Path,
                 opened: Callable[[sqlite.Connection], None] | None = None) -> None:
        self.before, self.after, self.opened = before, after, opened

    def __enter__(self) -> sqlite.Connection:
        self.conn = sqlite.open_readonly(self.after)
        try:
            if self.opened is not None:
                self.opened(self.conn)
            sqlite.attach_readonly(self.conn, self.before, BEFORE)
        except BaseException:
            self.conn.close()
            raise
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _plans(before: Snapshot, after: Snapshot, sdiff: SchemaDiff, only: Sequence[str] | None) -> list[_Plan]:
    renames = sdiff.table_renames  # old -> new
    new_to_old = {n.lower(): o for o, n in renames.items()}
    wanted = {t.lower() for t in only} if only is not None else None
    plans = []
    for t in after.tables:
        old_name = new_to_old.get(t.name.lower(), t.name)
        old = before.table(old_name)
        if wanted is not None and t.name.lower() not in wanted and old_name.lower() not in wanted:
            continue
        plans.append(_compare_plan(old, t, sdiff) if old else _one_side_plan(t, "added"))
    renamed_old = {o.lower() for o in renames}
    for t in before.tables:
        if after.table(t.name) is None and t.name.lower() not in renamed_old:
            if wanted is None or t.name.lower() in wanted:
                plans.append(_one_side_plan(t, "removed"))
    return plans


def _one_side_plan(t: TableSnapshot, status: str) -> _Plan:
    key = t.primary_key or (("rowid",) if not t.without_rowid else t.column_names)
    return _Plan(table=t.name, before_table=t.name if status == "removed" else None, status=status,
                 key_after=key, key_before=key, compare=(), after_columns=t.column_names,
                 before_columns=t.column_names)


def _compare_plan(old: TableSnapshot, new: TableSnapshot, sdiff: SchemaDiff) -> _Plan:
    renames = {o.lower(): n for o, n in sdiff.column_renames(new.name).items()}
    old_to_new = {c.name: renames.get(c.name.lower(), c.name) for c in old.columns}
    new_to_old = {n.lower(): o for o, n in old_to_new.items()}
    common = [(c, new_to_old[c.name.lower()]) for c in new.columns if c.name.lower() in new_to_old]
    key_after, key_before, note = _key(old, new, new_to_old)
    keyset = {k.lower() for k in key_after}
    compare = tuple((c.name, oc, _strict(c.type, (old.column(oc) or c).type))
                    for c, oc in common if c.name.lower() not in keyset)
    return _Plan(
        table=new.name, before_table=old.name, status="compared", key_after=key_after, key_before=key_before,
        compare=compare, after_columns=new.column_names, before_columns=old.column_names,
        columns_added=tuple(c.name for c in new.columns if c.name.lower() not in new_to_old),
        columns_removed=tuple(c.name for c in old.columns if old_to_new[c.name].lower()
                              not in {n.name.lower() for n in new.columns}),
        columns_renamed=tuple((o, n) for o, n in old_to_new.items() if o != n),
        note=note)


def _key(old: TableSnapshot, new: TableSnapshot,
         new_to_old: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    pk_after = new.primary_key
    mapped = tuple(new_to_old.get(k.lower(), "") for k in pk_after)
    if pk_after and all(mapped) and tuple(m.lower() for m in mapped) == tuple(k.lower() for k in old.primary_key):
        return pk_after, mapped, ""
    if not new.without_rowid and not old.without_rowid:
        note = ("primary key differs between the databases; rows matched by rowid"
                if (pk_after or old.primary_key) else "")
        return ("rowid",), ("rowid",), note
    if pk_after and all(mapped):
        return pk_after, mapped, "primary key changed; rows matched on the new key columns"
    raise LightnbError(f"table {new.name!r} has no common key between the two databases; "
                       f"compare it with --table on a version that keeps its primary key.")


def _strict(type_after: str, type_before: str) -> bool:
    # Different declared types mean different affinities, and comparison would then
    # convert '1' to 1; compare storage classes as well. No type: no affinity at all.
    return type_after.upper() != type_before.upper() or not type_after.strip()


@contextlib.contextmanager
def _read_transaction(conn: sqlite.Connection) -> Iterator[None]:
    """Hold both files' read locks for the block: no writer can change them meanwhile."""
    conn.execute("BEGIN")
    try:
        for schema in ("main", BEFORE):
            conn.execute(f"PRAGMA {quote(schema)}.schema_version").fetchall()  # reads the file: takes its lock
        yield
    finally:
        conn.execute("COMMIT")


def _page_proof(conn: sqlite.Connection, plans: Sequence[_Plan], before: Snapshot, after: Snapshot,
                own: bool) -> PageProof | None:
    """Which rowid ranges alone can differ, for the compared tables keyed by their rowid (see pages)."""
    eligible = [plan.table for plan in plans if plan.status == "compared" and plan.before_table == plan.table
                and _rowid_keyed(plan, before.table(plan.table), after.table(plan.table))]
    if not eligible:
        return None
    return compare_pages(conn, eligible, before=BEFORE, own=own)


def _rowid_keyed(plan: _Plan, old: TableSnapshot | None, new: TableSnapshot | None) -> bool:
    """Whether the plan matches rows by their rowid (the rowid itself, or an INTEGER PRIMARY KEY)."""
    if old is None or new is None or old.without_rowid or new.without_rowid or plan.key_after != plan.key_before:
        return False
    if any(_names_rowid(t.table) for t in (old, new)):
        return False  # ``rowid`` would name that column, not the row's id
    if plan.key_after == ("rowid",):
        return True
    return len(plan.key_after) == 1 and all(_rowid_alias(t.table) == plan.key_after[0].lower() for t in (old, new))


def _diff_table(conn: sqlite.Connection, plan: _Plan, sample: int, redactor: Redactor, reveal: bool,
                known: tuple[Mapping[str, int], Mapping[str, int]],
                ranges: list[tuple[int, int]] | None = None, *,
                counted: tuple[dict[str, int], dict[str, int]] | None = None,
                split: _Split | None = None) -> TableDiff:
    counts: dict[str, int]
    per_column: dict[str, int] = {}
    if counted is not None:  # measured before, on these very states
        counts, per_column = counted
    elif plan.status == "added":
        n = _rows_in(conn, "main", plan.table, known[1])
        counts = {"added": n, "removed": 0, "changed": 0, "unchanged": 0}
    elif plan.status == "removed":
        n = _rows_in(conn, BEFORE, plan.table, known[0])
        counts = {"added": 0, "removed": n, "changed": 0, "unchanged": 0}
    else:
        found = _count_in(conn, plan, known, ranges, split) if ranges is not None else None
        if found is None:
            ranges = None
            found = _count(conn, plan, known, split)
        counts, per_column = found
    # (never more than there are: a query in batches of key ranges stops once it found them all)
    samples = {kind: tuple(_iter_kind(conn, plan, kind, min(sample, counts[kind]) if counts[kind] > 0 else sample,
                                      redactor, reveal, ranges))
               for kind in KINDS if counts[kind] and sample > 0}
    return TableDiff(table=plan.table, before_table=plan.before_table, status=plan.status, key=plan.key_after,
                     columns_added=plan.columns_added, columns_removed=plan.columns_removed,
                     columns_renamed=plan.columns_renamed, changed_columns=per_column, samples=samples,
                     note=plan.note, **counts)


def _count(conn: sqlite.Connection, plan: _Plan, known: tuple[Mapping[str, int], Mapping[str, int]],
           split: _Split | None = None) -> tuple[dict[str, int], dict[str, int]]:
    n_after = _rows_in(conn, "main", plan.table, known[1])
    n_before = _rows_in(conn, BEFORE, plan.before_table or plan.table, known[0])
    differs = plan.differs()
    # each comparison is evaluated once per row, in a subquery the LIMIT keeps from being merged into
    # the sums (which would compare every column twice: once for the row, once for the column)
    flags = [f"d{i}" for i in range(len(differs))]
    sums = "".join(f", sum({f})" for f in flags)
    any_diff = f", sum({' OR '.join(flags)})" if flags else ", 0"
    compared = ", ".join(f"{d} AS {f}" for d, f in zip(differs, flags)) or "1"
    sql = (f"SELECT count(*){any_diff}{sums} FROM (SELECT {compared} FROM main.{quote(plan.table)} AS a "
           f"JOIN {BEFORE}.{quote(plan.before_table or plan.table)} AS b ON {plan.join()}")
    halves = _rowid_halves(conn, plan) if split is not None and min(n_after, n_before) >= SPLIT_ROWS else None
    if split is not None and halves is not None:
        row = split.count(conn, halves, lambda c, span: c.execute(
            f"{sql} WHERE a.rowid BETWEEN ? AND ? LIMIT -1)", span).fetchone())
    else:
        row = conn.execute(f"{sql} LIMIT -1)").fetchone()
    matched, changed = row[0], row[1] or 0
    per_column = {ca: (n or 0) for (ca, _cb, _s), n in zip(plan.compare, row[2:])}
    counts = {"added": n_after - matched, "removed": n_before - matched,
              "changed": changed, "unchanged": matched - changed}
    return counts, per_column


def _count_in(conn: sqlite.Connection, plan: _Plan, known: tuple[Mapping[str, int], Mapping[str, int]],
              ranges: list[tuple[int, int]], split: _Split | None = None
              ) -> tuple[dict[str, int], dict[str, int]] | None:
    """Count as :func:`_count` does, comparing rows only in ``ranges`` (the rows outside are proved equal).

    Returns None when SQLite cannot read the ranges (no ``json_each``): the whole table is compared then.
    """
    differs = plan.differs()
    flags = [f"d{i}" for i in range(len(differs))]
    sums = "".join(f", sum({f})" for f in flags)
    any_diff = f", sum({' OR '.join(flags)})" if flags else ", 0"
    # a row of the ranges without a partner has no differences: it is added (or removed), not changed
    paired = f"b.{_ref(plan.key_before[0])} IS NOT NULL"
    compared = ", ".join(f"({paired} AND {d}) AS {f}" for d, f in zip(differs, flags))
    a_from, a_in = _within(plan, "a")
    b_t = f"{BEFORE}.{quote(plan.before_table or plan.table)}"
    sql = (f"SELECT count(*), sum(paired){any_diff}{sums} FROM (SELECT {paired} AS paired"
           f"{', ' + compared if compared else ''} FROM {a_from} LEFT JOIN {b_t} AS b "
           f"ON {plan.join()} WHERE {a_in} LIMIT -1)")
    n_after = _rows_in(conn, "main", plan.table, known[1])
    n_before = _rows_in(conn, BEFORE, plan.before_table or plan.table, known[0])
    halves = _split_ranges(ranges) if split is not None and \
        min(n_after, sum(hi - lo + 1 for lo, hi in ranges)) >= SPLIT_ROWS else None
    try:
        if split is not None and halves is not None:
            row = split.count(conn, halves, lambda c, part: c.execute(sql, (ranges_json(part),)).fetchone())
        else:
            row = conn.execute(sql, (ranges_json(ranges),)).fetchone()
    except sqlite.OperationalError as error:
        if "interrupted" in str(error):  # stopped (Ctrl-C, SIGTERM, a reader told to stop): not a fallback
            raise
        return None
    added = row[0] - (row[1] or 0)
    matched = n_after - added
    changed = row[2] or 0
    per_column = {ca: (n or 0) for (ca, _cb, _s), n in zip(plan.compare, row[3:])}
    return ({"added": added, "removed": n_before - matched, "changed": changed, "unchanged": matched - changed},
            per_column)


def _within(plan: _Plan, alias: str) -> tuple[str, str]:
    """The FROM and WHERE parts that read the rows of ``alias``'s table in the ranges bound as ``?``."""
    table = f"main.{quote(plan.table)}" if alias == "a" else f"{BEFORE}.{quote(plan.before_table or plan.table)}"
    return (f"json_each(?) AS r CROSS JOIN {table} AS {alias}",
            f"{alias}.rowid BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')")


@dataclass(frozen=True, slots=True)
class _Split:
    """What a second reader of the two files needs to count half of a table's rows beside this thread.

    Only made while the caller holds both files' read locks (see :func:`_read_transaction`) and both are
    in rollback-journal mode, in the committed ``states``: no commit can come meanwhile, so a second
    connection reads exactly what the caller's does.
    """

    before: str | Path
    after: str | Path
    own: bool
    states: tuple[tuple[int, ...], tuple[int, ...]]

    def count(self, conn: sqlite.Connection, halves: tuple[_A, _A],
              one: Callable[[sqlite.Connection, _A], Sequence[Any]]) -> tuple[Any, ...]:
        """Run ``one`` on the first half here and on the second in a reader thread; return the sums.

        ``one`` returns a row of counts and sums (None for a sum of no rows): the halves are disjoint, so
        their sums are those of one pass over both. A stop or an error here stops the reader and waits for
        it; the reader's error is raised as one pass would raise it.
        """
        first, second = halves

        def other(opened: Callable[[sqlite.Connection], None]) -> Sequence[Any] | None:
            with _open_pair(self.before, self.after, opened) as helper, \
                    sqlite.mapped(helper, "main", BEFORE, own=self.own):
                with _read_transaction(helper):
                    if _states(self.before, self.after) != self.states:
                        return None  # never while the caller holds its locks: counted here then
                    return one(helper, second)

        with _RowCounter(other) as counter:
            mine = one(conn, first)
            theirs = counter.result()
        if theirs is None:
            theirs = one(conn, second)
        return tuple(None if a is None and b is None else (a or 0) + (b or 0) for a, b in zip(mine, theirs))


class _RowCounter(Reader[Any]):
    """The reader thread that counts the second half of a table's rows (see :class:`_Split`)."""

    NAME = "lightnb-row-counter"


def _rowid_halves(conn: sqlite.Connection, plan: _Plan) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The after table's rowids in two spans, [min, mid] and [mid + 1, max] (None when under two rows)."""
    return _rowid_spans(conn, f"main.{quote(plan.table)}")


def _halves_of(conn: sqlite.Connection, ref: str, record: Table | None
               ) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """:func:`_rowid_spans` of the table ``ref``; None when it has no rowid or a column takes the name ``rowid``."""
    if record is None or record.without_rowid or _names_rowid(record):
        return None
    return _rowid_spans(conn, ref)


def _names_rowid(record: Table) -> bool:
    """Whether a column of ``record`` takes a name of the rowid (``rowid``, ``_rowid_``, ``oid``)."""
    return any(c.name.lower() in ("rowid", "_rowid_", "oid") for c in record.columns)


def _rowid_alias(record: Table | None) -> str | None:
    """The lower-case name of the column that is ``record``'s rowid (its INTEGER PRIMARY KEY), or None."""
    if record is None or record.without_rowid:
        return None
    pk = [c for c in record.columns if c.pk]
    if len(pk) != 1 or pk[0].type.upper() != "INTEGER" or any(index.origin == "pk" for index in record.indexes):
        return None  # SQLite's INTEGER PRIMARY KEY DESC quirk: a key with an index of its own, not the rowid
    return pk[0].name.lower()


def _rowid_spans(conn: sqlite.Connection, ref: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The rowids of the table ``ref`` in two spans, [min, mid] and [mid + 1, max] (None when under two rows)."""
    low, high = conn.execute(f"SELECT (SELECT min(rowid) FROM {ref}), (SELECT max(rowid) FROM {ref})").fetchone()
    if low is None or high is None or low >= high:
        return None
    mid = low + (high - low) // 2
    return (low, mid), (mid + 1, high)


def _split_ranges(ranges: Sequence[tuple[int, int]]
                  ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """``ranges`` (disjoint, in order) in two lists of about the same rowid span (None when it is one rowid)."""
    total = sum(hi - lo + 1 for lo, hi in ranges)
    if total < 2:
        return None
    half, seen = total // 2, 0
    for i, (lo, hi) in enumerate(ranges):
        if seen + (hi - lo + 1) >= half:
            cut = lo + (half - seen) - 1  # the last rowid of the first half
            first = [*ranges[:i], (lo, cut)]
            second = ([(cut + 1, hi)] if cut < hi else []) + list(ranges[i + 1:])
            return first, second
        seen += hi - lo + 1
    return None


def _rows_in(conn: sqlite.Connection, schema: str, table: str, known: Mapping[str, int]) -> int:
    if table.lower() in known:
        return known[table.lower()]
    count: int = conn.execute(f"SELECT count(*) FROM {quote(schema)}.{quote(table)}").fetchone()[0]
    return count


def _iter_kind(conn: sqlite.Connection, plan: _Plan, kind: str, limit: int | None,
               redactor: Redactor, reveal: bool, ranges: list[tuple[int, int]] | None = None, *,
               batched: bool = True) -> Iterator[dict[str, Any]]:
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    a_t, b_t = f"main.{quote(plan.table)}", f"{BEFORE}.{quote(plan.before_table or plan.table)}"
    if batched and ranges is not None and plan.status == "compared" and limit is not None \
            and len(ranges) > FIRST_RANGES:
        # the first rows by key: the ranges are disjoint and in key order, so the rows of the first ranges
        # come before all others — read a few ranges, then more, until ``limit`` rows are found
        start, size = 0, FIRST_RANGES
        while start < len(ranges) and limit > 0:
            found = list(_iter_kind(conn, plan, kind, limit, redactor, reveal, ranges[start:start + size],
                                    batched=False))
            yield from found
            limit -= len(found)
            start, size = start + size, size * 8
        return
    if ranges is not None and plan.status == "compared":  # the rows outside the ranges are proved equal
        spans = (ranges_json(ranges),)
        (a_from, a_in), (b_from, b_in) = _within(plan, "a"), _within(plan, "b")
        if kind == "added":
            cols = plan.after_columns
            sql = (f"SELECT {', '.join('a.' + quote(c) for c in cols)} FROM {a_from} WHERE {a_in} AND NOT EXISTS "
                   f"(SELECT 1 FROM {b_t} AS b WHERE {plan.join()}) ORDER BY {plan.order('a')}{tail}")
            yield from _rows(conn, sql, cols, plan.table, redactor, reveal, spans)
        elif kind == "removed":
            cols = plan.before_columns
            sql = (f"SELECT {', '.join('b.' + quote(c) for c in cols)} FROM {b_from} WHERE {b_in} AND NOT EXISTS "
                   f"(SELECT 1 FROM {a_t} AS a WHERE {plan.join()}) ORDER BY {plan.order('b', True)}{tail}")
            yield from _rows(conn, sql, cols, plan.before_table or plan.table, redactor, reveal, spans)
        elif plan.compare:
            yield from _changed_rows(conn, plan, tail, redactor, reveal,
                                     (f"{a_from} CROSS JOIN {b_t} AS b ON {plan.join()}", f"{a_in} AND ", spans))
        return
    if plan.status != "compared":
        if kind != ("added" if plan.status == "added" else "removed"):
            return
        source = a_t if plan.status == "added" else b_t
        cols = plan.after_columns
        sql = f"SELECT {', '.join('a.' + quote(c) for c in cols)} FROM {source} AS a ORDER BY {plan.order('a')}{tail}"
        yield from _rows(conn, sql, cols, plan.table, redactor, reveal)
    elif kind == "added":
        cols = plan.after_columns
        sql = (f"SELECT {', '.join('a.' + quote(c) for c in cols)} FROM {a_t} AS a WHERE NOT EXISTS "
               f"(SELECT 1 FROM {b_t} AS b WHERE {plan.join()}) ORDER BY {plan.order('a')}{tail}")
        yield from _rows(conn, sql, cols, plan.table, redactor, reveal)
    elif kind == "removed":
        cols = plan.before_columns
        sql = (f"SELECT {', '.join('b.' + quote(c) for c in cols)} FROM {b_t} AS b WHERE NOT EXISTS "
               f"(SELECT 1 FROM {a_t} AS a WHERE {plan.join()}) ORDER BY {plan.order('b', True)}{tail}")
        yield from _rows(conn, sql, cols, plan.before_table or plan.table, redactor, reveal)
    elif plan.compare:
        yield from _changed_rows(conn, plan, tail, redactor, reveal)


def _rows(conn: sqlite.Connection, sql: str, cols: Sequence[str], table: str, redactor: Redactor,
          reveal: bool, parameters: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
    for values in conn.execute(sql, parameters):
        yield redactor.row(dict(zip(cols, values)), table, reveal=reveal)


def _changed_rows(conn: sqlite.Connection, plan: _Plan, tail: str, redactor: Redactor,
                  reveal: bool, within: tuple[str, str, tuple[Any, ...]] | None = None) -> Iterator[dict[str, Any]]:
    differs = plan.differs()
    keys = [f"a.{_ref(k)}" for k in plan.key_after]
    pairs = [f"b.{quote(cb)}, a.{quote(ca)}, {d}" for (ca, cb, _s), d in zip(plan.compare, differs)]
    source, where, parameters = within or (
        f"main.{quote(plan.table)} AS a JOIN {BEFORE}.{quote(plan.before_table or plan.table)} AS b ON {plan.join()}",
        "", ())
    sql = (f"SELECT {', '.join(keys + pairs)} FROM {source} "
           f"WHERE {where}({' OR '.join(differs)}) ORDER BY {plan.order('a')}{tail}")
    nk = len(keys)
    for values in conn.execute(sql, parameters):
        key = redactor.row(dict(zip(plan.key_after, values[:nk])), plan.table, reveal=reveal)
        rest = values[nk:]
        cols = [ca for i, (ca, _cb, _s) in enumerate(plan.compare) if rest[3 * i + 2]]
        before_row = {ca: rest[3 * i] for i, (ca, _cb, _s) in enumerate(plan.compare) if rest[3 * i + 2]}
        after_row = {ca: rest[3 * i + 1] for i, (ca, _cb, _s) in enumerate(plan.compare) if rest[3 * i + 2]}
        yield {"key": key, "columns": cols,
               "before": redactor.row(before_row, plan.table, reveal=reveal),
               "after": redactor.row(after_row, plan.table, reveal=reveal)}
