"""Columns a migration defines, found by comparing the replayed schema before and after each statement."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from lightnb.catalog import Catalog, Column
from lightnb.inspect.definition import affinity
from lightnb.lint.registry import MigrationContext
from lightnb.lint.source import Parsed, name_of


@dataclass(frozen=True, slots=True)
class DefinedColumn:
    """A column created (CREATE TABLE, ADD COLUMN, a rebuild) by one up.sql statement."""

    table: str
    column: Column
    statement: Parsed
    index: int


def defined_columns(ctx: MigrationContext) -> list[DefinedColumn]:
    """Return the columns up.sql defines, leaving out those a rebuild copies unchanged."""
    found: list[DefinedColumn] = []
    statements = ctx.source.up.statements
    for index, statement in enumerate(statements):
        before, after = ctx.replay.state_before(index), ctx.replay.state_after(index)
        for table, column in _new_columns(before, after):
            final = final_table_name(statements, index, table)
            if not _carried_over(ctx.replay.before, final, column):
                found.append(DefinedColumn(table, column, statement, index))
    return found


def _new_columns(before: Catalog, after: Catalog) -> list[tuple[str, Column]]:
    new = []
    for table in after.tables:
        old = before.table(table.name)
        old_shape = {(c.name.lower(), c.type, c.default) for c in old.columns} if old else set()
        new += [(table.name, c) for c in table.columns if (c.name.lower(), c.type, c.default) not in old_shape]
    return new


def final_table_name(statements: tuple[Parsed, ...], index: int, table: str) -> str:
    """Follow the ``ALTER TABLE … RENAME TO`` statements after ``index`` to the table's final name."""
    name = table
    for statement in statements[index + 1:]:
        tree = statement.expr
        if isinstance(tree, exp.Alter) and name_of(tree.this).lower() == name.lower():
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.AlterRename):
                    name = name_of(action.this)
    return name


def _carried_over(before: Catalog, table: str, column: Column) -> bool:
    old_table = before.table(table)
    old = old_table.column(column.name) if old_table else None
    return old is not None and (old.type, old.default) == (column.type, column.default)


def parse_default(text: str | None) -> exp.Expr | None:
    """Parse a column's default as SQLite stores it (``PRAGMA table_xinfo``)."""
    if text is None:
        return None
    try:
        return sqlglot.parse_one(text, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        return None


def placeholder(declared: str) -> str:
    """Return a literal of a declared type's affinity that stands for "some value" (0, 0.0, X'', '')."""
    return {"INTEGER": "0", "REAL": "0.0", "NUMERIC": "0", "BLOB": "X''"}.get(affinity(declared), "''")


def name_words(name: str) -> list[str]:
    """Split a column name into lower-case words (snake_case and camelCase)."""
    words, current = [], ""
    for char in name:
        if char in "_- ." or (char.isupper() and current and not current[-1].isupper()):
            if current:
                words.append(current.lower())
            current = "" if char in "_- ." else char
        else:
            current += char
    if current:
        words.append(current.lower())
    return words


def constraint_expressions(tree: exp.Expr | None) -> list[exp.Expr]:
    """Return the DEFAULT and CHECK expressions of a CREATE TABLE or ALTER TABLE tree."""
    if tree is None:
        return []
    nodes = tree.find_all(exp.DefaultColumnConstraint, exp.CheckColumnConstraint)
    return [node.this for node in nodes if node.this is not None]
