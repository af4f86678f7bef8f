"""The Rust type a field needs after its column's type changed, in the code base's own spelling.

The column's SQL type decides the field type by Diesel's SQLite mapping (``Integer`` -> ``i32``,
``BigInt`` -> ``i64``, ``Nullable<T>`` -> ``Option<…>``), read the way the field is used:

* a struct that loads (``Queryable``/``Selectable``) needs ``Option<_>`` exactly when the column
  is nullable;
* a struct that only writes reads ``Option<_>`` as diesel's derives do: ``Insertable`` takes
  ``None`` for DEFAULT, ``AsChangeset`` for "leave the column alone" unless
  ``treat_none_as_null``; that outer ``Option`` is kept, and only the value inside follows the
  column (``Option<Option<i64>>`` -> ``Option<i64>`` when the column becomes NOT NULL).

What the user chose is kept where it still fits: a type alias (``UnixTime``), a custom type, a
borrowed ``&'a str``; a field that followed the mapping of the old type follows the mapping of the
new one. A new type is spelled as the crate spells it: the Rust type its other fields use for the
same SQL type, bare when the module imports it (``NaiveDateTime`` after ``use chrono::NaiveDateTime``).
A custom type whose fit cannot be judged is never replaced silently: the field is reported instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lightnb.models.drift import bound_values
from lightnb.models.fit import as_expression, loads_as, rust_type_for
from lightnb.models.mapping import _absolute
from lightnb.models.rust_reader import parse_type, resolve_type_text
from lightnb.models.types import GLOB_CRATES, RustType, SqlType

if TYPE_CHECKING:
    from lightnb.models.rust_reader import ModelField, ModelStruct, RustFile
    from lightnb.models.schema_rs import SchemaColumn, SchemaTable

_LOAD_DERIVES = ("Queryable", "Selectable")


@dataclass(frozen=True, slots=True)
class TypeChange:
    """A field whose type changes.

    :param field: the field's name.
    :param column: its column.
    :param old: the type as written.
    :param new: the type to write.
    :param why: the column's change, for people (``Integer -> BigInt``).
    """

    field: str
    column: str
    old: str
    new: str
    why: str


@dataclass(frozen=True, slots=True)
class TypeDoubt:
    """A field whose new type cannot be decided safely; the struct is left alone.

    :param field: the field's name.
    :param column: its column.
    :param reason: why, for people.
    :param by_hand: what to change by hand.
    """

    field: str
    column: str
    reason: str
    by_hand: str


class AliasIndex:
    """Every top-level ``type`` alias of the model files, by module, to trace imported aliases."""

    def __init__(self, files: list[RustFile]) -> None:
        self._by_module: dict[tuple[str, ...], dict[str, RustType]] = {}
        for rust_file in files:
            self._by_module.setdefault(rust_file.module, {}).update(rust_file.aliases)

    def resolve(self, rust: RustType, module: tuple[str, ...], depth: int = 0) -> RustType:
        """Replace aliases imported from another model file (``super::types::UnixTime`` -> ``i32``)."""
        if depth > 8:
            return rust
        args = tuple(self.resolve(a, module, depth + 1) for a in rust.args)
        path = rust.path
        if len(path) >= 2 and path[0] not in ("&", "[]", "()", "?", "<unresolved>"):
            candidates = ([_absolute(path, module)] if path[0] in ("crate", "super", "self")
                          else [module + path, ("crate",) + path])
            for candidate in candidates:
                aliases = self._by_module.get(candidate[:-1])
                if aliases and candidate[-1] in aliases and not rust.args:
                    return self.resolve(aliases[candidate[-1]], candidate[:-1], depth + 1)
        return RustType(path, args, rust.text)


@dataclass(frozen=True, slots=True)
class _Layers:
    """How a field's written type wraps its value: diesel's "skip" Option, then a NULL Option."""

    skip: bool      # outer Option read by the derive as "skip"/"DEFAULT" (write-only AsChangeset)
    null: bool      # Option standing for NULL
    inner: RustType  # the written type inside them


def sql_key(sql: SqlType) -> str:
    """Return the SQL type without nullability, aliases folded (``VarChar`` and ``Text`` alike)."""
    return sql.inner.canonical or sql.inner.text


def column_changed(before: SchemaColumn, now: SchemaColumn) -> bool:
    """Return whether the column's type (or nullability) differs between two schema.rs versions."""
    return before.nullable != now.nullable or sql_key(before.sql_type) != sql_key(now.sql_type)


def describe_change(before: SchemaColumn | None, now: SchemaColumn) -> str:
    """Return ``Integer -> BigInt`` (or the column's type when the old one is unknown)."""
    return f"{before.diesel_type} -> {now.diesel_type}" if before is not None else now.diesel_type


class Retyper:
    """Decide new field types for one set of model files and one schema."""

    def __init__(self, files: list[RustFile], aliases: AliasIndex, preferred: dict[str, Counter[str]]) -> None:
        self.files = files
        self.aliases = aliases
        self.preferred = preferred

    # -- fit -----------------------------------------------------------------------------------

    def resolved(self, struct: ModelStruct, text: str) -> RustType:
        """Parse a type written in the struct's module and trace it (same-file and imported aliases)."""
        return self.aliases.resolve(resolve_type_text(struct, text), struct.module)

    def fits(self, struct: ModelStruct, model_field: ModelField, table: SchemaTable, column: SchemaColumn,
             written_text: str) -> bool | None:
        """Return whether ``written_text`` on this field loads from and writes to the column (None: unknown).

        The same rules as ``lightnb models check``: ``FromSql`` for the loading derives,
        ``AsExpression`` of each value Insertable/AsChangeset bind.
        """
        written = parse_type(written_text)
        candidate = replace(model_field, type=self.resolved(struct, written_text), written=written)
        verdicts: list[bool | None] = []
        if struct.derives_any(*_LOAD_DERIVES):
            loaded = candidate.type
            if "deserialize_as" in model_field.options:  # what is loaded is the conversion type
                loaded = self.resolved(struct, model_field.options["deserialize_as"])
            verdicts.append(loads_as(loaded, column.sql_type))
        verdicts.extend(as_expression(v, column.sql_type) for v in bound_values(struct, candidate, table))
        if False in verdicts:
            return False
        if None in verdicts or not verdicts:
            return None
        return True

    # -- the decision --------------------------------------------------------------------------

    def new_type(self, struct: ModelStruct, model_field: ModelField, table: SchemaTable, rust_file: RustFile,
                 now: SchemaColumn, before: SchemaColumn | None) -> TypeChange | TypeDoubt | None:
        """Return the type change the field needs for ``now`` (None: it still fits as written).

        :param before: the column in schema.rs before the migration (None: unknown; then only a
            type that provably does not fit is changed).
        """
        written = model_field.written or model_field.type
        current_fit = self.fits(struct, model_field, table, now, written.text)
        if before is None and current_fit is not False:
            return None
        if before is not None and not column_changed(before, now):
            return None
        if any(key in model_field.options for key in ("deserialize_as", "serialize_as")):
            return TypeDoubt(model_field.name, now.rust_name,
                             f"`{model_field.name}` converts through `deserialize_as`/`serialize_as`",
                             f"make the conversion type of `{model_field.name}` fit `{now.diesel_type}`")
        mapped = self._spell(struct, rust_file, now)
        layers = self._layers(struct, model_field, written)
        if layers is None:
            if current_fit is True:
                return None
            return TypeDoubt(model_field.name, now.rust_name,
                             f"the Option<…> of `{model_field.name}: {written.text}` is hidden in a type alias",
                             f"write `{model_field.name}` as `{self._compose(False, now.nullable, mapped)}`")
        sql_changed = before is not None and sql_key(before.sql_type) != sql_key(now.sql_type)
        null = self._null_layer(struct, model_field, layers, now, before)
        plain = self._spell(struct, rust_file, now, preferred=False)
        candidates: list[tuple[bool, str, bool]] = []  # (NULL Option, value type, kept as written)
        if self._may_keep(layers, struct, now, before):
            candidates += [(null, layers.inner.text, True), (now.nullable, layers.inner.text, True)]
        candidates += [(null, mapped, False), (now.nullable, mapped, False), (null, plain, False),
                       (now.nullable, plain, False)]
        for null_layer, inner, kept in dict.fromkeys(candidates):
            new = self._compose(layers.skip, null_layer, inner)
            fit = self.fits(struct, model_field, table, now, new)
            if fit is None and kept and sql_changed:
                return TypeDoubt(model_field.name, now.rust_name,
                                 f"lightnb cannot tell whether `{inner}` loads from and writes to "
                                 f"`{now.diesel_type}` (a custom type)",
                                 f"change `{model_field.name}` to a type for `{now.diesel_type}`, e.g. "
                                 f"`{self._compose(layers.skip, null, mapped)}`")
            if fit is True or (fit is None and kept):
                # a custom value type whose SQL type did not change keeps working inside Option<…>
                if new == written.text:
                    return None
                return TypeChange(model_field.name, now.rust_name, written.text, new, describe_change(before, now))
        return TypeDoubt(model_field.name, now.rust_name,
                         f"no type lightnb can prove fits `{now.diesel_type}` in this struct",
                         f"change `{model_field.name}` to a type for `{now.diesel_type}`")

    def _layers(self, struct: ModelStruct, model_field: ModelField, written: RustType) -> _Layers | None:
        """Split the written type into diesel's skip Option, the NULL Option and the value type.

        Return None when an alias hides an Option (the written and traced types disagree), or for
        an ``Option<Option<_>>`` outside the AsChangeset idiom.
        """
        resolved = self.aliases.resolve(model_field.type, struct.module)
        written_count = _option_depth(written, known=False)
        if written_count != _option_depth(resolved, known=True):
            return None
        skip = written_count >= 1 and _skips_none(struct, model_field)
        null = written_count - int(skip) >= 1
        if written_count - int(skip) > 1:
            return None
        inner = written
        for _ in range(written_count):
            inner = inner.args[0]
        return _Layers(skip, null, inner)

    @staticmethod
    def _null_layer(struct: ModelStruct, model_field: ModelField, layers: _Layers, now: SchemaColumn,
                    before: SchemaColumn | None) -> bool:
        """Return whether the value should be ``Option<_>`` after the change (the first choice)."""
        if struct.derives_any(*_LOAD_DERIVES):
            return now.nullable  # FromSql: Option exactly for a nullable column
        if before is not None and before.nullable != now.nullable:
            if now.nullable and _skips_none(struct, model_field):
                return layers.null  # an AsChangeset field that sets a value still fits; Option would mean "skip"
            return now.nullable  # NULL became possible or impossible: Option follows it
        return layers.null and now.nullable if layers.skip else layers.null

    @staticmethod
    def _may_keep(layers: _Layers, struct: ModelStruct, now: SchemaColumn, before: SchemaColumn | None) -> bool:
        """Return False when the value type followed the mapping of the old SQL type and the mapping changed."""
        if before is None or sql_key(before.sql_type) == sql_key(now.sql_type):
            return True
        inner = layers.inner
        canonical = _canonical(inner.resolve({u.local: u.path for u in struct.uses if u.local}, ()))
        if canonical is None:
            return True
        old = _canonical(parse_type(rust_type_for(before.sql_type.inner)))
        new = _canonical(parse_type(rust_type_for(now.sql_type.inner)))
        return not (canonical == old and canonical != new)

    @staticmethod
    def _compose(skip: bool, null: bool, inner: str) -> str:
        text = f"Option<{inner}>" if null else inner
        return f"Option<{text}>" if skip else text

    # -- spelling ------------------------------------------------------------------------------

    def _spell(self, struct: ModelStruct, rust_file: RustFile, column: SchemaColumn, *,
               preferred: bool = True) -> str:
        """Return the value type for the column's SQL type, as this code base writes it."""
        sql = column.sql_type.inner
        mapped = _canonical(parse_type(rust_type_for(sql))) or rust_type_for(sql)
        target = mapped
        if preferred:
            counts = self.preferred.get(sql_key(column.sql_type))
            if counts:
                target = counts.most_common(1)[0][0]
        return spell(target, struct, rust_file)


def _skips_none(struct: ModelStruct, model_field: ModelField) -> bool:
    """Return whether the struct only writes through AsChangeset, which reads ``None`` as "leave it alone"."""
    return (not struct.derives_any(*_LOAD_DERIVES, "Insertable") and struct.derives_any("AsChangeset")
            and not _flag(model_field.options, struct.options, "treat_none_as_null"))


def _option_depth(rust: RustType, *, known: bool) -> int:
    depth = 0
    while (rust.known_option if known else rust.is_option) and depth < 3:
        rust, depth = rust.args[0], depth + 1
    return depth


def _canonical(rust: RustType) -> str | None:
    return rust.canonical


def _flag(field_options: dict[str, str], struct_options: dict[str, str], name: str) -> bool:
    value = field_options.get(name, struct_options.get(name))
    return value is not None and value.strip() == "true"


_CHRONO_NAMES = GLOB_CRATES["chrono"]


def spell(canonical: str, struct: ModelStruct, rust_file: RustFile) -> str:
    """Spell a canonical type (``NaiveDateTime``, ``time::Date``, ``i64``) for the struct's module.

    A chrono or time name is written bare when the module imports it (by name or by a glob of its
    crate), as the file's other fields write it when they use a path, else with its crate path.
    """
    parsed = parse_type(canonical)
    return _spell_type(parsed, struct, rust_file)


def _spell_type(rust: RustType, struct: ModelStruct, rust_file: RustFile) -> str:
    name = rust.name
    args = ", ".join(_spell_type(a, struct, rust_file) for a in rust.args)
    if rust.path == ("&",):
        return "&" + args
    if rust.path == ("[]",):
        return f"[{args}]"
    crate = "time" if rust.path[:1] == ("time",) else "chrono" if name in _CHRONO_NAMES else None
    if crate is None:
        base = "::".join(rust.path)
    elif _imported(struct, crate, name):
        base = name
    else:
        base = f"{crate}::{name}"
    return f"{base}<{args}>" if args else base


def _imported(struct: ModelStruct, crate: str, name: str) -> bool:
    for use in struct.uses:
        if use.local == name and use.path[:1] == (crate,) and use.path[-1] == name:
            return True
        if use.glob and use.path in ((crate,), (crate, "prelude")):
            return True
    return False


def preferred_types(rows: list[tuple[ModelStruct, ModelField, SchemaColumn]],
                    aliases: AliasIndex) -> dict[str, Counter[str]]:
    """Return, per SQL type, how often loading structs use each known Rust type for it (the house style).

    Aliases and custom types are left out: only a type whose meaning is certain is ever copied.
    """
    out: dict[str, Counter[str]] = {}
    for struct, model_field, column in rows:
        if not struct.derives_any(*_LOAD_DERIVES) or model_field.options:
            continue
        written = model_field.written or model_field.type
        if written.path and written.path[0] in struct.aliases:
            continue
        resolved = aliases.resolve(model_field.type, struct.module)
        inner = resolved.args[0] if resolved.known_option else resolved
        canonical = inner.canonical
        if canonical is None or canonical.startswith(("&", "Cow")) or loads_as(resolved, column.sql_type) is not True:
            continue
        out.setdefault(sql_key(column.sql_type), Counter())[canonical] += 1
    return out
