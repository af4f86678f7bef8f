"""A table rebuild in up.sql must keep what the original table declared, or say why not.

Writing the new ``CREATE TABLE`` by hand, it is easy to leave out a DEFAULT, the PRIMARY KEY,
AUTOINCREMENT, a UNIQUE or CHECK constraint, a FOREIGN KEY, or an index or trigger that SQLite
dropped with the old table. Each is a change of behaviour up.sql makes, whatever down.sql does:
the next INSERT that relies on a lost default fails (NOT NULL) or stores NULL, duplicates get in,
ids are reused. The old and new definitions come from the replayed catalogue; columns are matched
through the rebuild's copy (:mod:`lightnb.lint.copying`), so a renamed column keeps its history.
"""

from __future__ import annotations

from collections.abc import Iterator

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote
from lightnb.catalog import Table
from lightnb.lint.copying import RebuildCopy, rebuild_copies
from lightnb.lint.createtable import read_create_table
from lightnb.lint.finding import Severity
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import tokens


@rule("rebuild-drops-definition", severity="error",
      summary="A table rebuild leaves out a DEFAULT, PRIMARY KEY, AUTOINCREMENT, UNIQUE, CHECK, FOREIGN KEY, "
              "index or trigger of the original table.")
def rebuild_drops_definition(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag what the original table declared and the rebuilt one no longer does."""
    for copy in rebuild_copies(ctx):
        if copy.new is None:
            continue
        for message, fix, severity in _losses(copy, ctx):
            yield Hit("up.sql", copy.line, f"rebuild of {copy.table} {message}", fix, severity)


Loss = tuple[str, str, "Severity | None"]


def _losses(copy: RebuildCopy, ctx: MigrationContext) -> list[Loss]:
    old, new = copy.old, copy.new
    assert new is not None
    return (_defaults(copy, old, new) + _primary_key(copy, old, new) + _uniques(copy, old, new)
            + _checks(copy, old, new) + _foreign_keys(copy, old, new) + _indexes(copy, old, new)
            + _triggers(copy, ctx))


def _defaults(copy: RebuildCopy, old: Table, new: Table) -> list[Loss]:
    found: list[Loss] = []
    for column in old.columns:
        target = copy.new_name(column.name)
        current = new.column(target) if target else None
        if column.default is None or current is None or current.hidden or _same_value(column.default, "NULL"):
            continue
        where = column.name if target == column.name else f"{column.name} (now {target})"
        if current.default is None:
            declared = f"{quote(current.name)} {current.type} {'NOT NULL ' if current.notnull else ''}" \
                       f"DEFAULT {column.default}".replace("  ", " ")
            if current.notnull:
                found.append((f"drops the DEFAULT {column.default} of {where}, which is NOT NULL: the next INSERT "
                              f"that relies on the default fails", f"keep the default in the new table: {declared}",
                              None))
            else:
                found.append((f"drops the DEFAULT {column.default} of {where}: INSERTs that leave it out store "
                              f"NULL instead", f"keep the default in the new table: {declared}", "warning"))
        elif not _same_value(column.default, current.default, current.type):
            found.append((f"changes the DEFAULT of {where} from {column.default} to {current.default}",
                          f"keep DEFAULT {column.default} unless the change is intended", "warning"))
    return found


def _primary_key(copy: RebuildCopy, old: Table, new: Table) -> list[Loss]:
    if not old.primary_key:
        return []
    wanted = tuple((copy.new_name(c) or "").lower() for c in old.primary_key)
    current = tuple(c.lower() for c in new.primary_key)
    found: list[Loss] = []
    if not current:
        found.append((f"drops the PRIMARY KEY ({', '.join(old.primary_key)})",
                      f"declare PRIMARY KEY ({', '.join(old.primary_key)}) in the new table", None))
    elif current != wanted:
        found.append((f"changes the PRIMARY KEY from ({', '.join(old.primary_key)}) to ({', '.join(new.primary_key)})",
                      "keep the old primary key unless the change is intended", "warning"))
    before, after = read_create_table(old.sql), read_create_table(new.sql)
    if before and before.autoincrement and after and not after.autoincrement and current:
        found.append((f"drops AUTOINCREMENT from {', '.join(new.primary_key)}: the ids of deleted rows can be "
                      "given to new rows", f"declare it `{new.primary_key[0]} INTEGER PRIMARY KEY AUTOINCREMENT` "
                      "in the new table", "warning"))
    return found


def _uniques(copy: RebuildCopy, old: Table, new: Table) -> list[Loss]:
    kept = [tuple(c.lower() for c in i.columns) for i in new.indexes if i.unique and not i.partial]
    if new.primary_key:
        kept.append(tuple(c.lower() for c in new.primary_key))
    found: list[Loss] = []
    for index in old.indexes:
        if not index.unique or index.origin == "pk" or index.partial:
            continue
        mapped = [copy.new_name(c) for c in index.columns]
        if any(m is None for m in mapped):
            continue  # a column of it is gone: the destructive rule reports that
        if not any(set(k) == {m.lower() for m in mapped if m} for k in kept):
            what = f"UNIQUE ({', '.join(index.columns)})" + (f" (index {index.name})" if index.sql else "")
            found.append((f"drops {what}: duplicate values are accepted from now on",
                          f"declare UNIQUE ({', '.join(m for m in mapped if m)}) in the new table"
                          + (f", or recreate the index after the rename: {index.sql};" if index.sql else ""), None))
    return found


def _checks(copy: RebuildCopy, old: Table, new: Table) -> list[Loss]:
    before, after = read_create_table(old.sql), read_create_table(new.sql)
    if before is None:
        return []
    current = [_words(c.inner) for _, c in (after.clauses() if after else []) if c.kind == "check"]
    found: list[Loss] = []
    for _, clause in before.clauses():
        if clause.kind != "check":
            continue
        names = {t.text.lower() for t in tokens(clause.inner)}
        if any(c.name.lower() in names and copy.new_name(c.name) is None for c in old.columns):
            continue  # it uses a column that is gone
        renamed = [copy.new_name(t) or t for t in _words(clause.inner)]
        if [w.lower() for w in renamed] not in [[w.lower() for w in c] for c in current]:
            found.append((f"drops CHECK ({clause.inner}): rows that break it are accepted from now on",
                          f"declare CHECK ({clause.inner}) in the new table", None))
    return found


def _foreign_keys(copy: RebuildCopy, old: Table, new: Table) -> list[Loss]:
    current = {(tuple(c.lower() for c in fk.columns), fk.ref_table.lower()) for fk in new.foreign_keys}
    found: list[Loss] = []
    for fk in old.foreign_keys:
        mapped = [copy.new_name(c) for c in fk.columns]
        if any(m is None for m in mapped):
            continue
        if (tuple(m.lower() for m in mapped if m), fk.ref_table.lower()) not in current:
            target = f"{fk.ref_table}({', '.join(c for c in fk.ref_columns if c)})"
            found.append((f"drops FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {target}: rows can point at "
                          f"missing {fk.ref_table} from now on",
                          f"declare FOREIGN KEY ({', '.join(m for m in mapped if m)}) REFERENCES {target} "
                          "in the new table", "warning"))
    return found


def _indexes(copy: RebuildCopy, old: Table, new: Table) -> list[Loss]:
    current = [tuple(c.lower() for c in i.columns) for i in new.indexes]
    found: list[Loss] = []
    for index in old.indexes:
        if index.unique or not index.sql:
            continue  # UNIQUE ones are judged above; automatic ones follow their constraint
        mapped = [copy.new_name(c) for c in index.columns]
        if any(m is None for m in mapped):
            continue
        if tuple(m.lower() for m in mapped if m) not in current:
            found.append((f"drops index {index.name} on ({', '.join(index.columns)}): SQLite dropped it with the "
                          "old table and up.sql does not recreate it",
                          f"recreate it after the rename: {index.sql};", "warning"))
    return found


def _triggers(copy: RebuildCopy, ctx: MigrationContext) -> list[Loss]:
    before = ctx.replay.state_before(copy.statements[0])
    after = {t.name.lower() for t in ctx.replay.after.triggers}
    return [(f"drops trigger {t.name}: SQLite dropped it with the old table and up.sql does not recreate it",
             f"recreate it after the rename: {t.sql};", None)
            for t in before.triggers if t.table.lower() == copy.old.name.lower() and t.name.lower() not in after]


def _words(sql: str) -> list[str]:
    return [t.text for t in tokens(sql)]


def _same_value(a: str, b: str, declared: str = "") -> bool:
    """Return True when two DEFAULT texts store the same value in a column declared ``declared``.

    ``false`` and ``FALSE``, ``'x'`` and ``"x"``, ``0`` and ``0.0`` in a REAL column are the same.
    """
    if [t.text.lower() for t in tokens(a)] == [t.text.lower() for t in tokens(b)]:
        return True
    conn = sqlite.memory_copy()
    try:
        column = f"v {declared}" if declared else "v"
        conn.execute(f"CREATE TEMP TABLE lightnb_defaults ({column})")
        conn.execute(f"INSERT INTO lightnb_defaults VALUES (({a})), (({b}))")
        first, second = conn.execute("SELECT v, typeof(v) FROM lightnb_defaults").fetchall()
    except (sqlite.Error, ValueError):
        return False
    finally:
        conn.close()
    return first == second
