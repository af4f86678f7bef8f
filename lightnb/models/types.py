"""Diesel SQL types and Rust field types, as read from schema.rs and the model structs.

A :class:`SqlType` knows the backend of the schema.rs it was read from (``sqlite`` unless told) and
names its type as diesel does on that backend (``Int4`` is ``Integer`` on PostgreSQL). Which Rust types
fit which SQL types is :mod:`lightnb.models.fit`'s (SQLite) and :mod:`lightnb.models.pg_types`'s
(PostgreSQL), both above this module.
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
            return _pg_canonical(self)
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


# --------------------------------------------------------------------------- PostgreSQL's names
# How diesel names a SQL type on PostgreSQL (:attr:`SqlType.canonical`); pg_types judges fits on these shapes.

# A normalised type: a name and its arguments, e.g. ("Nullable", (("Array", (...),),)).
Shape = tuple[str, tuple["Shape", ...]]

# diesel::sql_types names (sql_types/mod.rs, pg/types/mod.rs) and their aliases, folded to the struct.
_PG_ALIASES: dict[str, str] = {
    "Bool": "Bool",
    "SmallInt": "SmallInt", "Smallint": "SmallInt", "Int2": "SmallInt", "SmallSerial": "SmallInt",
    "Integer": "Integer", "Int4": "Integer", "Serial": "Integer",
    "BigInt": "BigInt", "Bigint": "BigInt", "Int8": "BigInt", "BigSerial": "BigInt",
    "Float": "Float", "Float4": "Float",
    "Double": "Double", "Float8": "Double",
    "Numeric": "Numeric", "Decimal": "Numeric",
    "Text": "Text", "VarChar": "Text", "Varchar": "Text", "Char": "Text", "Bpchar": "Text",
    "Tinytext": "Text", "Mediumtext": "Text", "Longtext": "Text",
    "Binary": "Binary", "Bytea": "Binary", "Blob": "Binary", "Tinyblob": "Binary", "Mediumblob": "Binary",
    "Longblob": "Binary", "Varbinary": "Binary", "Bit": "Binary",
    "Date": "Date", "Time": "Time", "Timestamp": "Timestamp", "Timestamptz": "Timestamptz",
    "Interval": "Interval", "Json": "Json", "Jsonb": "Jsonb", "Uuid": "Uuid", "Oid": "Oid",
    "Inet": "Inet", "Cidr": "Cidr", "MacAddr": "MacAddr", "Macaddr": "MacAddr",
    "MacAddr8": "MacAddr8", "Macaddr8": "MacAddr8", "Money": "Money", "Citext": "Citext",
    "CChar": "CChar", "PgLsn": "PgLsn",
}
GENERIC_SQL_TYPES = frozenset({"Nullable", "Array", "Range", "Multirange"})
# Range and multirange aliases (pg/types/mod.rs).
RANGE_ALIASES: dict[str, tuple[str, str]] = {
    "Int4range": ("Range", "Integer"), "Int8range": ("Range", "BigInt"), "Daterange": ("Range", "Date"),
    "Numrange": ("Range", "Numeric"), "Tsrange": ("Range", "Timestamp"), "Tstzrange": ("Range", "Timestamptz"),
    "Int4multirange": ("Multirange", "Integer"), "Int8multirange": ("Multirange", "BigInt"),
    "Datemultirange": ("Multirange", "Date"), "Nummultirange": ("Multirange", "Numeric"),
    "Tsmultirange": ("Multirange", "Timestamp"), "Tstzmultirange": ("Multirange", "Timestamptz"),
}
_PG_DIESEL_PREFIXES = frozenset({(), ("diesel", "sql_types"), ("sql_types",), ("diesel", "pg", "sql_types"),
                              ("pg", "sql_types")})


def sql_shape(sql: SqlType) -> Shape | None:
    """Return the type with diesel's aliases folded (``Int4`` -> ``Integer``), or None if any part is not diesel's."""
    if sql.path[:-1] not in _PG_DIESEL_PREFIXES:
        return None
    name = sql.name
    if name in GENERIC_SQL_TYPES:
        if len(sql.args) != 1:
            return None
        inner = sql_shape(sql.args[0])
        return None if inner is None else (name, (inner,))
    if sql.args:
        return None
    if name in RANGE_ALIASES:
        outer, element = RANGE_ALIASES[name]
        return (outer, ((element, ()),))
    canonical = _PG_ALIASES.get(name)
    return None if canonical is None else (canonical, ())


def _pg_canonical(sql: SqlType) -> str | None:
    """Return diesel's struct name of the non-null type (``Int4`` -> ``Integer``), None for arrays and the unknown."""
    shape = sql_shape(sql)
    if shape is None:
        return None
    if shape[0] == "Nullable":
        shape = shape[1][0]
    return shape[0] if not shape[1] else None
