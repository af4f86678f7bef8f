"""The inspect step's reading on PostgreSQL: snapshots, bounded previews and row diffs, in the result types
SQLite's inspect modules return (:class:`~lightnb.inspect.snapshot.Snapshot`,
:class:`~lightnb.inspect.preview.Preview`, :class:`~lightnb.inspect.preview.ComparedPreview`,
:class:`~lightnb.inspect.row_diff.RowDiff`), so the renderers and panels show them unchanged.

* Schema comes from the backend's catalogue reader (:func:`~lightnb.backends.postgres.records.read_catalog`);
  row counts and content fingerprints are computed in the server, all tables in one round trip
  (:func:`~lightnb.backends.postgres.rowhash.summaries`: an order-free sum of ``md5`` row hashes).
* Previews read at most ``n + 1`` rows per side, ordered by the primary key (its index); a table without
  one is read in the order of all its columns, still ``LIMIT``-bounded.
* Row diffs are keyed by primary key: each side streams ``(key, row hash, column hashes)`` ordered by the
  key's text, merged in order (no ATTACH on PostgreSQL; constant memory). Only the few sampled rows are read
  whole. A table without a primary key is compared by full row, as a multiset, and says so.
* Every value shown passes through the project's :class:`~lightnb.inspect.redact.Redactor`, by column name as
  on SQLite; a query's output column that comes straight from a table column is judged by that column's name
  (the server says where each output column comes from), a computed one is masked when the query reads any
  masked column.

Every session here is read-only (``default_transaction_read_only``): nothing in this module writes.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from lightnb.backends.postgres.records import read_catalog
from lightnb.backends.postgres.rowhash import summaries, summaries_side_by_side
from lightnb.catalog import Catalog, Table
from lightnb.errors import LightnbError
from lightnb.inspect.redact import DEFAULT_REDACTOR, Redactor, is_time_name
from lightnb.inspect.schema_diff import SchemaDiff, column_renames_between, schema_diff
from lightnb.inspect.snapshot import Snapshot, TableSnapshot

if TYPE_CHECKING:
    from lightnb.inspect.preview import ComparedPreview, Preview
    from lightnb.inspect.row_diff import RowDiff, TableDiff

_MASK64 = (1 << 64) - 1
_FETCH = 10_000
KEYLESS_NOTE = "no primary key: rows compared by full row (as a multiset of rows)"


# ---------------------------------------------------------------------------------------------- snapshots
def _fingerprint(total: int) -> str:
    return f"{total & _MASK64:016x}"


def take_snapshot(conn: psycopg.Connection[Any], *, label: str = "", fingerprint: bool = True,
                  redactor: Redactor | None = None) -> Snapshot:
    """Return the schema, row counts and content fingerprints of the database ``conn`` reads.

    Counts and fingerprints are computed in the server for every table in one query. Each table gets the
    fingerprint over every column (for comparisons) and the one over the columns ``redactor`` does not
    mask (the only one printed), as on SQLite.
    """
    redactor = redactor or DEFAULT_REDACTOR
    catalog = read_catalog(conn)
    tables = catalog.tables
    specs: list[tuple[str, Sequence[str]]] = []
    places: list[tuple[int, int | None]] = []
    masked_of: list[tuple[str, ...]] = []
    for table in tables:
        every = sorted(c.name for c in table.columns)
        left_out = tuple(c.name for c in table.columns if redactor.is_sensitive(c.name, table.name))
        masked_of.append(left_out)
        specs.append((table.name, every))
        if fingerprint and left_out:
            specs.append((table.name, [c for c in every if c not in left_out]))
            places.append((len(specs) - 2, len(specs) - 1))
        else:
            places.append((len(specs) - 1, None))
    if fingerprint:
        found = summaries(conn, specs)
    else:
        found = [(int(_count(conn, name)), 0) for name, _cols in specs]
    out = []
    for table, (full, shown), left_out in zip(tables, places, masked_of):
        count, total = found[full]
        fp = _fingerprint(total) if fingerprint else None
        shown_fp = (_fingerprint(found[shown][1]) if shown is not None else fp) if fingerprint else None
        out.append(TableSnapshot(table=table, row_count=count, fingerprint=fp, shown_fingerprint=shown_fp,
                                 masked_columns=left_out))
    indexes = tuple(ix for t in tables for ix in t.indexes)
    return Snapshot(label=label, taken_at=datetime.now(UTC).isoformat(timespec="seconds"), tables=tuple(out),
                    indexes=indexes, triggers=catalog.triggers, views=catalog.views, dialect="postgres")


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_identifier(table))).fetchone()
    return int(row[0]) if row else 0


def _identifier(table: str) -> sql.Composable:
    return sql.Identifier(*table.split(".", 1)) if "." in table else sql.Identifier(table)


def _columns_sql(columns: Sequence[str], alias: str | None = None) -> sql.Composable:
    if alias is None:
        return sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    return sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns)


def _find_table(tables: Sequence[Table], name: str) -> Table | None:
    for candidate in dict.fromkeys((name, name.strip())):
        for table in tables:
            if table.name == candidate:
                return table
        for table in tables:
            if table.name.lower() == candidate.lower():
                return table
    return None


# ---------------------------------------------------------------------------------------------- previews
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _masked_names(tables: Sequence[Table], redactor: Redactor) -> set[str]:
    return {c.name.lower() for t in tables for c in t.columns if redactor.is_sensitive(c.name, t.name)}


def _check_where(where: str, masked: set[str], reveal: bool) -> None:
    """Refuse a filter that is not one boolean expression, or that tests a masked column (an oracle)."""
    import pglast

    try:
        parsed = pglast.parse_sql(f"SELECT 1 WHERE {where}")
    except pglast.parser.ParseError as error:
        raise LightnbError(f"the filter {where!r} is not an SQL condition PostgreSQL reads ({error}); fix it.") \
            from error
    statement = parsed[0].stmt if len(parsed) == 1 else None
    extra = ("larg", "sortClause", "limitCount", "limitOffset", "groupClause", "havingClause", "windowClause",
             "lockingClause", "withClause", "distinctClause")
    if type(statement).__name__ != "SelectStmt" or any(getattr(statement, part, None) for part in extra):
        raise LightnbError(f"the filter {where!r} is more than one condition; write a single condition.")
    if not reveal:
        named = {w.lower() for w in _WORD.findall(where)} & masked
        if named:
            raise LightnbError(f"the filter tests masked column(s) {', '.join(sorted(named))}, which would reveal "
                               f"their values; filter on other columns (or pass reveal).")


@contextlib.contextmanager
def _read_only(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """A read-only transaction (set before any query, so nothing inside can make it read-write again)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        yield


def _refuse_escapes(text: str, what: str) -> None:
    """Refuse SQL that reaches the server's files, programs or other servers (the migration guard's rules)."""
    from lightnb.backends.postgres.guard import first_escape

    found = first_escape(text)
    if found is not None:
        raise LightnbError(f"Refused to run {what}: {found[1]}; a preview only reads the database's tables.")


def preview(conn: psycopg.Connection[Any], table_or_query: str, *, mode: str = "head", n: int = 20,
            where: str | None = None, redactor: Redactor | None = None, reveal: bool = False) -> Preview:
    """Show at most ``n`` rows of a table (head, tail or a repeatable sample) or of one SELECT query.

    :param conn: a read-only session (every transaction read-only).
    :raises LightnbError: unknown mode, a query that is not one SELECT, a bad filter (one line each).
    """
    from lightnb.inspect.preview import MODES, Preview, _frame

    if mode not in MODES:
        raise LightnbError(f"unknown preview mode {mode!r}; use one of {', '.join(MODES)}.")
    if n < 0:
        raise LightnbError(f"preview size must be 0 or more, not {n}.")
    redactor = redactor or DEFAULT_REDACTOR
    where = where if where is not None and where.strip() else None
    catalog = read_catalog(conn)
    table = _find_table(catalog.tables, table_or_query)
    masked = _masked_names(catalog.tables, redactor)
    try:
        with _read_only(conn):
            if table is not None:
                if where is not None:
                    _check_where(where, masked, reveal)
                    _refuse_escapes(where, "the filter")
                cols, rows, truncated, note = _table_rows(conn, table, mode, n, where)
                sensitive = [redactor.is_sensitive(c, table.name) for c in cols]
                source = table.name
            else:
                if mode != "head":
                    raise LightnbError(f"{mode} needs a table; a query can only be previewed with mode='head'.")
                if where is not None:
                    raise LightnbError("a filter applies to a table; write the condition in the query's own WHERE "
                                       "instead.")
                view = next((v.name for v in catalog.views if v.name.lower() == table_or_query.strip().lower()), None)
                query = f"SELECT * FROM {_regclass(view)}" if view is not None else table_or_query
                cols, rows, truncated, note, sensitive = _query_rows(conn, query, n, catalog, redactor, masked)
                if view is not None:
                    note = note.replace("of the query", f"of view {view}", 1)
                source = view or table_or_query
            if not reveal:  # a column showing a value a masked column holds shows a copy of a secret
                copied = _copies_finder((conn,), redactor).copied_columns(
                    [c if not s else "" for c, s in zip(cols, sensitive)], rows)
                sensitive = [s or c in copied for c, s in zip(cols, sensitive)]
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        raise LightnbError(f"preview of {table_or_query!r} failed: {redactor.message(reason)}; check the name, "
                           f"query or filter.") from error
    redacted: tuple[str, ...] = ()
    if not reveal:
        shown = [tuple(redactor.cell(v, c, source if table is not None else None, sensitive=s)
                       for v, c, s in zip(row, cols, sensitive)) for row in rows]
        redacted = tuple(c for i, (c, s) in enumerate(zip(cols, sensitive))
                         if any(a[i] != b[i] for a, b in zip(shown, rows)) or (s and not is_time_name(c)))
        rows = shown
    return Preview(source=source, mode=mode, frame=_frame(rows, cols), truncated=truncated, note=note,
                   redacted=redacted)


def _order(table: Table, columns: Sequence[str]) -> tuple[list[str], bool]:
    key = list(table.primary_key)
    return (key, True) if key else (list(columns), False)


def _table_rows(conn: psycopg.Connection[Any], table: Table, mode: str, n: int,
                where: str | None) -> tuple[list[str], list[tuple[Any, ...]], bool, str]:
    cols = [c.name for c in table.columns if c.visible]
    key, keyed = _order(table, cols)
    desc = sql.SQL(" DESC") if mode == "tail" else sql.SQL("")
    order = sql.SQL(", ").join(sql.SQL("{}{}").format(sql.Identifier(k), desc) for k in key)
    cond = sql.SQL(" WHERE ({})").format(sql.SQL(where)) if where else sql.SQL("")  # checked by _check_where
    source: sql.Composable = _identifier(table.name)
    mode_note = ""
    if mode == "sample":
        column = table.column(key[0]) if keyed and len(key) == 1 else None
        if column is not None and column.type in _INTEGER_TYPES:
            return _sample_by_key(conn, table, cols, key[0], n, where)
        estimate = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                                (_regclass(table.name),)).fetchone()
        rows_estimated = float(estimate[0]) if estimate and estimate[0] and estimate[0] > 0 else 0.0
        percent = 100.0 if rows_estimated <= 0 else min(100.0, max(0.01, 400.0 * max(n, 1) / rows_estimated))
        source = sql.SQL("{} TABLESAMPLE BERNOULLI ({}) REPEATABLE (0)").format(source, sql.Literal(percent))
        mode_note = " (a repeatable sample of the table's rows)"
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY {} LIMIT {}").format(
        _columns_sql(cols) if cols else sql.SQL("NULL"), source, cond, order if key else sql.SQL("1"),
        sql.Literal(n + 1))
    rows = [tuple(r) for r in conn.execute(query).fetchall()]
    truncated = len(rows) > n
    rows = rows[:n]
    if mode == "tail":
        rows.reverse()
    which = {"head": "first", "tail": "last", "sample": "sampled"}[mode]
    filtered = f" matching {where}" if where else ""
    by = ", ".join(key) if keyed else "every column (no primary key)"
    note = (f"The {which} {len(rows)} row(s) of {table.name}{filtered} by {by}"
            + ("; more rows are not shown." if truncated else "; that is all of them.") + mode_note)
    return cols, rows, truncated, note


_INTEGER_TYPES = frozenset({"integer", "bigint", "smallint"})


def _sample_by_key(conn: psycopg.Connection[Any], table: Table, cols: Sequence[str], key: str, n: int,
                   where: str | None) -> tuple[list[str], list[tuple[Any, ...]], bool, str]:
    """A stable sample: the first row at or after ``n`` evenly spaced points of the key's range (``n`` index seeks)."""
    ident, name = sql.Identifier(key), _identifier(table.name)
    low = conn.execute(sql.SQL("SELECT min({}) FROM {}").format(ident, name)).fetchone()
    high = conn.execute(sql.SQL("SELECT max({}) FROM {}").format(ident, name)).fetchone()
    filtered = f" matching {where}" if where else ""
    if not low or low[0] is None or n == 0:
        return list(cols), [], bool(low and low[0] is not None), f"No rows of {table.name} shown (sample of {n})."
    first, last = int(low[0]), int(high[0]) if high and high[0] is not None else int(low[0])
    span = last - first + 1
    cond = sql.SQL(" AND ({})").format(sql.SQL(where)) if where else sql.SQL("")  # checked by _check_where
    seen: dict[Any, tuple[Any, ...]] = {}
    for i in range(n):
        seek = sql.SQL("SELECT {k}, {c} FROM {t} WHERE {k} >= {p}{w} ORDER BY {k} LIMIT 1").format(
            k=ident, c=_columns_sql(cols), t=name, p=sql.Literal(first + (i * span) // n), w=cond)
        row = conn.execute(seek).fetchone()
        if row is not None:
            seen.setdefault(row[0], tuple(row[1:]))
    rows = [seen[k] for k in sorted(seen)]
    truncated = span > len(rows) if not where else True
    note = (f"A stable sample of {len(rows)} row(s) of {table.name}{filtered}, the first row at or after {n} evenly "
            f"spaced points of {key} {first}…{last}" + ("; other rows are not shown." if truncated
                                                        else "; that is all of them."))
    return list(cols), rows, truncated, note


def _regclass(name: str) -> str:
    parts = name.split(".", 1)
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _query_rows(conn: psycopg.Connection[Any], query: str, n: int, catalog: Catalog, redactor: Redactor,
                masked: set[str]) -> tuple[list[str], list[tuple[Any, ...]], bool, str, list[bool]]:
    import pglast

    text = query.strip().rstrip(";").strip()
    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError as error:
        raise LightnbError(f"{query!r} is neither a table nor a query PostgreSQL reads ({error}); check the "
                           f"name.") from error
    if len(parsed) != 1 or type(parsed[0].stmt).__name__ != "SelectStmt" or \
            getattr(parsed[0].stmt, "intoClause", None) is not None:
        raise LightnbError(f"{query!r} is neither a table nor a single SELECT; preview a table name or one SELECT "
                           f"statement.")
    _refuse_escapes(text, "the query")
    cursor = conn.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT {}").format(sql.SQL(text),  # one SELECT, checked
                                                                          sql.Literal(n + 1)))
    cols = [d.name for d in (cursor.description or [])]
    rows = [tuple(r) for r in cursor.fetchall()]
    sensitive = _output_sensitivity(conn, cursor, cols, catalog, redactor, text, masked)
    truncated = len(rows) > n
    rows = rows[:n]
    note = f"The first {len(rows)} row(s) of the query" + ("; more rows are not shown." if truncated
                                                             else "; that is all of them.")
    return cols, rows, truncated, note, sensitive


def _with_views(text: str, catalog: Catalog) -> str:
    """The query's text followed by the definitions of the views it reads (and of the views those read)."""
    views = {v.name.lower(): v.sql for v in catalog.views}
    seen: set[str] = set()
    for _ in range(8):
        words = {w.lower() for w in _WORD.findall(text)} | {w.lower() for w in re.findall(r"\w+\.\w+", text)}
        found = [name for name in views if name in words and name not in seen]
        if not found:
            break
        seen.update(found)
        text += "\n" + "\n".join(views[name] for name in found)
    return text


def _output_sensitivity(conn: psycopg.Connection[Any], cursor: Any, cols: Sequence[str], catalog: Catalog,
                        redactor: Redactor, text: str, masked: set[str]) -> list[bool]:
    """Judge each output column by the table column it comes from (the server says), else conservatively: a
    computed column, or one of a view, is masked when the query (its views included) reads a masked column."""
    result = cursor.pgresult
    origins: dict[int, tuple[int, int]] = {}
    if result is not None:
        for i in range(len(cols)):
            oid, number = result.ftable(i), result.ftablecol(i)
            if oid and number:
                origins[i] = (int(oid), int(number))
    names: dict[tuple[int, int], tuple[str, str]] = {}
    if origins:
        rows = conn.execute(
            "SELECT a.attrelid, a.attnum, a.attname, CASE WHEN n.nspname = 'public' THEN c.relname "
            "ELSE n.nspname || '.' || c.relname END FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attrelid = ANY(%s) AND c.relkind IN ('r', 'p')",
            (sorted({o for o, _ in origins.values()}),)).fetchall()
        names = {(int(r[0]), int(r[1])): (str(r[2]), str(r[3])) for r in rows}
    reads_masked = bool({w.lower() for w in _WORD.findall(_with_views(text, catalog))} & masked)
    out = []
    for i, column in enumerate(cols):
        origin = names.get(origins.get(i, (0, 0)))
        if origin is not None:
            out.append(redactor.is_sensitive(origin[0], origin[1]) or redactor.is_sensitive(column))
        else:  # computed: masked when the query reads a masked column at all
            out.append(reads_masked or redactor.is_sensitive(column))
    return out


# -------------------------------------------------------------------------------------- compared previews
def _copies_finder(conns: Sequence[psycopg.Connection[Any]], redactor: Redactor, *, bounded: bool = True) -> Any:
    """The copies of secrets masked: values a masked column of ``conns``' databases holds (a preview's lookup is
    bounded; a row diff, which reads every row anyway, looks in every masked column)."""
    from lightnb.backends.postgres.copies import pg_known_secrets

    return pg_known_secrets(conns, redactor, bounded=bounded)


def _table_or_none(conn: psycopg.Connection[Any], name: str) -> Table | None:
    return _find_table(read_catalog(conn).tables, name)


def compare_preview(before_conn: psycopg.Connection[Any], after_conn: psycopg.Connection[Any], table: str, *,
                    n: int = 20, keys: Sequence[tuple[Any, ...]] | None = None, after_table: str | None = None,
                    column_renames: Mapping[str, str] | None = None, redactor: Redactor | None = None,
                    reveal: bool = False) -> ComparedPreview:
    """Show the same rows of ``table`` before and after side by side (see SQLite's ``compare_preview``).

    Rows are the first ``n`` keys of either side by primary key, or exactly ``keys``. A table without a
    primary key is matched by the values of every column both sides have.

    :raises LightnbError: the table is in neither database.
    """
    from lightnb.inspect.preview import assemble_compared

    redactor = redactor or DEFAULT_REDACTOR
    after_table = after_table or table
    b_table, a_table = _table_or_none(before_conn, table), _table_or_none(after_conn, after_table)
    if b_table is None and a_table is None:
        raise LightnbError(f"table {table!r} exists in neither database; check the name.")
    b_cols = [c.name for c in b_table.columns if c.visible] if b_table else []
    a_cols = [c.name for c in a_table.columns if c.visible] if a_table else []
    if column_renames is None:
        column_renames = _guess_renames(b_table, a_table) if b_table and a_table else {}
    after_names = {c.lower(): c for c in a_cols}
    renames = {o.lower(): nn for o, nn in column_renames.items()}
    pairs = {b: after_names[renames.get(b.lower(), b).lower()] for b in b_cols
             if renames.get(b.lower(), b).lower() in after_names}
    old_of = {new_name: old for old, new_name in pairs.items()}
    new_of = dict(pairs)
    pk_a = list(a_table.primary_key) if a_table else []
    pk_b = [new_of.get(k, k) for k in b_table.primary_key] if b_table else []
    key_cols = pk_a or pk_b
    keyless = not key_cols or (bool(pk_a) and bool(pk_b) and pk_a != pk_b)
    if keyless:
        key_cols = [new_of[b] for b in b_cols if b in new_of] if b_table and a_table else (a_cols or b_cols)
    key_b = [old_of.get(k, k) for k in key_cols]
    with _read_only(before_conn), _read_only(after_conn):
        if keys is None:
            found = set(_first_keys(before_conn, b_table, key_b, n)) | set(_first_keys(after_conn, a_table, key_cols,
                                                                                       n))
            wanted = sorted(found, key=_sort_key)[:n]
        else:
            wanted = [k if isinstance(k, tuple) else (k,) for k in keys]
        before_rows = _rows_by_key(before_conn, b_table, key_b, b_cols, wanted)
        after_rows = _rows_by_key(after_conn, a_table, key_cols, a_cols, wanted)
    copied: set[str] = set()
    if not reveal:  # a value held by a masked column of either database is a copy of a secret
        finder = _copies_finder((before_conn, after_conn), redactor)
        for cols, rows in ((b_cols, before_rows), (a_cols, after_rows)):
            copied |= finder.copied_columns(cols, [[r.get(c) for c in cols] for r in rows.values()])
    return assemble_compared(table, after_table, b_cols=b_cols, a_cols=a_cols, key_b=key_b, key_cols=key_cols,
                             pairs=pairs, wanted=wanted, before_rows=before_rows, after_rows=after_rows,
                             before_redactor=redactor, after_redactor=redactor, copied=copied, mask=redactor.mask,
                             reveal=reveal,
                             first=n if keys is None else None, keyless=keyless)


def _guess_renames(before: Table, after: Table) -> dict[str, str]:
    return column_renames_between(TableSnapshot(before, 0, None), TableSnapshot(after, 0, None), postgres=True)


def _first_keys(conn: psycopg.Connection[Any], table: Table | None, key_cols: Sequence[str],
                n: int) -> list[tuple[Any, ...]]:
    if table is None or not key_cols or n <= 0:
        return []
    query = sql.SQL("SELECT {k} FROM {t} ORDER BY {k} LIMIT {n}").format(
        k=_columns_sql(key_cols), t=_identifier(table.name), n=sql.Literal(n))
    return [tuple(r) for r in conn.execute(query)]


def _rows_by_key(conn: psycopg.Connection[Any], table: Table | None, key_cols: Sequence[str], cols: Sequence[str],
                 wanted: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    if table is None or not cols or not wanted or not key_cols:
        return {}
    names = {c.name for c in table.columns}
    if any(k not in names for k in key_cols):
        return {}
    types = {c.name: c.type for c in table.columns}
    # each placeholder cast to its key column's type (format_type's text), so VALUES compares with the key
    one = sql.SQL("({})").format(sql.SQL(", ").join(sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(types[k]))
                                                    for k in key_cols))
    query = sql.SQL("SELECT {k}, {c} FROM {t} WHERE ({k}) IN (VALUES {v})").format(
        k=_columns_sql(key_cols), c=_columns_sql(cols), t=_identifier(table.name),
        v=sql.SQL(", ").join([one] * len(wanted)))
    params = [v for k in wanted for v in k]
    nk = len(key_cols)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in conn.execute(query, params):
        out.setdefault(tuple(row[:nk]), dict(zip(cols, row[nk:])))
    return out


def _differs(a: Any, b: Any) -> bool:
    return type(a) is not type(b) or a != b


def _sort_key(k: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else
                 (1, "") if v is None else (2, str(v)) for v in k)


# ---------------------------------------------------------------------------------------------- row diffs
@dataclass(frozen=True, slots=True)
class _Plan:
    table: str
    before_table: str | None
    status: str
    key: tuple[str, ...]  # after names; empty: compared by full row
    pairs: tuple[tuple[str, str], ...]  # (after column, before column) compared
    after_columns: tuple[str, ...]
    before_columns: tuple[str, ...]
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    columns_renamed: tuple[tuple[str, str], ...] = ()
    note: str = ""


def _plans(before: Snapshot, after: Snapshot, diff: SchemaDiff, only: Sequence[str] | None) -> list[_Plan]:
    renames = diff.table_renames
    renamed_from = {new: old for old, new in renames.items()}
    wanted = {t.lower() for t in only} if only else None
    plans = []
    for table in after.tables:
        old_name = renamed_from.get(table.name, table.name)
        if wanted is not None and table.name.lower() not in wanted and old_name.lower() not in wanted:
            continue
        old = before.table(old_name)
        if old is None:
            plans.append(_Plan(table.name, None, "added", table.primary_key, (), table.column_names, ()))
            continue
        column_renames = diff.column_renames(table.name)
        new_of = {o.lower(): n for o, n in column_renames.items()}
        after_names = {c.lower(): c for c in table.column_names}
        pairs = tuple((after_names[new_of.get(b.lower(), b).lower()], b) for b in old.column_names
                      if new_of.get(b.lower(), b).lower() in after_names)
        paired_after = {a for a, _ in pairs}
        paired_before = {b for _, b in pairs}
        key_after = table.primary_key
        key_before = tuple(after_names.get(new_of.get(k.lower(), k).lower(), k) for k in old.primary_key)
        keyed = bool(key_after) and key_after == key_before and all(k in paired_after for k in key_after)
        plans.append(_Plan(table.name, old.name, "compared", key_after if keyed else (), pairs, table.column_names,
                           old.column_names,
                           tuple(c for c in table.column_names if c not in paired_after),
                           tuple(c for c in old.column_names if c not in paired_before),
                           tuple((b, a) for a, b in pairs if a != b), "" if keyed else KEYLESS_NOTE))
    for table in before.tables:
        if table.name in renames or after.table(table.name) is not None:
            continue
        if wanted is not None and table.name.lower() not in wanted:
            continue
        plans.append(_Plan(table.name, table.name, "removed", table.primary_key, (), (), table.column_names))
    return sorted(plans, key=lambda p: p.table.lower())


def _text(column: str) -> sql.Composable:
    return sql.SQL("quote_nullable({}::text)").format(sql.Identifier(column))


def _hash_of(columns: Sequence[str]) -> sql.Composable:
    if not columns:
        return sql.SQL("md5('')")
    return sql.SQL("md5(concat_ws(chr(31), {}))").format(sql.SQL(", ").join(_text(c) for c in columns))


def _stream(conn: psycopg.Connection[Any], query: sql.Composed) -> Iterator[tuple[Any, ...]]:
    with conn.transaction(), conn.cursor(name="lightnb_diff") as cursor:
        cursor.itersize = _FETCH
        cursor.execute(query)
        for row in cursor:
            yield tuple(row)


def _keyed(conn: psycopg.Connection[Any], table: str, key: Sequence[str], columns: Sequence[str]
           ) -> Iterator[tuple[Any, ...]]:
    per_column = sql.SQL(", ").join(sql.SQL("md5({})").format(_text(c)) for c in columns) if columns else \
        sql.SQL("NULL::text")
    key_text = sql.SQL("concat_ws(chr(31), {})").format(sql.SQL(", ").join(_text(k) for k in key))
    query = sql.SQL("SELECT {kt} COLLATE \"C\" AS k, {h}, ARRAY[{pc}], {kc} FROM {t} ORDER BY k").format(
        kt=key_text, h=_hash_of(columns), pc=per_column, kc=_columns_sql(key), t=_identifier(table))
    return _stream(conn, query)


def row_diff(before_url: str, after_url: str, *, tables: Sequence[str] | None = None, sample: int = 5,
             redactor: Redactor | None = None, reveal: bool = False) -> RowDiff:
    """Compare the rows and schema of two PostgreSQL databases (both only read), keyed by primary key.

    Redacted (``reveal=False``), the samples mask sensitive columns by name and, as on SQLite, every column
    showing a copy of a secret: a value a masked column of either database holds (``UPDATE … SET note =
    api_token``, a renamed column).

    :param tables: only these tables (after-names or before-names); default every table.
    :param sample: at most this many sample rows per kind (added, removed, changed) per table.
    """
    from lightnb.backends.postgres.connect import connect
    from lightnb.inspect.row_diff import mask_copied_samples

    redactor = redactor or DEFAULT_REDACTOR
    with connect(before_url, read_only=True) as before_conn, connect(after_url, read_only=True) as after_conn:
        found = _row_diff(before_conn, after_conn, before_url, after_url, tables, max(sample, 0), redactor, reveal)
        if not reveal:
            finder = _copies_finder((after_conn, before_conn), redactor, bounded=False)
            found = replace(found, tables=mask_copied_samples(found.tables, finder))
    return found


def _row_diff(before_conn: psycopg.Connection[Any], after_conn: psycopg.Connection[Any], before_url: str,
              after_url: str, tables: Sequence[str] | None, sample: int, redactor: Redactor, reveal: bool) -> RowDiff:
    from lightnb.backends.postgres.url import redact
    from lightnb.inspect.row_diff import RowDiff

    before = take_snapshot(before_conn, label="before", fingerprint=False, redactor=redactor)
    after = take_snapshot(after_conn, label="after", fingerprint=False, redactor=redactor)
    diff = schema_diff(before, after)
    if tables:
        known = {t.lower() for t in before.table_names + after.table_names}
        missing = [t for t in tables if t.lower() not in known]
        if missing:
            raise LightnbError(f"table {', '.join(missing)} is in neither database; pick one of "
                               f"{', '.join(sorted(set(before.table_names + after.table_names)))}.")
    plans = _plans(before, after, diff, tables)
    diffs = tuple(_diff_table(before_conn, after_conn, plan, before, after, sample, redactor, reveal) for plan in plans)
    return RowDiff(before=redact(before_url), after=redact(after_url), tables=diffs, schema=diff, revealed=reveal)


def row_diff_pair(before_url: str, after_url: str, *, tables: Sequence[str] | None = None, revealed: int = 10,
                  sample: int = 5, redactor: Redactor | None = None) -> tuple[RowDiff, RowDiff]:
    """Compare the rows of two PostgreSQL databases once; return the diff revealed and redacted.

    Both are exactly what :func:`row_diff` returns with ``reveal=True, sample=revealed`` and with
    ``sample=sample`` (redacted), both with ``redactor``: the rows are hashed, counted and sampled once
    (the first rows by key, as many as the larger of the two asks), each view keeps its own first rows,
    and the redacted one masks them as :func:`row_diff` masks the rows it reads (copies of secrets included).

    :param revealed: sample rows per table and kind of the revealed diff (it picks which rows a preview shows).
    :param sample: sample rows per table and kind of the redacted diff (the one shown).
    """
    from lightnb.backends.postgres.connect import connect
    from lightnb.inspect.row_diff import cut_samples, mask_copied_samples, masked_samples

    redactor = redactor or DEFAULT_REDACTOR
    revealed, sample = max(revealed, 0), max(sample, 0)
    with connect(before_url, read_only=True) as before_conn, connect(after_url, read_only=True) as after_conn:
        measured = _row_diff(before_conn, after_conn, before_url, after_url, tables, max(revealed, sample), redactor,
                             True)
        hidden_tables = tuple(masked_samples(cut_samples(d, sample), redactor) for d in measured.tables)
        finder = _copies_finder((after_conn, before_conn), redactor, bounded=False)
        hidden_tables = mask_copied_samples(hidden_tables, finder)
    shown = replace(measured, tables=tuple(cut_samples(d, revealed) for d in measured.tables))
    hidden = replace(measured, tables=hidden_tables, revealed=False)
    return shown, hidden


def _diff_table(before_conn: psycopg.Connection[Any], after_conn: psycopg.Connection[Any], plan: _Plan,
                before: Snapshot, after: Snapshot, sample: int, redactor: Redactor, reveal: bool) -> TableDiff:
    from lightnb.inspect.row_diff import TableDiff

    samples: dict[str, tuple[dict[str, Any], ...]] = {}
    per_column: dict[str, int] = {}
    if plan.status in ("added", "removed"):
        conn, name, cols = ((after_conn, plan.table, plan.after_columns) if plan.status == "added"
                            else (before_conn, plan.table, plan.before_columns))
        snap = (after if plan.status == "added" else before).table(plan.table)
        n = snap.row_count if snap is not None else 0
        counts = {"added": n if plan.status == "added" else 0, "removed": n if plan.status == "removed" else 0,
                  "changed": 0, "unchanged": 0}
        if n and sample and cols:
            table = _table_or_none(conn, name)
            order = list(plan.key) or list(cols)
            query = sql.SQL("SELECT {c} FROM {t} ORDER BY {o} LIMIT {n}").format(
                c=_columns_sql(cols), t=_identifier(name), o=_columns_sql(order), n=sql.Literal(sample))
            with conn.transaction():
                rows = [dict(zip(cols, r)) for r in conn.execute(query)] if table is not None else []
            samples[plan.status] = tuple(redactor.row(r, name, reveal=reveal) for r in rows)
        return TableDiff(table=plan.table, before_table=plan.before_table if plan.status == "removed" else None,
                         status=plan.status, key=plan.key, note=plan.note, samples=samples, added=counts["added"],
                         removed=counts["removed"], changed=0, unchanged=0)
    after_cols = [a for a, _ in plan.pairs]
    before_cols = [b for _, b in plan.pairs]
    before_name = plan.before_table or plan.table
    ((count_b, sum_b),), ((count_a, sum_a),) = summaries_side_by_side(before_conn, [(before_name, before_cols)],
                                                                     after_conn, [(plan.table, after_cols)])
    if (count_b, sum_b) == (count_a, sum_a):
        counts = {"added": 0, "removed": 0, "changed": 0, "unchanged": count_a}
    elif plan.key:
        counts, per_column, picked = _merge(before_conn, after_conn, plan, sample)
        samples = _keyed_samples(before_conn, after_conn, plan, picked, redactor, reveal)
    else:
        counts, samples = _bags(before_conn, after_conn, plan, sample, redactor, reveal)
    return TableDiff(table=plan.table, before_table=plan.before_table, status="compared",
                     key=plan.key or tuple(after_cols), columns_added=plan.columns_added,
                     columns_removed=plan.columns_removed, columns_renamed=plan.columns_renamed,
                     changed_columns=per_column, samples=samples, note=plan.note, added=counts["added"],
                     removed=counts["removed"], changed=counts["changed"], unchanged=counts["unchanged"])


def _merge(before_conn: psycopg.Connection[Any], after_conn: psycopg.Connection[Any], plan: _Plan, sample: int
           ) -> tuple[dict[str, int], dict[str, int], dict[str, list[tuple[Any, ...]]]]:
    """Merge both sides' ``(key, hashes)`` streams in key order: counts, per-column counts, sampled keys."""
    after_cols = [a for a, _ in plan.pairs]
    before_of = dict(plan.pairs)
    before_cols = [before_of[a] for a in after_cols]
    key_before = [before_of[k] for k in plan.key]
    nk = len(plan.key)
    counts = dict.fromkeys(("added", "removed", "changed", "unchanged"), 0)
    differing: Counter[str] = Counter()
    picked: dict[str, list[tuple[Any, ...]]] = {"added": [], "removed": [], "changed": []}
    left = _keyed(before_conn, plan.before_table or plan.table, key_before, before_cols)
    right = _keyed(after_conn, plan.table, list(plan.key), after_cols)
    old, new = next(left, None), next(right, None)

    def keep(kind: str, row: tuple[Any, ...]) -> None:
        if len(picked[kind]) < sample:
            picked[kind].append(tuple(row[3:3 + nk]))

    while old is not None or new is not None:
        if new is None or (old is not None and old[0] < new[0]):
            assert old is not None
            counts["removed"] += 1
            keep("removed", old)
            old = next(left, None)
        elif old is None or new[0] < old[0]:
            counts["added"] += 1
            keep("added", new)
            new = next(right, None)
        else:
            if old[1] != new[1]:
                counts["changed"] += 1
                keep("changed", new)
                for column, a, b in zip(after_cols, old[2] or (), new[2] or ()):
                    if a != b:
                        differing[column] += 1
            else:
                counts["unchanged"] += 1
            old, new = next(left, None), next(right, None)
    return counts, {c: differing[c] for c in after_cols if differing[c]}, picked


def _keyed_samples(before_conn: psycopg.Connection[Any], after_conn: psycopg.Connection[Any], plan: _Plan,
                   picked: Mapping[str, list[tuple[Any, ...]]], redactor: Redactor, reveal: bool
                   ) -> dict[str, tuple[dict[str, Any], ...]]:
    before_of = dict(plan.pairs)
    key_before = [before_of[k] for k in plan.key]
    before_name = plan.before_table or plan.table
    b_table, a_table = _table_or_none(before_conn, before_name), _table_or_none(after_conn, plan.table)
    out: dict[str, tuple[dict[str, Any], ...]] = {}
    with before_conn.transaction(), after_conn.transaction():
        if picked["added"]:
            rows = _rows_by_key(after_conn, a_table, plan.key, plan.after_columns, picked["added"])
            out["added"] = tuple(redactor.row(rows[k], plan.table, reveal=reveal) for k in picked["added"] if k in rows)
        if picked["removed"]:
            rows = _rows_by_key(before_conn, b_table, key_before, plan.before_columns, picked["removed"])
            out["removed"] = tuple(redactor.row(rows[k], before_name, reveal=reveal) for k in picked["removed"]
                                   if k in rows)
        if picked["changed"]:
            olds = _rows_by_key(before_conn, b_table, key_before, plan.before_columns, picked["changed"])
            news = _rows_by_key(after_conn, a_table, plan.key, plan.after_columns, picked["changed"])
            items = []
            for k in picked["changed"]:
                if k not in olds or k not in news:
                    continue
                cols = [a for a, b in plan.pairs if a not in plan.key and _differs(olds[k][b], news[k][a])]
                items.append({"key": redactor.row(dict(zip(plan.key, k)), plan.table, reveal=reveal), "columns": cols,
                              "before": redactor.row({a: olds[k][before_of[a]] for a in cols}, plan.table,
                                                     reveal=reveal),
                              "after": redactor.row({a: news[k][a] for a in cols}, plan.table, reveal=reveal)})
            out["changed"] = tuple(items)
    return {k: v for k, v in out.items() if v}


def _bags(before_conn: psycopg.Connection[Any], after_conn: psycopg.Connection[Any], plan: _Plan, sample: int,
          redactor: Redactor, reveal: bool) -> tuple[dict[str, int], dict[str, tuple[dict[str, Any], ...]]]:
    """Compare a table without a primary key as a multiset of full rows (hashed in the server)."""
    after_cols = [a for a, _ in plan.pairs]
    before_cols = [b for _, b in plan.pairs]
    before_name = plan.before_table or plan.table

    def bag(conn: psycopg.Connection[Any], table: str, cols: Sequence[str]) -> Counter[str]:
        query = sql.SQL("SELECT {} FROM {}").format(_hash_of(cols), _identifier(table))
        return Counter(str(r[0]) for r in _stream(conn, query))

    old, new = bag(before_conn, before_name, before_cols), bag(after_conn, plan.table, after_cols)
    only_old, only_new = old - new, new - old
    removed, added = sum(only_old.values()), sum(only_new.values())
    unchanged = sum((old & new).values())
    samples: dict[str, tuple[dict[str, Any], ...]] = {}
    for kind, conn, table, cols, shown, hashes in (("added", after_conn, plan.table, after_cols, plan.after_columns,
                                                    only_new),
                                                   ("removed", before_conn, before_name, before_cols,
                                                    plan.before_columns, only_old)):
        if not hashes or not sample:
            continue
        query = sql.SQL("SELECT {c} FROM {t} WHERE {h} = ANY(%s) ORDER BY {c} LIMIT {n}").format(
            c=_columns_sql(shown), t=_identifier(table), h=_hash_of(cols), n=sql.Literal(sample))
        with conn.transaction():
            rows = [dict(zip(shown, r)) for r in conn.execute(query, (sorted(hashes),))]
        samples[kind] = tuple(redactor.row(r, table, reveal=reveal) for r in rows)
    return {"added": added, "removed": removed, "changed": 0, "unchanged": unchanged}, samples


__all__ = ["KEYLESS_NOTE", "compare_preview", "preview", "row_diff", "row_diff_pair", "take_snapshot"]
