"""Trace which output columns of a query carry values of sensitive columns.

A query's output column is tainted when any column it is computed from is sensitive,
following every branch of a set operation (UNION, INTERSECT, EXCEPT: by position),
subqueries, CTEs, ``*`` expansion and view definitions (read from ``sqlite_master``,
recursively). Anything the tracer cannot follow with certainty (a table-valued
function, an unknown table, a query it cannot parse, a width it cannot match) taints
every output column: masking too much is the safe failure.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from lightnb.inspect._sql import q, table_columns
from lightnb.inspect.redact import Redactor

_SCHEMAS_WITHOUT_ROWS = {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}


class _Unsure(Exception):
    """The query cannot be analysed with certainty."""


@dataclass(frozen=True)
class _Rel:
    """A relation's output: lower-case column names and, per position, whether it is tainted."""

    names: tuple[str, ...]
    taint: tuple[bool, ...]


@dataclass(frozen=True)
class _Source:
    alias: str
    rel: _Rel
    hidden: frozenset[str] = frozenset()  # columns a USING/NATURAL join folds out of `*`


def sensitive_outputs(conn: sqlite3.Connection, query: str, width: int, redactor: Redactor) -> tuple[bool, ...]:
    """Tell, per output column of ``query`` (``width`` of them), whether it may show sensitive values.

    Every column is reported sensitive when the query cannot be analysed with certainty.
    """
    try:
        parsed = [p for p in sqlglot.parse(query, read="sqlite") if p is not None]
    except (sqlglot.errors.SqlglotError, IndexError, ValueError, RecursionError):
        return (True,) * width
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        return (True,) * width
    try:
        rel = _Tracer(conn, redactor).query(parsed[0], {}, ())
    except (_Unsure, sqlite3.Error, RecursionError):
        return (True,) * width
    if len(rel.taint) != width:
        return (True,) * width
    return rel.taint


class _Tracer:
    def __init__(self, conn: sqlite3.Connection, redactor: Redactor) -> None:
        self.conn = conn
        self.redactor = redactor
        self.views: list[str] = []  # views being expanded (a cycle is unsure)

    # -- queries -------------------------------------------------------------------------------------------
    def query(self, node: exp.Expression, ctes: dict[str, _Rel | None],
              outer: tuple[list[_Source], ...]) -> _Rel:
        while isinstance(node, exp.Subquery):
            node = node.this
        with_ = node.args.get("with_") or node.args.get("with")
        if with_ is not None:
            ctes = dict(ctes)
            for cte in with_.expressions:
                ctes[cte.alias_or_name.lower()] = self._cte(cte, ctes, outer)
        if isinstance(node, exp.SetOperation):
            left = self.query(node.this, ctes, outer)
            right = self.query(node.expression, ctes, outer)
            if len(left.taint) != len(right.taint):
                raise _Unsure("set operation branches differ in width")
            return _Rel(left.names, tuple(a or b for a, b in zip(left.taint, right.taint)))
        if isinstance(node, exp.Select):
            return self._select(node, ctes, outer)
        raise _Unsure(f"cannot trace {type(node).__name__}")

    def _cte(self, cte: exp.CTE, ctes: dict[str, _Rel | None], outer: tuple[list[_Source], ...]) -> _Rel:
        name = cte.alias_or_name.lower()
        declared = [c.name.lower() for c in (cte.args["alias"].columns if cte.args.get("alias") else [])]
        body = cte.this
        scope = dict(ctes)
        scope[name] = None  # a self-reference before its anchor is known is unsure
        try:
            rel = self.query(body, scope, outer)
        except _Unsure:
            if not isinstance(body, exp.SetOperation):
                raise
            # A recursive CTE: start from its anchor, widen until the taint stops growing.
            rel = self.query(body.this, scope, outer)
            for _ in range(len(rel.taint) + 1):
                scope[name] = _named(rel, declared)
                step = self.query(body, scope, outer)
                if len(step.taint) != len(rel.taint):
                    raise _Unsure("recursive CTE changes width") from None
                grown = _Rel(rel.names, tuple(a or b for a, b in zip(rel.taint, step.taint)))
                if grown == rel:
                    break
                rel = grown
        return _named(rel, declared)

    def _select(self, node: exp.Select, ctes: dict[str, _Rel | None], outer: tuple[list[_Source], ...]) -> _Rel:
        sources: list[_Source] = []
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is not None:
            sources.append(self._source(from_.this, ctes, outer))
        for join in node.args.get("joins") or []:
            source = self._source(join.this, ctes, outer)
            hidden: set[str] = {u.name.lower() for u in join.args.get("using") or []}
            if str(join.args.get("method") or "").upper() == "NATURAL":
                earlier = {n for s in sources for n in s.rel.names}
                hidden |= {n for n in source.rel.names if n in earlier}
            sources.append(_Source(source.alias, source.rel, frozenset(hidden)))
        scopes = (sources, *outer)
        names: list[str] = []
        taint: list[bool] = []
        for projection in node.expressions:
            if isinstance(projection, exp.Star):
                expanded = [s for s in sources]
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                wanted = projection.table.lower()
                expanded = [s for s in sources if s.alias == wanted]
                if not expanded:
                    raise _Unsure(f"unknown table {wanted} in {wanted}.*")
                expanded = [_Source(s.alias, s.rel) for s in expanded]
            else:
                names.append(projection.alias_or_name.lower())
                taint.append(self._expr(projection, ctes, scopes))
                continue
            if not expanded:
                raise _Unsure("* without a table")
            for source in expanded:
                for name, tainted in zip(source.rel.names, source.rel.taint):
                    if name not in source.hidden:
                        names.append(name)
                        taint.append(tainted)
        return _Rel(tuple(names), tuple(taint))

    def _source(self, node: exp.Expression, ctes: dict[str, _Rel | None],
                outer: tuple[list[_Source], ...]) -> _Source:
        alias = node.alias_or_name.lower() if hasattr(node, "alias_or_name") else ""
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            return _Source(alias, self._named_source(node.name, node.db, ctes))
        if isinstance(node, exp.Subquery):
            return _Source(alias, self.query(node.this, ctes, outer))
        if isinstance(node, exp.Values):
            rows = [row.expressions if isinstance(row, exp.Tuple) else [row] for row in node.expressions]
            width = len(rows[0]) if rows else 0
            if any(len(r) != width for r in rows):
                raise _Unsure("VALUES rows differ in width")
            taint = tuple(any(self._expr(r[i], ctes, (list(),) + outer) for r in rows) for i in range(width))
            return _Source(alias, _Rel(tuple(f"column{i + 1}" for i in range(width)), taint))
        raise _Unsure(f"cannot trace a {type(node).__name__} source (e.g. a table-valued function)")

    def _named_source(self, name: str, db: str, ctes: dict[str, _Rel | None]) -> _Rel:
        key = name.lower()
        if not db and key in ctes:
            rel = ctes[key]
            if rel is None:
                raise _Unsure(f"recursive reference to {name}")
            return rel
        schema = db or "main"
        if key in _SCHEMAS_WITHOUT_ROWS:
            raise _Unsure(f"{name} is the schema table")
        row = self.conn.execute(f"SELECT type, name, sql FROM {q(schema)}.sqlite_master "
                                f"WHERE name = ? COLLATE NOCASE AND type IN ('table', 'view')", (name,)).fetchone()
        if row is None:
            raise _Unsure(f"unknown table {name}")
        kind, real, sql = row
        if kind == "table":
            if (sql or "").upper().startswith("CREATE VIRTUAL"):
                raise _Unsure(f"{real} is a virtual table")
            cols = [c[1] for c in table_columns(self.conn, real, schema)]
            return _Rel(tuple(c.lower() for c in cols), tuple(self.redactor.is_sensitive(c, real) for c in cols))
        return self._view(real, sql or "")

    def _view(self, name: str, sql: str) -> _Rel:
        if name.lower() in self.views:
            raise _Unsure(f"view {name} refers to itself")
        try:
            create = sqlglot.parse_one(sql, read="sqlite")
        except (sqlglot.errors.SqlglotError, IndexError, ValueError) as error:
            raise _Unsure(f"cannot read view {name}") from error
        body = create.args.get("expression") if isinstance(create, exp.Create) else None
        if not isinstance(body, exp.Query):
            raise _Unsure(f"cannot read view {name}")
        target = create.this
        declared = [c.name.lower() for c in target.expressions] if isinstance(target, exp.Schema) else []
        self.views.append(name.lower())
        try:
            rel = self.query(body, {}, ())
        finally:
            self.views.pop()
        return _named(rel, declared)

    # -- expressions ---------------------------------------------------------------------------------------
    def _expr(self, node: exp.Expression, ctes: dict[str, _Rel | None], scopes: tuple[list[_Source], ...]) -> bool:
        if isinstance(node, exp.Query):
            return any(self.query(node, ctes, scopes).taint)
        if isinstance(node, exp.Column):
            return self._column(node, scopes)
        return any(self._expr(child, ctes, scopes) for child in node.iter_expressions())

    def _column(self, column: exp.Column, scopes: Sequence[list[_Source]]) -> bool:
        name = column.name.lower()
        qualifier = column.table.lower()
        for sources in scopes:
            matches = [s for s in sources if s.alias == qualifier] if qualifier else \
                [s for s in sources if name in s.rel.names]
            if matches:
                hits = [t for s in matches for n, t in zip(s.rel.names, s.rel.taint) if n == name]
                # rowid and its aliases are not among the listed columns; they hold no secret.
                return any(hits) if hits else self.redactor.is_sensitive(column.name)
        if qualifier:
            raise _Unsure(f"unknown table {qualifier}")
        # Not a column of any source (a string in double quotes, or rowid): judge by the name.
        return self.redactor.is_sensitive(column.name)


def _named(rel: _Rel, declared: Sequence[str]) -> _Rel:
    if not declared:
        return rel
    if len(declared) != len(rel.taint):
        raise _Unsure("declared column list differs in width")
    return _Rel(tuple(declared), rel.taint)
