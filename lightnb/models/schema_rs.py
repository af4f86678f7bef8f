"""Read a schema.rs: its ``table!``, ``joinable!`` and ``allow_tables_to_appear_in_same_query!`` blocks.

The one reader of schema.rs, for the model checks and generators and for print-schema's own
comparisons (``--check``, the style a file was printed in). The file is parsed with tree-sitter's
Rust grammar. A macro body is a token tree, so the tables are read by walking its tokens in order
(attributes, name, primary key, columns), the way diesel's own ``table!`` macro consumes them
(diesel_spec.md §4).

Read strictly (the default), a block diesel's macros would refuse is a one-line error; read leniently
(``strict=False``, for comparing a file with the database), it is left out and the rest is read.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import ModelDrift, with_advice
from lightnb.models._syntax import node_text, parse_rust
from lightnb.models.pg_types import BACKENDS, detect_backend
from lightnb.models.types import SqlType

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tree_sitter import Node


@dataclass(frozen=True, slots=True)
class SchemaColumn:
    """One column of a ``table!`` block.

    :param rust_name: the identifier used in Rust (``users::theme``).
    :param sql_name: the name in the database (``#[sql_name = ...]``, else ``rust_name``).
    :param sql_type: the parsed diesel type, e.g. ``Nullable<Text>``.
    :param line: 1-based line of the column in schema.rs.
    :param max_length: ``#[max_length = N]`` (diesel writes it for PostgreSQL and MySQL columns with a
        declared length; ``migration generate --diff-schema`` compares it as diesel does).
    :param sql_literal: the ``#[sql_name = …]`` literal as written (raw or plain string), else ``""``.
    """

    rust_name: str
    sql_name: str
    sql_type: SqlType
    line: int
    max_length: int | None = None
    sql_literal: str = ""  # the ``#[sql_name = …]`` string literal as written, when there is one

    @property
    def type_text(self) -> str:
        """Return the type as written, without spaces (``Nullable<Text>``)."""
        return self.sql_type.text

    @property
    def nullable(self) -> bool:
        """Return whether the column is ``Nullable<...>``."""
        return self.sql_type.nullable

    @property
    def diesel_type(self) -> str:
        """Return the type as written in schema.rs, e.g. ``Nullable<Text>``."""
        return self.sql_type.text


@dataclass(frozen=True, slots=True)
class SchemaTable:
    """One table of schema.rs.

    :param rust_name: the identifier of the table module (``users``).
    :param sql_name: the name in the database (``#[sql_name]``, else ``rust_name``).
    :param primary_key: Rust names of the primary-key columns (diesel defaults to ``id``).
    :param columns: the columns in declaration order.
    :param module: the Rust module path of the table inside schema.rs (``()`` at top level).
    :param sql_schema: the database schema prefix (``schema.table``), if any.
    :param line: 1-based line of the table name.
    :param backend: the backend of the schema.rs it comes from (``sqlite`` or ``postgres``).
    """

    rust_name: str
    sql_name: str
    primary_key: tuple[str, ...]
    columns: tuple[SchemaColumn, ...]
    module: tuple[str, ...] = ()
    sql_schema: str | None = None
    line: int = 0
    backend: str = field(default="sqlite", compare=False)

    def column(self, rust_name: str) -> SchemaColumn | None:
        """Return the column with this Rust name, or None."""
        for column in self.columns:
            if column.rust_name == rust_name:
                return column
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        """Return the Rust names of the columns in order."""
        return tuple(column.rust_name for column in self.columns)


@dataclass(frozen=True, slots=True)
class Joinable:
    """One ``joinable!(child -> parent (column))`` line; ``column`` verbatim (diesel writes odd names unmapped)."""

    child: str
    parent: str
    column: str
    line: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        """Return ``(child, parent, column)``, to compare with the database's joinables."""
        return self.child, self.parent, self.column


@dataclass(frozen=True, slots=True)
class TableGroup:
    """An ``allow_tables_to_appear_in_same_query!`` invocation: its tables and its exact text."""

    names: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Schema:
    """The tables and joins of one schema.rs.

    :param tables: the tables in file order.
    :param joinables: the ``joinable!`` declarations.
    :param groups: the ``allow_tables_to_appear_in_same_query!`` invocations.
    :param path: the file read, when read from a file.
    :param complete: whether the file holds nothing but diesel's own items (``table!``,
        ``joinable!``, ``allow_tables_to_appear_in_same_query!``, ``sql_types``, private ``use``),
        so that a table missing from it cannot be defined elsewhere in the module.
    :param backend: the backend the file is for (``sqlite`` or ``postgres``); its column types are
        judged by that backend's rules.
    """

    tables: tuple[SchemaTable, ...]
    joinables: tuple[Joinable, ...] = ()
    groups: tuple[TableGroup, ...] = ()
    path: Path | None = field(default=None, compare=False)
    complete: bool = field(default=True, compare=False)
    backend: str = field(default="sqlite", compare=False)

    def table(self, rust_name: str, module: tuple[str, ...] = ()) -> SchemaTable | None:
        """Return the table with this Rust name inside ``module`` of the file, or None."""
        for table in self.tables:
            if table.rust_name == rust_name and table.module == module:
                return table
        return None

    def table_named(self, sql_name: str) -> SchemaTable | None:
        """Return the first table with this SQL name, or None."""
        return next((t for t in self.tables if t.sql_name == sql_name), None)

    @property
    def table_names(self) -> tuple[str, ...]:
        """Return the Rust names of the tables in file order."""
        return tuple(table.rust_name for table in self.tables)

    def require_tables(self, names: Iterable[str]) -> None:
        """Refuse table names schema.rs does not define, suggesting the closest one.

        :raises ModelDrift: naming the first unknown table.
        """
        for name in names:
            if name not in self.table_names:
                close = difflib.get_close_matches(name, self.table_names, n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`? " if close else ""
                where = self.path or "schema.rs"
                raise ModelDrift(f"unknown table `{name}` in {where}; {hint}choose one of: "
                                 f"{', '.join(self.table_names) or '(no tables)'}", path=self.path)


def parse_schema(text: str, *, path: Path | None = None, strict: bool = True, backend: str | None = None) -> Schema:
    """Parse schema.rs text into a :class:`Schema`.

    :param text: the Rust source of schema.rs.
    :param path: where the text came from (kept for messages).
    :param strict: raise on a block diesel would refuse; False leaves such a block out (a table
        block) or a value unread (``#[max_length]``) and reads the rest.
    :param backend: ``sqlite`` or ``postgres``; by default told from the file's types
        (:func:`lightnb.models.pg_types.detect_backend`).
    :raises ModelDrift: when ``strict`` and a ``table!`` block cannot be read.
    """
    root = parse_rust(text)
    source = text.encode()
    tables: list[SchemaTable] = []
    joinables: list[Joinable] = []
    groups: list[TableGroup] = []
    for statement, node, module in _macro_invocations(root):
        name = _macro_name(node)
        body = _token_tree(node)
        if body is None:
            continue
        tokens = _tokens(body)
        if name == "table":
            try:
                tables.extend(_read_tables(tokens, module, path, strict))
            except ModelDrift:
                if strict:
                    raise
        elif name == "joinable":
            joinable = _read_joinable(tokens)
            if joinable is not None:
                joinables.append(joinable)
        elif name == "allow_tables_to_appear_in_same_query":
            names = tuple(t.text for t in tokens if t.kind == "leaf" and t.text != ",")
            end = statement.end_byte
            tail = b";" if statement is node and source[end:end + 1] == b";" else b""
            groups.append(TableGroup(names, (source[statement.start_byte:end] + tail).decode()))
    schema = Schema(tables=tuple(tables), joinables=tuple(joinables), groups=tuple(groups), path=path,
                    complete=_only_diesel_items(root))
    return for_backend(schema, backend or detect_backend((c.sql_type for t in tables for c in t.columns), text))


def for_backend(schema: Schema, backend: str) -> Schema:
    """Return the schema with its column types judged by ``backend``'s rules."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    tables = tuple(replace(t, columns=tuple(replace(c, sql_type=c.sql_type.on(backend)) for c in t.columns),
                           backend=backend) for t in schema.tables)
    return replace(schema, tables=tables, backend=backend)


def load_schema(source: str | Path, *, backend: str | None = None) -> Schema:
    """Read a schema from a path to schema.rs, or from schema.rs text.

    A ``str`` containing ``table!`` or a newline is treated as text, anything else as a path.

    :raises ModelDrift: when the file does not exist.
    """
    if isinstance(source, str) and ("\n" in source or "table!" in source):
        return parse_schema(source, backend=backend)
    path = Path(source)
    if not path.is_file():
        raise ModelDrift(f"schema file {path} not found; run `lightnb print-schema` or pass --schema FILE",
                         path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ModelDrift(f"schema file {path} is not valid UTF-8 (byte {error.start}); regenerate it with "
                         f"`lightnb print-schema`", path=path) from error
    return parse_schema(text, path=path, backend=backend)


# -- tree walking -------------------------------------------------------------------------------

_DIESEL_MACROS = ("table", "joinable", "allow_tables_to_appear_in_same_query",
                  "allow_columns_to_appear_in_same_group_by_clause")


def _only_diesel_items(scope: Node) -> bool:
    """Return whether a module body holds only what print-schema writes (see :attr:`Schema.complete`)."""
    for child in scope.named_children:
        kind = child.type
        if kind in ("line_comment", "block_comment", "attribute_item", "inner_attribute_item"):
            continue
        if kind == "expression_statement" and child.named_children:
            child, kind = child.named_children[0], child.named_children[0].type
        if kind == "macro_invocation" and _macro_name(child) in _DIESEL_MACROS:
            continue
        if kind == "use_declaration" and not any(c.type == "visibility_modifier" for c in child.children):
            continue
        if kind == "mod_item":
            name, body = child.child_by_field_name("name"), child.child_by_field_name("body")
            if name is not None and _text(name) == "sql_types":
                continue
            if body is not None and _only_diesel_items(body):
                continue
        return False
    return True



def _macro_invocations(root: Node) -> list[tuple[Node, Node, tuple[str, ...]]]:
    """Return every macro invocation, the statement holding it, and the inline module path it sits in."""
    found: list[tuple[Node, Node, tuple[str, ...]]] = []

    def visit(node: Node, module: tuple[str, ...]) -> None:
        for child in node.named_children:
            if child.type == "macro_invocation":
                statement = node if node.type == "expression_statement" else child
                found.append((statement, child, module))
            elif child.type == "mod_item":
                body = child.child_by_field_name("body")
                name = child.child_by_field_name("name")
                if body is not None and name is not None:
                    visit(body, module + (_text(name),))
            elif child.type in ("declaration_list", "expression_statement"):
                visit(child, module)

    visit(root, ())
    return found


def _macro_name(node: Node) -> str:
    """Return the last path segment of the macro's name (``diesel::table`` -> ``table``)."""
    macro = node.child_by_field_name("macro")
    if macro is None:
        return ""
    if macro.type == "scoped_identifier":
        name = macro.child_by_field_name("name")
        return _text(name) if name is not None else ""
    return _text(macro)


def _token_tree(node: Node) -> Node | None:
    """Return the macro's token tree."""
    for child in node.children:
        if child.type == "token_tree":
            return child
    return None


@dataclass(frozen=True, slots=True)
class _Token:
    """A token of a macro body: a leaf, or a nested delimited group."""

    kind: str  # "leaf" or the opening delimiter of a group: "(", "[", "{"
    text: str
    line: int
    children: tuple[_Token, ...] = ()


def _tokens(tree: Node) -> list[_Token]:
    """Return the tokens inside a token tree, nested groups kept as one token, comments dropped."""
    out: list[_Token] = []
    children = tree.children
    for child in children[1:-1]:  # drop the delimiters of this tree
        if child.type in ("line_comment", "block_comment"):
            continue
        line = child.start_point[0] + 1
        if child.type == "token_tree":
            opening = _text(child.children[0]) if child.children else "("
            out.append(_Token(opening, _text(child), line, tuple(_tokens(child))))
        else:
            out.append(_Token("leaf", _text(child), line))
    return out


def _text(node: Node) -> str:
    return node_text(node)


# -- table! grammar ------------------------------------------------------------------------------


def _read_tables(tokens: list[_Token], module: tuple[str, ...], path: Path | None,
                 strict: bool = True) -> list[SchemaTable]:
    """Read every table declared in one ``table!`` body (old diesel allows several)."""
    tables: list[SchemaTable] = []
    i = 0
    sql_name: str | None = None
    while i < len(tokens):
        token = tokens[i]
        if token.text == "use":  # `use diesel::sql_types::*;` inside the macro
            while i < len(tokens) and tokens[i].text != ";":
                i += 1
            i += 1
            continue
        if token.text == "#" and i + 1 < len(tokens) and tokens[i + 1].kind == "[":
            literal = _attribute_literal(tokens[i + 1], "sql_name")
            sql_name = _string_value(literal) if literal is not None else sql_name
            i += 2
            continue
        if token.kind != "leaf":
            raise ModelDrift(f"cannot read table! block at line {token.line} of {path or 'schema.rs'}; "
                             f"regenerate it with `lightnb print-schema`", path=path, line=token.line)
        name_line = token.line
        sql_schema = None
        name = token.text
        i += 1
        if i + 1 < len(tokens) and tokens[i].text == "." and tokens[i + 1].kind == "leaf":
            sql_schema, name = name, tokens[i + 1].text
            i += 2
        primary_key: tuple[str, ...] = ("id",)
        if i < len(tokens) and tokens[i].kind == "(":
            primary_key = tuple(t.text for t in tokens[i].children if t.kind == "leaf" and t.text != ",")
            i += 1
        if i >= len(tokens) or tokens[i].kind != "{":
            raise ModelDrift(f"table `{name}` at line {name_line} of {path or 'schema.rs'} has no column list; "
                             f"regenerate it with `lightnb print-schema`", path=path, line=name_line)
        columns = _read_columns(tokens[i].children, path, strict)
        i += 1
        if sql_name is not None and sql_schema is not None and sql_name.startswith(f"{sql_schema}."):
            sql_name = sql_name[len(sql_schema) + 1:]  # diesel writes `#[sql_name = "schema.table"]`
        tables.append(SchemaTable(rust_name=name, sql_name=sql_name or name, primary_key=primary_key,
                                  columns=columns, module=module, sql_schema=sql_schema, line=name_line))
        sql_name = None
    return tables


def _read_columns(tokens: tuple[_Token, ...], path: Path | None = None,
                  strict: bool = True) -> tuple[SchemaColumn, ...]:
    """Read ``[#[attr]] name -> Type,`` entries."""
    columns: list[SchemaColumn] = []
    i = 0
    literal: str | None = None
    max_length: int | None = None
    while i < len(tokens):
        token = tokens[i]
        if token.text == "#" and i + 1 < len(tokens) and tokens[i + 1].kind == "[":
            literal = _attribute_literal(tokens[i + 1], "sql_name") or literal
            if tokens[i + 1].children[:1] and tokens[i + 1].children[0].text == "max_length" and max_length is None:
                max_length = _max_length_attribute(tokens[i + 1], path, strict)
            i += 2
            continue
        if token.text == ",":
            i += 1
            continue
        name = token.text
        line = token.line
        i += 1
        if i < len(tokens) and tokens[i].text == "->":
            i += 1
        type_tokens: list[str] = []
        depth = 0
        while i < len(tokens) and not (tokens[i].text == "," and depth == 0):
            text = tokens[i].text
            depth += text.count("<") - text.count(">")
            type_tokens.append(text)
            i += 1
        sql_name = _string_value(literal) if literal else name
        columns.append(SchemaColumn(rust_name=name, sql_name=sql_name, sql_type=SqlType.parse(type_tokens), line=line,
                                    max_length=max_length, sql_literal=literal or ""))
        literal, max_length = None, None
    return tuple(columns)


_U64_MAX = 2 ** 64 - 1
_INT_LITERAL = re.compile(r"(0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)(?:[iu](?:8|16|32|64|128|size))?")


def rust_int_literal(text: str) -> int | None:
    """Return the value of a Rust integer literal (``255``, ``0xff``, ``1_024``, ``255u32``), else None.

    The value is what syn's ``LitInt::base10_parse`` sees: the digits in their base, suffix aside.
    """
    match = _INT_LITERAL.fullmatch(text)
    if match is None:
        return None
    digits = match.group(1).replace("_", "")
    base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2], 10)
    body = digits[2:] if base != 10 else digits
    return int(body, base) if body else None


def _max_length_attribute(group: _Token, path: Path | None, strict: bool = True) -> int | None:
    """Return N of ``[max_length = N]``, read as diesel_table_macro_syntax and diesel_cli read it.

    :raises ModelDrift: when ``strict``, for a value that is not an integer literal (diesel: ``Invalid
        `#[sql_name = "max_length"]` attribute``, sic) or does not fit a u64 (``Column length literal
        can't be parsed as u64``); ``diesel_text`` holds diesel_cli's whole error line. Not strict:
        None for an unreadable value.
    """
    inner = group.children
    where = f"line {group.line} of {path or 'schema.rs'}"
    value = rust_int_literal(inner[2].text) if len(inner) == 3 and inner[1].text == "=" else None
    if value is not None and value <= _U64_MAX:
        return value
    if not strict:
        return None
    if value is None:
        diesel_text = 'Failed to parse schema: Invalid `#[sql_name = "max_length"]` attribute'
        error = ModelDrift(with_advice('Invalid `#[sql_name = "max_length"]` attribute',
                                       f"{where}: write `#[max_length = N]` with an integer N"), path=path,
                           line=group.line)
    else:
        diesel_text = "Column length literal can't be parsed as u64: number too large to fit in target type"
        error = ModelDrift(with_advice(diesel_text, f"{where}: the length must fit a u64"), path=path,
                           line=group.line)
    error.diesel_text = diesel_text  # type: ignore[attr-defined]  # diesel_cli's own line, for the CLI
    raise error


def _attribute_literal(group: _Token, key: str) -> str | None:
    """Return the string literal of ``[key = "…"]`` as written (plain or raw string), else None."""
    inner = group.children
    if len(inner) >= 3 and inner[0].text == key and inner[1].text == "=":
        literal = inner[2].text
        if _STRING_LITERAL.fullmatch(literal):
            return literal
    return None


# A Rust string literal as diesel writes one: plain (``"…"``) or raw (``r"…"``, ``r#"…"#``, ``r##"…"##``).
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|r(#*)".*"\1', re.DOTALL)


def _string_value(literal: str) -> str:
    """Return the contents of a Rust string literal as diesel writes it (raw or plain quotes)."""
    if literal.startswith("r"):
        hashes = len(literal) - len(literal[1:].lstrip("#")) - 1
        return literal[2 + hashes:len(literal) - 1 - hashes]
    return literal[1:-1]


def _read_joinable(tokens: list[_Token]) -> Joinable | None:
    """Read ``child -> parent (column)``, the column verbatim."""
    if len(tokens) < 4 or tokens[1].text != "->" or tokens[3].kind != "(":
        return None
    return Joinable(child=tokens[0].text, parent=tokens[2].text, column=tokens[3].text[1:-1], line=tokens[0].line)


__all__ = ["Joinable", "Schema", "SchemaColumn", "SchemaTable", "TableGroup", "load_schema", "parse_schema",
           "rust_int_literal"]
