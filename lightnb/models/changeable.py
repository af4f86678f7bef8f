"""Whether a model struct can be rewritten safely, and what is reported when it cannot.

``lightnb models generate`` edits a struct's text only where what it reads is what ``cargo build``
compiles. It leaves a struct alone, and says so, when:

* a ``#[cfg]``/``#[cfg_attr]`` sits on it, a field, or a module around it (it may compile otherwise);
* its file is not reached by ``mod`` declarations, or lines around it do not parse;
* an attribute that is neither diesel's, serde's, the language's nor a derive's helper sits on it
  (an attribute macro may rewrite the struct);
* its fields are positional (a tuple struct);
* a column to drop is named by the struct's own attributes (``primary_key``, ``belongs_to``, the
  ``id`` that ``Identifiable`` uses), or dropping would leave it without fields;
* a change would leave one of its generic parameters (``'a``) unused, which does not compile;
* a field's new type cannot be decided (see :mod:`lightnb.models.retype`).

Structs written by a ``macro_rules!`` macro cannot be read at all; the macro is reported when it
names a changed table and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lightnb.models.rust_reader import ModelField, ModelStruct, RustFile

# Attributes that never rewrite a struct: the language's, diesel's and serde's.
_INERT = frozenset({
    "derive", "diesel", "doc", "serde", "allow", "warn", "deny", "forbid", "expect", "deprecated", "must_use",
    "non_exhaustive", "repr", "table_name", "column_name", "primary_key", "belongs_to", "changeset_options",
    "sql_type", "cfg", "cfg_attr", "rustfmt::skip", "automatically_derived", "derive_where",
})


@dataclass(frozen=True, slots=True)
class LeftAlone:
    """A struct (or a macro writing structs) that needs a change lightnb does not make.

    :param struct: the struct's name, or ``name!`` for a macro.
    :param path: its file.
    :param line: its line.
    :param table: the table concerned.
    :param columns: the columns whose change concerns it.
    :param reason: why it was left alone.
    :param by_hand: what to change by hand.
    """

    struct: str
    path: Path | None
    line: int
    table: str
    columns: tuple[str, ...]
    reason: str
    by_hand: str

    def __str__(self) -> str:
        return (f"{self.path or '<text>'}:{self.line}: left alone: `{self.struct}` (table `{self.table}`): "
                f"{self.reason}; by hand: {self.by_hand}")


def struct_doubt(struct: ModelStruct, rust_file: RustFile, not_compiled: str | None) -> str | None:
    """Return why the struct's text may not be what is compiled, or None when it can be rewritten."""
    if not_compiled:
        return not_compiled
    if struct.conditional:
        return "a #[cfg]/#[cfg_attr] attribute decides whether or how it is compiled"
    broken = _overlap(rust_file, struct)
    if broken is not None:
        return f"lines {broken[0]}-{broken[1]} of its file do not parse, so it may be read incompletely"
    unknown = [a for a in struct.attributes if not _inert(a, struct)]
    if unknown:
        return f"the attribute `#[{unknown[0]}]` may be a macro that rewrites the struct"
    if struct.tuple_struct:
        return "its fields are positional (a tuple struct): which field holds which column is not written"
    return None


def _inert(attribute: str, struct: ModelStruct) -> bool:
    if attribute in _INERT or attribute.startswith(("clippy::", "rustfmt::")):
        return True
    # a derive's helper attribute (`#[builder(...)]` with `derive(Builder)`) does nothing by itself
    return any(attribute.lower() in derive.lower() for derive in struct.derives)


def _overlap(rust_file: RustFile, struct: ModelStruct) -> tuple[int, int] | None:
    if not rust_file.unreadable:
        return None
    first = rust_file.text.count("\n", 0, struct.start_byte) + 1
    last = rust_file.text.count("\n", 0, struct.end_byte) + 1
    return next(((a, b) for a, b in rust_file.unreadable if a <= last and b >= first), None)


def removal_doubt(struct: ModelStruct, removed: list[ModelField]) -> str | None:
    """Return why the fields of dropped columns cannot be removed, or None."""
    if not removed:
        return None
    if len(removed) == len(struct.fields):
        return "every field's column was dropped"
    columns = {f.column for f in removed}
    named = _named_by_attributes(struct) & columns
    if named:
        return f"its own attributes name `{sorted(named)[0]}` (a key or a foreign key of the derives)"
    return None


def _named_by_attributes(struct: ModelStruct) -> set[str]:
    """Return the columns the struct's derives rely on besides its fields."""
    text = re.sub(r"table_name\s*=\s*[\w:]+", "", struct.diesel_text)
    text = re.sub(r"check_for_backend\([^)]*\)", "", text)
    named = set(re.findall(r"[A-Za-z_]\w*", text))
    if struct.derives_any("Identifiable") and "primary_key" not in struct.options:
        named.add("id")
    for parent in re.findall(r"belongs_to\(\s*([\w:]+)\s*\)", struct.diesel_text):
        named.add(_snake(parent.split("::")[-1]) + "_id")
    return named


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def unused_generics(struct: ModelStruct, kept_types: list[str]) -> list[str]:
    """Return the generic parameters the struct uses now that ``kept_types`` would no longer mention."""
    def mentions(name: str, text: str) -> bool:
        pattern = re.escape(name) + r"\b" if name.startswith("'") else r"\b" + re.escape(name) + r"\b"
        return re.search(pattern, text) is not None

    before = " ".join((f.written or f.type).text for f in struct.fields)
    after = " ".join(kept_types)
    return [g for g in struct.generics if mentions(g, before) and not mentions(g, after)]


def macro_reports(files: list[RustFile], changed: dict[str, dict[str, str]]) -> list[LeftAlone]:
    """Report ``macro_rules!`` macros that derive Diesel models and name a changed table and column.

    :param changed: per table, the changed columns with what changed (``bio``: ``dropped``).
    """
    calls = [(rust_file, m) for rust_file in files for m in rust_file.macros if m.kind == "call"]
    out: list[LeftAlone] = []
    for rust_file in files:
        for definition in rust_file.macros:
            if definition.kind != "definition" or not definition.makes_models:
                continue
            used = [(f, c) for f, c in calls if c.name == definition.name]
            for table, columns in changed.items():
                with_table = [(f, c) for f, c in used if table in c.words] if table not in definition.words else used
                if not with_table and table not in definition.words:
                    continue
                words = definition.words.union(*(c.words for _, c in with_table)) if with_table else definition.words
                concerned = sorted(c for c in columns if c in words)
                if not concerned:
                    continue
                where = ", ".join(f"{f.path.name if f.path else '<text>'}:{c.line}" for f, c in with_table)
                out.append(LeftAlone(
                    f"{definition.name}!", rust_file.path, definition.line, table, tuple(concerned),
                    "the structs this macro writes cannot be read or rewritten"
                    + (f" (called at {where})" if where else ""),
                    "; ".join(f"`{table}.{c}` {columns[c]}" for c in concerned)))
    return out
