"""The shape of a PostgreSQL database read from its catalogue, and the differences between two shapes.

What a down.sql must give back: every table of the user's schemas with its columns (type as
``format_type`` prints it, NOT NULL, default, identity, generation, collation), constraints, indexes
and triggers by name and definition (``pg_get_constraintdef``, ``pg_get_indexdef``,
``pg_get_triggerdef``), plus views, sequences, enum and domain types, and functions. Columns are
compared by name; their order is reported apart (PostgreSQL appends a column re-added by
``ALTER TABLE … ADD COLUMN`` at the end of its table: every value can be back, the order not).

Objects that belong to an extension, and diesel's ``__diesel_schema_migrations``, are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from lightnb.runner import TRACKING_TABLE

_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                 "AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'")
_NOT_EXTENSION = ("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')")

_TABLES = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='c.oid')}
"""
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum
"""
_CONSTRAINTS = """
SELECT conrelid, conname, pg_get_constraintdef(oid, true), contype FROM pg_constraint WHERE conrelid = ANY(%s)
"""
_INDEXES = """
SELECT i.indrelid, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
  AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
"""
_TRIGGERS = """
SELECT tgrelid, tgname, pg_get_triggerdef(oid, true) FROM pg_trigger WHERE tgrelid = ANY(%s) AND NOT tgisinternal
"""
_PRIMARY_KEYS = """
SELECT k.conrelid, a.attname FROM pg_constraint k
CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, position)
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
WHERE k.contype = 'p' AND k.conrelid = ANY(%s) ORDER BY k.conrelid, u.position
"""
_OTHERS = f"""
SELECT 'view', n.nspname, c.relname, pg_get_viewdef(c.oid, true) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='c.oid')}
UNION ALL
SELECT 'sequence', n.nspname, c.relname, format_type(s.seqtypid, NULL) || ' increment ' || s.seqincrement
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
  WHERE {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='c.oid')}
UNION ALL
SELECT 'type', n.nspname, t.typname, CASE t.typtype
    WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                               FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
    WHEN 'd' THEN 'domain ' || format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull
                  THEN ' not null' ELSE '' END
    ELSE 'type ' || t.typtype::text END
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE t.typtype IN ('e', 'd', 'r', 'c') AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c
    WHERE c.oid = t.typrelid) = 'c') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='t.oid')}
UNION ALL
SELECT 'function', n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       md5(pg_get_functiondef(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.prokind IN ('f', 'p') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='p.oid')}
UNION ALL
SELECT 'extension', '', e.extname, '' FROM pg_extension e WHERE e.extname <> 'plpgsql'
"""


@dataclass(frozen=True, slots=True)
class ColumnShape:
    """One column: what ``\\d`` would show of it."""

    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str = ""
    generated: str = ""
    collation: str | None = None

    def describe(self) -> str:
        """Return the column as a definition: ``name type NOT NULL DEFAULT x``."""
        parts = [self.name, self.type]
        if self.collation:
            parts.append(f"COLLATE {self.collation}")
        if self.not_null:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(("GENERATED ALWAYS AS " if self.generated else "DEFAULT ") + self.default)
        if self.identity:
            parts.append("GENERATED " + ("ALWAYS" if self.identity == "a" else "BY DEFAULT") + " AS IDENTITY")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TableShape:
    """One table: its columns in order, its primary key, and its other parts by name."""

    name: str
    oid: int
    columns: tuple[ColumnShape, ...]
    primary_key: tuple[str, ...] = ()
    constraints: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> ColumnShape | None:
        """Return the column named ``name``, or None."""
        return next((c for c in self.columns if c.name == name), None)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Return the column names in table order."""
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True, slots=True)
class Shape:
    """The shape of a database: its tables by (qualified) name, and its other objects by kind and name."""

    tables: dict[str, TableShape]
    others: dict[tuple[str, str], str]

    def table(self, name: str) -> TableShape | None:
        """Return the table named ``name`` (``schema.table`` outside ``public``), or None."""
        return self.tables.get(name)


def qualified(schema: str, name: str) -> str:
    """Return the name people read: bare in ``public``, ``schema.name`` elsewhere."""
    return name if schema == "public" else f"{schema}.{name}"


def _user_tables(conn: psycopg.Connection[Any]) -> list[tuple[int, str, str, str]]:
    return [(oid, schema, name, kind) for oid, schema, name, kind in conn.execute(_TABLES).fetchall()
            if qualified(schema, name) != TRACKING_TABLE]


def read_tables(conn: psycopg.Connection[Any]) -> list[tuple[int, str, str, str]]:
    """Return ``(oid, schema, name, relkind)`` of the tables a shape holds (``r`` a table, ``p`` a partitioned
    one), diesel's tracking table left out."""
    return _user_tables(conn)


def read_shape(conn: psycopg.Connection[Any]) -> Shape:
    """Read the shape of the database ``conn`` is connected to (within its current transaction, if any)."""
    tables = [(oid, qualified(schema, name)) for oid, schema, name, _kind in _user_tables(conn)]
    oids = [oid for oid, _ in tables]
    columns: dict[int, list[ColumnShape]] = {oid: [] for oid in oids}
    for oid, name, type_, not_null, default, identity, generated, collation in conn.execute(_COLUMNS, (oids,)):
        columns[oid].append(ColumnShape(name, type_, bool(not_null), default, identity or "", generated or "",
                                        collation))
    parts: dict[str, dict[int, dict[str, str]]] = {"constraints": {}, "indexes": {}, "triggers": {}}
    for kind, query in (("constraints", _CONSTRAINTS), ("indexes", _INDEXES), ("triggers", _TRIGGERS)):
        for row in conn.execute(query, (oids,)):
            parts[kind].setdefault(row[0], {})[row[1]] = row[2]
    keys: dict[int, list[str]] = {}
    for oid, column in conn.execute(_PRIMARY_KEYS, (oids,)):
        keys.setdefault(oid, []).append(column)
    shapes = {name: TableShape(name, oid, tuple(columns[oid]), tuple(keys.get(oid, ())),
                               parts["constraints"].get(oid, {}), parts["indexes"].get(oid, {}),
                               parts["triggers"].get(oid, {})) for oid, name in tables}
    others = {(kind, qualified(schema, name) if schema else name): definition or ""
              for kind, schema, name, definition in conn.execute(_OTHERS)}
    return Shape(dict(sorted(shapes.items())), dict(sorted(others.items())))


@dataclass(frozen=True, slots=True)
class ShapeDifferences:
    """What differs between two shapes: real differences, and column orders alone (one line each)."""

    real: tuple[str, ...]
    order: tuple[str, ...]

    @property
    def equal(self) -> bool:
        """True when nothing differs, column order included."""
        return not self.real and not self.order


def _named(kind: str, table: str, before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if new is None:
            lines.append(f"{table}: {kind} {name} is gone ({old})")
        elif old is None:
            lines.append(f"{table}: {kind} {name} was added ({new})")
        else:
            lines.append(f"{table}: {kind} {name} changed from {old} to {new}")
    return lines


def compare_shapes(before: Shape, after: Shape) -> ShapeDifferences:
    """Return what differs from ``before`` to ``after``; columns by name, their order apart."""
    real: list[str] = []
    order: list[str] = []
    for name in sorted(before.tables.keys() | after.tables.keys()):
        old, new = before.tables.get(name), after.tables.get(name)
        if new is None:
            real.append(f"table {name} is gone")
            continue
        if old is None:
            real.append(f"table {name} was added")
            continue
        for column in old.columns:
            other = new.column(column.name)
            if other is None:
                real.append(f"{name}: column {column.name} is gone ({column.describe()})")
            elif other != column:
                real.append(f"{name}: column {column.name} changed from {column.describe()} to {other.describe()}")
        real += [f"{name}: column {c.name} was added ({c.describe()})" for c in new.columns
                 if old.column(c.name) is None]
        if old.primary_key != new.primary_key:
            real.append(f"{name}: primary key changed from ({', '.join(old.primary_key)}) to "
                        f"({', '.join(new.primary_key)})")
        real += _named("constraint", name, old.constraints, new.constraints)
        real += _named("index", name, old.indexes, new.indexes)
        real += _named("trigger", name, old.triggers, new.triggers)
        common = set(old.column_names) & set(new.column_names)
        old_order = [c for c in old.column_names if c in common]
        new_order = [c for c in new.column_names if c in common]
        if old_order != new_order:
            order.append(f"{name}: columns were ({', '.join(old_order)}), now ({', '.join(new_order)})")
    for key in sorted(before.others.keys() | after.others.keys()):
        kind, name = key
        old_def, new_def = before.others.get(key), after.others.get(key)
        if old_def == new_def:
            continue
        if new_def is None:
            real.append(f"{kind} {name} is gone")
        elif old_def is None:
            real.append(f"{kind} {name} was added")
        else:
            real.append(f"{kind} {name} changed" + ("" if kind == "function" else f" from {old_def} to {new_def}"))
    return ShapeDifferences(tuple(real), tuple(order))
