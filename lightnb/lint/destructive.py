"""Destructive statements: flagged, measured on the workspace copy, and allowed only when acknowledged.

A migration acknowledges them with a ``-- lightnb: allow-destructive`` comment in its up.sql (the team's
one-time override); they are then reported as info, still with their measured impact.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence

from sqlglot import exp

from lightnb.errors import LightnbError
from lightnb.inspect.impact import measure_impact
from lightnb.inspect.redact import Redactor
from lightnb.lint.config import ALLOW_DESTRUCTIVE
from lightnb.lint.effects import rebuilds, statement_effects
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, Script, leading_words, name_of, tokens


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
    measured: dict[int, str] | None = None
    for index, statement in enumerate(ctx.source.up.statements):
        for what in _destruction(statement, rebuilt, ctx):
            if measured is None:
                measured = measure(ctx.conn, ctx.source.up.statements, redactor=ctx.config.redactor)
            yield Hit("up.sql", statement.line, what + measured.get(index, ""), fix, severity)


def measure(conn: sqlite3.Connection | None, statements: Sequence[Parsed], *,
            redactor: Redactor | None = None) -> dict[int, str]:
    """Return {statement index: " (measured on the workspace copy: …)"} from the inspect step's impact.

    The statements run on ``conn`` (a workspace copy) inside a savepoint that is rolled back
    (:func:`lightnb.inspect.impact.measure_impact`). Statements from the first one that controls
    the transaction (BEGIN, COMMIT, VACUUM …) on are not run: they would end the savepoint.
    """
    if conn is None:
        return {}
    runnable = list(itertools.takewhile(lambda s: not _controls_transaction(s), statements))
    try:
        impacts = measure_impact(conn, runnable, redactor=redactor) if runnable else []
    except (LightnbError, sqlite3.Error):
        return {}
    texts: dict[int, list[str]] = {}
    for impact in impacts:
        if impact.kind != "rows_inserted":
            texts.setdefault(impact.index, []).append(impact.message.rstrip("."))
    failed = next((i.index for i in impacts if i.kind == "error"), None)
    out = {}
    for index in range(len(statements)):
        if index in texts:
            out[index] = f" (measured on the workspace copy: {'; '.join(texts[index])})"
        elif index >= len(runnable) or (failed is not None and index > failed):
            out[index] = " (not measured: an earlier statement does not run on the workspace copy)"
        else:
            out[index] = " (measured on the workspace copy: no rows or values lost)"
    return out


def _controls_transaction(statement: Parsed) -> bool:
    if isinstance(statement.expr, (exp.Transaction, exp.Commit, exp.Rollback)):
        return True
    return leading_words(statement.text, 1)[:1] in {("BEGIN",), ("COMMIT",), ("END",), ("ROLLBACK",),
                                                   ("SAVEPOINT",), ("RELEASE",), ("VACUUM",),
                                                   ("ATTACH",), ("DETACH",)}


def is_acknowledged(script: Script) -> bool:
    """Return True when a comment of the script contains the allow-destructive marker."""
    return any(ALLOW_DESTRUCTIVE in comment for token in tokens(script.text) for comment in token.comments or [])


def _rebuilt_tables(ctx: MigrationContext) -> dict[str, str]:
    """Return {table dropped as a step of a rebuild (lower case): the rebuilt table}."""
    found = rebuilds([e for s in ctx.source.up.statements for e in statement_effects(s)])
    return {r.parts[1].name.lower(): r.table for r in found}


def _destruction(statement: Parsed, rebuilt: dict[str, str], ctx: MigrationContext) -> list[str]:
    tree = statement.expr
    if isinstance(tree, exp.Delete):
        where = tree.args.get("where")
        return [f"DELETE from {name_of(tree.this)}{'' if where is not None else ' without WHERE'}"]
    if isinstance(tree, exp.Update) and tree.args.get("where") is None:
        return [f"UPDATE of every row of {name_of(tree.this)} (no WHERE)"]
    found = []
    for effect in statement_effects(statement):
        name, table = effect.name, effect.table
        if effect.action == "drop" and effect.kind == "table":
            found += _rebuild_losses(ctx, rebuilt[name.lower()]) if name.lower() in rebuilt else [f"DROP TABLE {name}"]
        elif effect.action == "drop" and effect.kind == "index":
            found.append(f"DROP INDEX {name}")
        elif effect.action == "drop-column":
            found.append(f"DROP COLUMN {table}.{name}")
        elif effect.action == "rename-column":
            found.append(f"RENAME COLUMN {table}.{name} to {effect.new_name} (code using the old name breaks)")
        elif effect.action == "rename" and ctx.replay.before.table(name) is not None \
                and effect.new_name.lower() not in rebuilt:
            found.append(f"RENAME TABLE {name} to {effect.new_name} (code using the old name breaks)")
    return found


def _rebuild_losses(ctx: MigrationContext, table: str) -> list[str]:
    old, new = ctx.replay.before.table(table), ctx.replay.after.table(table)
    if old is None or new is None:
        return []
    return [f"rebuild of {table} drops column {c.name}" for c in old.columns if new.column(c.name) is None]


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
