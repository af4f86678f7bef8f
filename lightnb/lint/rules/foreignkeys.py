"""Foreign keys must point at tables and columns that exist, and the referencing columns need an index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeGuard

from lightnb.backends.sqlite import quote
from lightnb.catalog import Catalog, ForeignKey, Table
from lightnb.lint.columns import final_table_name
from lightnb.lint.effects import script_effects
from lightnb.lint.fixes import Patch, statements_text
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import token_line


def _key(fk: ForeignKey) -> tuple[object, ...]:
    """Return what identifies a key whatever its table is called now (a rebuild renames the table)."""
    return fk.columns, fk.ref_table.lower(), fk.ref_columns, fk.on_update, fk.on_delete


def _new_foreign_keys(ctx: MigrationContext) -> Iterator[tuple[int, str, ForeignKey]]:
    """Yield (up statement index, final table name, key) for keys this migration adds.

    A rebuild (new table, copy, drop, rename) keeps its table's keys: those are not new.
    """
    statements = ctx.source.up.statements
    known = {(t.name.lower(), _key(fk)) for t in ctx.replay.before.tables for fk in t.foreign_keys}
    for index, _ in enumerate(statements):
        before, after = ctx.replay.state_before(index), ctx.replay.state_after(index)
        seen = {(t.name.lower(), _key(fk)) for t in before.tables for fk in t.foreign_keys}
        for table in after.tables:
            final = final_table_name(statements, index, table.name)
            for fk in table.foreign_keys:
                if (table.name.lower(), _key(fk)) not in seen and (final.lower(), _key(fk)) not in known:
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
        if not problem:
            continue
        renamed = _renamed_to(ctx, fk.ref_table)
        if renamed:
            yield Hit("up.sql", ctx.source.up.statements[index].line,
                      f"{table}({', '.join(fk.columns)}) references {problem}: `ALTER TABLE {renamed} RENAME TO "
                      f"{fk.ref_table}` rewrote the reference (SQLite ≥ 3.26 follows renames in foreign keys), "
                      f"so inserts into {table} fail with foreign keys on",
                      f"rebuild {renamed} the other way: CREATE TABLE {renamed}_new …, copy, DROP TABLE {renamed}, "
                      f"ALTER TABLE {renamed}_new RENAME TO {renamed} (references keep pointing at {renamed})")
            continue
        yield Hit("up.sql", token_line(ctx.source.up.statements[index], fk.columns[0]),
                  f"{table}({', '.join(fk.columns)}) references {problem}",
                  "create the parent table first (an earlier migration or earlier in this file), "
                  "or fix the table/column name")


def _renamed_to(ctx: MigrationContext, name: str) -> str:
    """Return the table up.sql renames to ``name`` ('' when none)."""
    for effect in script_effects(ctx.source.up):
        if effect.action == "rename" and effect.new_name.lower() == name.lower():
            return effect.name
    return ''


def _target_problem(catalog: Catalog, fk: ForeignKey) -> str:
    parent = catalog.table(fk.ref_table)
    if parent is None:
        return f"table {fk.ref_table}, which does not exist"
    missing = [c for c in fk.ref_columns if c is not None and parent.column(c) is None]
    if missing:
        return f"{fk.ref_table}({', '.join(missing)}), which does not exist"
    if all(c is None for c in fk.ref_columns) and not parent.primary_key:
        return f"{fk.ref_table}, which has no PRIMARY KEY to reference"
    return ""


@rule("fk-unindexed", severity="warning",
      summary="The referencing column of a foreign key has no index (slow joins and cascades).")
def fk_unindexed(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag new foreign keys whose child columns no index leads with, judged at the end of the history.

    An index whose leading columns are the key's columns covers it. When only a later migration
    adds that index (and it is still there at the end of the history) the finding is info.
    """
    for index, table, fk in _new_foreign_keys(ctx):
        current = ctx.replay.after.table(table)
        if current is None or is_indexed(current, fk.columns):
            continue
        columns = ", ".join(fk.columns)
        line = token_line(ctx.source.up.statements[index], fk.columns[0])
        arrival = _indexed_later(ctx, table, fk.columns)
        if arrival is not None:
            migration, covering = arrival
            yield Hit("up.sql", line,
                      f"{table}({columns}) references {fk.ref_table}; its index only arrives later "
                      f"({covering} in {migration})",
                      "nothing to do; or create the index in this migration so the key is never unindexed",
                      severity="info")
            continue
        name = _free_name(ctx.replay.after, f"idx_{table}_{'_'.join(fk.columns)}")
        create = f"CREATE INDEX {quote(name)} ON {quote(table)} ({', '.join(quote(c) for c in fk.columns)});"
        yield Hit("up.sql", line, f"{table}({columns}) references {fk.ref_table} but has no index",
                  f"{create}  (and DROP INDEX {quote(name)}; in down.sql)",
                  patch=Patch(create, statements_text(ctx.source.up.statements), f"DROP INDEX {quote(name)};",
                              otherwise=f"create an index on {table}({columns}) in up.sql"))


def _free_name(catalog: Catalog, name: str) -> str:
    """Return ``name``, or ``name_2``, ``name_3`` … when an index, table, view or trigger already has it."""
    taken = {t.name.lower() for t in catalog.tables} | {i.name.lower() for t in catalog.tables for i in t.indexes}
    taken |= {o.name.lower() for o in catalog.triggers + catalog.views}
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def _indexed_later(ctx: MigrationContext, table: str, columns: tuple[str, ...]) -> tuple[str, str] | None:
    """Return (migration, index) of the later migration from which an index covers the key to the end."""
    if not ctx.later or not _covered(ctx.later[-1][1].table(table), columns):
        return None
    arrival = None
    for name, state in ctx.later:
        info = state.table(table)
        if _covered(info, columns):
            arrival = arrival or (name, _covering_index(info, columns))
        else:
            arrival = None  # dropped again: only the last arrival counts
    return arrival


def _covered(info: Table | None, columns: tuple[str, ...]) -> TypeGuard[Table]:
    return info is not None and is_indexed(info, columns)


def _covering_index(info: Table, columns: tuple[str, ...]) -> str:
    wanted = {c.lower() for c in columns}
    for index in info.indexes:
        leading = {c.lower() for c in index.columns[:len(wanted)]}
        if not index.partial and leading == wanted:
            return f"index {index.name}"
    return "the primary key"


def is_indexed(table: Table, columns: tuple[str, ...]) -> bool:
    """Return True when some index (or the primary key) starts with ``columns``, in any order."""
    wanted = {c.lower() for c in columns}
    width = len(wanted)
    candidates = [tuple(c.lower() for c in i.columns) for i in table.indexes if not i.partial]
    pk = tuple(c.lower() for c in table.primary_key)
    if pk:
        candidates.append(pk)
    return any(len(c) >= width and set(c[:width]) == wanted for c in candidates)
