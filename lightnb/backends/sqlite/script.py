"""Split a SQL script into the statements SQLite would run, with their line numbers.

A statement ends where ``sqlite3_complete`` would say it is complete: the state machine of
SQLite's ``complete.c`` (quotes ``''``, ``""``, backticks, ``[…]``, ``--`` and ``/* */`` comments,
``CREATE [TEMP] TRIGGER … BEGIN … END;`` bodies, ``CASE … END`` inside them) read in one pass, so
the text is split exactly as ``sqlite3_exec`` runs it when diesel applies the file (diesel_spec.md
§2.3), in time linear in its size. Outside a trigger body only ``;`` matters after a statement's
first words, so a compiled regular expression skips to it (quotes and comments included) in one
step; statement starts and trigger bodies go token by token.
"""

from __future__ import annotations

import re

from lightnb.backends.statement import Statement

# Tokens of complete.c and its state machine (with triggers).
_SEMI, _WS, _OTHER, _EXPLAIN, _CREATE, _TEMP, _TRIGGER, _END = range(8)
_INVALID, _START, _NORMAL, _EXPLAINING, _CREATING, _IN_TRIGGER, _TRIGGER_SEMI, _TRIGGER_END = range(8)
_TRANSITIONS = (
    # SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END
    (1, 0, 2, 3, 4, 2, 2, 2),  # INVALID: nothing read yet
    (1, 1, 2, 3, 4, 2, 2, 2),  # START: after a complete statement
    (1, 2, 2, 2, 2, 2, 2, 2),  # NORMAL
    (1, 3, 3, 2, 4, 2, 2, 2),  # EXPLAIN
    (1, 4, 2, 2, 2, 4, 5, 2),  # CREATE [TEMP]
    (6, 5, 5, 5, 5, 5, 5, 5),  # inside CREATE TRIGGER
    (6, 6, 5, 5, 5, 5, 5, 7),  # just after a ';' inside a trigger
    (1, 7, 5, 5, 5, 5, 5, 5),  # just after that ';' and END
)
_KEYWORDS = {"explain": _EXPLAIN, "create": _CREATE, "temp": _TEMP, "temporary": _TEMP,
             "trigger": _TRIGGER, "end": _END}

# One token as complete.c reads it. An opening quote, bracket or "/*" that is never closed leaves
# the statement incomplete to the end of the script (``open`` group).
_TOKEN = re.compile(r"""
    (?P<ws>[ \t\n\f\r]++|--[^\n]*+|/\*.*?\*/)
  | (?P<semi>;)
  | (?P<word>[0-9A-Za-z_$\u0080-\U0010ffff]++)
  | (?P<quoted>'[^']*+'|"[^"]*+"|`[^`]*+`|\[[^\]]*+\])
  | (?P<open>['"`\[]|/\*)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

_INSIGNIFICANT = re.compile(r"(?:[ \t\n\f\r]++|--[^\n]*+|/\*.*?\*/)*+", re.DOTALL)
_WORD = re.compile(r"[0-9A-Za-z_$\u0080-\U0010ffff]++")

# The rest of an ordinary statement up to and including its ';' (None when it never ends):
# possessive repetition, so the engine never backtracks and the scan is linear.
_REST_OF_STATEMENT = re.compile(r"""
    (?:[^;'"`\[/-]++|'[^']*+'|"[^"]*+"|`[^`]*+`|\[[^\]]*+\]|--[^\n]*+|/\*.*?\*/|/(?!\*)|-(?!-))*+;
""", re.VERBOSE | re.DOTALL)


# The common case in one match: leading whitespace and comments, then a statement whose first
# character is not ';' and cannot start CREATE or EXPLAIN, up to its ';'.
_ORDINARY_STATEMENT = re.compile(r"""
    (?:[ \t\n\f\r]++|--[^\n]*+|/\*.*?\*/)*+
    (?P<body>(?=[^;cCeE \t\n\f\r])(?!/\*)""" + _REST_OF_STATEMENT.pattern + ")", re.VERBOSE | re.DOTALL)


def split(sql: str) -> list[Statement]:
    """Split ``sql`` into statements; comment-only and empty pieces are dropped."""
    statements: list[Statement] = []
    append = statements.append
    ordinary = _ORDINARY_STATEMENT.match
    length = len(sql)
    position = counted = 0
    line = 1
    while position < length:
        found = ordinary(sql, position)
        if found is not None:  # fast path: most statements of a large data migration
            begin = found.start("body")
            end = position = found.end()
        else:
            start, end, position = _unusual_statement(sql, position)
            if start is None:
                break
            begin = start
            if begin == end:
                continue
        line += sql.count("\n", counted, begin)
        counted = begin
        text = sql[begin:end]
        append(Statement(text, line, line + text.count("\n"), len(statements), begin, end))
    return statements


def _unusual_statement(sql: str, position: int) -> tuple[int | None, int, int]:
    """Read the statement at ``position`` the slow way: empty ones, CREATE/EXPLAIN, unfinished text.

    :returns: (start of its text or None when only comments remain, end of its text, where the
        next statement starts); start == end for a statement with nothing to run.
    """
    length = len(sql)
    insignificant = _INSIGNIFICANT.match(sql, position)  # matches the empty string too: never None
    begin = insignificant.end() if insignificant is not None else position
    if begin >= length or sql.startswith("/*", begin):
        return None, length, length  # only whitespace and comments (the last one never closed) remain
    if sql[begin] == ";":
        return begin, begin, begin + 1  # an empty statement
    if sql[begin] in "cCeE" and _starts_a_trigger_or_explain(sql, begin):
        _, after = _next_statement(sql, begin)
    else:  # the first token puts the state machine in NORMAL: only the closing ';' matters
        rest = _REST_OF_STATEMENT.match(sql, begin)
        after = rest.end() if rest is not None else length
    text = sql[begin:after].rstrip()  # e.g. a vertical tab alone: whitespace to Python, nothing to run
    return begin, begin + len(text), after


def _starts_a_trigger_or_explain(sql: str, begin: int) -> bool:
    """Tell whether the statement at ``begin`` starts with CREATE or EXPLAIN (read token by token)."""
    word = _WORD.match(sql, begin)
    return word is not None and word.group().lower() in ("create", "explain")


def _next_statement(sql: str, position: int) -> tuple[int | None, int]:
    """Read one statement from ``position``; return (offset of its first token or None, offset after it)."""
    state = _START
    begin: int | None = None
    length = len(sql)
    while position < length:
        if state == _NORMAL:
            rest = _REST_OF_STATEMENT.match(sql, position)
            return begin, (rest.end() if rest is not None else length)
        match = _TOKEN.match(sql, position)
        assert match is not None  # ``other`` matches any character
        kind = match.lastgroup
        if kind == "open":  # never closed: the rest of the script is this statement (or a comment)
            if begin is None and match.group() == "/*":
                return None, length
            return (begin if begin is not None else position), length
        if kind == "ws":
            token = _WS
        elif kind == "semi":
            token = _SEMI
        elif kind == "word":
            token = _KEYWORDS.get(match.group().lower(), _OTHER) if len(match.group()) <= 9 else _OTHER
        else:
            token = _OTHER
        if token != _WS and begin is None:
            begin = position
        position = match.end()
        state = _TRANSITIONS[state][token]
        if state == _START and token == _SEMI:
            return begin, position
    return begin, length


def is_comment_only(sql: str) -> bool:
    """Return True when ``sql`` holds no statement at all (only comments and whitespace)."""
    return not split(sql)
