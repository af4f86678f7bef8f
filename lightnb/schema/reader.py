"""Read an existing ``schema.rs`` with tree-sitter-rust: its tables, joinables and table groups.

Used to detect the diesel version that printed a file (style.py) and to explain how a file
differs from the database (sync.py). Only diesel's own macro shapes are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Parser


@dataclass(frozen=True, slots=True)
class FileColumn:
    """A column line of a ``table!`` block: Rust name, SQL name and the type as written.

    :param max_length: ``#[max_length = N]`` (diesel writes it for PostgreSQL and MySQL columns
        with a declared length; ``--diff-schema`` compares it), None when absent or not an integer.
    """

    rust_name: str
    sql_name: str
    type_text: str
    sql_literal: str = ""  # the ``#[sql_name = …]`` string as written, when there is one
    max_length: int | None = None


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


def _max_length(attribute: Node) -> int | None:
    """Return N of a ``[max_length = N]`` token tree, or None for other attributes."""
    tokens = [c for c in attribute.children if c.type not in ("[", "]")]
    if len(tokens) == 3 and _text(tokens[0]) == "max_length" and _text(tokens[1]) == "=":
        return rust_int_literal(_text(tokens[2]))
    return None


@dataclass(frozen=True, slots=True)
class FileTable:
    """A ``table!`` block: names, primary key (Rust names) and columns in file order."""

    rust_name: str
    sql_name: str
    primary_key: tuple[str, ...]
    columns: tuple[FileColumn, ...]
    schema: str | None = None  # ``schema.table`` in the header (PostgreSQL)


@dataclass(frozen=True, slots=True)
class FileGroup:
    """An ``allow_tables_to_appear_in_same_query!`` invocation: its tables and exact text."""

    names: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class SchemaFile:
    """What a ``schema.rs`` declares."""

    tables: tuple[FileTable, ...]
    joinables: tuple[tuple[str, str, str], ...]
    groups: tuple[FileGroup, ...]

    def table(self, sql_name: str) -> FileTable | None:
        """Return the table with this SQL name, or None."""
        return next((t for t in self.tables if t.sql_name == sql_name), None)


@lru_cache(maxsize=1)
def _parser() -> Parser:
    import tree_sitter_rust
    from tree_sitter import Language, Parser
    return Parser(Language(tree_sitter_rust.language()))


def _macro_name(node: Node) -> str:
    path = node.child_by_field_name("macro")
    return path.text.decode().rsplit("::", 1)[-1] if path is not None and path.text else ""


def _text(node: Node) -> str:
    return node.text.decode() if node.text is not None else ""


def _string_value(literal: str) -> str:
    """Return the contents of a Rust string literal as diesel writes it (raw or plain quotes)."""
    if literal.startswith("r"):
        hashes = len(literal) - len(literal[1:].lstrip("#")) - 1
        return literal[2 + hashes:len(literal) - 1 - hashes]
    return literal[1:-1]


def _sql_literal(attribute: Node) -> str | None:
    """Return the string literal of a ``[sql_name = "…"]`` token tree, or None for other attributes."""
    tokens = [c for c in attribute.children if c.type not in ("[", "]")]
    if len(tokens) >= 3 and _text(tokens[0]) == "sql_name" and _text(tokens[1]) == "=":
        return _text(tokens[2])
    return None


def _sql_name(attribute: Node) -> str | None:
    """Return the value of a ``[sql_name = "…"]`` token tree, or None for other attributes."""
    literal = _sql_literal(attribute)
    return None if literal is None else _string_value(literal)


def _items(tree: Node) -> list[Node]:
    """Return the tokens of a token tree without its delimiters and comments."""
    return [c for c in tree.children[1:-1] if c.type not in ("line_comment", "block_comment")]


def _columns(body: Node) -> list[FileColumn]:
    columns: list[FileColumn] = []
    tokens = _items(body)
    i, literal, length = 0, None, None
    while i < len(tokens):
        token = tokens[i]
        if _text(token) == "#" and i + 1 < len(tokens) and tokens[i + 1].type == "token_tree":
            literal = _sql_literal(tokens[i + 1]) or literal
            length = _max_length(tokens[i + 1]) if length is None else length
            i += 2
            continue
        name = _text(token)
        j = i + 2  # skip `->`
        type_parts = []
        while j < len(tokens) and _text(tokens[j]) != ",":
            type_parts.append(_text(tokens[j]))
            j += 1
        sql_name = _string_value(literal) if literal else name
        columns.append(FileColumn(name, sql_name, "".join(type_parts), literal or "", length))
        i, literal, length = j + 1, None, None
    return columns


def _table(tree: Node) -> FileTable | None:
    tokens = _items(tree)
    i, sql_name = 0, None
    while i < len(tokens):
        text = _text(tokens[i])
        if text == "use":
            while i < len(tokens) and _text(tokens[i]) != ";":
                i += 1
            i += 1
        elif text == "#" and i + 1 < len(tokens) and tokens[i + 1].type == "token_tree":
            sql_name = _sql_name(tokens[i + 1]) or sql_name
            i += 2
        else:
            break
    schema = None
    if i + 2 < len(tokens) and _text(tokens[i + 1]) == ".":  # `schema.table (key) { … }`
        schema, i = _text(tokens[i]), i + 2
    if i + 2 >= len(tokens) or tokens[i + 1].type != "token_tree" or tokens[i + 2].type != "token_tree":
        return None
    name = _text(tokens[i])
    if sql_name is not None and schema is not None and sql_name.startswith(f"{schema}."):
        sql_name = sql_name[len(schema) + 1:]  # diesel writes `#[sql_name = "schema.table"]`
    key = tuple(_text(t) for t in _items(tokens[i + 1]) if _text(t) != ",")
    return FileTable(name, sql_name or name, key, tuple(_columns(tokens[i + 2])), schema)


def _joinable(tree: Node) -> tuple[str, str, str] | None:
    tokens = _items(tree)
    if len(tokens) < 4 or _text(tokens[1]) != "->" or tokens[3].type != "token_tree":
        return None
    column = _text(tokens[3])[1:-1]  # verbatim: diesel writes odd FK column names unmapped
    return _text(tokens[0]), _text(tokens[2]), column


def _invocations(root: Node) -> list[tuple[Node, Node]]:
    """Return (statement, macro) pairs of every macro invocation at the top or inside ``mod`` blocks."""
    pairs = []
    for node in root.children:
        if node.type == "mod_item":  # `pub mod <schema> { … }` (PostgreSQL --schema)
            body = node.child_by_field_name("body")
            if body is not None:
                pairs += _invocations(body)
            continue
        macro = node.children[0] if node.type == "expression_statement" and node.children else node
        if macro.type == "macro_invocation":
            pairs.append((node, macro))
    return pairs


def read_schema(text: str) -> SchemaFile:
    """Parse ``schema.rs`` text into its tables, joinables and allow-tables groups."""
    root = _parser().parse(text.encode()).root_node
    tables, joinables, groups = [], [], []
    for statement, macro in _invocations(root):
        name = _macro_name(macro)
        tree = next((c for c in macro.children if c.type == "token_tree"), None)
        if tree is None:
            continue
        if name == "table":
            table = _table(tree)
            if table is not None:
                tables.append(table)
        elif name == "joinable":
            joinable = _joinable(tree)
            if joinable is not None:
                joinables.append(joinable)
        elif name == "allow_tables_to_appear_in_same_query":
            names = tuple(_text(t) for t in _items(tree) if _text(t) != ",")
            end = statement.end_byte
            source = text.encode()
            tail = b";" if statement is macro and source[end:end + 1] == b";" else b""
            groups.append(FileGroup(names, (source[statement.start_byte:end] + tail).decode()))
    return SchemaFile(tuple(tables), tuple(joinables), tuple(groups))
