"""Where a migration's statements copy values: the data flows that impact measurement follows.

A value a migration drops is only lost if it was not put somewhere else first. SQLite migrations
move data with a few idioms, and each leaves a flow this module reads from the statement (parsed
with sqlglot) and the schema at that moment:

- ``INSERT INTO new (…) SELECT … FROM old`` (the 12-step rebuild, a split into another table),
- ``CREATE TABLE new AS SELECT … FROM old``,
- ``UPDATE t SET new = f(old)`` (the add-column / convert / drop / rename conversion), and
  ``UPDATE t SET new = (SELECT f(x) FROM other WHERE other.key = t.ref)``.

A :class:`Flow` says: the values of ``source.column`` went into ``dest.dest_column``, computed by
``expression`` from the source row (None when copied as they are), and which destination columns
carry the source row's other columns unchanged (``carried``), from which the row's identity is
followed. The measurement itself (are the values really there, keyed by that identity?) is done
on the copy by :mod:`lightnb.inspect.impact`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

ColumnsOf = Callable[[str], "Sequence[str] | None"]
"""Return the columns of a table as they are now (None when there is no such table)."""

ROWID_NAMES = ("rowid", "_rowid_", "oid")


@dataclass(slots=True)
class Flow:
    """Values of one source column written into one destination column by one statement.

    :param index: the statement's position in the script.
    :param source: the table the values come from (as named when the statement ran).
    :param column: the source column (lower case).
    :param dest: the destination table (kept up to date through later renames by the measurer).
    :param dest_column: the destination column (idem).
    :param expression: SQL computing the destination value from the source row, or None when the
        value is copied as it is.
    :param evaluable: the expression reads only the source row's columns (so it can be computed
        again from a saved copy of that row).
    :param carried: source column (lower case) -> destination column, for every column copied as it
        is by the same statement (the row identity is followed through these).
    :param where: the statement's condition on the source rows, if any (rows outside it were not copied).
    :param same_row: an UPDATE of the source table itself (the row identity is the row).
    :param correlation: for ``SET c = (SELECT … FROM src WHERE src.k = dest.r)``: (src column, dest column) pairs.
    """

    index: int
    source: str
    column: str
    dest: str
    dest_column: str
    expression: str | None = None
    evaluable: bool = True
    carried: dict[str, str] = field(default_factory=dict)
    where: str | None = None
    same_row: bool = False
    correlation: tuple[tuple[str, str], ...] = ()

    @property
    def converts(self) -> bool:
        """True when the destination holds a value computed from the source value, not the value itself."""
        return self.expression is not None


def _from(select: exp.Select) -> exp.Expr | None:
    return select.args.get("from_") or select.args.get("from")


def _sources(select: exp.Select) -> dict[str, str]:
    """Return {alias or name (lower case): table name} for the tables a SELECT reads directly."""
    out: dict[str, str] = {}
    items = []
    source = _from(select)
    if source is not None:
        items.append(source.this)
    items += [j.this for j in select.args.get("joins") or []]
    for item in items:
        if isinstance(item, exp.Table) and item.name:
            out[(item.alias_or_name or item.name).lower()] = item.name
            out.setdefault(item.name.lower(), item.name)
    return out


def _resolve(column: exp.Column, sources: dict[str, str], columns_of: ColumnsOf) -> tuple[str, str] | None:
    """Return (table, column lower) a column reference reads, or None when it names no source column."""
    name = column.name.lower()
    tables = list(dict.fromkeys(sources.values()))
    if column.table:
        table = sources.get(column.table.lower())
        if table is None:
            return None
        cols = {c.lower() for c in columns_of(table) or ()}
        return (table, name) if name in cols or name in ROWID_NAMES else None
    owners = [t for t in tables if name in {c.lower() for c in columns_of(t) or ()}]
    if len(owners) == 1:
        return owners[0], name
    if not owners and name in ROWID_NAMES and len(tables) == 1:
        return tables[0], name
    return None


def _projections(select: exp.Select, columns_of: ColumnsOf) -> list[exp.Expr]:
    """The SELECT's output expressions, with ``*`` and ``t.*`` expanded to column references."""
    sources = _sources(select)
    out: list[exp.Expr] = []
    for item in select.expressions:
        if isinstance(item, exp.Star):
            for table in dict.fromkeys(sources.values()):
                out += [exp.column(c, table=table) for c in columns_of(table) or ()]
        elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            table = sources.get(item.table.lower(), item.table)
            out += [exp.column(c, table=table) for c in columns_of(table) or ()]
        else:
            out.append(item)
    return out


def _unaliased(node: exp.Expr) -> exp.Expr:
    return node.this if isinstance(node, exp.Alias) else node


def select_flows(index: int, select: exp.Expr, dest: str, dest_columns: Sequence[str],
                 columns_of: ColumnsOf) -> list[Flow]:
    """Return the flows of ``INSERT INTO dest (dest_columns) <select>`` or ``CREATE TABLE dest AS <select>``.

    :param dest_columns: the destination columns the select's outputs go to, in order.
    """
    if not isinstance(select, exp.Select):
        return []
    sources = _sources(select)
    if not sources:
        return []
    outputs = _projections(select, columns_of)
    where = select.args.get("where")
    where_sql = where.this.sql(dialect="sqlite") if where is not None else None
    carried: dict[tuple[str, str], str] = {}
    pending: list[tuple[tuple[str, str], str, exp.Expr]] = []
    for output, dest_column in zip(outputs, dest_columns):
        value = _unaliased(output)
        while isinstance(value, exp.Paren):
            value = value.this
        refs = [r for c in ([value] if isinstance(value, exp.Column) else value.find_all(exp.Column))
                if (r := _resolve(c, sources, columns_of)) is not None]
        if isinstance(value, exp.Column) and refs:
            carried[refs[0]] = dest_column
        pending += [(ref, dest_column, value) for ref in dict.fromkeys(refs)]
    flows = []
    for (table, column), dest_column, value in pending:
        bare = isinstance(value, exp.Column)
        refs = [r for c in value.find_all(exp.Column) if (r := _resolve(c, sources, columns_of)) is not None]
        flows.append(Flow(index, table, column, dest, dest_column,
                          expression=None if bare else _source_sql(value, sources, table),
                          evaluable=bare or all(t == table for t, _c in refs),
                          carried={c: d for (t, c), d in carried.items() if t == table}, where=where_sql))
    return flows


def update_flows(index: int, tree: exp.Update, columns_of: ColumnsOf) -> list[Flow]:
    """Return the flows of ``UPDATE t SET c = expr`` (from t's own columns, or a correlated subquery)."""
    table = tree.this.name
    own = {c.lower() for c in columns_of(table) or ()}
    where = tree.args.get("where")
    where_sql = where.this.sql(dialect="sqlite") if where is not None else None
    flows = []
    for assignment in tree.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            continue
        target = assignment.this.name
        value = assignment.expression
        while isinstance(value, exp.Paren):
            value = value.this
        if isinstance(value, exp.Subquery) and isinstance(value.this, exp.Select):
            flows += _correlated(index, value.this, table, target, columns_of)
            continue
        names = {c.name.lower() for c in value.find_all(exp.Column) if not c.table or c.table.lower() == table.lower()}
        for name in sorted(names & own):
            if name == target.lower():
                continue  # SET c = f(c): the value is replaced in place (an overwrite, measured as such)
            bare = isinstance(value, exp.Column)
            flows.append(Flow(index, table, name, table, target,
                              expression=None if bare else value.sql(dialect="sqlite"),
                              where=where_sql, same_row=True))
    return flows


def _correlated(index: int, select: exp.Select, outer: str, target: str, columns_of: ColumnsOf) -> list[Flow]:
    """``SET target = (SELECT f(src.x) FROM src WHERE src.k = outer.r)``: flows from src, keyed by k = r."""
    sources = _sources(select)
    if len(set(sources.values())) != 1 or len(select.expressions) != 1:
        return []
    (source,) = set(sources.values())
    where = select.args.get("where")
    pairs = []
    for eq in (where.find_all(exp.EQ) if where is not None else []):
        sides = [eq.this, eq.expression]
        if not all(isinstance(s, exp.Column) for s in sides):
            continue
        inner = [s for s in sides if (s.table and sources.get(s.table.lower()) == source)
                 or (not s.table and s.name.lower() in {c.lower() for c in columns_of(source) or ()})]
        outer_side = [s for s in sides if s.table and s.table.lower() == outer.lower()]
        if len(inner) == 1 and len(outer_side) == 1 and inner[0] is not outer_side[0]:
            pairs.append((inner[0].name.lower(), outer_side[0].name))
    if not pairs:
        return []
    value = _unaliased(select.expressions[0])
    bare = isinstance(value, exp.Column)
    refs = [r for c in value.find_all(exp.Column) if (r := _resolve(c, sources, columns_of)) is not None]
    return [Flow(index, source, column, outer, target, expression=None if bare else _source_sql(value, sources, source),
                 evaluable=True, correlation=tuple(pairs)) for _t, column in dict.fromkeys(refs)]


def _source_sql(value: exp.Expr, sources: dict[str, str], table: str) -> str:
    """The expression with its column references unqualified (they are read from the source row)."""
    def strip(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table and sources.get(node.table.lower()) == table:
            return exp.column(node.name, quoted=True)
        return node

    return value.transform(strip, copy=True).sql(dialect="sqlite")
