"""What a table rebuild does with each column of the old table, read from its ``INSERT … SELECT``.

A rebuild (create the new table, copy, drop the old one, rename: :func:`lightnb.lint.effects.rebuilds`)
keeps a column when the copy writes it, unchanged, to the column of the same name; renames it when
it writes it unchanged to another column; converts it when the column only feeds an expression
(``CAST(iq_used AS REAL) / iq_cost_per_euro AS credits``); and drops it when the copy never reads
it. "Unchanged" allows what keeps the value: ``CAST``, ``COALESCE``/``IFNULL`` with a fallback,
parentheses. The copy is read with sqlglot; positional inserts (no column list) and ``SELECT *``
are matched with the tables as the replay knows them at that statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from lightnb.catalog import Table
from lightnb.lint.columns import final_table_name
from lightnb.lint.effects import Rebuild, rebuilds, statement_effects
from lightnb.lint.registry import MigrationContext
from lightnb.lint.source import Parsed, name_of

_PASS_THROUGH = (exp.Paren, exp.Cast, exp.TryCast)
_FALLBACKS = (exp.Coalesce,)


@dataclass(frozen=True, slots=True)
class ColumnFate:
    """What the rebuild does with one column of the old table.

    :param fate: ``kept``, ``renamed``, ``converted`` or ``dropped``.
    :param targets: the new columns it is written to (renamed: one; converted: one or more).
    :param expressions: the SQL of the expressions it feeds (converted).
    :param cast: kept or renamed through a ``CAST``: the SQL of the expression that carries it (its values are
        kept only when they read back as they were, which only a measurement can tell), else ``""``.
    """

    column: str
    fate: str
    targets: tuple[str, ...] = ()
    expressions: tuple[str, ...] = ()
    cast: str = ""


@dataclass(frozen=True, slots=True)
class RebuildCopy:
    """One rebuild of an up.sql: the old and the new definition, and what the copy does.

    :param old: the table just before the rebuild.
    :param new: the table at the end of up.sql (None when a later statement drops it).
    :param fates: per old column; empty when the copy could not be read (then ``understood`` is False).
    :param copies: True when an ``INSERT … SELECT`` reads the old table.
    :param where: the SQL of the copy's WHERE (rows it leaves behind), or ''.
    :param statements: up.sql statement indexes of the rebuild (create, copy, drop, rename).
    """

    table: str
    line: int
    old: Table
    new: Table | None
    fates: tuple[ColumnFate, ...] = ()
    copies: bool = False
    understood: bool = False
    where: str = ""
    statements: tuple[int, ...] = field(default=())

    def fate(self, column: str) -> ColumnFate | None:
        """Return the fate of old column ``column`` (case-insensitive), or None."""
        return next((f for f in self.fates if f.column.lower() == column.lower()), None)

    def new_name(self, column: str) -> str | None:
        """Return the column of the new table that holds ``column``'s values unchanged, or None."""
        fate = self.fate(column)
        if fate is None:
            return column if self.new is not None and self.new.column(column) is not None else None
        return fate.targets[0] if fate.fate in ("kept", "renamed") else None


def rebuild_copies(ctx: MigrationContext) -> list[RebuildCopy]:
    """Return every table rebuild of up.sql with what its copy does to each column."""
    statements = ctx.source.up.statements
    index_of = {id(s): i for i, s in enumerate(statements)}
    effects = [e for s in statements for e in statement_effects(s)]
    found = []
    for rebuild in rebuilds(effects):
        positions = sorted(index_of[id(p.statement)] for p in rebuild.parts if p.statement is not None)
        if not positions:
            continue
        first, last = positions[0], positions[-1]
        old = ctx.replay.state_before(first).table(rebuild.table)
        if old is None:
            continue
        final = final_table_name(statements, last, rebuild.table)
        copy = _read_copy(ctx, rebuild, statements, first, last, old)
        found.append(RebuildCopy(rebuild.table, rebuild.line, old, ctx.replay.after.table(final), *copy,
                                 statements=tuple(positions)))
    return found


def _read_copy(ctx: MigrationContext, rebuild: Rebuild, statements: tuple[Parsed, ...], first: int, last: int,
               old: Table) -> tuple[tuple[ColumnFate, ...], bool, bool, str]:
    """Return (fates, copies, understood, where) for the copy statements inside the rebuild."""
    create, drop, _ = rebuild.parts
    target, source = create.name.lower(), drop.name.lower()
    written: dict[str, list[tuple[str, exp.Expr]]] = {}  # old column -> [(new column, expression)]
    copies, understood, where = False, True, ""
    for index in range(first, last + 1):
        tree = statements[index].expr
        if statements[index].expr is None and "insert" in statements[index].text.lower()[:20]:
            understood = False
            continue
        if not isinstance(tree, exp.Insert):
            continue
        into = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        select = tree.expression
        if name_of(into).lower() != target or not isinstance(select, exp.Select):
            continue
        origin = select.args.get("from_") or select.args.get("from")
        if origin is None or name_of(origin.this).lower() != source:
            continue
        copies = True
        if select.args.get("joins") or select.args.get("group"):
            understood = False
        if select.args.get("where") is not None:
            where = select.args["where"].this.sql("sqlite")
        pairs = _pairs(ctx, index, tree, select, create.name, old)
        if pairs is None:
            understood = False
            continue
        for new_column, expression in pairs:
            for column in {c.name.lower() for c in expression.find_all(exp.Column)}:
                written.setdefault(column, []).append((new_column, expression))
    if not copies or not understood:
        return (), copies, False, where
    return tuple(_fate(c.name, written.get(c.name.lower(), [])) for c in old.columns if not c.hidden), \
        True, True, where


def _pairs(ctx: MigrationContext, index: int, insert: exp.Insert, select: exp.Select, target: str,
           old: Table) -> list[tuple[str, exp.Expr]] | None:
    """Return (new column, expression) per value the copy writes, or None when they cannot be matched."""
    expressions: list[exp.Expr] = []
    for projection in select.expressions:
        if isinstance(projection, exp.Star):
            expressions += [exp.column(c.name) for c in old.columns if not c.hidden]
        else:
            expressions.append(projection.this if isinstance(projection, exp.Alias) else projection)
    if isinstance(insert.this, exp.Schema):
        names = [name_of(c) for c in insert.this.expressions]
    else:
        table = ctx.replay.state_before(index).table(target)
        if table is None:
            return None
        names = [c.name for c in table.columns if c.hidden in (0,)]
    if len(names) != len(expressions):
        return None
    return list(zip(names, expressions))


def _fate(column: str, uses: list[tuple[str, exp.Expr]]) -> ColumnFate:
    if not uses:
        return ColumnFate(column, "dropped")
    plain = [(new, expression) for new, expression in uses if _carries(expression, column)]
    if plain:
        new, expression = next(((n, e) for n, e in plain if n.lower() == column.lower()), plain[0])
        cast = expression.sql("sqlite") if any(isinstance(node, (exp.Cast, exp.TryCast))
                                               for node in expression.walk()) else ""
        return ColumnFate(column, "kept" if new.lower() == column.lower() else "renamed", (new,), cast=cast)
    return ColumnFate(column, "converted", tuple(dict.fromkeys(new for new, _ in uses)),
                      tuple(dict.fromkeys(e.sql("sqlite") for _, e in uses)))


def _carries(expression: exp.Expr, column: str) -> bool:
    """Return True when ``expression`` is ``column`` itself, cast, parenthesised or with a NULL fallback."""
    node = expression
    while True:
        if isinstance(node, exp.Column):
            return node.name.lower() == column.lower()
        if isinstance(node, _PASS_THROUGH):
            node = node.this
        elif isinstance(node, _FALLBACKS) or (isinstance(node, exp.Anonymous) and node.name.lower() == "ifnull"):
            node = node.this if isinstance(node, _FALLBACKS) else node.expressions[0]
        else:
            return False
