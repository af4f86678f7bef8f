"""Read a PostgreSQL catalogue into :mod:`lightnb.catalog` records (the ones SQLite's backend fills).

Every table of the user's schemas (ordinary and partitioned; not ``pg_catalog``,
``information_schema``, temporary or toast schemas, nor objects an extension owns), named bare in
``public`` and ``schema.table`` elsewhere; its columns in order with type (``format_type``), NOT
NULL, default, generation (``GENERATED ALWAYS AS … STORED``) and identity; its primary key, indexes
and foreign keys; the triggers users made and the views. Read from ``pg_catalog`` in one query per
kind, within the connection's current transaction.

print-schema keeps its own reader (:mod:`lightnb.backends.postgres.catalog`): it mirrors diesel's
``information_schema`` queries byte for byte, quirks included.
"""

from __future__ import annotations

from typing import Any

import psycopg

from lightnb.catalog import GENERATED_STORED, VISIBLE, Catalog, Column, ForeignKey, Index, Table, Trigger, View
from lightnb.errors import DatabaseError

_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                 "AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'")
_NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
# The name people read: bare in public, schema.name elsewhere.
_NAME = "CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END"

_TABLES = f"""
SELECT c.oid, {_NAME}, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='c.oid')}
"""
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
       coalesce(array_position(k.conkey, a.attnum), 0)
FROM pg_attribute a
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_constraint k ON k.conrelid = a.attrelid AND k.contype = 'p'
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum
"""
_INDEXES = """
SELECT i.indrelid, c.relname, i.indisunique, i.indpred IS NOT NULL, i.indisprimary, k.contype,
       pg_get_indexdef(i.indexrelid),
       ARRAY(SELECT coalesce(a.attname, '<expr>') FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY
             AS u(attnum, position) LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum
             AND u.attnum <> 0 ORDER BY u.position)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
WHERE i.indrelid = ANY(%s)
"""
_FOREIGN_KEYS = f"""
SELECT k.conrelid, {_NAME},
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, position)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.position),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, position)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.position),
       k.confupdtype, k.confdeltype
FROM pg_constraint k JOIN pg_class c ON c.oid = k.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f' AND k.conrelid = ANY(%s) ORDER BY k.conrelid, k.oid
"""
_TRIGGERS = """
SELECT tgrelid, tgname, pg_get_triggerdef(oid, true) FROM pg_trigger WHERE tgrelid = ANY(%s) AND NOT tgisinternal
"""
_VIEWS = f"""
SELECT {_NAME}, c.relkind, pg_get_viewdef(c.oid, true), quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='c.oid')}
"""
# pg_constraint.confupdtype / confdeltype, worded as SQLite's PRAGMA foreign_key_list words them.
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
IDENTITY = {"a": "ALWAYS", "d": "BY DEFAULT"}


def _rows(conn: psycopg.Connection[Any], query: str, params: Any = None) -> list[tuple[Any, ...]]:
    try:
        return list(conn.execute(query, params).fetchall())
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        raise DatabaseError(f"Cannot read the PostgreSQL catalogue: {reason}; check that the database's user "
                            f"may read pg_catalog.") from error


def _column(row: tuple[Any, ...]) -> Column:
    _oid, name, type_, notnull, default, identity, generated, pk = row
    stored = generated == "s"
    # A generated column's expression is its "default" (pg_attrdef holds both kinds).
    return Column(name, type_, bool(notnull), default, int(pk), GENERATED_STORED if stored else VISIBLE,
                  IDENTITY.get(identity or "", ""))


def _index(table: str, row: tuple[Any, ...]) -> Index:
    _oid, name, unique, partial, primary, constraint, definition, columns = row
    origin = "pk" if primary else "u" if constraint == "u" else "c"
    made_by_constraint = constraint is not None
    return Index(name, table, tuple(columns), bool(unique), bool(partial), origin,
                 None if made_by_constraint else definition)


def read_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """Read the catalogue of the database ``conn`` is connected to.

    :raises DatabaseError: when a catalogue query fails (one line).
    """
    tables = _rows(conn, _TABLES)
    names = {oid: name for oid, name, _ in tables}
    oids = list(names)
    columns: dict[int, list[Column]] = {oid: [] for oid in oids}
    for row in _rows(conn, _COLUMNS, (oids,)):
        columns[row[0]].append(_column(row))
    indexes: dict[int, list[Index]] = {oid: [] for oid in oids}
    for row in _rows(conn, _INDEXES, (oids,)):
        indexes[row[0]].append(_index(names[row[0]], row))
    keys: dict[int, list[ForeignKey]] = {oid: [] for oid in oids}
    for oid, parent, own, referenced, on_update, on_delete in _rows(conn, _FOREIGN_KEYS, (oids,)):
        keys[oid].append(ForeignKey(names[oid], tuple(own), parent, tuple(referenced),
                                    ACTIONS.get(on_update, on_update), ACTIONS.get(on_delete, on_delete)))
    triggers = [Trigger(name, names[oid], sql) for oid, name, sql in _rows(conn, _TRIGGERS, (oids,))]
    views = [View(name, f"CREATE {'MATERIALIZED VIEW' if kind == 'm' else 'VIEW'} {quoted} AS\n{definition}")
             for name, kind, definition, quoted in _rows(conn, _VIEWS)]
    records = [Table(name, "", tuple(columns[oid]), tuple(keys[oid]),
                     tuple(sorted(indexes[oid], key=lambda i: i.name)), rootpage=int(filenode or 0))
               for oid, name, filenode in tables]
    return Catalog(tuple(sorted(records, key=lambda t: t.name)),
                   tuple(sorted(triggers, key=lambda t: (t.name, t.table))),
                   tuple(sorted(views, key=lambda v: v.name)))


__all__ = ["ACTIONS", "IDENTITY", "read_catalog"]
