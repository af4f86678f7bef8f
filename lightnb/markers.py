"""Comments a migration's SQL can carry to tell lightnb what its author intends.

``-- lightnb: irreversible: <reason>`` in **down.sql** declares a one-way migration (a data
conversion that cannot be undone, a purge the team decided on). ``lightnb check`` then gives it
the verdict ``irreversible (declared: <reason>)`` with the impact of up.sql measured on the copy,
instead of "unsafe" for an empty down.sql; lint reports the missing undo as information. The
reason is required: a marker without one declares nothing. A down.sql that is empty without the
marker stays unsafe. The declaration answers for the missing undo only: a destructive statement in
up.sql is still acknowledged with ``-- lightnb: allow-destructive`` (lint's ``destructive`` rule).

Markers are read from SQL comments only (``--`` to the end of the line, or ``/* … */``); the same
words inside a string literal or an identifier are not a marker.
"""

from __future__ import annotations

import re

IRREVERSIBLE = "lightnb: irreversible"
_IRREVERSIBLE = re.compile(r"^\s*lightnb\s*:\s*irreversible\b\s*(?::\s*(?P<reason>.*))?$", re.IGNORECASE)


def comments(sql: str) -> list[str]:
    """Return the text of every comment in ``sql`` (without ``--``, ``/*``, ``*/``), in order.

    Quotes are honoured as SQLite reads them: ``'…'`` strings, ``"…"``, ```…``` and ``[…]`` names.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"`":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            i = end + 1
        elif char == "[":
            close = sql.find("]", i + 1)
            i = n if close < 0 else close + 1
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end = n if newline < 0 else newline
            out.append(sql[i + 2:end])
            i = end
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            end = n if close < 0 else close
            out.extend(sql[i + 2:end].splitlines() or [""])
            i = end + 2
        else:
            i += 1
    return out


def declared_irreversible(down_sql: str | None) -> str | None:
    """Return the reason a down.sql declares its migration irreversible, or None when it does not.

    A marker without a reason (``-- lightnb: irreversible``) returns None: see :func:`marker_without_reason`.
    """
    if not down_sql:
        return None
    for text in comments(down_sql):
        match = _IRREVERSIBLE.match(text)
        if match and (reason := (match.group("reason") or "").strip()):
            return reason
    return None


def marker_without_reason(down_sql: str | None) -> bool:
    """Tell whether a down.sql carries the irreversible marker but gives no reason (so declares nothing)."""
    if not down_sql:
        return False
    return any((m := _IRREVERSIBLE.match(t)) and not (m.group("reason") or "").strip() for t in comments(down_sql))
