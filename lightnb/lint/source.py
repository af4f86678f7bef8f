"""A migration's SQL as statements with line numbers, each parsed by sqlglot (SQLite dialect)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from lightnb.backends import sqlite

if TYPE_CHECKING:
    from lightnb.migrations import Migration

# sqlglot warns when it falls back to a raw Command (e.g. CREATE TRIGGER); that is expected here.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class Parsed:
    """One statement: its text, its first line, and sqlglot's tree (None when sqlglot cannot parse it)."""

    text: str
    line: int
    expr: exp.Expr | None


@dataclass(frozen=True, slots=True)
class Script:
    """One SQL file of a migration."""

    file: str
    text: str
    statements: tuple[Parsed, ...]

    @property
    def is_blank(self) -> bool:
        """Return True when the file holds no statement (empty, or comments only)."""
        return not self.statements


@dataclass(frozen=True, slots=True)
class Source:
    """What lint reads of one migration; ``down`` is None when down.sql is missing."""

    name: str
    version: str
    up: Script
    down: Script | None
    run_in_transaction: bool = True


def parse_script(text: str, file: str) -> Script:
    """Split ``text`` into statements and parse each one."""
    return Script(file, text, tuple(Parsed(s.text, s.line, parse_statement(s.text))
                                    for s in sqlite.split(text)))


def parse_statement(text: str) -> exp.Expr | None:
    """Parse one statement with sqlglot; return None when it cannot."""
    try:
        tree = sqlglot.parse_one(text, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):  # nested past the parser
        return None
    if isinstance(tree, exp.Block):  # CREATE TRIGGER … END: sqlglot splits at the inner ';'
        return exp.Command(this="CREATE", expression=text)
    return tree


def source_of(migration: Migration) -> Source:
    """Read a migration's files into a :class:`Source`."""
    down = None
    if migration.down_path is not None:
        down = parse_script(migration.down_sql(), "down.sql")
    return Source(migration.name, migration.version, parse_script(migration.up_sql(), "up.sql"), down,
                  migration.run_in_transaction)


def source_from_text(up: str, down: str | None = None, *, name: str = "migration",
                     run_in_transaction: bool = True) -> Source:
    """Build a :class:`Source` from SQL text (for editors and tests)."""
    return Source(name, name.split("_", 1)[0].replace("-", ""), parse_script(up, "up.sql"),
                  None if down is None else parse_script(down, "down.sql"), run_in_transaction)


def tokens(text: str) -> list[Token]:
    """Return sqlglot's SQLite tokens of ``text`` (comments dropped); [] when it cannot tokenize."""
    try:
        return sqlglot.Dialect.get_or_raise("sqlite").tokenize(text)
    except (TokenError, ValueError):
        return []


def leading_words(text: str, count: int = 4) -> tuple[str, ...]:
    """Return the first ``count`` tokens of a statement, upper-cased (for Command statements)."""
    return tuple(t.text.upper() for t in tokens(text)[:count])


def trigger_header(text: str) -> tuple[str, str] | None:
    """Return (trigger name, table) of a ``CREATE TRIGGER`` statement, from its tokens."""
    toks = tokens(text)
    words = [t.text.upper() for t in toks]
    if "TRIGGER" not in words[:3] or "ON" not in words:
        return None
    at = words.index("TRIGGER") + 1
    if words[at:at + 3] == ["IF", "NOT", "EXISTS"]:
        at += 3
    name = _dotted_name(toks, at)
    on = words.index("ON")
    return (name, _dotted_name(toks, on + 1)) if name else None


def _dotted_name(toks: list[Token], at: int) -> str:
    if at >= len(toks):
        return ""
    if at + 2 < len(toks) and toks[at + 1].token_type == TokenType.DOT:
        at += 2  # schema-qualified: keep the object name
    return toks[at].text


def name_of(node: exp.Expr | None) -> str:
    """Return the unquoted name of a table, column or identifier node ('' when absent)."""
    if node is None:
        return ""
    if isinstance(node, (exp.Table, exp.Column, exp.Identifier)):
        return node.name
    return node.name if hasattr(node, "name") else ""


# Words after which a name is a table (or other object), not a column.
_OBJECT_WORDS = {"TABLE", "EXISTS", "INTO", "ON", "REFERENCES", "UPDATE", "FROM", "JOIN", "INDEX", "VIEW",
                 "TRIGGER", "TO"}


def token_line(statement: Parsed, name: str) -> int:
    """Return the file line of the first token of ``statement`` naming column ``name`` (else its first line).

    Names in a table position (after TABLE, REFERENCES, ON …) and string literals do not count.
    """
    toks = tokens(statement.text)
    wanted = name.lower()
    for at, token in enumerate(toks):
        if token.token_type == TokenType.STRING or token.text.lower() != wanted:
            continue
        previous = toks[at - 1].text.upper() if at else ""
        following = toks[at + 1].token_type if at + 1 < len(toks) else None
        if previous not in _OBJECT_WORDS and following != TokenType.DOT:
            return statement.line + token.line - 1
    return statement.line


def node_line(statement: Parsed, text: str) -> int:
    """Return the file line of the first token whose text is ``text`` (case-insensitive), else the first line."""
    wanted = text.lower()
    for token in tokens(statement.text):
        if token.text.lower() == wanted:
            return statement.line + token.line - 1
    return statement.line
