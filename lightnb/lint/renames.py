"""Rename one table's columns inside the SQL of indexes, views, triggers and expressions.

Only references that resolve to that table are rewritten: statements are parsed with sqlglot, each
column is resolved against the tables of its own query (then the enclosing ones, as SQL scopes
work), and the identifier is replaced where it stands in the original text, so the rest of the
statement stays as written. A column of another table with the same name is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from lightnb.backends.sqlite import quote
from lightnb.errors import MigrationError
from lightnb.lint.source import parse_statement, tokens

ColumnsOf = Callable[[str], set[str]]
_SCOPES = (exp.Select, exp.Update, exp.Delete)
Edit = tuple[int, int, str]


def rename_in_expression(sql: str, renames: Mapping[str, str]) -> str:
    """Rename columns in an expression of the table itself (a CHECK, a generated column, an index)."""
    lowered = {old.lower(): new for old, new in renames.items()}
    if not lowered:
        return sql
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        tree = None
    if tree is None:
        return _rename_tokens(sql, lowered)
    edits = [_edit(c.this, lowered[c.name.lower()]) for c in tree.find_all(exp.Column)
             if c.name.lower() in lowered]
    return _apply(sql, [e for e in edits if e is not None])


def rename_in_schema_sql(sql: str, kind: str, table: str, renames: Mapping[str, str],
                         columns_of: ColumnsOf) -> str:
    """Rename ``table``'s columns in the SQL of an index, view or trigger.

    :param kind: ``index``, ``view`` or ``trigger``.
    :param columns_of: table name -> its column names (lower case), to resolve unqualified columns.
    :raises MigrationError: when sqlglot cannot read a statement that may use a renamed column.
    """
    lowered = {old.lower(): new for old, new in renames.items()}
    if not lowered or not _mentions(sql, lowered):
        return sql
    resolver = _Resolver(table.lower(), lowered, columns_of)
    if kind == "trigger":
        return _apply(sql, _trigger_edits(sql, resolver))
    tree = parse_statement(sql)
    if tree is None or isinstance(tree, exp.Command):
        raise MigrationError(f"sqlglot cannot read this {kind} to rename {', '.join(renames)} in it; "
                             f"rewrite it by hand after the rebuild: {' '.join(sql.split())[:120]}")
    return _apply(sql, resolver.edits(tree, index_on_table=kind == "index"))


class _Resolver:
    """Decide which column nodes of a parsed statement are ``table``'s renamed columns."""

    def __init__(self, table: str, renames: dict[str, str], columns_of: ColumnsOf,
                 row_aliases: frozenset[str] = frozenset()) -> None:
        self.table, self.renames, self.columns_of, self.row_aliases = table, renames, columns_of, row_aliases

    def edits(self, tree: exp.Expr, *, index_on_table: bool = False, offset: int = 0) -> list[Edit]:
        found = []
        for column in tree.find_all(exp.Column):
            new = self.renames.get(column.name.lower())
            if new is not None and (index_on_table or self._belongs(column)):
                found.append(_edit(column.this, new, offset))
        for insert in tree.find_all(exp.Insert):
            target = insert.this
            if isinstance(target, exp.Schema) and target.this.name.lower() == self.table:
                found += [_edit(i, self.renames[i.name.lower()], offset) for i in target.expressions
                          if isinstance(i, exp.Identifier) and i.name.lower() in self.renames]
        return [e for e in found if e is not None]

    def _belongs(self, column: exp.Column) -> bool:
        qualifier, name = column.table.lower(), column.name.lower()
        scope = column.find_ancestor(*_SCOPES)
        while scope is not None:
            sources = self._sources(scope)
            if qualifier:
                if qualifier in sources:
                    return sources[qualifier][0] == self.table
            else:
                owners = [table for table, columns in sources.values() if name in columns]
                if owners:
                    return self.table in owners
            scope = scope.find_ancestor(*_SCOPES)
        return qualifier in self.row_aliases

    def _sources(self, scope: exp.Expr) -> dict[str, tuple[str, set[str]]]:
        """Return alias -> (table name or '' for a subquery, its columns) for a query's own sources."""
        nodes = []
        if isinstance(scope, (exp.Update, exp.Delete)) and scope.this is not None:
            nodes.append(scope.this)
        origin = scope.args.get("from_") or scope.args.get("from")
        if origin is not None:
            nodes += [origin.this, *origin.expressions]
        nodes += [join.this for join in scope.args.get("joins") or []]
        sources = {}
        for node in nodes:
            if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
                sources[(node.alias or node.name).lower()] = (node.name.lower(), self.columns_of(node.name))
            elif isinstance(node, exp.Subquery) and node.alias:
                selects = node.this.selects if isinstance(node.this, exp.Query) else []
                sources[node.alias.lower()] = ("", {s.alias_or_name.lower() for s in selects})
        return sources


def _trigger_edits(sql: str, resolver: _Resolver) -> list[Edit]:
    """Rename in a trigger: its UPDATE OF list, its WHEN clause and each body statement."""
    toks = tokens(sql)
    words = [t.text.upper() if t.token_type not in (TokenType.IDENTIFIER, TokenType.STRING) else ""
             for t in toks]
    if "ON" not in words or "BEGIN" not in words:
        raise MigrationError("cannot read this trigger's header to rename columns in it; rewrite it by hand "
                             f"after the rebuild: {' '.join(sql.split())[:120]}")
    on, begin = words.index("ON"), words.index("BEGIN")
    own = toks[on + 1 if on + 2 >= len(toks) or toks[on + 2].token_type != TokenType.DOT else on + 3]
    on_table = own.text.lower() == resolver.table
    resolver = _Resolver(resolver.table, resolver.renames, resolver.columns_of,
                         frozenset({"new", "old"}) if on_table else frozenset())
    edits: list[Edit] = []
    if on_table and "OF" in words[:on]:
        edits += [(t.start, t.end + 1, quote(resolver.renames[t.text.lower()]))
                  for t in toks[words.index("OF") + 1:on]
                  if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER) and t.text.lower() in resolver.renames]
    if "WHEN" in words[on:begin]:
        when = words.index("WHEN", on)
        start, end = toks[when + 1].start, toks[begin - 1].end + 1
        edits += _piece_edits(sql, start, end, resolver, wrap=True)
    body, start = toks[begin + 1:-1], toks[begin].end + 1
    depth = 0
    for token in body:
        depth += token.token_type == TokenType.L_PAREN
        depth -= token.token_type == TokenType.R_PAREN
        if token.token_type == TokenType.SEMICOLON and depth == 0:
            edits += _piece_edits(sql, start, token.start, resolver)
            start = token.end + 1
    return edits


def _piece_edits(sql: str, start: int, end: int, resolver: _Resolver, *, wrap: bool = False) -> list[Edit]:
    piece = sql[start:end]
    if not piece.strip() or not _mentions(piece, resolver.renames):
        return []
    prefix = "SELECT " if wrap else ""  # a WHEN condition is an expression
    tree = parse_statement(prefix + piece)
    if tree is None or isinstance(tree, exp.Command):
        raise MigrationError(f"sqlglot cannot read this trigger statement to rename columns in it; rewrite "
                             f"it by hand after the rebuild: {' '.join(piece.split())[:120]}")
    return resolver.edits(tree, offset=start - len(prefix))


def _mentions(sql: str, renames: Mapping[str, str]) -> bool:
    return any(t.text.lower() in renames for t in tokens(sql)
               if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER))


def _edit(identifier: exp.Expr, new: str, offset: int = 0) -> Edit | None:
    meta = identifier.meta if isinstance(identifier, exp.Identifier) else {}
    if "start" not in meta:
        return None
    return meta["start"] + offset, meta["end"] + 1 + offset, quote(new)


def _apply(sql: str, edits: list[Edit]) -> str:
    for start, end, text in sorted(set(edits), reverse=True):
        sql = sql[:start] + text + sql[end:]
    return sql


def _rename_tokens(sql: str, renames: Mapping[str, str]) -> str:
    """Rename identifier tokens that are not function names (for expressions sqlglot cannot parse)."""
    toks = tokens(sql)
    edits = [(t.start, t.end + 1, quote(renames[t.text.lower()])) for i, t in enumerate(toks)
             if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER) and t.text.lower() in renames
             and not (i + 1 < len(toks) and toks[i + 1].token_type == TokenType.L_PAREN)]
    return _apply(sql, edits)

