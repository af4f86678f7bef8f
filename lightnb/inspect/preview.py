"""Bounded pandas previews of a table or query, and before/after side-by-side comparisons.

Preview cost does not grow with the table: head and tail walk the rowid (or primary
key) index with ``LIMIT n + 1``; the stable sample picks ``n`` evenly spaced points of
the rowid range and fetches the first row at or after each one (``n`` index seeks,
never ``ORDER BY random()``). Nothing counts the whole table. Every preview runs with
``PRAGMA query_only`` on, and every frame passes through the redactor.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import sqlglot
from sqlglot import exp

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote, read_columns
from lightnb.catalog import Table, primary_key_of
from lightnb.errors import LightnbError
from lightnb.inspect.filters import check_filter, check_query, filter_clause
from lightnb.inspect.filters import filter_text as _filter_text
from lightnb.inspect.lineage import bind, known_secrets, sensitive_outputs
from lightnb.inspect.redact import DEFAULT_REDACTOR, Redactor, is_time_name
from lightnb.inspect.schema_diff import column_renames_between
from lightnb.inspect.snapshot import TableSnapshot

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

MODES = ("head", "tail", "sample")
_ADDED, _REMOVED, _CHANGED = "#d7f5dd", "#f8d7da", "#fff3bf"


@dataclass(frozen=True, eq=False)
class Preview:
    """A bounded, redacted look at a table or query.

    :param frame: the rows shown.
    :param truncated: True when the source has more rows than shown.
    :param note: one sentence saying what was shown and what was cut.
    :param redacted: the columns whose values were masked.
    """

    source: str
    mode: str
    frame: pd.DataFrame
    truncated: bool
    note: str
    redacted: tuple[str, ...] = ()

    def to_text(self) -> str:
        """Return the frame as text followed by the note."""
        return f"{self.frame.to_string(index=False)}\n{self.note}"

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, escape=True) + f"<p><em>{html.escape(self.note)}</em></p>"


@dataclass(frozen=True, eq=False)
class ComparedPreview:
    """The same rows of one table before and after, side by side.

    ``frame`` is indexed by the row key; its columns are ``("status", "")`` then
    ``("before", column)`` and ``("after", column)``. ``changed`` holds True where a
    common column's value differs (computed on the real values, shown redacted), by
    after-name; ``renamed`` pairs (old, new) names of columns renamed between the sides.
    """

    table: str
    key: tuple[str, ...]
    frame: pd.DataFrame
    changed: pd.DataFrame
    note: str
    redacted: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> pd.Series:
        """added, removed, changed or unchanged, per row."""
        return self.frame[("status", "")]

    @property
    def styler(self) -> Styler:
        """Return a Styler marking added rows (green), removed rows (red) and changed cells (yellow)."""
        return self.frame.style.apply(self._css, axis=None).set_caption(html.escape(self.note))

    def _css(self, frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        new_name = dict(self.renamed)
        for i, status in enumerate(frame[("status", "")]):
            for j, key in enumerate(frame.columns):
                side, column = cast(tuple[str, str], key)  # the columns are a two-level MultiIndex
                column = new_name.get(column, column) if side == "before" else column
                if status == "added" and side == "after":
                    css.iat[i, j] = f"background-color: {_ADDED}"
                elif status == "removed" and side == "before":
                    css.iat[i, j] = f"background-color: {_REMOVED}"
                elif status == "changed" and side in ("before", "after") and column in self.changed.columns \
                        and bool(self.changed.iat[i, self.changed.columns.get_loc(column)]):  # type: ignore[index]  # unique columns: get_loc is an int
                    css.iat[i, j] = f"background-color: {_CHANGED}"
        return css

    def _repr_html_(self) -> str:
        return self.styler.to_html()


def preview(conn: sqlite.Connection, table_or_query: str, *, mode: str = "head", n: int = 20,
            where: str | None = None, redactor: Redactor | None = None, reveal: bool = False) -> Preview:
    """Show at most ``n`` rows of a table (head, tail or stable sample) or of a SELECT query.

    :param conn: an open connection; the preview runs with ``PRAGMA query_only`` on.
    :param table_or_query: a table name, or a SELECT statement (head only).
    :param mode: ``head``, ``tail`` or ``sample``.
    :param n: the most rows to show.
    :param where: an SQL condition filtering the rows.
    :param redactor: which columns to mask; the built-in sensitive words by default.
    :param reveal: show sensitive values; never the default.
    :raises LightnbError: unknown mode, a query that is not a SELECT, or a bad filter.
    """
    if mode not in MODES:
        raise LightnbError(f"unknown preview mode {mode!r}; use one of {', '.join(MODES)}.")
    if n < 0:
        raise LightnbError(f"preview size must be 0 or more, not {n}.")
    redactor = redactor or DEFAULT_REDACTOR
    if where is not None and not where.strip():
        where = None
    with sqlite.query_only(conn):
        if not reveal:
            redactor = bind(redactor, conn)
        table = _table_name(conn, table_or_query)
        view = None if table is not None else _view_name(conn, table_or_query)
        query = f"SELECT * FROM {quote(view)}" if view is not None else table_or_query
        traced: tuple[bool, ...] | None = None
        try:
            if table is not None:
                if where is not None:
                    masked = [c.name for c in read_columns(conn, table) if redactor.is_sensitive(c.name, table)]
                    check_filter(conn, table, where, masked, reveal=reveal)
                cols, rows, truncated, note = _table_rows(conn, table, mode, n, where)
                sensitive = [redactor.is_sensitive(c, table) for c in cols]
            else:
                if mode != "head":
                    raise LightnbError(f"{mode} needs a table; a query or view can only be previewed "
                                       f"with mode='head'.")
                tree = _single_select(query)
                if where is not None:
                    if view is None:
                        raise LightnbError("a filter applies to a table or a view; write the condition in the "
                                           "query's own WHERE instead.")
                    view_cols = _view_columns(conn, view)
                    view_taint = sensitive_outputs(conn, query, len(view_cols), redactor)
                    check_filter(conn, view, where, [c for c, t in zip(view_cols, view_taint) if t], reveal=reveal)
                faithful = reveal or check_query(conn, tree, query, redactor)
                cols, rows, truncated, note = _query_rows(conn, query, n, where)
                traced = sensitive_outputs(conn, query, len(cols), redactor) if faithful else (True,) * len(cols)
                sensitive = [t or redactor.is_sensitive(c) for c, t in zip(cols, traced)]
                if view is not None:
                    note = note.replace("of the query", f"of view {view}", 1)
            if not reveal:
                copied = known_secrets(conn, redactor, bounded=True).copied_columns(
                    [c if not s else "" for c, s in zip(cols, sensitive)], rows)
                sensitive = [s or c in copied for c, s in zip(cols, sensitive)]
        except sqlite.Error as error:
            raise LightnbError(f"preview of {table_or_query!r} failed: {redactor.message(str(error))}; check the "
                               f"name, query or filter.") from error
    redacted: tuple[str, ...] = ()
    if not reveal:
        source_table = table or view
        shown = [tuple(redactor.cell(v, c, source_table, sensitive=s) for v, c, s in zip(row, cols, sensitive))
                 for row in rows]
        redacted = tuple(c for i, (c, s) in enumerate(zip(cols, sensitive))
                         if any(a[i] != b[i] for a, b in zip(shown, rows))
                         or (s and not is_time_name(c)))
        rows = shown
    frame = _frame(rows, cols)
    return Preview(source=table or view or table_or_query, mode=mode, frame=frame, truncated=truncated,
                   note=note, redacted=redacted)


def _view_columns(conn: sqlite.Connection, view: str) -> list[str]:
    cursor = conn.execute(f"SELECT * FROM {quote(view)} LIMIT 0")
    return [d[0] for d in cursor.description]


def compare_preview(before_conn: sqlite.Connection, after_conn: sqlite.Connection, table: str, *,
                    key: str | Sequence[str] | None = None, n: int = 20, keys: Iterable[Any] | None = None,
                    after_table: str | None = None, column_renames: Mapping[str, str] | None = None,
                    redactor: Redactor | None = None, reveal: bool = False) -> ComparedPreview:
    """Show the same rows of ``table`` before and after side by side, marking the differences.

    Rows are the first ``n`` keys of the union of both sides (two ``LIMIT n`` index
    walks), or exactly ``keys`` when given (e.g. the keys of a row diff's samples).
    A renamed column is compared with its old self and marked like any other change.

    :param key: the key column(s), as named after; the primary key (or rowid) by default.
    :param after_table: the table's name after, when it was renamed.
    :param column_renames: renamed columns (old name -> new name), e.g. a schema diff's
        ``column_renames(table)``; guessed from the two tables' columns the same way when None.
    :raises LightnbError: the table is missing on both sides, or the key is not in both.
    """

    redactor = redactor or DEFAULT_REDACTOR
    after_table = after_table or table
    with sqlite.query_only(before_conn), sqlite.query_only(after_conn):
        before_redactor = redactor if reveal else bind(redactor, before_conn)
        after_redactor = redactor if reveal else bind(redactor, after_conn)
        b_cols = _columns_or_empty(before_conn, table)
        a_cols = _columns_or_empty(after_conn, after_table)
        if not b_cols and not a_cols:
            raise LightnbError(f"table {table!r} exists in neither database; check the name.")
        if column_renames is None:
            column_renames = _guess_renames(before_conn, after_conn, table, after_table) if b_cols and a_cols else {}
        # Pair each before column with its after column (same name, or renamed).
        after_names = {c.lower(): c for c in a_cols}
        renames = {o.lower(): nn for o, nn in column_renames.items()}
        pairs = {b: after_names[renames.get(b.lower(), b).lower()] for b in b_cols
                 if renames.get(b.lower(), b).lower() in after_names}
        old_of = {new_name: old for old, new_name in pairs.items()}
        key_cols = _compare_key(before_conn, after_conn, table, after_table, key, b_cols, a_cols, old_of)
        key_b = [old_of.get(k, k) for k in key_cols]
        if keys is None:
            wanted = sorted(set(_first_keys(before_conn, table, key_b, n, bool(b_cols)))
                            | set(_first_keys(after_conn, after_table, key_cols, n, bool(a_cols))),
                            key=_sort_key)[:n]
        else:
            wanted = [k if isinstance(k, tuple) else (k,) for k in keys]
        before_rows = _rows_by_key(before_conn, table, key_b, b_cols, wanted)
        after_rows = _rows_by_key(after_conn, after_table, key_cols, a_cols, wanted)
        copied: set[str] = set()
        if not reveal:
            # A value held by a masked column on either side is a copy of a secret (CTAS, INSERT … SELECT).
            for conn, side_redactor in ((before_conn, before_redactor), (after_conn, after_redactor)):
                finder = known_secrets(conn, side_redactor, bounded=True)
                for cols, rows in ((b_cols, before_rows), (a_cols, after_rows)):
                    copied |= finder.copied_columns(cols, [[r.get(c) for c in cols] for r in rows.values()])
    return assemble_compared(table, after_table, b_cols=b_cols, a_cols=a_cols, key_b=key_b, key_cols=key_cols,
                             pairs=pairs, wanted=wanted, before_rows=before_rows, after_rows=after_rows,
                             before_redactor=before_redactor, after_redactor=after_redactor, copied=copied,
                             mask=redactor.mask, reveal=reveal, first=n if keys is None else None)


def assemble_compared(table: str, after_table: str, *, b_cols: Sequence[str], a_cols: Sequence[str],
                      key_b: Sequence[str], key_cols: Sequence[str], pairs: Mapping[str, str],
                      wanted: Sequence[tuple], before_rows: Mapping[tuple, Mapping[str, Any]],
                      after_rows: Mapping[tuple, Mapping[str, Any]], before_redactor: Redactor,
                      after_redactor: Redactor, copied: set[str] | frozenset[str] = frozenset(), mask: str,
                      reveal: bool, first: int | None, keyless: bool = False) -> ComparedPreview:
    """Build the side-by-side frame of rows read from both sides (any backend): statuses, changed cells, redaction.

    :param pairs: before column -> after column, for the columns both sides have (renamed ones paired).
    :param wanted: the keys shown, in order; ``before_rows``/``after_rows`` map them to their rows.
    :param copied: columns found holding a copy of a masked value (masked on both sides).
    :param first: the ``n`` of "first n keys of either side", or None when the keys were chosen.
    :param keyless: the table has no key: rows are matched by every common column (``key_cols``) and shown whole,
        numbered instead of indexed by key.
    """
    import pandas as pd

    old_of = {new_name: old for old, new_name in pairs.items()}
    value_cols_b = [c for c in b_cols if c not in key_b]
    value_cols_a = [c for c in a_cols if c not in key_cols]
    common = [(c, old_of[c]) for c in value_cols_a if old_of.get(c) in value_cols_b]
    statuses, changed_rows = [], []
    for k in wanted:
        b, a = before_rows.get(k), after_rows.get(k)
        flags = {c: (a is not None and b is not None and _differs(b[old], a[c])) for c, old in common}
        changed_rows.append(flags)
        statuses.append("added" if b is None else "removed" if a is None else
                        "changed" if any(flags.values()) else "unchanged")
    # A column is masked on both sides when either of its names is sensitive.
    secret_b = {c for c in value_cols_b if before_redactor.is_sensitive(c, table) or c in copied}
    secret_a = {c for c in value_cols_a if after_redactor.is_sensitive(c, after_table) or c in copied}
    secret_a |= {pairs[c] for c in secret_b if c in pairs}
    secret_b |= {old_of[c] for c in secret_a if c in old_of}
    secret_keys = {k for k in key_cols if after_redactor.is_sensitive(k, after_table)
                   or before_redactor.is_sensitive(old_of.get(k, k), table) or k in copied}
    index = (pd.Index([f"#{i + 1}" for i in range(len(wanted))], name="row", dtype=object) if keyless
             else _index(list(wanted), list(key_cols), secret_keys, mask, reveal))
    data: dict[tuple[str, str], list[Any]] = {("status", ""): statuses}
    scrubbed: set[str] = set()
    shown_b = list(b_cols) if keyless else value_cols_b
    shown_a = list(a_cols) if keyless else value_cols_a
    for side, cols, rows, secret, side_redactor, name in (
            ("before", shown_b, before_rows, secret_b | (secret_keys if keyless else set()), before_redactor, table),
            ("after", shown_a, after_rows, secret_a | (secret_keys if keyless else set()), after_redactor,
             after_table)):
        for c in cols:
            values = [rows[k][c] if k in rows else None for k in wanted]
            shown = values if reveal else [side_redactor.cell(v, c, name, sensitive=c in secret) for v in values]
            if shown != values and c not in secret:
                scrubbed.add(c)
            data[(side, c)] = shown
    frame = pd.DataFrame(data, index=index)
    frame.columns = pd.MultiIndex.from_tuples(list(data))
    for i, values in enumerate(data.values()):
        if _integers(values):
            frame.isetitem(i, pd.array(values, dtype="Int64"))
    changed = pd.DataFrame(changed_rows, index=index, columns=[c for c, _old in common]).fillna(False).astype(bool)
    counts = {s: statuses.count(s) for s in ("added", "removed", "changed", "unchanged")}
    renamed = tuple((old, new_name) for old, new_name in pairs.items() if old != new_name)
    renamed_note = (" Renamed: " + ", ".join(f"{o} -> {nn}" for o, nn in renamed) + ".") if renamed else ""
    by = "their values in every common column (no primary key)" if keyless else ", ".join(key_cols)
    note = (f"{len(wanted)} row(s) of {after_table} by {by}: {counts['added']} added, "
            f"{counts['removed']} removed, {counts['changed']} changed, {counts['unchanged']} unchanged "
            f"(first {first} keys of either side)." if first is not None else
            f"{len(wanted)} chosen row(s) of {after_table}: {counts['added']} added, {counts['removed']} "
            f"removed, {counts['changed']} changed, {counts['unchanged']} unchanged.") + renamed_note
    return ComparedPreview(table=after_table, key=() if keyless else tuple(key_cols), frame=frame, changed=changed,
                           note=note,
                           redacted=() if reveal else tuple(sorted(secret_b | secret_a | secret_keys | scrubbed)),
                           renamed=renamed)


def _guess_renames(before: sqlite.Connection, after: sqlite.Connection, table: str,
                   after_table: str) -> dict[str, str]:
    """Guess renamed columns with the schema diff's rule (same definition at the same position)."""
    def info(conn: sqlite.Connection, name: str) -> TableSnapshot:
        return TableSnapshot(Table(name=name, sql="", columns=read_columns(conn, name)), row_count=0,
                             fingerprint=None)

    return column_renames_between(info(before, table), info(after, after_table))


def _frame(rows: list[tuple], cols: list[str]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    for i in range(len(cols)):
        values = [row[i] for row in rows]
        if _integers(values):
            frame.isetitem(i, pd.array(values, dtype="Int64"))
    return frame


def _integers(values: list[Any]) -> bool:
    """Tell whether a column holds integers (and NULLs) only: shown as nullable Int64, not floats."""
    present = [v for v in values if v is not None]
    return bool(present) and all(type(v) is int for v in present)


def _view_name(conn: sqlite.Connection, name: str) -> str | None:
    """Return the view called ``name`` (exactly, else ignoring case and surrounding spaces)."""
    for candidate in dict.fromkeys((name, name.strip())):
        found = sqlite.find_object(conn, candidate, ("view",))
        if found is not None:
            return found[1]
    return None


def _table_name(conn: sqlite.Connection, name: str) -> str | None:
    """Return the table called ``name`` (exactly, else ignoring case and surrounding spaces)."""
    for candidate in dict.fromkeys((name, name.strip())):
        found = sqlite.find_object(conn, candidate, ("table",))
        if found is not None:
            return found[1]
    return None


def _key_columns(conn: sqlite.Connection, table: str) -> tuple[list[str], bool]:
    try:
        conn.execute(f"SELECT rowid FROM {quote(table)} LIMIT 0")
        return ["rowid"], True
    except sqlite.OperationalError:
        return list(primary_key_of(read_columns(conn, table))), False


def _table_rows(conn: sqlite.Connection, table: str, mode: str, n: int,
                where: str | None) -> tuple[list[str], list[tuple], bool, str]:
    cols = [c.name for c in read_columns(conn, table)]
    key, is_rowid = _key_columns(conn, table)
    select = f"SELECT {', '.join(quote(c) for c in cols)} FROM {quote(table)}"
    cond = f" WHERE {filter_clause(where)}" if where else ""
    order = ", ".join(k if is_rowid else quote(k) for k in key)
    filtered = f" matching {_filter_text(where)}" if where else ""
    if mode == "sample" and is_rowid:
        with_rowid = f"SELECT rowid, {', '.join(quote(c) for c in cols)} FROM {quote(table)}"
        return (cols, *_sample_rows(conn, table, with_rowid, n, where))
    if mode == "sample":
        mode_note = " (a WITHOUT ROWID table has no rowid range to sample; showing the first rows)"
        mode = "head"
    else:
        mode_note = ""
    desc = " DESC" if mode == "tail" else ""
    order_by = ", ".join(f"{part}{desc}" for part in order.split(", "))
    rows = conn.execute(f"{select}{cond} ORDER BY {order_by} LIMIT ?", (n + 1,)).fetchall()
    truncated = len(rows) > n
    rows = rows[:n]
    if mode == "tail":
        rows.reverse()
    which = "first" if mode == "head" else "last"
    note = (f"The {which} {len(rows)} row(s) of {table}{filtered} by {', '.join(key)}"
            + ("; more rows are not shown." if truncated else "; that is all of them.") + mode_note)
    return cols, rows, truncated, note


def _sample_rows(conn: sqlite.Connection, table: str, select: str, n: int,
                 where: str | None) -> tuple[list[tuple], bool, str]:
    # Two statements: SQLite seeks the rowid b-tree only for a lone min() or max().
    low = conn.execute(f"SELECT min(rowid) FROM {quote(table)}").fetchone()[0]
    high = conn.execute(f"SELECT max(rowid) FROM {quote(table)}").fetchone()[0]
    filtered = f" matching {_filter_text(where)}" if where else ""
    if low is None or n == 0:
        return [], low is not None, f"No rows of {table} shown (sample of {n})."
    span = high - low + 1
    cond = f" AND {filter_clause(where)}" if where else ""
    seen: dict[int, tuple] = {}
    for i in range(n):
        point = low + (i * span) // n
        row = conn.execute(f"{select} WHERE rowid >= ?{cond} ORDER BY rowid LIMIT 1", (point,)).fetchone()
        if row is not None:
            seen.setdefault(row[0], row[1:])
    rows = [seen[k] for k in sorted(seen)]
    truncated = span > len(rows) if not where else True
    note = (f"A stable sample of {len(rows)} row(s) of {table}{filtered}, the first row at or after "
            f"{n} evenly spaced points of rowid {low}…{high}"
            + ("; other rows are not shown." if truncated else "; that is all of them."))
    return rows, truncated, note


def _query_rows(conn: sqlite.Connection, query: str, n: int,
                where: str | None) -> tuple[list[str], list[tuple], bool, str]:
    text = query.strip().rstrip(";")
    cond = f" WHERE {filter_clause(where)}" if where else ""
    cursor = conn.execute(f"SELECT * FROM ({text}){cond} LIMIT ?", (n + 1,))
    cols = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    truncated = len(rows) > n
    rows = rows[:n]
    note = (f"The first {len(rows)} row(s) of the query" + (f" matching {_filter_text(where)}" if where else "")
            + ("; more rows are not shown." if truncated else "; that is all of them."))
    return cols, rows, truncated, note


def _single_select(query: str) -> exp.Expr:
    try:
        parsed = [p for p in sqlglot.parse(query, read="sqlite") if p is not None]
    except (sqlglot.errors.SqlglotError, IndexError, ValueError, RecursionError) as error:  # the parser's own
        raise LightnbError(f"{query!r} is neither a table nor a query SQLite reads "
                           f"({str(error).splitlines()[0]}); check the name.") from error
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        raise LightnbError(f"{query!r} is neither a table nor a single SELECT; preview a table name "
                           f"or one SELECT statement.")
    return parsed[0]


def _columns_or_empty(conn: sqlite.Connection, table: str) -> list[str]:
    return [c.name for c in read_columns(conn, table)] if _table_name(conn, table) else []


def _compare_key(before: sqlite.Connection, after: sqlite.Connection, table: str, after_table: str,
                 key: str | Sequence[str] | None, b_cols: list[str], a_cols: list[str],
                 old_of: Mapping[str, str]) -> list[str]:
    """Return the key columns as named after (``old_of`` maps after names to before names)."""
    new_of = {old: new_name for new_name, old in old_of.items()}
    if key is not None:
        wanted = [key] if isinstance(key, str) else list(key)
    else:
        pk_a = list(primary_key_of(read_columns(after, after_table))) if a_cols else []
        pk_b = [new_of.get(k, k) for k in primary_key_of(read_columns(before, table))] if b_cols else []
        wanted = pk_a or pk_b or ["rowid"]
        if pk_a and pk_b and pk_a != pk_b:
            wanted = ["rowid"]
    for cols, name, names in ((b_cols, table, [old_of.get(k, k) for k in wanted]), (a_cols, after_table, wanted)):
        missing = [k for k in names if k != "rowid" and cols and k not in cols]
        if missing:
            raise LightnbError(f"key column {', '.join(missing)} is not in {name}; pass key= naming "
                               f"columns both sides have.")
    return wanted


def _key_sql(key_cols: Sequence[str]) -> str:
    return ", ".join("rowid" if k == "rowid" else quote(k) for k in key_cols)


def _first_keys(conn: sqlite.Connection, table: str, key_cols: list[str], n: int, exists: bool) -> list[tuple]:
    if not exists:
        return []
    return [tuple(r) for r in conn.execute(
        f"SELECT {_key_sql(key_cols)} FROM {quote(table)} ORDER BY {_key_sql(key_cols)} LIMIT ?", (n,))]


def _rows_by_key(conn: sqlite.Connection, table: str, key_cols: list[str], cols: list[str],
                 wanted: list[tuple]) -> dict[tuple, dict[str, Any]]:
    if not cols or not wanted:
        return {}
    out: dict[tuple, dict[str, Any]] = {}
    select = f"SELECT {_key_sql(key_cols)}, {', '.join(quote(c) for c in cols)} FROM {quote(table)}"
    if len(key_cols) == 1:
        cond, params = f"{_key_sql(key_cols)} IN ({', '.join('?' * len(wanted))})", [k[0] for k in wanted]
    else:
        tuples = ", ".join("(" + ", ".join("?" * len(key_cols)) + ")" for _ in wanted)
        cond, params = f"({_key_sql(key_cols)}) IN (VALUES {tuples})", [v for k in wanted for v in k]
    nk = len(key_cols)
    for row in conn.execute(f"{select} WHERE {cond}", params):
        out[tuple(row[:nk])] = dict(zip(cols, row[nk:]))
    return out


def _differs(a: Any, b: Any) -> bool:
    return type(a) is not type(b) or a != b


def _sort_key(k: tuple) -> tuple:
    return tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for v in k)


def _index(wanted: list[tuple], key_cols: list[str], secret_keys: set[str], mask: str, reveal: bool) -> pd.Index:
    import pandas as pd

    if not reveal and secret_keys:
        # A sensitive key is shown as its position: masked values would all look alike.
        return pd.Index([f"{mask} #{i + 1}" for i in range(len(wanted))],
                        name=", ".join(key_cols), dtype=object)
    values = wanted
    if len(key_cols) == 1:
        return pd.Index([v[0] for v in values], name=key_cols[0], dtype=object)
    return pd.MultiIndex.from_tuples(values, names=key_cols)
