"""Which Rust types fit which SQL types: SQLite's impls here, PostgreSQL's in :mod:`lightnb.models.pg_types`.

Each question is asked of the backend the column's :class:`SqlType` was read for. On SQLite,
compatibility follows diesel's impls: ``FromSql<ST, Sqlite>`` for loading (Queryable, Selectable with
``check_for_backend``) and ``AsExpression<ST>`` for writing (Insertable, AsChangeset). Only pairs of
*known* types are ever judged incompatible; anything else (custom types, aliases from other files,
generics) is reported as unknown, never as an error.
"""

from __future__ import annotations

from lightnb.models import pg_types
from lightnb.models.types import RustType, SqlType

# Rust types diesel loads from each SQL type on SQLite: ``FromSql<ST, Sqlite>`` impls in
# diesel/src/sqlite/types (mod.rs, date_and_time/{mod,chrono,time}.rs) and the generic ``String``,
# ``Vec<u8>`` impls of type_impls/primitives.rs. ``DateTime<Tz>`` is matched by its outer name.
# SQL types missing here (Numeric, TinyInt: never printed for SQLite) are never judged.
_LOADS: dict[str, frozenset[str]] = {
    "Integer": frozenset({"i32"}),
    "BigInt": frozenset({"i64"}),
    "SmallInt": frozenset({"i16"}),
    "Text": frozenset({"String"}),
    "Float": frozenset({"f32"}),
    "Double": frozenset({"f64"}),
    "Bool": frozenset({"bool"}),
    "Binary": frozenset({"Vec<u8>"}),
    "Timestamp": frozenset({"NaiveDateTime", "time::PrimitiveDateTime", "String"}),
    "Date": frozenset({"NaiveDate", "time::Date", "String"}),
    "Time": frozenset({"NaiveTime", "time::Time", "String"}),
    "TimestamptzSqlite": frozenset({"NaiveDateTime", "DateTime", "time::PrimitiveDateTime",
                                    "time::OffsetDateTime", "String"}),
}

# Sized Rust types that are ``AsExpression<ST>`` (and, by diesel's derive, ``AsExpression<Nullable<ST>>``,
# for the type, ``&T`` and ``&&T``): the ``#[diesel(sql_type = ...)]`` proxies of
# diesel/src/type_impls/{primitives,date_and_time}.rs with the ``sqlite`` feature. AsExpression
# does not depend on the backend, so a pair missing here is an error at the derive itself.
# TimestamptzSqlite is left out: which types write it changed between diesel releases.
_WRITES: dict[str, frozenset[str]] = {sql: rust for sql, rust in _LOADS.items() if sql != "TimestamptzSqlite"}
# Unsized types written through a reference only (``&str``, ``&[u8]``).
_WRITES_UNSIZED: dict[str, frozenset[str]] = {
    "Text": frozenset({"str"}),
    "Binary": frozenset({"[u8]"}),
    "Timestamp": frozenset({"str"}),
    "Date": frozenset({"str"}),
    "Time": frozenset({"str"}),
}

# What generated code writes for each SQL type.
_GENERATED: dict[str, str] = {
    "Integer": "i32", "BigInt": "i64", "SmallInt": "i16", "TinyInt": "i8", "Text": "String",
    "Float": "f32", "Double": "f64", "Bool": "bool", "Binary": "Vec<u8>",
    "Timestamp": "chrono::NaiveDateTime", "Date": "chrono::NaiveDate", "Time": "chrono::NaiveTime",
    "TimestamptzSqlite": "chrono::DateTime<chrono::Utc>", "Numeric": "bigdecimal::BigDecimal",
}


def _sql_name(sql: SqlType) -> str | None:
    canonical = sql.canonical
    return canonical if canonical in _LOADS else None


def loads_as(rust: RustType, sql: SqlType, backend: str | None = None) -> bool | None:
    """Return whether ``rust`` is ``FromSqlRow<sql, DB>`` (what check_for_backend asks); None if unknown.

    :param backend: the backend DB (default: the one ``sql`` was read for).
    """
    if (backend or sql.backend) == "postgres":
        return pg_types.loads(rust, sql)
    sql = sql.on("sqlite")
    canonical_sql = _sql_name(sql)
    if canonical_sql is None:
        return None
    if rust.path == ("&",):
        return False  # references cannot be loaded (diesel rejects them in check_for_backend)
    inner = rust
    if rust.known_option:
        if not sql.nullable:
            return False  # Queryable for Option<T> needs a nullable SQL type
        inner = rust.args[0]
    elif rust.canonical is None:
        return None  # a user type may implement Queryable<Nullable<ST>> itself
    elif sql.nullable:
        return False
    if inner.known_cow:
        owned = {"str": "String", "[u8]": "Vec<u8>"}.get(inner.args[0].canonical or "")
        return None if owned is None else owned in _LOADS[canonical_sql]
    canonical = inner.canonical
    if canonical is None:
        return None
    if canonical.startswith("DateTime<"):
        return "DateTime" in _LOADS[canonical_sql]
    return canonical in _LOADS[canonical_sql]


def as_expression(value: RustType, sql: SqlType) -> bool | None:
    """Return whether ``value`` is ``AsExpression<sql>`` (what Insertable/AsChangeset ask); None if unknown."""
    if sql.backend == "postgres":
        return pg_types.writes(value, sql)
    canonical_sql = sql.canonical
    if canonical_sql is None:
        return None
    refs, base = 0, value
    while base.path == ("&",) and len(base.args) == 1:
        refs, base = refs + 1, base.args[0]
    if base.known_option:  # `AsExpression<Nullable<ST>> for Option<T>` and `&Option<T>`, any T
        if not sql.nullable:
            return False
        return True if refs <= 1 else None
    if base.known_cow:  # `AsExpression<ST> for Cow<T>`, any ST
        return True if refs <= 1 else None
    canonical = base.canonical
    if canonical is None or canonical_sql not in _WRITES or refs > 2:
        return None
    if canonical in _WRITES[canonical_sql]:
        return True
    if canonical in _WRITES_UNSIZED.get(canonical_sql, frozenset()):
        return refs >= 1
    return False


def rust_type_for(sql: SqlType) -> str:
    """Return the Rust type generated code uses for a column type (``Option<String>``)."""
    if sql.backend == "postgres":
        return pg_types.rust_type_for(sql)
    canonical = sql.canonical
    base = _GENERATED.get(canonical, sql.inner.text) if canonical else sql.inner.text
    return f"Option<{base}>" if sql.nullable else base


def expected_description(sql: SqlType, *, writing: bool = False) -> str:
    """Return what fits a column, for messages (``Option<String>`` or ``String or &str``)."""
    expected = rust_type_for(sql)
    if writing and not sql.nullable:
        return f"{expected} (or Option<{expected}> to use the column default)"
    return expected
