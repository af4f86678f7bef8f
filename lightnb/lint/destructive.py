"""Destructive statements: flagged, measured on the workspace copy, and allowed only when acknowledged.

A migration acknowledges them with a ``-- lightnb: allow-destructive`` comment in its up.sql (the team's
one-time override); they are then reported as info, still with their measured impact.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from sqlglot import exp

from lightnb.backends import sqlite
from lightnb.errors import LightnbError
from lightnb.inspect.impact import measure_impact
from lightnb.inspect.redact import Redactor
from lightnb.lint.config import ALLOW_DESTRUCTIVE
from lightnb.lint.copying import RebuildCopy, rebuild_copies
from lightnb.lint.effects import statement_effects
from lightnb.lint.finding import Severity
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
        for what, level in _destruction(statement, rebuilt, ctx):
            if measured is None:
                measured = measure(ctx.conn, ctx.source.up.statements, redactor=ctx.config.redactor)
            yield Hit("up.sql", statement.line, what + measured.get(index, ""), fix,
                      severity or level)


def measure(conn: sqlite.Connection | None, statements: Sequence[Parsed], *,
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
    except (LightnbError, sqlite.Error):
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


def _rebuilt_tables(ctx: MigrationContext) -> dict[str, RebuildCopy]:
    """Return {table dropped as a step of a rebuild (lower case): what the rebuild copies}."""
    found = {}
    for copy in rebuild_copies(ctx):
        drop = ctx.source.up.statements[copy.statements[0]:copy.statements[-1] + 1]
        for statement in drop:
            for effect in statement_effects(statement):
                if effect.action == "drop" and effect.kind == "table":
                    found[effect.name.lower()] = copy
    return found


Level = Severity | None  # None: the rule's severity (error unless acknowledged)


def _destruction(statement: Parsed, rebuilt: dict[str, RebuildCopy], ctx: MigrationContext
                 ) -> list[tuple[str, Level]]:
    tree = statement.expr
    if isinstance(tree, exp.Delete):
        where = tree.args.get("where")
        return [(f"DELETE from {name_of(tree.this)}{'' if where is not None else ' without WHERE'}", None)]
    if isinstance(tree, exp.Update) and tree.args.get("where") is None:
        table = name_of(tree.this)
        if _added_here(ctx, statement, table, [name_of(eq.this) for eq in tree.expressions if isinstance(eq, exp.EQ)]):
            return []  # filling columns this migration just added: no earlier value is overwritten
        return [(f"UPDATE of every row of {table} (no WHERE)", None)]
    found: list[tuple[str, Level]] = []
    for effect in statement_effects(statement):
        name, table = effect.name, effect.table
        if effect.action == "drop" and effect.kind == "table":
            found += _rebuild_losses(rebuilt[name.lower()]) if name.lower() in rebuilt \
                else [(f"DROP TABLE {name}", None)]
        elif effect.action == "drop" and effect.kind == "index":
            found.append((f"DROP INDEX {name}", None))
        elif effect.action == "drop-column":
            found.append((f"DROP COLUMN {table}.{name}", None))
        elif effect.action == "rename-column":
            found.append((f"RENAME COLUMN {table}.{name} to {effect.new_name} (code using the old name breaks)",
                          None))
        elif effect.action == "rename" and ctx.replay.before.table(name) is not None \
                and effect.new_name.lower() not in rebuilt and name.lower() not in _rebuilt_names(rebuilt):
            found.append((f"RENAME TABLE {name} to {effect.new_name} (code using the old name breaks)", None))
    return found


def _rebuilt_names(rebuilt: dict[str, RebuildCopy]) -> set[str]:
    return {copy.table.lower() for copy in rebuilt.values()}


def _added_here(ctx: MigrationContext, statement: Parsed, table: str, columns: list[str]) -> bool:
    """Return True when every column an UPDATE sets did not exist before this migration."""
    old = ctx.replay.before.table(table)
    if not columns:
        return False
    return old is None or all(old.column(c) is None for c in columns)


def _rebuild_losses(copy: RebuildCopy) -> list[tuple[str, Level]]:
    """Describe what a rebuild does not carry over: dropped columns, renames, conversions, rows left behind."""
    table, new = copy.table, copy.new
    if new is None:
        return []
    if not copy.copies:
        return [(f"rebuild of {table} copies no rows from the old table: every row is deleted", None)]
    found: list[tuple[str, Level]] = []
    if copy.where:
        found.append((f"rebuild of {table} copies only the rows WHERE {copy.where}: the others are deleted", None))
    if not copy.understood:
        return found + [(f"rebuild of {table} drops column {c.name}", None)
                        for c in copy.old.columns if new.column(c.name) is None and not c.hidden]
    conversions: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for fate in copy.fates:
        if fate.fate == "converted" and new.column(fate.column) is None:
            conversions.setdefault((fate.targets, fate.expressions), []).append(fate.column)
    for (targets, expressions), columns in conversions.items():
        found.append((f"rebuild of {table} converts {_columns(columns)} into {', '.join(targets)} = "
                      f"{'; '.join(expressions)}, then drops {'it' if len(columns) == 1 else 'them'}: "
                      "the original values are not kept", "warning"))
    for fate in copy.fates:
        if fate.fate == "dropped":
            found.append((f"rebuild of {table} drops column {fate.column}", None))
        elif fate.fate == "renamed" and new.column(fate.column) is None:
            found.append((f"rebuild of {table} renames column {fate.column} to {fate.targets[0]} (values copied; "
                          f"code using the old name breaks)", None))
    return found


def _columns(names: list[str]) -> str:
    return f"column {names[0]}" if len(names) == 1 else "columns " + ", ".join(names)


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
