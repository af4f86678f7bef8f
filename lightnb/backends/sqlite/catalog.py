"""Read SQLite's catalogue into :mod:`lightnb.catalog` records: the one reader of ``sqlite_master``.

Set-wise: one query per kind of record for every table at once (``sqlite_master`` joined with the
table-valued pragmas ``table_xinfo``, ``foreign_key_list``, ``index_list``/``index_xinfo`` and
``table_list``), so a database with hundreds of tables costs a handful of queries.

SQLite's own tables (``sqlite_*``) are left out; everything else is read, virtual tables and
migration bookkeeping included (:attr:`lightnb.catalog.Catalog.user_tables` leaves the latter out).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from lightnb.backends.sqlite.connection import has_table, quote
from lightnb.catalog import HIDDEN, Catalog, Column, ForeignKey, Index, Table, Trigger, View
from lightnb.errors import DatabaseError, with_advice

# Tables, pragmas and sqlite_master rows of one schema (``main`` or an attached alias); ``{where}``
# chooses the tables: all of them, or one (when a virtual table's module is missing, see _per_table).
_NOT_INTERNAL = "m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
_OBJECTS = ("SELECT m.type, m.name, m.tbl_name, m.sql, m.rootpage FROM {s}.sqlite_master AS m "
            "WHERE m.type IN ('table', 'trigger', 'view') AND (m.type != 'table' OR " + _NOT_INTERNAL + ")")
_COLUMNS = ('SELECT m.name, x.name, x.type, x."notnull", x.dflt_value, x.pk, x.hidden '
            "FROM {s}.sqlite_master AS m JOIN pragma_table_xinfo(m.name, {schema}) AS x "
            "WHERE m.type = 'table' AND {where} ORDER BY m.name, x.cid")
_FOREIGN_KEYS = ('SELECT m.name, f.id, f."table", f."from", f."to", f.on_update, f.on_delete '
                 "FROM {s}.sqlite_master AS m JOIN pragma_foreign_key_list(m.name, {schema}) AS f "
                 "WHERE m.type = 'table' AND {where} ORDER BY m.name, f.id, f.seq")
_INDEXES = ('SELECT m.name, i.name, i."unique", i.origin, i.partial, x.name, s.sql '
            "FROM {s}.sqlite_master AS m JOIN pragma_index_list(m.name, {schema}) AS i "
            "JOIN pragma_index_xinfo(i.name, {schema}) AS x "
            "LEFT JOIN {s}.sqlite_master AS s ON s.type = 'index' AND s.name = i.name "
            "WHERE m.type = 'table' AND {where} AND x.key ORDER BY m.name, i.name, x.seqno")
_WITHOUT_ROWID = "SELECT name FROM pragma_table_list WHERE schema = ? AND wr"
_DEFINITIONS = ("SELECT m.type, m.name, m.sql FROM {s}.sqlite_master AS m WHERE m.sql IS NOT NULL AND "
                + _NOT_INTERNAL + " ORDER BY m.rowid")
_ROOTS = "SELECT m.type, m.name, m.rootpage, m.sql FROM {s}.sqlite_master AS m WHERE m.rootpage > 0"
_TABLE_LIST_SINCE = (3, 37, 0)
# One object by name, ignoring ASCII case as SQLite's own name resolution does (SQLite's tables included).
_FIND = ("SELECT m.type, m.name, m.sql FROM {s}.sqlite_master AS m "
         "WHERE m.name = ? COLLATE NOCASE AND m.type IN ({kinds})")
_ONE_TABLE = ("SELECT m.type, m.name, m.tbl_name, m.sql, m.rootpage FROM {s}.sqlite_master AS m "
              "WHERE m.type = 'table' AND m.name = ?")
_WITHOUT_ROWID_ONE = "SELECT name FROM pragma_table_list(?) WHERE schema = ? AND wr"

# The names of SQLite's catalogue table: it describes the schema and holds no rows of the user's.
CATALOGUE_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})


def read_catalog(conn: sqlite3.Connection, schema: str = "main") -> Catalog:
    """Read the catalogue of ``conn``'s ``schema`` database (``main``, or an attached alias).

    Nothing is written through ``conn``. A virtual table whose module this SQLite lacks is read
    without columns, and says why in :attr:`lightnb.catalog.Table.unreadable`.

    :raises DatabaseError: when the catalogue cannot be read (not a database, say).
    """
    try:
        return _read(conn, schema)
    except sqlite3.Error as error:
        raise DatabaseError(with_advice(f"Cannot read the schema of the database: {error}",
                                        "check that it is a readable SQLite file")) from error


def read_columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> tuple[Column, ...]:
    """Return the columns ``SELECT *`` shows of one table (any spelling SQLite accepts), in table order.

    :raises sqlite3.Error: when the table's definition cannot be read.
    """
    rows = conn.execute(f"PRAGMA {quote(schema)}.table_xinfo({quote(table)})").fetchall()
    return tuple(Column(r[1], r[2] or "", bool(r[3]), r[4], r[5], r[6]) for r in rows if r[6] != HIDDEN)


def read_definitions(conn: sqlite3.Connection, schema: str = "main") -> list[tuple[str, str, str]]:
    """Return ``(type, name, CREATE statement)`` of every schema object, in the order they were created.

    Replaying the statements in this order rebuilds the schema (a view after its tables, an index
    after its table). SQLite's own objects and automatic indexes (which have no SQL) are left out.

    :raises sqlite3.Error: when the catalogue cannot be read.
    """
    return [(kind, name, sql) for kind, name, sql in conn.execute(_DEFINITIONS.format(s=quote(schema)))]


def read_roots(conn: sqlite3.Connection, schema: str = "main") -> list[tuple[str, str, int, str]]:
    """Return ``(type, name, root page, CREATE statement)`` of every object stored in a b-tree of its own
    (tables and indexes, SQLite's own included; the statement is '' for an automatic index).

    :raises sqlite3.Error: when the catalogue cannot be read.
    """
    rows = conn.execute(_ROOTS.format(s=quote(schema)))
    return [(kind, name, int(root), sql or "") for kind, name, root, sql in rows]


def state_identity(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """What must be the same, to the letter, for two states with the same rows to be the same state:
    every definition as written (SQLite's own included), the AUTOINCREMENT counters, the user version."""
    schema = sorted(conn.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master").fetchall())
    counters = sorted(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()) \
        if any(row[1] == "sqlite_sequence" for row in schema) else []
    return tuple(schema), tuple(counters), conn.execute("PRAGMA user_version").fetchone()[0]


def find_object(conn: sqlite3.Connection, name: str, kinds: tuple[str, ...] = ("table", "view"),
                schema: str = "main") -> tuple[str, str, str] | None:
    """Return ``(type, name, CREATE statement)`` of the object of ``kinds`` called ``name``, or None.

    Names compare as SQLite resolves them in SQL (ASCII letters without regard to case), so the
    answer gives the catalogue's own spelling; SQLite's own tables (``sqlite_sequence``) count too.
    The statement is ``""`` where the catalogue keeps none. A cheap question: one indexed lookup.

    :raises sqlite3.Error: when the catalogue cannot be read.
    """
    marks = ", ".join("?" for _ in kinds)
    row = conn.execute(_FIND.format(s=quote(schema), kinds=marks), (name, *kinds)).fetchone()
    return (row[0], row[1], row[2] or "") if row is not None else None


def read_table(conn: sqlite3.Connection, name: str, schema: str = "main") -> Table | None:
    """Read one table's record (columns, keys, indexes), ``name`` compared as SQLite resolves it; None when
    ``schema`` has no such table. A handful of queries on that table alone, whatever the schema's size.

    :raises sqlite3.Error: when the catalogue cannot be read.
    """
    found = find_object(conn, name, ("table",), schema)
    if found is None:
        return None
    return _read(conn, schema, only=found[1]).tables[0]


def _read(conn: sqlite3.Connection, schema: str, only: str | None = None) -> Catalog:
    """Read every object of ``schema``, or the table called exactly ``only`` alone."""
    s, literal = quote(schema), "'" + schema.replace("'", "''") + "'"
    if only is None:
        objects = conn.execute(_OBJECTS.format(s=s)).fetchall()
    else:
        objects = conn.execute(_ONE_TABLE.format(s=s), (only,)).fetchall()
    names = [name for kind, name, *_ in objects if kind == "table"]
    unreadable: dict[str, str] = {}
    every = only is None

    def rows(query: str) -> list[Any]:
        return _per_table(conn, query.format(s=s, schema=literal, where="{where}"), names, unreadable, every=every)

    columns = _grouped(rows(_COLUMNS))
    keys = _foreign_keys(rows(_FOREIGN_KEYS))
    indexes = _indexes(rows(_INDEXES))
    without_rowid = _without_rowid(conn, schema, names, every=every)
    tables, triggers, views = [], [], []
    for kind, name, table, sql, rootpage in sorted(objects, key=lambda row: row[1]):
        if kind == "trigger":
            triggers.append(Trigger(name, table, sql or ""))
        elif kind == "view":
            views.append(View(name, sql or ""))
        else:
            tables.append(Table(
                name=name, sql=sql or "",
                columns=tuple(Column(n, t or "", bool(nn), d, pk, hidden) for n, t, nn, d, pk, hidden in columns[name]),
                foreign_keys=keys.get(name, ()), indexes=indexes.get(name, ()),
                without_rowid=name in without_rowid, rootpage=rootpage or 0,
                virtual=(sql or "").lstrip()[:14].upper() == "CREATE VIRTUAL", unreadable=unreadable.get(name)))
    return Catalog(tuple(tables), tuple(triggers), tuple(views))


def _per_table(conn: sqlite3.Connection, query: str, names: list[str], unreadable: dict[str, str], *,
               every: bool = True) -> list[Any]:
    """Run a catalogue query for every table at once (``every``); table by table when one of them cannot
    be read, or when only ``names`` are wanted.

    A virtual table whose module this SQLite lacks makes any pragma on it fail, and so the query
    over every table: each table is then read alone, and the ones that fail are noted in ``unreadable``.
    """
    if every:
        try:
            return conn.execute(query.format(where=_NOT_INTERNAL)).fetchall()
        except sqlite3.OperationalError:
            pass
    rows: list[Any] = []
    for name in names:
        try:
            rows += conn.execute(query.format(where="m.name = ?"), (name,)).fetchall()
        except sqlite3.OperationalError as error:
            unreadable.setdefault(name, str(error))
    return rows


def _grouped(rows: Any) -> dict[str, list[tuple[Any, ...]]]:
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for table, *rest in rows:
        grouped[table].append(tuple(rest))
    return grouped


def _foreign_keys(rows: Any) -> dict[str, tuple[ForeignKey, ...]]:
    """Group ``foreign_key_list`` rows into keys, in the order the definition declares them.

    SQLite numbers the last declared key 0, so declared order is the reverse of ``id`` order.
    """
    parts: dict[str, dict[int, list[tuple[Any, ...]]]] = defaultdict(dict)
    for table, key_id, parent, column, target, on_update, on_delete in rows:
        parts[table].setdefault(key_id, []).append((parent, column, target, on_update, on_delete))
    out = {}
    for table, by_id in parts.items():
        keys = [ForeignKey(table=table, columns=tuple(p[1] for p in rows_), ref_table=rows_[0][0],
                           ref_columns=tuple(p[2] for p in rows_), on_update=rows_[0][3], on_delete=rows_[0][4])
                for _id, rows_ in sorted(by_id.items())]
        out[table] = tuple(reversed(keys))
    return out


def _indexes(rows: Any) -> dict[str, tuple[Index, ...]]:
    columns: dict[tuple[str, str], list[str]] = defaultdict(list)
    facts: dict[tuple[str, str], tuple[Any, ...]] = {}
    for table, name, unique, origin, partial, column, sql in rows:
        columns[(table, name)].append(column if column is not None else "<expr>")
        facts[(table, name)] = (bool(unique), bool(partial), origin, sql)
    out: dict[str, list[Index]] = defaultdict(list)
    for (table, name), (unique, partial, origin, sql) in facts.items():
        out[table].append(Index(name, table, tuple(columns[(table, name)]), unique, partial, origin, sql))
    return {table: tuple(sorted(found, key=lambda i: i.name)) for table, found in out.items()}


def _without_rowid(conn: sqlite3.Connection, schema: str, tables: list[str], *, every: bool = True) -> set[str]:
    """Return the tables created ``WITHOUT ROWID`` (``pragma_table_list``; probed on SQLite < 3.37),
    asking about every table of ``schema`` at once, or about ``tables`` one by one."""
    if sqlite3.sqlite_version_info >= _TABLE_LIST_SINCE:
        if every:
            return {row[0] for row in conn.execute(_WITHOUT_ROWID, (schema,))}
        return {row[0] for name in tables for row in conn.execute(_WITHOUT_ROWID_ONE, (name, schema))}
    found = set()
    for name in tables:
        try:
            conn.execute(f"SELECT _rowid_ FROM {quote(schema)}.{quote(name)} LIMIT 0")
        except sqlite3.OperationalError:
            found.add(name)
    return found


__all__ = ["CATALOGUE_TABLES", "find_object", "has_table", "read_catalog", "read_columns", "read_definitions",
           "read_table", "state_identity"]
