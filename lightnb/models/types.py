"""Diesel SQL types, Rust field types, and which Rust types fit which SQL types on SQLite.

A :class:`SqlType` knows the backend of the schema.rs it was read from (``sqlite`` unless told):
for ``postgres`` the rules are PostgreSQL's (:mod:`lightnb.models.pg_types`).

Compatibility follows diesel's SQLite impls: ``FromSql<ST, Sqlite>`` for loading (Queryable,
Selectable with ``check_for_backend``) and ``AsExpression<ST>`` for writing (Insertable,
AsChangeset). Only pairs of *known* types are ever judged incompatible; anything else (custom
types, aliases from other files, generics) is reported as unknown, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# Diesel's SQL type names and their aliases (diesel/src/type_impls and sql_types/mod.rs).
_SQL_ALIASES: dict[str, str] = {
    "Integer": "Integer", "Int4": "Integer",
    "BigInt": "BigInt", "Bigint": "BigInt", "Int8": "BigInt",
    "SmallInt": "SmallInt", "Smallint": "SmallInt", "Int2": "SmallInt",
    "TinyInt": "TinyInt", "Tinyint": "TinyInt",
    "Text": "Text", "VarChar": "Text", "Varchar": "Text", "LongText": "Text", "MediumText": "Text",
    "TinyText": "Text",
    "Float": "Float", "Float4": "Float",
    "Double": "Double", "Float8": "Double",
    "Bool": "Bool",
    "Binary": "Binary", "Blob": "Binary", "Bytea": "Binary", "LongBlob": "Binary",
    "MediumBlob": "Binary", "TinyBlob": "Binary",
    "Timestamp": "Timestamp", "Datetime": "Timestamp",
    "Date": "Date", "Time": "Time",
    "TimestamptzSqlite": "TimestamptzSqlite",
    "Numeric": "Numeric", "Decimal": "Numeric",
}

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

# Rust types whose meaning is certain when written with one of these path prefixes; the
# canonical spelling drops the prefix (``time::`` types keep it: ``time::Date``). Anything else
# is unknown (a user type, an alias from another module).
_CHRONO = ((), ("chrono",), ("chrono", "prelude"))
_KNOWN_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "String": ((), ("std", "string"), ("alloc", "string")),
    "Vec": ((), ("std", "vec"), ("alloc", "vec")),
    "Option": ((), ("std", "option"), ("core", "option")),
    "Cow": ((), ("std", "borrow"), ("alloc", "borrow")),
    "NaiveDateTime": _CHRONO + (("chrono", "naive"),),
    "NaiveDate": _CHRONO + (("chrono", "naive"),),
    "NaiveTime": _CHRONO + (("chrono", "naive"),),
    "DateTime": _CHRONO,
    "Utc": _CHRONO + (("chrono", "offset"),),
    "Local": _CHRONO + (("chrono", "offset"),),
    "FixedOffset": _CHRONO + (("chrono", "offset"),),
}
_TIME_CRATE = frozenset({"Date", "Time", "PrimitiveDateTime", "OffsetDateTime"})
# Names a bare path may take from a crate's glob import (``use chrono::prelude::*``).
GLOB_CRATES: dict[str, frozenset[str]] = {
    "chrono": frozenset({"NaiveDateTime", "NaiveDate", "NaiveTime", "DateTime", "Utc", "Local", "FixedOffset"}),
    "time": _TIME_CRATE,
}
_GLOB_PATHS = frozenset({("chrono",), ("chrono", "prelude"), ("time",)})
# Names that need an import: bare, they are certain only once traced to their crate.
IMPORTED_NAMES = GLOB_CRATES["chrono"] | _TIME_CRATE
_PRIMITIVES = frozenset({"i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
                         "u128", "usize", "f32", "f64", "bool", "str", "char"})


@dataclass(frozen=True, slots=True)
class SqlType:
    """A diesel SQL type from schema.rs, e.g. ``Nullable<Text>``.

    :param path: the path segments of the outer type (``("diesel", "sql_types", "Text")``).
    :param args: generic arguments.
    :param text: the type as written, without spaces.
    :param backend: the backend whose rules apply (``sqlite`` or ``postgres``): the one schema.rs was
        printed for.
    """

    path: tuple[str, ...]
    args: tuple[SqlType, ...] = ()
    text: str = ""
    backend: str = field(default="sqlite", compare=False)

    @classmethod
    def parse(cls, tokens: list[str] | tuple[str, ...]) -> SqlType:
        """Build a type from the tokens of a ``table!`` column (``Nullable`` ``<`` ``Text`` ``>``)."""
        flat: list[str] = []
        for token in tokens:  # the tokenizer glues closing brackets: `>>`
            flat.extend(">" for _ in token) if set(token) == {">"} else flat.append(token)
        parsed, _ = _parse_sql(flat, 0)
        return parsed

    def on(self, backend: str) -> SqlType:
        """Return the same type judged by ``backend``'s rules (its arguments too)."""
        if backend == self.backend:
            return self
        return replace(self, args=tuple(a.on(backend) for a in self.args), backend=backend)

    @property
    def name(self) -> str:
        """Return the last path segment (``Text``)."""
        return self.path[-1] if self.path else ""

    @property
    def nullable(self) -> bool:
        """Return whether this is ``Nullable<...>``."""
        return self.name == "Nullable" and len(self.args) == 1

    @property
    def inner(self) -> SqlType:
        """Return the type without ``Nullable``."""
        return self.args[0] if self.nullable else self

    @property
    def canonical(self) -> str | None:
        """Return diesel's standard name of the non-null type (``Text``), or None for other types."""
        if self.backend == "postgres":
            from lightnb.models import pg_types
            return pg_types.canonical(self)
        inner = self.inner
        if inner.args or not _is_diesel_path(inner.path):
            return None
        return _SQL_ALIASES.get(inner.name)


def _parse_sql(tokens: list[str], i: int) -> tuple[SqlType, int]:
    path: list[str] = []
    start = i
    while i < len(tokens) and tokens[i] not in ("<", ">", ","):
        if tokens[i] != "::":
            path.append(tokens[i])
        i += 1
    args: list[SqlType] = []
    if i < len(tokens) and tokens[i] == "<":
        i += 1
        while i < len(tokens) and tokens[i] != ">":
            if tokens[i] == ",":
                i += 1
                continue
            arg, i = _parse_sql(tokens, i)
            args.append(arg)
        i += 1
    return SqlType(tuple(path), tuple(args), "".join(tokens[start:i])), i


def _is_diesel_path(path: tuple[str, ...]) -> bool:
    prefix = path[:-1]
    return prefix in ((), ("diesel", "sql_types"), ("sql_types",), ("diesel", "sql_types", "sqlite"))


@dataclass(frozen=True, slots=True)
class RustType:
    """A Rust field type, e.g. ``Option<chrono::NaiveDateTime>``.

    :param path: path segments; ``("&",)`` for a reference, ``("[]",)`` for a slice,
        ``("()",)`` for a tuple, ``("?",)`` for anything else.
    :param args: generic arguments (the referenced type for ``&``).
    :param text: the type as written.
    """

    path: tuple[str, ...]
    args: tuple[RustType, ...] = ()
    text: str = ""

    @property
    def name(self) -> str:
        """Return the last path segment."""
        return self.path[-1] if self.path else ""

    def substitute(self, aliases: dict[str, RustType], depth: int = 0) -> RustType:
        """Replace type aliases declared in the same file (``type Id = i32;``)."""
        if depth > 8:
            return self
        if len(self.path) == 1 and not self.args and self.path[0] in aliases:
            return aliases[self.path[0]].substitute(aliases, depth + 1)
        if not self.args:
            return self
        return RustType(self.path, tuple(a.substitute(aliases, depth + 1) for a in self.args), self.text)

    def resolve(self, imports: dict[str, tuple[str, ...]], globs: tuple[tuple[str, ...], ...],
                depth: int = 0) -> RustType:
        """Trace the first path segment through the module's ``use`` declarations.

        ``imports`` maps a local name to its full path; a bare name that needs an import
        (``NaiveDateTime``) and is not imported is taken from a glob of its crate when there is
        one, and otherwise marked unresolved, so that it is never judged.
        """
        if depth > 8:
            return self
        args = tuple(a.resolve(imports, globs, depth + 1) for a in self.args)
        path = self.path
        if path and path[0] not in ("&", "[]", "()", "?"):
            head = path[0]
            if head in imports:
                path = imports[head] + path[1:]
            elif len(path) == 1 and head in IMPORTED_NAMES:
                crates = [g[0] for g in globs if g in _GLOB_PATHS and head in GLOB_CRATES[g[0]]]
                path = (crates[0], head) if crates else ("<unresolved>", head)
            if path and path[0] == "":  # `::chrono::NaiveDateTime`
                path = path[1:]
        return RustType(path, args, self.text)

    @property
    def is_option(self) -> bool:
        """Return whether diesel's derives take this written type for ``Option<_>`` (last segment)."""
        return self.name == "Option" and len(self.args) == 1

    @property
    def canonical(self) -> str | None:
        """Return a prefix-free spelling (``Option<NaiveDateTime>``) when the type is certain, else None."""
        if self.path == ("&",) and len(self.args) == 1:
            inner = self.args[0].canonical
            return None if inner is None else "&" + inner
        if self.path == ("[]",) and len(self.args) == 1:
            inner = self.args[0].canonical
            return None if inner is None else f"[{inner}]"
        name = self.name
        if len(self.path) == 1 and name in _PRIMITIVES and not self.args:
            return name
        if self.path == ("time", name) and name in _TIME_CRATE and not self.args:
            return f"time::{name}"
        prefixes = _KNOWN_PATHS.get(name)
        if prefixes is None or self.path[:-1] not in prefixes:
            return None
        if not self.args:
            return name
        args = [a.canonical for a in self.args]
        if any(a is None for a in args):
            return None
        return f"{name}<{', '.join(args)}>"  # type: ignore[arg-type]  # no arg is None (checked above)

    @property
    def known_option(self) -> bool:
        """Return whether this is certainly ``std::option::Option<_>``."""
        return self.is_option and self.path[:-1] in _KNOWN_PATHS["Option"]

    @property
    def known_cow(self) -> bool:
        """Return whether this is certainly ``std::borrow::Cow<_>``."""
        return self.name == "Cow" and len(self.args) == 1 and self.path[:-1] in _KNOWN_PATHS["Cow"]


def _sql_name(sql: SqlType) -> str | None:
    canonical = sql.canonical
    return canonical if canonical in _LOADS else None


def loads_as(rust: RustType, sql: SqlType, backend: str | None = None) -> bool | None:
    """Return whether ``rust`` is ``FromSqlRow<sql, DB>`` (what check_for_backend asks); None if unknown.

    :param backend: the backend DB (default: the one ``sql`` was read for).
    """
    if (backend or sql.backend) == "postgres":
        from lightnb.models import pg_types
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
        from lightnb.models import pg_types
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
        from lightnb.models import pg_types
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
