"""Suggested fixes are tried before they are shown.

A rule that suggests SQL attaches a :class:`Patch` to its finding: the SQL, and where it goes.
The engine replays the patched migration on a throwaway in-memory copy of the schema as it is
just before the migration (the earlier migrations applied) and offers the SQL only when every
statement of it runs there. A fix that fails ("duplicate column name", "no such column") is
replaced by a plain-words fix that says why no SQL is offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lightnb.backends import sqlite


@dataclass(frozen=True, slots=True)
class Patch:
    """SQL a fix offers, and what must run before and after it on the copy.

    :param sql: the SQL the fix offers (every statement must run).
    :param before: SQL that runs first, from the state just before the migration (the statements of
        the migration that precede the fix); a statement of it that fails is skipped, as it fails
        without the fix too.
    :param after: SQL that must run after ``sql`` too (e.g. the down half of a rebuild).
    :param otherwise: the fix to show when the SQL does not run.
    """

    sql: str
    before: tuple[str, ...] = ()
    after: str = ""
    otherwise: str = "write the change by hand"


def failure(image: bytes | None, patch: Patch) -> str | None:
    """Return SQLite's error when ``patch`` does not run on a copy of ``image``, else None.

    :param image: the serialized in-memory database just before the migration (``Replay.image``).
    """
    if image is None:
        return None
    conn = sqlite.memory_copy(image)
    try:
        for text in patch.before:
            _try(conn, text)
        for script in (patch.sql, patch.after):
            for statement in sqlite.split(script):
                try:
                    conn.execute(statement.text)
                except (sqlite.Error, sqlite.StatementWarning) as error:
                    return f"{error} (at: {' '.join(statement.text.split())[:80]})"
        return None
    finally:
        conn.close()


def _try(conn: sqlite.Connection, text: str) -> None:
    for statement in sqlite.split(text):
        try:
            conn.execute(statement.text)
        except (sqlite.Error, sqlite.StatementWarning):
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def checked_fix(image: bytes | None, fix: str, patch: Patch | None) -> str:
    """Return ``fix`` when its patch runs (or it has none), else the patch's plain-words fallback."""
    if patch is None:
        return fix
    error = failure(image, patch)
    if error is None:
        return fix
    return f"{patch.otherwise} (lightnb's suggested SQL does not run at this point of history: {error})"


class _Texted(Protocol):
    @property
    def text(self) -> str: ...


def statements_text(statements: Sequence[_Texted]) -> tuple[str, ...]:
    """Return the text of parsed statements (anything with a ``text`` attribute)."""
    return tuple(s.text for s in statements)
