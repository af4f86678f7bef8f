"""Compare two snapshots' schemas: what was added, removed, changed, renamed, rebuilt.

Renames are guessed, and the output says so. A table renamed by ALTER TABLE keeps
its storage (same ``rootpage``) and its columns; failing that, a removed and an
added table with the same columns are paired. A removed and an added column with the
same definition at the same position are paired as a column rename.
A rebuild (the 12-step "create new, copy, drop, rename" dance) keeps the table name
but moves it to new storage, so it shows as a changed rootpage.

Definitions are compared by their parsed structure (:mod:`lightnb.inspect.definition`):
spellings SQLite stores and enforces alike (``TEXT NULL`` and ``TEXT``, ``REAL`` and ``FLOAT``,
keyword case, whitespace in a partial index's WHERE, ``'x'`` and ``"x"``, ``DEFAULT NULL``) are no
change, and a real change is said in words. Columns are matched by name; a different order of
the same columns is its own change (``column_order``): schema.rs lists columns in table order,
so a ``Queryable`` struct loaded by position no longer matches.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lightnb.catalog import Column
from lightnb.inspect.definition import (
    default_key,
    expression_key,
    index_changes,
    index_definition,
    same_type,
    table_definition_changes,
    type_change,
)
from lightnb.inspect.snapshot import Snapshot, TableSnapshot

if TYPE_CHECKING:
    import pandas as pd

_KIND_ORDER = ("table", "column", "column_order", "check", "index", "foreign_key", "trigger", "view")


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One schema difference.

    :param kind: table, column, column_order (the same columns in another order), check (a CHECK
        constraint), index, foreign_key, trigger or view.
    :param action: added, removed, changed, renamed or rebuilt.
    :param table: the table concerned (after-name when renamed; the view name for views).
    :param name: the object's name (column, index, trigger …; the table name for tables).
    :param detail: what exactly differs, for people.
    :param old_name: the previous name for a rename.
    :param heuristic: True when the pairing was guessed from similarity.
    """

    kind: str
    action: str
    table: str
    name: str
    detail: str = ""
    old_name: str | None = None
    heuristic: bool = False

    def to_text(self) -> str:
        """Describe the change in one line."""
        what = self.kind.replace("_", " ")
        if self.kind == "column_order":
            return f"column order changed: {self.table} ({self.detail})"
        where = f"{self.table}.{self.name}" if self.kind == "column" else self.name
        if self.kind in ("index", "foreign_key", "trigger", "check") and self.table:
            where = f"{self.name} on {self.table}"
        if self.action == "renamed":
            old = f"{self.table}.{self.old_name}" if self.kind == "column" else self.old_name
            text = f"{what} renamed: {old} -> {where}"
        else:
            text = f"{what} {self.action}: {where}"
        if self.detail:
            text += f" ({self.detail})"
        if self.heuristic:
            text += " [heuristic: guessed from matching definitions]"
        return text


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """Every schema difference between two snapshots, tables first."""

    changes: tuple[SchemaChange, ...]
    before_label: str = ""
    after_label: str = ""

    def __bool__(self) -> bool:
        return bool(self.changes)

    def of(self, *, kind: str | None = None, action: str | None = None,
           table: str | None = None) -> list[SchemaChange]:
        """Filter the changes by kind, action and table (case-insensitive table)."""
        return [c for c in self.changes if (kind is None or c.kind == kind)
                and (action is None or c.action == action)
                and (table is None or c.table.lower() == table.lower())]

    @property
    def table_renames(self) -> dict[str, str]:
        """Map old table name -> new table name."""
        return {c.old_name: c.name for c in self.of(kind="table", action="renamed") if c.old_name}

    def column_renames(self, table: str) -> dict[str, str]:
        """Map old column name -> new column name for ``table`` (after-name)."""
        return {c.old_name: c.name for c in self.of(kind="column", action="renamed", table=table)
                if c.old_name}

    def to_frame(self) -> pd.DataFrame:
        """Return one row per change."""
        import pandas as pd

        cols = ["kind", "action", "table", "name", "old_name", "detail", "heuristic"]
        return pd.DataFrame([{k: getattr(c, k) for k in cols} for c in self.changes], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready list of changes, plus counts per action."""
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action] = counts.get(c.action, 0) + 1
        return {"changes": [{"kind": c.kind, "action": c.action, "table": c.table, "name": c.name,
                             "old_name": c.old_name, "detail": c.detail, "heuristic": c.heuristic}
                            for c in self.changes], "counts": counts}

    def to_text(self) -> str:
        """Return a readable list, one change per line."""
        if not self.changes:
            return "Schema: no changes."
        return "\n".join(["Schema:"] + ["  " + c.to_text() for c in self.changes])


def schema_diff(before: Snapshot, after: Snapshot) -> SchemaDiff:
    """Compare the schemas of two snapshots.

    :param before: the earlier snapshot.
    :param after: the later snapshot.
    """
    changes: list[SchemaChange] = []
    postgres = "postgres" in (before.dialect, after.dialect)  # types and defaults as PostgreSQL prints them
    pairs = _pair_tables(before, after, changes)
    layout_comparable = _rootpages_comparable(pairs)
    for old, new in pairs:
        changes.extend(_table_changes(old, new, layout_comparable, postgres))
        changes.extend(_column_changes(old, new, postgres))
        changes.extend(_column_order_changes(old, new))
        changes.extend(_foreign_key_changes(old, new))
        changes.extend(_check_changes(old, new))
    renamed = {o.name.lower(): n.name for o, n in pairs}
    changes.extend(_index_changes(before, after, renamed))
    changes.extend(_named_changes("trigger", before.triggers, after.triggers, renamed))
    changes.extend(_named_changes("view", before.views, after.views, renamed))
    changes.sort(key=lambda c: (_KIND_ORDER.index(c.kind), c.table.lower(), c.name.lower()))
    return SchemaDiff(tuple(changes), before.label, after.label)


def _signature(t: TableSnapshot) -> tuple:
    from lightnb.inspect.definition import affinity, diesel_type
    return tuple((c.name.lower(), affinity(c.type), diesel_type(c.type), c.notnull, c.pk) for c in t.columns)


def _pair_tables(before: Snapshot, after: Snapshot,
                 changes: list[SchemaChange]) -> list[tuple[TableSnapshot, TableSnapshot]]:
    pairs = [(t, new) for t in before.tables if (new := after.table(t.name))]
    removed = [t for t in before.tables if not after.table(t.name)]
    added = [t for t in after.tables if not before.table(t.name)]
    # Same storage alone is not proof (a dropped table's pages are reused by the next
    # CREATE), so a storage match also needs most columns in common.
    # Every rename is a guess (two unrelated files can share rootpages), flagged as such.
    for matcher, detail in ((lambda a, b: a.rootpage == b.rootpage > 0 and _overlap(a, b) >= 0.75,
                             "same storage and columns"),
                            (lambda a, b: _signature(a) == _signature(b), "same columns")):
        for old in list(removed):
            match = next((new for new in added if matcher(old, new)), None)
            if match is not None:
                removed.remove(old)
                added.remove(match)
                pairs.append((old, match))
                changes.append(SchemaChange("table", "renamed", match.name, match.name, old_name=old.name,
                                            detail=detail, heuristic=True))
    for t in removed:
        changes.append(SchemaChange("table", "removed", t.name, t.name, f"{t.row_count} row(s)"))
    for t in added:
        changes.append(SchemaChange("table", "added", t.name, t.name, f"{len(t.columns)} column(s)"))
    return pairs


def _overlap(a: TableSnapshot, b: TableSnapshot) -> float:
    names_a = {c.name.lower() for c in a.columns}
    names_b = {c.name.lower() for c in b.columns}
    return len(names_a & names_b) / max(len(names_a | names_b), 1)


def _rootpages_comparable(pairs: list[tuple[TableSnapshot, TableSnapshot]]) -> bool:
    # A VACUUMed or independently built file renumbers every table: then a moved
    # rootpage says nothing about one table.
    if len(pairs) < 3:
        return True
    return any(o.rootpage == n.rootpage for o, n in pairs)


def _table_changes(old: TableSnapshot, new: TableSnapshot, layout_comparable: bool,
                   postgres: bool = False) -> list[SchemaChange]:
    out = []
    if layout_comparable and old.rootpage and new.rootpage and old.rootpage != new.rootpage \
            and old.name.lower() == new.name.lower():
        out.append(SchemaChange("table", "rebuilt", new.name, new.name,
                                REWRITTEN if postgres else "dropped and created again (new storage)"))
    if old.without_rowid != new.without_rowid:
        out.append(SchemaChange("table", "changed", new.name, new.name,
                                "WITHOUT ROWID " + ("added" if new.without_rowid else "removed")))
    if tuple(k.lower() for k in old.primary_key) != tuple(k.lower() for k in new.primary_key):
        out.append(SchemaChange("table", "changed", new.name, new.name,
                                f"primary key ({', '.join(old.primary_key) or 'rowid'}) -> "
                                f"({', '.join(new.primary_key) or 'rowid'})"))
    for detail in table_definition_changes(old.sql, new.sql, old.column_names, new.column_names):
        out.append(SchemaChange("table", "changed", new.name, new.name, detail))
    return out


def _column_order_changes(old: TableSnapshot, new: TableSnapshot) -> list[SchemaChange]:
    """The same columns in another order: schema.rs changes and a positional Queryable breaks."""
    renames = {o.lower(): n.lower() for o, n in column_renames_between(old, new).items()}
    new_names = {c.name.lower() for c in new.columns}
    before = [renames.get(c.name.lower(), c.name.lower()) for c in old.columns]
    before = [c for c in before if c in new_names]
    common = set(before)
    after = [c.name.lower() for c in new.columns if c.name.lower() in common]
    if before == after:
        return []
    spelled = {c.name.lower(): c.name for c in new.columns}
    was = ", ".join(spelled[c] for c in before)
    now = ", ".join(spelled[c] for c in after)
    return [SchemaChange("column_order", "changed", new.name, new.name,
                         f"was ({was}), now ({now}): schema.rs lists the columns in the new order, so a "
                         f"Queryable struct loaded by position no longer matches")]


def column_renames_between(old: TableSnapshot, new: TableSnapshot, *, postgres: bool = False) -> dict[str, str]:
    """Return the columns of ``old`` renamed in ``new`` (old name -> new name), guessed as the schema diff does."""
    return {c.old_name: c.name for c in _column_changes(old, new, postgres) if c.action == "renamed" and c.old_name}


REWRITTEN = "rewritten: every row written anew (new storage)"  # a PostgreSQL table whose relfilenode changed


def _column_changes(old: TableSnapshot, new: TableSnapshot, postgres: bool = False) -> list[SchemaChange]:
    out: list[SchemaChange] = []
    old_cols = {c.name.lower(): (i, c) for i, c in enumerate(old.columns)}
    new_cols = {c.name.lower(): (i, c) for i, c in enumerate(new.columns)}
    removed = [old_cols[k] for k in old_cols if k not in new_cols]
    added = [new_cols[k] for k in new_cols if k not in old_cols]
    for i, col in list(removed):
        match = next(((j, c) for j, c in added if j == i and _same_definition(col, c, postgres)), None)
        if match is not None:
            removed.remove((i, col))
            added.remove(match)
            out.append(SchemaChange("column", "renamed", new.name, match[1].name, old_name=col.name,
                                    detail=_describe(match[1], postgres), heuristic=True))
    out += [SchemaChange("column", "removed", new.name, c.name, _describe(c, postgres)) for _i, c in removed]
    out += [SchemaChange("column", "added", new.name, c.name, _describe(c, postgres)) for _i, c in added]
    for key, (_i, before_col) in old_cols.items():
        if key in new_cols:
            diffs = (_postgres_differences if postgres else _column_differences)(before_col, new_cols[key][1])
            if diffs:
                out.append(SchemaChange("column", "changed", new.name, new_cols[key][1].name, "; ".join(diffs)))
    return out


def _same_definition(a: Column, b: Column, postgres: bool = False) -> bool:
    if postgres:
        return not _postgres_differences(a, b)
    return same_type(a.type, b.type) and (a.notnull, bool(a.pk)) == (b.notnull, bool(b.pk)) \
        and default_key(a.default, a.type) == default_key(b.default, b.type)


def _describe(c: Column, postgres: bool = False) -> str:
    parts = [c.type or "no type"]
    if c.notnull:
        parts.append("NOT NULL")
    if (c.default is not None) if postgres else (default_key(c.default, c.type) is not None):
        parts.append(f"DEFAULT {c.default}")
    if c.pk:
        parts.append("PRIMARY KEY")
    return " ".join(parts)


def _postgres_differences(a: Column, b: Column) -> list[str]:
    """Differences of two PostgreSQL columns as its catalogue prints them (``format_type``, ``pg_get_expr``)."""
    diffs = []
    if " ".join(a.type.split()) != " ".join(b.type.split()):
        diffs.append(f"type {a.type} -> {b.type}")
    if a.notnull != b.notnull:
        diffs.append("NOT NULL " + ("added" if b.notnull else "removed"))
    if a.default != b.default:
        if b.default is None:
            diffs.append(f"DEFAULT {a.default} removed")
        elif a.default is None:
            diffs.append(f"DEFAULT {b.default} added")
        else:
            diffs.append(f"default {a.default} -> {b.default}")
    if bool(a.pk) != bool(b.pk):
        diffs.append("primary key " + ("added" if b.pk else "removed"))
    if a.identity != b.identity:
        diffs.append(f"identity {a.identity or 'none'} -> {b.identity or 'none'}")
    return diffs


def _column_differences(a: Column, b: Column) -> list[str]:
    diffs = []
    if not same_type(a.type, b.type):
        diffs.append(type_change(a.type, b.type))
    if a.notnull != b.notnull:
        diffs.append("NOT NULL " + ("added" if b.notnull else "removed"))
    before, after = default_key(a.default, a.type), default_key(b.default, b.type)
    if before != after:
        if after is None:
            diffs.append(f"DEFAULT {a.default} removed")
        elif before is None:
            diffs.append(f"DEFAULT {b.default} added")
        else:
            diffs.append(f"default {a.default} -> {b.default}")
    if bool(a.pk) != bool(b.pk):
        diffs.append("primary key " + ("added" if b.pk else "removed"))
    return diffs


def _check_changes(old: TableSnapshot, new: TableSnapshot) -> list[SchemaChange]:
    """CHECK constraints added or removed (compared by their expression, as SQLite stores the table's SQL)."""
    if old.sql == new.sql:
        return []  # the same definition: the same constraints (no parse needed)
    before, after = _checks(old.sql), _checks(new.sql)
    if before is None or after is None:
        return []  # a definition sqlglot cannot read: say nothing rather than guess
    # compared by meaning ('x' and "x", case, spacing), shown as written
    old_keys = {expression_key(c, old.column_names): c for c in before}
    new_keys = {expression_key(c, new.column_names): c for c in after}
    out = [SchemaChange("check", "removed", new.name, f"CHECK ({c})") for k, c in old_keys.items() if k not in new_keys]
    out += [SchemaChange("check", "added", new.name, f"CHECK ({c})") for k, c in new_keys.items() if k not in old_keys]
    return out


def _checks(sql: str) -> list[str] | None:
    """Return the CHECK expressions of a CREATE TABLE statement (normalised by sqlglot), or None."""
    if not sql or "check" not in sql.lower():
        return []  # no CHECK keyword, no CHECK constraint
    found = _parsed_checks(sql)
    return None if found is None else list(found)


@functools.lru_cache(maxsize=256)
def _parsed_checks(sql: str) -> tuple[str, ...] | None:
    """The CHECK expressions of one definition, parsed once per process (snapshots repeat definitions)."""
    import sqlglot
    from sqlglot import exp
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (sqlglot.errors.ParseError, RecursionError):
        return None
    return tuple(sorted(c.this.sql(dialect="sqlite") for c in tree.find_all(exp.CheckColumnConstraint)))


def _fk_key(fk: Any) -> tuple:
    return (tuple(c.lower() for c in fk.columns), fk.ref_table.lower(),
            tuple((c or "").lower() for c in fk.ref_columns))


def _foreign_key_changes(old: TableSnapshot, new: TableSnapshot) -> list[SchemaChange]:
    before = {_fk_key(f): f for f in old.foreign_keys}
    after = {_fk_key(f): f for f in new.foreign_keys}
    out = []
    for key, fk in after.items():
        label = f"({', '.join(fk.columns)}) -> {fk.ref_table}({', '.join(c or '' for c in fk.ref_columns)})"
        if key not in before:
            out.append(SchemaChange("foreign_key", "added", new.name, label))
        elif (before[key].on_update, before[key].on_delete) != (fk.on_update, fk.on_delete):
            out.append(SchemaChange("foreign_key", "changed", new.name, label,
                                    f"ON UPDATE {before[key].on_update} ON DELETE {before[key].on_delete} -> "
                                    f"ON UPDATE {fk.on_update} ON DELETE {fk.on_delete}"))
    for key, fk in before.items():
        if key not in after:
            label = f"({', '.join(fk.columns)}) -> {fk.ref_table}({', '.join(c or '' for c in fk.ref_columns)})"
            out.append(SchemaChange("foreign_key", "removed", new.name, label))
    return out


def _index_changes(before: Snapshot, after: Snapshot, renamed: dict[str, str]) -> list[SchemaChange]:
    # Automatic indexes (UNIQUE / PRIMARY KEY constraints) are named by position;
    # compare them by table and definition instead of by name.
    def key(ix: Any, table: str) -> tuple:
        name = ix.name.lower() if ix.origin == "c" else ""
        return (table.lower(), name, tuple(c.lower() for c in ix.columns) if ix.origin != "c" else ())

    old = {key(ix, renamed.get(ix.table.lower(), ix.table)): ix for ix in before.indexes}
    new = {key(ix, ix.table): ix for ix in after.indexes}
    out = []
    for k, ix in new.items():
        label = _index_label(ix)
        if k not in old:
            out.append(SchemaChange("index", "added", ix.table, label, _index_detail(ix)))
            continue
        was = _definition(old[k], before, renamed.get(old[k].table.lower(), old[k].table))
        now = _definition(ix, after, ix.table)
        words = index_changes(was, now)
        if words:
            out.append(SchemaChange("index", "changed", ix.table, label, "; ".join(words)))
    for k, ix in old.items():
        if k not in new:
            label = _index_label(ix)
            out.append(SchemaChange("index", "removed", renamed.get(ix.table.lower(), ix.table), label,
                                    _index_detail(ix)))
    return out


def _definition(ix: Any, snapshot: Snapshot, table: str) -> Any:
    info = snapshot.table(ix.table) or snapshot.table(table)
    return index_definition(ix.sql, ix.columns, ix.unique, info.column_names if info else ())


def _index_detail(ix: Any) -> str:
    """``UNIQUE a, b; partial`` — shown in the change's own parentheses."""
    text = ("UNIQUE " if ix.unique else "") + ", ".join(ix.columns)
    return text + "; partial" if ix.partial else text


def _index_label(ix: Any) -> str:
    """A named index by its name; a constraint's automatic index by what it enforces."""
    if ix.origin == "c":
        return str(ix.name)
    return f"{'PRIMARY KEY' if ix.origin == 'pk' else 'UNIQUE'} ({', '.join(ix.columns)})"


def _named_changes(kind: str, before: Iterable[Any], after: Iterable[Any],
                   renamed: dict[str, str]) -> list[SchemaChange]:
    def table_of(o: Any) -> str:
        return getattr(o, "table", o.name)  # indexes and triggers carry a table; tables are their own
    old = {o.name.lower(): o for o in before}
    new = {o.name.lower(): o for o in after}
    out = []
    for k, o in new.items():
        if k not in old:
            out.append(SchemaChange(kind, "added", table_of(o), o.name))
        elif expression_key(old[k].sql) != expression_key(o.sql):
            out.append(SchemaChange(kind, "changed", table_of(o), o.name, "definition changed"))
    for k, o in old.items():
        if k not in new:
            out.append(SchemaChange(kind, "removed", renamed.get(table_of(o).lower(), table_of(o)), o.name))
    return out
