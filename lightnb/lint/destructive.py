"""Destructive statements: flagged, measured on the workspace copy, and allowed only when acknowledged.

A migration acknowledges them with a ``-- lightnb: allow-destructive`` comment in its up.sql (the team's
one-time override); they are then reported as info, still with their measured impact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlglot import exp

from lightnb.lint.catalog import quote
from lightnb.lint.config import ALLOW_DESTRUCTIVE
from lightnb.lint.effects import rebuilds, statement_effects
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, Script, name_of, tokens


@rule("destructive", severity="error",
      summary="DROP TABLE/COLUMN/INDEX, DELETE, RENAME or UPDATE without WHERE, unless acknowledged.")
def destructive(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag statements that destroy or move data, with the impact measured on the workspace."""
    acknowledged = is_acknowledged(ctx.source.up)
    severity = "info" if acknowledged else None
    fix = ("acknowledged with `-- " + ALLOW_DESTRUCTIVE + "`; review the impact" if acknowledged else
           f"if intended, add the comment `-- {ALLOW_DESTRUCTIVE}` to up.sql; otherwise keep the data "
           f"(copy it first, or rename instead of dropping)")
    rebuilt = _rebuilt_tables(ctx)
    for statement in ctx.source.up.statements:
        for what, count_sql in _destruction(statement, rebuilt, ctx):
            impact = measure(ctx.conn, count_sql) if count_sql else ""
            yield Hit("up.sql", statement.line, f"{what}{impact}", fix, severity)


def is_acknowledged(script: Script) -> bool:
    """Return True when a comment of the script contains the allow-destructive marker."""
    return any(ALLOW_DESTRUCTIVE in comment for token in tokens(script.text) for comment in token.comments or [])


def _rebuilt_tables(ctx: MigrationContext) -> dict[str, str]:
    """Return {table dropped as a step of a rebuild (lower case): the rebuilt table}."""
    found = rebuilds([e for s in ctx.source.up.statements for e in statement_effects(s)])
    return {r.parts[1].name.lower(): r.table for r in found}


def _destruction(statement: Parsed, rebuilt: dict[str, str], ctx: MigrationContext) -> list[tuple[str, str]]:
    tree = statement.expr
    if isinstance(tree, exp.Delete):
        table = name_of(tree.this)
        where = tree.args.get("where")
        count = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(quote(table)))
        if where is not None:
            count = count.where(where.this.copy())
        return [(f"DELETE from {table}{'' if where is not None else ' without WHERE'}", count.sql("sqlite"))]
    if isinstance(tree, exp.Update) and tree.args.get("where") is None:
        table = name_of(tree.this)
        return [(f"UPDATE of every row of {table} (no WHERE)", f"SELECT COUNT(*) FROM {quote(table)}")]
    found = []
    for effect in statement_effects(statement):
        name, table = effect.name, effect.table
        if effect.action == "drop" and effect.kind == "table":
            if name.lower() in rebuilt:
                found += _rebuild_losses(ctx, rebuilt[name.lower()])
            else:
                found.append((f"DROP TABLE {name}", f"SELECT COUNT(*) FROM {quote(name)}"))
        elif effect.action == "drop" and effect.kind == "index":
            found.append((f"DROP INDEX {name}", ""))
        elif effect.action == "drop-column":
            found.append((f"DROP COLUMN {table}.{name}",
                          f"SELECT COUNT(*) FROM {quote(table)} WHERE {quote(name)} IS NOT NULL"))
        elif effect.action == "rename-column":
            found.append((f"RENAME COLUMN {table}.{name} to {effect.new_name} (code using the old name breaks)", ""))
        elif effect.action == "rename" and ctx.replay.before.table(name) is not None \
                and effect.new_name.lower() not in rebuilt:
            found.append((f"RENAME TABLE {name} to {effect.new_name} (code using the old name breaks)",
                          f"SELECT COUNT(*) FROM {quote(name)}"))
    return found


def _rebuild_losses(ctx: MigrationContext, table: str) -> list[tuple[str, str]]:
    old, new = ctx.replay.before.table(table), ctx.replay.after.table(table)
    if old is None or new is None:
        return []
    lost = [c.name for c in old.columns if new.column(c.name) is None]
    return [(f"rebuild of {table} drops column {c}", f"SELECT COUNT(*) FROM {quote(table)} WHERE {quote(c)} IS NOT NULL")
            for c in lost]


def measure(conn: sqlite3.Connection | None, count_sql: str) -> str:
    """Return ``" (N rows on the workspace copy)"`` for a COUNT query, or '' when it cannot be measured."""
    if conn is None:
        return ""
    try:
        (count,) = conn.execute(count_sql).fetchone()
    except sqlite3.Error:
        return ""  # the object is created earlier in this same migration
    return f" ({count} row{'s' if count != 1 else ''} affected on the workspace copy)"


def intentionally_destroyed(source_script: Script) -> set[str]:
    """Return the tables whose rows up.sql destroys on purpose (acknowledged with the marker)."""
    if not is_acknowledged(source_script):
        return set()
    tables = set()
    for statement in source_script.statements:
        tree = statement.expr
        if isinstance(tree, exp.Delete) or (isinstance(tree, exp.Update) and tree.args.get("where") is None):
            tables.add(name_of(tree.this).lower())
        for effect in statement_effects(statement):
            if effect.action == "drop" and effect.kind == "table":
                tables.add(effect.name.lower())
            elif effect.action in ("drop-column", "rename-column"):
                tables.add(effect.table.lower())
    return tables
