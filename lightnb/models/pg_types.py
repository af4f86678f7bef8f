"""Which Rust types fit which SQL types on PostgreSQL: diesel 2.3's own impls, as tables.

Loading (Queryable, Selectable with ``check_for_backend(diesel::pg::Pg)``) asks for
``FromSqlRow<ST, Pg>``: diesel's ``FromSql<ST, Pg>`` impls in ``diesel/src/pg/types`` (integers,
floats, primitives, date_and_time/{mod,chrono,time,std_time}, numeric, json, uuid,
network_address, ipnet_address, mac_addr, mac_addr_8, money, pg_lsn, array, ranges, multirange)
plus the generic ``String``/``Vec<u8>``/``Cow``/``Option`` impls of ``type_impls``.

Writing (Insertable, AsChangeset) asks for ``AsExpression<ST>`` at the derive. AsExpression does not
name a backend but depends on diesel's features, which a crate may turn on together (a crate that
talks to SQLite and PostgreSQL has both): a pair is judged wrong only when no feature gives it.
Where AsExpression holds but ``ToSql<ST, Pg>`` does not (``String`` for a ``Timestamp`` column is
AsExpression through the ``sqlite`` feature), the derive compiles and the insert on a
``PgConnection`` cannot: :func:`binds` tells that apart, and it is never reported as PROVEN.

Only *known* Rust types are judged (std, chrono, time, serde_json, uuid, bigdecimal, ipnetwork,
ipnet, diesel's ``data_types``): a user type may implement any trait for diesel's SQL types, and a
custom SQL type (``sql_types::Mood`` of an enum) may be implemented for any Rust type by the crate
that declares it (the orphan rule allows ``impl FromSql<Mood, Pg> for String`` there). Those
verdicts are None (unknown), never False.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lightnb.models.types import GENERIC_SQL_TYPES, RANGE_ALIASES, RustType, Shape, SqlType, sql_shape

SQLITE = "sqlite"
POSTGRES = "postgres"
BACKENDS = (SQLITE, POSTGRES)


# --------------------------------------------------------------------------- Rust types

_STD = ((), ("std",), ("core",), ("alloc",))
# Leaf types beyond RustType.canonical's (std, chrono, time): crate paths diesel's impls name.
_DATA_TYPES = (("diesel", "data_types"), ("diesel", "pg", "data_types"))
_EXTRA_LEAVES: dict[tuple[str, ...], str] = {
    ("serde_json", "Value"): "serde_json::Value",
    ("uuid", "Uuid"): "uuid::Uuid",
    ("bigdecimal", "BigDecimal"): "BigDecimal",
    ("ipnetwork", "IpNetwork"): "IpNetwork",
    ("ipnet", "IpNet"): "IpNet",
    ("std", "time", "SystemTime"): "SystemTime",
    ("chrono", "Duration"): "chrono::Duration",
    ("chrono", "TimeDelta"): "chrono::Duration",
    **{prefix + (name,): alias for prefix in _DATA_TYPES
       for name, alias in (("PgNumeric", "PgNumeric"), ("PgMoney", "PgMoney"), ("Cents", "PgMoney"),
                           ("PgTimestamp", "PgTimestamp"), ("PgDate", "PgDate"), ("PgTime", "PgTime"),
                           ("PgInterval", "PgInterval"), ("PgLsn", "PgLsn"))},
}
_BOUND_PATHS = frozenset({("std", "ops", "Bound"), ("core", "ops", "Bound"), ("std", "collections", "Bound"),
                          ("alloc", "collections", "Bound")})
_STD_RANGES = frozenset({"Range", "RangeInclusive", "RangeFrom", "RangeTo", "RangeToInclusive"})
_BYTE_ARRAY = re.compile(r"\[\s*u8\s*;\s*(\d+)\s*\]")


UNKNOWN: Shape = ("?", ())


def rust_shape(rust: RustType) -> Shape:
    """Return a Rust type as a shape: ``Option``, ``Vec``, ``&``, ``[]``, tuples, ``Bound``, std ranges,
    ``Cow`` and known leaves; a part that may be a user's type is :data:`UNKNOWN` (``?``)."""
    path = rust.path
    if path in (("&",), ("[]",)) and len(rust.args) == 1:
        return (path[0], (rust_shape(rust.args[0]),))
    if path == ("()",):
        return ("()", tuple(rust_shape(a) for a in rust.args))
    if path == ("?",):
        found = _BYTE_ARRAY.fullmatch(rust.text.strip())
        return (f"[u8;{int(found.group(1))}]", ()) if found else UNKNOWN
    if path in _BOUND_PATHS or (len(path) == 3 and path[:2] in (("std", "ops"), ("core", "ops"))
                                and path[2] in _STD_RANGES):
        if len(rust.args) != 1:
            return UNKNOWN
        return ("Bound" if path in _BOUND_PATHS else f"ops::{path[-1]}", (rust_shape(rust.args[0]),))
    if path in _EXTRA_LEAVES and not rust.args:
        return (_EXTRA_LEAVES[path], ())
    name = rust.name
    if name in ("Option", "Vec", "Cow") and len(rust.args) == 1 and path[:-1] in _std_prefixes(name):
        return (name, (rust_shape(rust.args[0]),))
    leaf = rust.canonical  # primitives, String, chrono, time::…
    if leaf is None or "<" in leaf and not leaf.startswith("DateTime<"):
        return UNKNOWN
    return (leaf, ())


def certain(shape: Shape) -> bool:
    """Return whether no part of the shape is unknown."""
    return shape != UNKNOWN and all(certain(a) for a in shape[1])


def _std_prefixes(name: str) -> tuple[tuple[str, ...], ...]:
    module = {"Option": "option", "Vec": "vec", "Cow": "borrow"}[name]
    return ((),) + tuple(p + (module,) for p in _STD[1:])


# --------------------------------------------------------------------------- the impls

# FromSql<ST, Pg> (and the generic String / Vec<u8> impls over *const str / *const [u8]).
_LOADS: dict[str, frozenset[str]] = {
    "Bool": frozenset({"bool"}),
    "SmallInt": frozenset({"i16"}),
    "Integer": frozenset({"i32"}),
    "BigInt": frozenset({"i64"}),
    "Oid": frozenset({"u32"}),
    "CChar": frozenset({"u8"}),
    "Float": frozenset({"f32"}),
    "Double": frozenset({"f64"}),
    "Text": frozenset({"String"}),
    "Citext": frozenset({"String"}),
    "Binary": frozenset({"Vec<u8>"}),
    "Numeric": frozenset({"BigDecimal", "PgNumeric"}),
    "Timestamp": frozenset({"NaiveDateTime", "time::PrimitiveDateTime", "SystemTime", "PgTimestamp"}),
    "Timestamptz": frozenset({"NaiveDateTime", "DateTime<Utc>", "DateTime<Local>", "time::PrimitiveDateTime",
                              "time::OffsetDateTime", "PgTimestamp"}),
    "Date": frozenset({"NaiveDate", "time::Date", "PgDate"}),
    "Time": frozenset({"NaiveTime", "time::Time", "PgTime"}),
    "Interval": frozenset({"chrono::Duration", "PgInterval"}),
    "Json": frozenset({"serde_json::Value"}),
    "Jsonb": frozenset({"serde_json::Value"}),
    "Uuid": frozenset({"uuid::Uuid"}),
    "Inet": frozenset({"IpNetwork", "IpNet"}),
    "Cidr": frozenset({"IpNetwork", "IpNet"}),
    "MacAddr": frozenset({"[u8;6]"}),
    "MacAddr8": frozenset({"[u8;8]"}),
    "Money": frozenset({"PgMoney"}),
    "PgLsn": frozenset({"PgLsn"}),
}
# ToSql<ST, Pg> for sized types (written by value or through references).
_BINDS: dict[str, frozenset[str]] = {
    **_LOADS,
    "Timestamptz": _LOADS["Timestamptz"] | {"DateTime<*>"},  # impl<TZ: TimeZone> ToSql<Timestamptz, Pg>
    "Binary": frozenset({"Vec<u8>", "[u8;*]"}),
}
# Unsized types bound through a reference (`&str`, `&[u8]`).
_BINDS_UNSIZED: dict[str, frozenset[str]] = {"Text": frozenset({"str"}), "Citext": frozenset({"str"}),
                                             "Binary": frozenset({"[u8]"})}
# AsExpression<ST>: ToSql<ST, Pg>'s types, plus what another feature of diesel makes AsExpression
# (String/str for Date, Time, Timestamp with `sqlite`: the derive compiles, binding on Pg does not).
_OTHER_FEATURES: dict[str, frozenset[str]] = {"Timestamp": frozenset({"String"}), "Date": frozenset({"String"}),
                                              "Time": frozenset({"String"})}
_OTHER_FEATURES_UNSIZED: dict[str, frozenset[str]] = {"Timestamp": frozenset({"str"}), "Date": frozenset({"str"}),
                                                      "Time": frozenset({"str"})}


def _leaf_in(leaf: str, allowed: frozenset[str]) -> bool:
    if leaf in allowed:
        return True
    if leaf.startswith("DateTime<") and "DateTime<*>" in allowed:
        return True
    return leaf.startswith("[u8;") and "[u8;*]" in allowed


# -- loading -----------------------------------------------------------------------------------


def loads(rust: RustType, sql: SqlType) -> bool | None:
    """Return whether ``rust`` is ``FromSqlRow<sql, Pg>`` (what check_for_backend asks); None if unknown."""
    st = sql_shape(sql)
    if st is None:
        return None
    if rust.path == ("&",):
        return False  # references cannot be loaded
    return _from_sql(rust_shape(rust), st, top=True)


def _from_sql(rust: Shape, st: Shape, *, top: bool = False) -> bool | None:
    """``rust: FromSql<st, Pg>`` (at the top: Queryable, which adds nothing for single values)."""
    if rust == UNKNOWN:
        return None
    name, args = rust
    if st[0] == "Nullable":
        if name == "Option":  # impl FromSql<Nullable<ST>, DB> for Option<T> where T: FromSql<ST, DB>
            return _from_sql(args[0], st[1][0])
        if name == "Cow":
            return _cow(args[0], st)
        return False  # only Option<T> loads a nullable type (a user's type is unknown above)
    if name == "Option":
        return False  # Queryable for Option<T> needs a nullable SQL type
    if name == "Cow":
        return _cow(args[0], st)
    kind = st[0]
    if kind == "Array":  # impl FromSql<Array<ST>, Pg> for Vec<T> where T: FromSql<ST, Pg>
        return _from_sql(args[0], st[1][0]) if name == "Vec" else False
    if kind == "Range":  # (Bound<T>, Bound<T>) where T: FromSql<ST, Pg>
        return _bounds(rust, st[1][0])
    if kind == "Multirange":  # Vec<(Bound<T>, Bound<T>)>
        return _bounds(args[0], st[1][0]) if name == "Vec" else False
    if name == "Vec":
        leaf = "Vec<u8>" if args == (("u8", ()),) else None
        return leaf is not None and leaf in _LOADS.get(kind, frozenset())
    if args and not name.startswith("DateTime<"):
        return False
    return _leaf_in(name, _LOADS.get(kind, frozenset()))


def _bounds(rust: Shape, element: Shape) -> bool | None:
    name, args = rust
    if name != "()" or len(args) != 2 or any(a[0] != "Bound" for a in args) or args[0] != args[1]:
        return False
    return _from_sql(args[0][1][0], element)


def _cow(inner: Shape, st: Shape) -> bool | None:
    """``Cow<'_, T>: FromSql<ST, DB>`` when ``T::Owned: FromSql<ST, DB>``."""
    owned = {"str": ("String", ()), "[]": ("Vec", (("u8", ()),))}.get(inner[0])
    if owned is None or (inner[0] == "[]" and inner[1] != (("u8", ()),)):
        return None
    return _from_sql(owned, st)


# -- writing -----------------------------------------------------------------------------------


def writes(value: RustType, sql: SqlType) -> bool | None:
    """Return whether ``value`` is ``AsExpression<sql>`` under some set of diesel's features; None if unknown."""
    st = sql_shape(sql)
    if st is None:
        return None
    refs, base = _refs(value)
    shape = rust_shape(base)
    if shape == UNKNOWN:
        return None
    nullable = st[0] == "Nullable"
    inner = st[1][0] if nullable else st
    name, args = shape
    if name == "Option":  # AsExpression<Nullable<ST>> for Option<T> and &Option<T>, any T
        return (True if refs <= 1 else None) if nullable else False
    if name == "Cow":  # AsExpression<ST> for Cow<T> and &Cow<T>, any ST
        return True if refs <= 1 else None
    kind = inner[0]
    if kind in ("Array", "Multirange"):  # Vec<T>, &Vec<T>, &&Vec<T>, &[T], &&[T], any T
        if name == "Vec" and refs <= 2 or name == "[]" and 1 <= refs <= 2:
            if kind == "Multirange":
                element = args[0][0]
                return True if element == "()" or element.startswith("ops::") else (None if element == "?" else False)
            return True
        return False if refs <= 2 else None
    if kind == "Range":  # (Bound<T>, Bound<T>) and std's ranges, by value or one reference
        if name == "()" and len(args) == 2 and all(a[0] == "Bound" for a in args) or name.startswith("ops::"):
            return True if refs <= 1 else None
        return False if refs <= 1 else None
    if refs > 2:
        return None
    sized = _BINDS.get(kind, frozenset()) | _OTHER_FEATURES.get(kind, frozenset())
    unsized = _BINDS_UNSIZED.get(kind, frozenset()) | _OTHER_FEATURES_UNSIZED.get(kind, frozenset())
    leaf = _leaf_name(shape)
    if leaf is None:
        return False
    if _leaf_in(leaf, sized):
        return True
    if leaf in unsized:
        return refs >= 1
    return False


def binds(value: RustType, sql: SqlType) -> bool | None:
    """Return whether ``value`` is ``ToSql<sql, Pg>`` (what executing the insert on PostgreSQL asks); None if unknown.

    Only meaningful where :func:`writes` holds: this is the bind the query needs once it runs.
    """
    st = sql_shape(sql)
    if st is None:
        return None
    refs, base = _refs(value)  # impl ToSql<A, DB> for &T where T: ToSql<A, DB>
    return _to_sql(rust_shape(base), st)


def _to_sql(rust: Shape, st: Shape) -> bool | None:
    while rust[0] == "&":
        rust = rust[1][0]
    if rust == UNKNOWN:
        return None
    name, args = rust
    if name == "Cow":
        return _to_sql(args[0], st)
    if st[0] == "Nullable":  # Option<T> binds Nullable<ST> when T binds ST; so does T itself (the derive's impl)
        return _to_sql(args[0] if name == "Option" else rust, st[1][0])
    if name == "Option":
        return False
    kind = st[0]
    if kind in ("Array", "Multirange"):
        if name not in ("Vec", "[]"):
            return False
        if kind == "Multirange":
            return _range_value(args[0], st[1][0])
        return _to_sql(args[0], st[1][0])
    if kind == "Range":
        return _range_value(rust, st[1][0])
    leaf = _leaf_name(rust)
    if leaf is None:
        return False
    if leaf in _BINDS_UNSIZED.get(kind, frozenset()):
        return True
    return _leaf_in(leaf, _BINDS.get(kind, frozenset()))


def _range_value(rust: Shape, element: Shape) -> bool | None:
    name, args = rust
    if name == "()" and len(args) == 2 and all(a[0] == "Bound" for a in args):
        return _to_sql(args[0][1][0], element)
    if name.startswith("ops::"):
        return _to_sql(args[0], element)
    return False


def _refs(value: RustType) -> tuple[int, RustType]:
    refs, base = 0, value
    while base.path == ("&",) and len(base.args) == 1:
        refs, base = refs + 1, base.args[0]
    return refs, base


def _leaf_name(shape: Shape) -> str | None:
    """Return the leaf's name for the impl tables (``Vec<u8>`` and slices folded), None for containers."""
    name, args = shape
    if name == "Vec":
        return "Vec<u8>" if args == (("u8", ()),) else None
    if name == "[]":
        return "[u8]" if args == (("u8", ()),) else None
    if name in ("()", "Bound", "Option", "Cow") or name.startswith("ops::"):
        return None
    return name


# --------------------------------------------------------------------------- generation

# What generated code writes for each SQL type (the types diesel's docs name first).
_GENERATED: dict[str, str] = {
    "Bool": "bool", "SmallInt": "i16", "Integer": "i32", "BigInt": "i64", "Oid": "u32", "CChar": "u8",
    "Float": "f32", "Double": "f64", "Text": "String", "Citext": "String", "Binary": "Vec<u8>",
    "Numeric": "bigdecimal::BigDecimal", "Timestamp": "chrono::NaiveDateTime",
    "Timestamptz": "chrono::DateTime<chrono::Utc>", "Date": "chrono::NaiveDate", "Time": "chrono::NaiveTime",
    "Interval": "chrono::Duration", "Json": "serde_json::Value", "Jsonb": "serde_json::Value",
    "Uuid": "uuid::Uuid", "Inet": "ipnetwork::IpNetwork", "Cidr": "ipnetwork::IpNetwork", "MacAddr": "[u8; 6]",
    "MacAddr8": "[u8; 8]", "Money": "diesel::data_types::PgMoney", "PgLsn": "diesel::data_types::PgLsn",
}


def rust_type_for(sql: SqlType) -> str:
    """Return the Rust type generated code uses for a PostgreSQL column type (``Vec<Option<String>>``).

    Custom types (enums of ``sql_types``) keep their SQL type's name: the Rust type mapped to them is the
    crate's own choice.
    """
    return _generated(sql)


def _generated(sql: SqlType) -> str:
    name, args = sql.name, sql.args
    if name not in GENERIC_SQL_TYPES or len(args) != 1:
        shape = sql_shape(sql)
        if shape is None:
            return sql.text
        if shape[0] in GENERIC_SQL_TYPES:  # Int4range and the like
            return _generated_shape(shape)
        return _GENERATED[shape[0]]
    if name == "Nullable":
        return f"Option<{_generated(args[0])}>"
    if name == "Array":
        return f"Vec<{_generated(args[0])}>"
    bound = f"std::collections::Bound<{_generated(args[0])}>"
    return f"({bound}, {bound})" if name == "Range" else f"Vec<({bound}, {bound})>"


def _generated_shape(st: Shape) -> str:
    name, args = st
    if name == "Range":
        bound = f"std::collections::Bound<{_generated_shape(args[0])}>"
        return f"({bound}, {bound})"
    if name == "Multirange":
        bound = f"std::collections::Bound<{_generated_shape(args[0])}>"
        return f"Vec<({bound}, {bound})>"
    return _GENERATED[name]


# --------------------------------------------------------------------------- which backend


# Names only PostgreSQL's print-schema writes (or that exist only with diesel's postgres feature).
_PG_NAMES = frozenset({
    "Int2", "Int4", "Int8", "Float4", "Float8", "Varchar", "Bpchar", "Bytea", "Timestamptz", "Interval", "Uuid",
    "Jsonb", "Json", "Array", "Range", "Multirange", "Inet", "Cidr", "MacAddr", "Macaddr", "MacAddr8", "Macaddr8",
    "Money", "Oid", "Citext", "CChar", "PgLsn", "Record", "Serial", "SmallSerial", "BigSerial",
}) | frozenset(RANGE_ALIASES)
# Names SQLite's print-schema writes and PostgreSQL's never does (it spells them Int4, Int8, Int2,
# Float4, Float8, Bytea), and the SQLite-only TimestamptzSqlite. Json and Jsonb count for PostgreSQL:
# diesel knows them on SQLite too, but SQLite's print-schema never prints them.
_SQLITE_NAMES = frozenset({"Integer", "BigInt", "SmallInt", "Float", "Double", "Binary", "TimestamptzSqlite"})
_PG_MARKERS = re.compile(r"postgres_type\s*\(|diesel::pg::")


def detect_backend(types: Iterable[SqlType], text: str = "") -> str:
    """Tell which backend a schema.rs was printed for, from its column types (and its text).

    PostgreSQL when a type only PostgreSQL's print-schema writes appears (``Int4``, ``Timestamptz``,
    ``Array``, …) or a custom type is declared with ``postgres_type``, and no type only SQLite's
    writes (``Integer``, ``TimestamptzSqlite``); SQLite otherwise.
    """
    pg = sqlite = 0
    for sql_type in types:
        for name in _names(sql_type):
            pg += name in _PG_NAMES
            sqlite += name in _SQLITE_NAMES
    if _PG_MARKERS.search(text):
        pg += 1
    return POSTGRES if pg > sqlite else SQLITE


def _names(sql: SqlType) -> Iterable[str]:
    yield sql.name
    for arg in sql.args:
        yield from _names(arg)


def backend_of_check(path: str) -> str | None:
    """Return the backend a ``check_for_backend(...)`` path names (``diesel::pg::Pg`` -> ``postgres``)."""
    last = path.replace(" ", "").split("::")[-1]
    return {"Pg": POSTGRES, "Sqlite": SQLITE}.get(last)
