"""Split a PostgreSQL script into statements with their line numbers, with PostgreSQL's own parser.

pglast embeds the server's parser, so statement boundaries are exactly where PostgreSQL puts them
when the script arrives as one simple-query message (diesel's ``batch_execute``): dollar-quoted
bodies (``DO $$ … $$``, functions), ``BEGIN ATOMIC … END`` bodies, quoted strings and identifiers,
nested comments. Each :class:`~lightnb.backends.Statement` (the same record SQLite's splitter
returns) holds the exact source text from its first token to its ``;``.

A script the parser rejects is split by PostgreSQL's scanner at top-level semicolons instead, so the
broken statement still gets its own text and line number; :func:`syntax_error` says what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lightnb.backends.statement import Statement

if TYPE_CHECKING:
    from pglast.parser import ParseError

_SEMICOLON = "ASCII_59"
_OPEN, _CLOSE = "ASCII_40", "ASCII_41"
_COMMENTS = ("SQL_COMMENT", "C_COMMENT")


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Where and why PostgreSQL's parser rejects a script.

    :param message: the parser's message, e.g. ``syntax error at or near "SELEC"``.
    :param line: 1-based line of the offending token.
    :param column: 1-based column of the offending token.
    """

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Token:
    start: int  # first character
    end: int  # one past the last character
    name: str


def _tokens(sql: str) -> tuple[list[_Token], int | None]:
    """Return the scanner's tokens (comments dropped), and where scanning stopped on an error."""
    from pglast.parser import ParseError, scan  # imported when SQL is first read
    try:
        raw = scan(sql)
        stopped = None
    except ParseError as error:
        stopped = _error_index(error, len(sql))
        try:
            raw = scan(sql[:stopped])
        except ParseError:
            raw = []
    return [_Token(t.start, t.end + 1, t.name) for t in raw if t.name not in _COMMENTS], stopped


def _error_index(error: ParseError, length: int) -> int:
    index = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
    return max(0, min(index, length))


def _char_offsets(sql: str, byte_offsets: list[int]) -> list[int]:
    """Convert UTF-8 byte offsets (what the parser reports) into character offsets."""
    encoded = sql.encode("utf-8")
    return [len(encoded[:b].decode("utf-8", errors="ignore")) for b in byte_offsets]


def _statement_ranges(sql: str) -> list[tuple[int, int]] | None:
    """Return each parsed statement's character range, or None when the parser rejects the script."""
    from pglast.parser import ParseError, parse_sql_json  # imported when SQL is first read
    try:
        tree: dict[str, Any] = json.loads(parse_sql_json(sql))
    except ParseError:
        return None
    bounds: list[int] = []
    total = len(sql.encode("utf-8"))
    for stmt in tree.get("stmts", []):
        start = stmt.get("stmt_location", 0)
        length = stmt.get("stmt_len", 0) or total - start  # 0 means "to the end of the string"
        bounds += [start, start + length]
    chars = _char_offsets(sql, bounds)
    return list(zip(chars[::2], chars[1::2]))


def _make(sql: str, begin: int, end: int, index: int) -> Statement:
    text = sql[begin:end]
    line = sql.count("\n", 0, begin) + 1
    return Statement(text=text, line=line, end_line=line + text.count("\n"), index=index, start=begin, end=end)


def _by_parser(sql: str, tokens: list[_Token], ranges: list[tuple[int, int]]) -> list[Statement]:
    statements: list[Statement] = []
    position = 0  # index into tokens
    for start, stop in ranges:
        while position < len(tokens) and tokens[position].start < start:
            position += 1
        first = position
        while position < len(tokens) and tokens[position].start < stop:
            position += 1
        if position == first:
            continue
        end = tokens[position - 1].end
        if tokens[position - 1].name != _SEMICOLON and position < len(tokens) \
                and tokens[position].name == _SEMICOLON:
            end = tokens[position].end
            position += 1
        statements.append(_make(sql, tokens[first].start, end, len(statements)))
    return statements


def _by_scanner(sql: str, tokens: list[_Token], stopped: int | None) -> list[Statement]:
    """Split at semicolons outside parentheses and ``BEGIN ATOMIC … END`` bodies."""
    statements: list[Statement] = []
    begin: int | None = None
    depth = atomic = cases = 0
    previous = ""
    for token in tokens:
        if begin is None:
            if token.name == _SEMICOLON:
                continue
            begin = token.start
        if token.name == _OPEN:
            depth += 1
        elif token.name == _CLOSE:
            depth = max(0, depth - 1)
        elif token.name == "ATOMIC" and previous == "BEGIN_P":
            atomic += 1
        elif token.name == "CASE" and atomic:
            cases += 1
        elif token.name == "END_P" and atomic:
            if cases:
                cases -= 1
            else:
                atomic -= 1
        elif token.name == _SEMICOLON and depth == 0 and not atomic:
            statements.append(_make(sql, begin, token.end, len(statements)))
            begin = None
        previous = token.name
    if stopped is not None:  # an unterminated string or comment runs to the end of the script
        begin = stopped if begin is None else begin
        tail = sql[begin:].rstrip()
        if tail:
            statements.append(_make(sql, begin, begin + len(tail), len(statements)))
    elif begin is not None:
        statements.append(_make(sql, begin, tokens[-1].end, len(statements)))
    return statements


def split(sql: str) -> list[Statement]:
    """Split a script into statements; comments and empty statements (``;;``) are dropped."""
    tokens, stopped = _tokens(sql)
    ranges = _statement_ranges(sql) if stopped is None else None
    if ranges is not None:
        return _by_parser(sql, tokens, ranges)
    return _by_scanner(sql, tokens, stopped)


def syntax_error(sql: str) -> SyntaxProblem | None:
    """Return why PostgreSQL's parser rejects the script, with line and column, or None when it parses."""
    from pglast.parser import ParseError, parse_sql_json  # imported when SQL is first read
    try:
        parse_sql_json(sql)
    except ParseError as error:
        index = _error_index(error, len(sql))
        line = sql.count("\n", 0, index) + 1
        column = index - (sql.rfind("\n", 0, index) + 1) + 1
        message = str(error.args[0]) if error.args else str(error)
        return SyntaxProblem(message, line, column)
    return None


def is_comment_only(sql: str) -> bool:
    """Return True when the script holds no statement (only comments, whitespace and ``;``)."""
    return not split(sql)
