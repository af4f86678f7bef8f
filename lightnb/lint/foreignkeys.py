"""Foreign keys must point at tables and columns that exist, and the referencing columns need an index."""

from __future__ import annotations

from collections.abc import Iterator

from lightnb.lint.catalog import Catalog, ForeignKeyInfo, is_indexed, quote
from lightnb.lint.columns import final_table_name
from lightnb.lint.registry import Hit, MigrationContext, rule


def _new_foreign_keys(ctx: MigrationContext) -> Iterator[tuple[int, str, ForeignKeyInfo]]:
    """Yield (up statement index, final table name, key) for keys this migration adds.

    A rebuild (new table, copy, drop, rename) keeps its table's keys: those are not new.
    """
    statements = ctx.source.up.statements
    known = {(t.name.lower(), fk) for t in ctx.replay.before.tables for fk in t.foreign_keys}
    for index, _ in enumerate(statements):
        before, after = ctx.replay.state_before(index), ctx.replay.state_after(index)
        seen = {(t.name.lower(), fk) for t in before.tables for fk in t.foreign_keys}
        for table in after.tables:
            final = final_table_name(statements, index, table.name)
            for fk in table.foreign_keys:
                if (table.name.lower(), fk) not in seen and (final.lower(), fk) not in known:
                    yield index, final, fk


@rule("fk-missing-target", severity="error",
      summary="A foreign key references a table or column that does not exist after this migration.")
def fk_missing_target(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag foreign keys whose parent table or columns do not exist at this point of history."""
    final = ctx.replay.after
    for index, table, fk in _new_foreign_keys(ctx):
        if final.table(table) is None:
            continue  # dropped again later in this file
        problem = _target_problem(final, fk)
        if problem:
            yield Hit("up.sql", ctx.source.up.statements[index].line,
                      f"{table}({', '.join(fk.columns)}) references {problem}",
                      "create the parent table first (an earlier migration or earlier in this file), "
                      "or fix the table/column name")


def _target_problem(catalog: Catalog, fk: ForeignKeyInfo) -> str:
    parent = catalog.table(fk.table)
    if parent is None:
        return f"table {fk.table}, which does not exist"
    missing = [c for c in fk.to_columns if c is not None and parent.column(c) is None]
    if missing:
        return f"{fk.table}({', '.join(missing)}), which does not exist"
    if all(c is None for c in fk.to_columns) and not parent.primary_key:
        return f"{fk.table}, which has no PRIMARY KEY to reference"
    return ""


@rule("fk-unindexed", severity="warning",
      summary="The referencing column of a foreign key has no index (slow joins and cascades).")
def fk_unindexed(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag new foreign keys whose child columns no index covers at the end of up.sql."""
    final = ctx.replay.after
    for index, table, fk in _new_foreign_keys(ctx):
        current = final.table(table)
        if current is None or is_indexed(current, fk.columns):
            continue
        name = f"idx_{table}_{'_'.join(fk.columns)}"
        yield Hit("up.sql", ctx.source.up.statements[index].line,
                  f"{table}({', '.join(fk.columns)}) references {fk.table} but has no index",
                  f"CREATE INDEX {quote(name)} ON {quote(table)} "
                  f"({', '.join(quote(c) for c in fk.columns)});  (and DROP INDEX {quote(name)}; in down.sql)")
