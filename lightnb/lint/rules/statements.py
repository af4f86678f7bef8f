"""Statements SQLite rejects at that point of history, and statements sqlglot cannot read."""

from __future__ import annotations

from collections.abc import Iterator

from lightnb.backends import sqlite
from lightnb.lint.registry import Hit, MigrationContext, rule

# Families whose rules already explain why SQLite rejects a statement.
EXPLAINED_BY = ("limitations", "transactions")


@rule("sql-error", severity="error",
      summary="A statement fails when replayed after the earlier migrations (in memory).")
def sql_error(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag statements that SQLite rejects at this point of history."""
    from lightnb.lint.rules.limitations import limitation_of
    from lightnb.lint.rules.transactions import non_transactional_statement

    scripts = [(ctx.source.up, ctx.replay.up_errors)]
    if ctx.source.down is not None and not ctx.replay.up_errors:
        scripts.append((ctx.source.down, ctx.replay.down_errors))  # down.sql only runs after a whole up.sql
    for script, errors in scripts:
        for index, message in sorted(errors.items()):
            statement = script.statements[index]
            if message.startswith(sqlite.guard.REFUSED_BY_LIGHTNB):
                continue  # sql-escape reports it
            state = ctx.replay.state_before(index) if script.file == "up.sql" else ctx.replay.after
            explained = script.file == "up.sql" and limitation_of(statement, state)  # the limitation rules read up.sql
            if explained or non_transactional_statement(statement):
                continue
            where = "after the earlier migrations" if script.file == "up.sql" else "after up.sql"
            yield Hit(script.file, statement.line, f"SQLite rejects this statement {where}: {message}",
                      "fix the statement (names and syntax as they are at this point of history)")


@rule("sql-escape", severity="error",
      summary="ATTACH of a file, VACUUM INTO or another statement reaching outside the database (refused).")
def sql_escape(ctx: MigrationContext) -> Iterator[Hit]:
    """Report statements lightnb's SQL guard refuses on every path (run, lint, check, impact)."""
    for script, errors in ((ctx.source.up, ctx.replay.up_errors), (ctx.source.down, ctx.replay.down_errors)):
        if script is None:
            continue
        for index, message in sorted(errors.items()):
            if message.startswith(sqlite.guard.REFUSED_BY_LIGHTNB):
                problem, _, fix = message[len(sqlite.guard.REFUSED_BY_LIGHTNB):].partition(" — fix: ")
                yield Hit(script.file, script.statements[index].line, problem, fix)


@rule("sql-unparsed", severity="info", summary="lightnb could not parse a statement; rules skip it.")
def sql_unparsed(ctx: MigrationContext) -> Iterator[Hit]:
    """Note statements that sqlglot cannot parse (only the rules reading the catalogue see them)."""
    scripts = [(ctx.source.up, ctx.replay.up_errors), (ctx.source.down, ctx.replay.down_errors)]
    for script, errors in scripts:
        if script is None:
            continue
        for index, statement in enumerate(script.statements):
            if statement.expr is None and index not in errors:  # sql-error already reports what SQLite rejects
                yield Hit(script.file, statement.line, "lightnb could not parse this statement; "
                          "rules that read statement structure skipped it", "none needed if SQLite accepts it")
