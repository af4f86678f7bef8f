"""Split a SQL script into the statements SQLite would run, with their line numbers.

Statement ends are decided by SQLite itself (``sqlite3.complete_statement``), so quotes,
identifiers, comments and ``CREATE TRIGGER … BEGIN … END;`` bodies are handled exactly as
``sqlite3_exec`` would when diesel runs the file (diesel_spec.md §2.3).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a script.

    :param text: the statement from its first significant character to its ``;`` (if any).
    :param line: 1-based line where the statement starts.
    :param end_line: 1-based line where it ends.
    :param index: 0-based position among the script's statements.
    """

    text: str
    line: int
    end_line: int
    index: int

    def first_line(self, width: int = 80) -> str:
        """Return the statement squeezed onto one line, shortened to ``width`` characters."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"


def split(sql: str) -> list[Statement]:
    """Split ``sql`` into statements; comment-only and empty pieces are dropped."""
    statements: list[Statement] = []
    start = 0
    position = 0
    length = len(sql)
    while position < length:
        end = sql.find(";", position)
        if end < 0:
            break
        if sqlite3.complete_statement(sql[start:end + 1]):
            _append(statements, sql, start, end + 1)
            start = end + 1
        position = end + 1
    _append(statements, sql, start, length)
    return statements


def _append(out: list[Statement], sql: str, start: int, end: int) -> None:
    begin = _skip_insignificant(sql, start, end)
    if begin >= end or sql[begin:end].strip() in ("", ";"):
        return
    text = sql[begin:end].rstrip()
    if text == ";":
        return
    line = sql.count("\n", 0, begin) + 1
    out.append(Statement(text=text, line=line, end_line=line + text.count("\n"), index=len(out)))


def _skip_insignificant(sql: str, position: int, end: int) -> int:
    """Return the index of the first character that is not whitespace or a comment."""
    while position < end:
        char = sql[position]
        if char.isspace():
            position += 1
        elif sql.startswith("--", position):
            newline = sql.find("\n", position, end)
            position = end if newline < 0 else newline + 1
        elif sql.startswith("/*", position):
            close = sql.find("*/", position + 2, end)
            position = end if close < 0 else close + 2
        else:
            break
    return position


def is_comment_only(sql: str) -> bool:
    """Return True when ``sql`` holds no statement at all (only comments and whitespace)."""
    return not split(sql)
