"""A deterministic, generic row filler driven by the catalogue (no per-table code).

Given any SQLite database, :func:`fill` inserts ``rows`` rows into every ordinary table, parents
before children, choosing each value from what the catalogue says about its column:

- the declared type's affinity (INTEGER, REAL, NUMERIC, TEXT, BLOB; BOOLEAN, TIMESTAMP and
  DATE-like names are recognised as SQLite and Diesel read them),
- NOT NULL (nullable columns get NULL in about one row of five),
- the primary key (an INTEGER PRIMARY KEY is left to the rowid, so it counts 1..n),
- UNIQUE indexes and constraints (values made distinct with the row number),
- foreign keys (a value taken from the parent's keys),
- CHECK constraints (a row that fails one is retried with the column's default, then NULL).

Everything comes from a seeded ``random.Random``: the same schema and seed give the same bytes.
"""

from __future__ import annotations

import datetime
import random
import sqlite3
from collections.abc import Callable, Iterable

_BOOL_WORDS = ("BOOL",)
_TIME_WORDS = ("TIMESTAMP", "DATETIME", "DATE", "TIME")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                        "ESCAPE '\\' AND name NOT LIKE '\\_\\_%' ESCAPE '\\' "
                        "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").fetchall()
    return [r[0] for r in rows]


def _parents(conn: sqlite3.Connection, table: str) -> dict[str, tuple[str, str | None]]:
    """Return {child column (lower): (parent table, parent column or None for its key)}."""
    return {r[3].lower(): (r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({_q(table)})")}


def _ordered(conn: sqlite3.Connection, tables: Iterable[str]) -> list[str]:
    """Parents before children (cycles and self references broken by name order)."""
    names = list(tables)
    known = {n.lower(): n for n in names}
    deps = {n: {p.lower() for p, _ in _parents(conn, n).values() if p.lower() in known and p.lower() != n.lower()}
            for n in names}
    out: list[str] = []
    done: set[str] = set()
    while len(out) < len(names):
        ready = [n for n in names if n.lower() not in done and deps[n] <= done]
        if not ready:
            ready = [next(n for n in names if n.lower() not in done)]
        for n in ready:
            out.append(n)
            done.add(n.lower())
    return out


def _unique_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    out = set()
    for _seq, name, unique, _origin, _partial in conn.execute(f"PRAGMA index_list({_q(table)})").fetchall():
        if unique:
            out |= {r[2].lower() for r in conn.execute(f"PRAGMA index_info({_q(name)})") if r[2]}
    return out


def _affinity(declared: str, name: str) -> str:
    """SQLite's affinity rules, plus the BOOLEAN and time spellings Diesel maps."""
    upper = declared.upper()
    if any(w in upper for w in _BOOL_WORDS):
        return "bool"
    if "INT" in upper:
        return "integer"
    if any(w in upper for w in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in upper or not upper:
        return "blob" if "BLOB" in upper else "any"
    if any(w in upper for w in ("REAL", "FLOA", "DOUB")):
        return "real"
    if any(w in upper for w in _TIME_WORDS):
        return "time"
    return "numeric"


def _word(rng: random.Random) -> str:
    return format(rng.getrandbits(rng.choice((20, 32, 44))), "x")


def _generator(affinity: str, column: str, unique: bool) -> Callable[[random.Random, int], object]:
    """Return the value maker of one column: decided once from the catalogue, called once per row."""
    lowered = column.lower()
    if affinity == "bool":
        return lambda rng, row: rng.getrandbits(1)
    if affinity == "integer":
        if unique:
            return lambda rng, row: row * 7 + rng.randrange(7)
        if lowered.endswith(("_at", "timestamp", "_on", "date", "_time")) or "time" in lowered:
            return lambda rng, row: 1_700_000_000 + rng.randrange(30_000_000)
        return lambda rng, row: rng.randrange(-5, 5000)
    if affinity == "real":
        return (lambda rng, row: row + rng.random()) if unique else \
            (lambda rng, row: round(rng.uniform(-100, 10_000), 3))
    if affinity == "numeric":
        return lambda rng, row: rng.randrange(10_000) if rng.getrandbits(1) else round(rng.uniform(0, 999), 2)
    if affinity == "time":
        def stamp(rng: random.Random, row: int) -> str:
            moment = 1_700_000_000 + (row if unique else rng.randrange(30_000_000))
            return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return stamp
    if affinity == "blob":
        return lambda rng, row: rng.randbytes(8) + row.to_bytes(4, "big")
    if "phone" in lowered or lowered.endswith("_number"):
        prefixes = ("+1", "+31", "+358", "+44", "+46")
        return lambda rng, row: (f"{prefixes[rng.randrange(5)]}{rng.randrange(10**8, 10**9)}"
                                 + (str(row) if unique else ""))
    if "email" in lowered:
        return lambda rng, row: f"user{row}.{rng.randrange(1000)}@example.org"
    return (lambda rng, row: f"{_word(rng)}-{row}") if unique else (lambda rng, row: _word(rng))


def fill(conn: sqlite3.Connection, rows: int = 3000, *, seed: int = 12,
         tables: Iterable[str] | None = None) -> dict[str, int]:
    """Insert ``rows`` rows into every ordinary table of ``conn`` (or ``tables``); return {table: rows inserted}.

    Foreign keys are honoured (a child value is one of the parent's keys); diesel's tracking table
    and lightnb's own tables (names starting with ``__``) are left alone.
    """
    rng = random.Random(seed)
    chosen = list(tables) if tables is not None else _tables(conn)
    counts: dict[str, int] = {}
    conn.execute("SAVEPOINT lightnb_fill")
    try:
        for table in _ordered(conn, chosen):
            counts[table] = _fill_table(conn, rng, table, rows)
    except BaseException:
        conn.execute("ROLLBACK TO lightnb_fill")
        conn.execute("RELEASE lightnb_fill")
        raise
    conn.execute("RELEASE lightnb_fill")
    return counts


def _fill_table(conn: sqlite3.Connection, rng: random.Random, table: str, rows: int) -> int:
    info = [r for r in conn.execute(f"PRAGMA table_xinfo({_q(table)})").fetchall() if r[6] in (0,)]
    pk = [r for r in info if r[5]]
    rowid_alias = len(pk) == 1 and (pk[0][2] or "").upper() == "INTEGER"
    unique = _unique_columns(conn, table) | ({pk[0][1].lower()} if len(pk) == 1 else set())
    parents = _parents(conn, table)
    keys: dict[str, list[object]] = {}
    for column, (parent, parent_col) in parents.items():
        ref = parent_col or "rowid"
        try:
            keys[column] = [r[0] for r in conn.execute(f"SELECT {_q(ref) if parent_col else 'rowid'} FROM {_q(parent)} "
                                                       f"WHERE {_q(ref) if parent_col else 'rowid'} IS NOT NULL "
                                                       f"ORDER BY 1")]
        except sqlite3.Error:
            keys[column] = []
    columns = [r for r in info if not (rowid_alias and r is pk[0])]
    if not columns:
        return 0
    names = ", ".join(_q(r[1]) for r in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {_q(table)} ({names}) VALUES ({marks})"
    makers = []
    for _cid, name, declared, notnull, _default, is_pk, _hidden in columns:
        lowered = name.lower()
        make = _generator(_affinity(declared or "", name), name, lowered in unique)
        pool = keys.get(lowered)
        nullable = not notnull and not is_pk
        makers.append((make, pool, nullable, bool(notnull)))
    rows_out = []
    for row in range(1, rows + 1):
        values = []
        for make, pool, nullable, notnull in makers:
            if pool is not None:
                if pool and (notnull or rng.random() > 0.1):
                    values.append(pool[rng.randrange(len(pool))])
                    continue
                if not pool and not notnull:
                    values.append(None)
                    continue
            if nullable and rng.random() < 0.2:
                values.append(None)
                continue
            values.append(make(rng, row))
        rows_out.append(values)
    try:
        conn.execute("SAVEPOINT lightnb_fill_table")
        conn.executemany(sql, rows_out)
        conn.execute("RELEASE lightnb_fill_table")
        return len(rows_out)
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO lightnb_fill_table")
        conn.execute("RELEASE lightnb_fill_table")
    inserted = 0
    for values in rows_out:  # a CHECK or a composite UNIQUE this generic filler does not model: skip the row
        try:
            conn.execute(sql, values)
            inserted += 1
        except sqlite3.IntegrityError:
            continue
    return inserted
