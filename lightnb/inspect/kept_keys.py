"""The tables in which some statements may have made a row violate a foreign key, and only those.

``PRAGMA foreign_key_check`` of a table reads every row of it and looks its parent up: on a large table, as long as
the migration itself. A row can only come to violate one of its table's keys when its table gained rows, or
changed the columns of the key, or when the parent lost rows or changed the columns the key refers to, or when
either definition changed (a table made, dropped, rebuilt, renamed, an index made or dropped). What the statements
may have done is what SQLite's authorizer saw them prepare (:mod:`lightnb.backends.sqlite.writes`: the statements,
the triggers they fired, their foreign-key actions, an UPDATE naming each column it sets); what they certainly did
not do is everything else. So a migration that adds a column and fills it (``ALTER TABLE t ADD COLUMN c ...``
without ``REFERENCES``, ``UPDATE t SET c = ...``) checks no key at all.

Whenever anything is uncertain, every table the caller would have checked is checked: writes that cannot be
followed (a rollback, ``PRAGMA writable_schema``, a virtual table), an ``ALTER TABLE`` other than a plain
``ADD COLUMN`` (or one that cannot be read), a rowid set by name (``UPDATE t SET rowid = ...`` may move every key on
the rowid), a generated column in either table (its value follows columns the UPDATE names), and the REPLACE
conflict resolution anywhere (it deletes the parent rows in an INSERT's or UPDATE's way, unseen by the authorizer).
"""

from __future__ import annotations

from collections.abc import Sequence

from lightnb.backends import sqlite
from lightnb.catalog import VISIBLE, Catalog, Table
from lightnb.inspect.flows import ROWID_NAMES
from lightnb.inspect.kept_counts import replaces
from lightnb.inspect.parsed import parse_statement


def key_suspects(writes: sqlite.Writes | None, catalogs: Sequence[Catalog], ran: Sequence[str]
                 ) -> frozenset[str] | None:
    """Return the tables (lower-case names) in which the statements ``ran`` may have made rows violate a foreign
    key, or None when any may have (see the module docstring).

    :param writes: what the authorizer saw the statements prepare (None: not followed, so anything).
    :param catalogs: the schema before and after them (every key of either is looked at; their definitions are
        read for REPLACE: a table's ``ON CONFLICT REPLACE``, a trigger's ``OR REPLACE``).
    :param ran: their SQL text.
    """
    if writes is None or writes.anything:
        return None
    done = writes.rows_and_shapes()
    inserted, deleted, reshaped, altered, updated = done.inserted, done.deleted, done.reshaped, done.altered, \
        done.updated
    if altered:  # a column added without REFERENCES keeps every key; any other ALTER (a rename, say): check all
        plain = columns_only_added_to(ran)
        if plain is None or altered - plain:
            return None
    definitions = [t.sql for catalog in catalogs for t in catalog.tables] + \
        [t.sql for catalog in catalogs for t in catalog.triggers]
    if any(replaces(text) for text in (*ran, *definitions) if text):
        return None
    tables: dict[str, Table] = {}
    for catalog in catalogs:
        for table in catalog.tables:
            tables.setdefault(table.name.lower(), table)
    suspects: set[str] = set()
    for child in tables.values():
        for key in child.foreign_keys:
            parent = tables.get(key.ref_table.lower())
            c, p = child.name.lower(), key.ref_table.lower()
            if c in inserted or c in reshaped or p in deleted or p in reshaped or parent is None or \
                    _sets(updated.get(c), child, key.columns) or \
                    _sets(updated.get(p), parent, _referenced(key, parent)):
                suspects.add(c)
    return frozenset(suspects)


def _referenced(key: object, parent: Table) -> tuple[str, ...] | None:
    """The parent's columns ``key`` refers to (its primary key where the key names none); None when unknown."""
    named = getattr(key, "ref_columns", ())
    if named and all(name is not None for name in named):
        return tuple(str(name) for name in named)
    primary = tuple(c.name for c in sorted((c for c in parent.columns if c.pk), key=lambda c: c.pk))
    return primary or None


def _sets(columns_set: frozenset[str] | None, table: Table, columns: Sequence[str] | None) -> bool:
    """Whether an UPDATE that set ``columns_set`` of ``table`` may have changed any of ``columns``."""
    if not columns_set:
        return False
    if columns is None or columns_set & set(ROWID_NAMES):
        return True  # keys it cannot name, or the rowid (which an INTEGER PRIMARY KEY column is)
    if any(c.hidden != VISIBLE for c in table.columns):
        return True  # a generated column follows columns the UPDATE names: every column may have changed
    return bool(columns_set & {c.lower() for c in columns})


def columns_only_added_to(ran: Sequence[str], *, references: bool = False) -> frozenset[str] | None:
    """The tables (lower-case) that every ``ALTER TABLE`` of ``ran`` only adds columns to (without ``REFERENCES``,
    unless ``references``); an ALTER of any other kind leaves its table out. None when an ALTER cannot be read."""
    plain: set[str] = set()
    other: set[str] = set()
    for text in ran:
        if "alter" not in text.lower():
            continue
        for statement in sqlite.split(text):
            if not statement.text.lstrip().lower().startswith("alter"):
                continue
            target = _added_column_table(parse_statement(statement.text), references)
            if target is None:
                return None
            table, only_added = target
            (plain if only_added else other).add(table.lower())
    return frozenset(plain - other)


def _added_column_table(tree: object, references: bool) -> tuple[str, bool] | None:
    """``(table, whether the ALTER only adds columns, without REFERENCES unless allowed)``; None when it cannot be
    read."""
    from sqlglot import exp

    if not isinstance(tree, exp.Alter) or not isinstance(tree.this, exp.Table) or not tree.this.name:
        return None
    actions = tree.args.get("actions") or []
    only_added = bool(actions) and all(isinstance(a, exp.ColumnDef) and (references or (
        a.find(exp.Reference) is None and a.find(exp.ForeignKey) is None)) for a in actions)
    return tree.this.name, only_added


__all__ = ["columns_only_added_to", "key_suspects"]
