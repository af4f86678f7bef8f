"""Diesel SQL types, Rust field types, and which Rust types fit which SQL types on SQLite.

Compatibility follows diesel's SQLite impls: ``FromSql<ST, Sqlite>`` for loading (Queryable,
Selectable with ``check_for_backend``) and ``AsExpression<ST>`` for writing (Insertable,
AsChangeset). Only pairs of *known* types are ever judged incompatible; anything else (custom
types, aliases from other files, generics) is reported as unknown, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass

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

# Rust types diesel loads from each SQL type on SQLite (FromSql<ST, Sqlite>).
_LOADS: dict[str, frozenset[str]] = {
    "Integer": frozenset({"i32"}),
    "BigInt": frozenset({"i64"}),
    "SmallInt": frozenset({"i16"}),
    "TinyInt": frozenset({"i8"}),
    "Text": frozenset({"String"}),
    "Float": frozenset({"f32"}),
    "Double": frozenset({"f64"}),
    "Bool": frozenset({"bool"}),
    "Binary": frozenset({"Vec<u8>"}),
    "Timestamp": frozenset({"NaiveDateTime", "String"}),
    "Date": frozenset({"NaiveDate", "String"}),
    "Time": frozenset({"NaiveTime", "String"}),
    "TimestamptzSqlite": frozenset({"NaiveDateTime", "DateTime<Utc>", "DateTime<Local>",
                                    "DateTime<FixedOffset>", "String"}),
    "Numeric": frozenset({"f64"}),
}

# Extra Rust types diesel can write for an SQL type (AsExpression<ST>), beyond what it loads.
_WRITES_EXTRA: dict[str, frozenset[str]] = {
    "Text": frozenset({"str"}),
    "Binary": frozenset({"[u8]"}),
    "Timestamp": frozenset({"str"}),
    "Date": frozenset({"str"}),
    "Time": frozenset({"str"}),
    "TimestamptzSqlite": frozenset({"str"}),
}

# What generated code writes for each SQL type.
_GENERATED: dict[str, str] = {
    "Integer": "i32", "BigInt": "i64", "SmallInt": "i16", "TinyInt": "i8", "Text": "String",
    "Float": "f32", "Double": "f64", "Bool": "bool", "Binary": "Vec<u8>",
    "Timestamp": "chrono::NaiveDateTime", "Date": "chrono::NaiveDate", "Time": "chrono::NaiveTime",
    "TimestamptzSqlite": "chrono::DateTime<chrono::Utc>", "Numeric": "f64",
}

# Rust types whose meaning is certain when written with one of these path prefixes; the
# canonical spelling drops the prefix. Anything else is unknown (a user type, an alias).
_KNOWN_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "String": ((), ("std", "string"), ("alloc", "string")),
    "Vec": ((), ("std", "vec"), ("alloc", "vec")),
    "Option": ((), ("std", "option"), ("core", "option")),
    "NaiveDateTime": ((), ("chrono",), ("chrono", "naive")),
    "NaiveDate": ((), ("chrono",), ("chrono", "naive")),
    "NaiveTime": ((), ("chrono",), ("chrono", "naive")),
    "DateTime": ((), ("chrono",)),
    "Utc": ((), ("chrono",)),
    "Local": ((), ("chrono",)),
    "FixedOffset": ((), ("chrono",)),
}
_PRIMITIVES = frozenset({"i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
                         "u128", "usize", "f32", "f64", "bool", "str", "char"})


@dataclass(frozen=True, slots=True)
class SqlType:
    """A diesel SQL type from schema.rs, e.g. ``Nullable<Text>``.

    :param path: the path segments of the outer type (``("diesel", "sql_types", "Text")``).
    :param args: generic arguments.
    :param text: the type as written, without spaces.
    """

    path: tuple[str, ...]
    args: tuple[SqlType, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, tokens: list[str] | tuple[str, ...]) -> SqlType:
        """Build a type from the tokens of a ``table!`` column (``Nullable`` ``<`` ``Text`` ``>``)."""
        flat: list[str] = []
        for token in tokens:  # the tokenizer glues closing brackets: `>>`
            flat.extend(">" for _ in token) if set(token) == {">"} else flat.append(token)
        parsed, _ = _parse_sql(flat, 0)
        return parsed

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
        prefixes = _KNOWN_PATHS.get(name)
        if prefixes is None or self.path[:-1] not in prefixes:
            return None
        if not self.args:
            return name
        args = [a.canonical for a in self.args]
        if any(a is None for a in args):
            return None
        return f"{name}<{', '.join(args)}>"  # type: ignore[arg-type]


def _split_option(rust: str) -> tuple[bool, str]:
    if rust.startswith("Option<") and rust.endswith(">"):
        return True, rust[len("Option<"):-1]
    return False, rust


def loads_as(rust: RustType, sql: SqlType) -> bool | None:
    """Return whether diesel can load ``sql`` into ``rust`` on SQLite; None when unknown."""
    canonical_rust, canonical_sql = rust.canonical, sql.canonical
    if canonical_rust is None or canonical_sql is None or canonical_sql not in _LOADS:
        return None
    optional, inner = _split_option(canonical_rust)
    if optional != sql.nullable:
        return False
    return inner in _LOADS[canonical_sql]


def writes_as(rust: RustType, sql: SqlType, *, none_as_null: bool = False) -> bool | None:
    """Return whether an Insertable/AsChangeset field of type ``rust`` fits column ``sql``; None if unknown.

    A field ``Option<T>`` means "use the default" on insert (diesel's treat_none_as_default), so
    it fits NOT NULL columns too, unless ``treat_none_as_null`` is set.
    """
    canonical_rust, canonical_sql = rust.canonical, sql.canonical
    if canonical_rust is None or canonical_sql is None or canonical_sql not in _LOADS:
        return None
    optional, inner = _split_option(canonical_rust)
    if optional and none_as_null and not sql.nullable:
        return False
    inner = inner.removeprefix("&")
    return inner in _LOADS[canonical_sql] or inner in _WRITES_EXTRA.get(canonical_sql, frozenset())


def rust_type_for(sql: SqlType) -> str:
    """Return the Rust type generated code uses for a column type (``Option<String>``)."""
    canonical = sql.canonical
    base = _GENERATED.get(canonical, sql.inner.text) if canonical else sql.inner.text
    return f"Option<{base}>" if sql.nullable else base


def expected_description(sql: SqlType, *, writing: bool = False) -> str:
    """Return what fits a column, for messages (``Option<String>`` or ``String or &str``)."""
    expected = rust_type_for(sql)
    if writing and not sql.nullable:
        return f"{expected} (or Option<{expected}> to use the column default)"
    return expected
