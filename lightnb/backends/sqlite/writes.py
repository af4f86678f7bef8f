"""Which tables the statements run on a connection may have added rows to or removed rows from.

SQLite asks the authorizer about every table a statement touches when it prepares the statement,
including what runs with it: the bodies of the triggers it fires (named as their trigger's actions)
and its foreign-key actions (a cascading delete is a DELETE on the child table, a cascading update
or SET NULL an UPDATE). The SQL guard (:mod:`lightnb.backends.sqlite.guard`) hands every question
it is asked to the :class:`Writes` that :func:`watch` attached to the connection, so a caller that
counted a table's rows before the statements ran can tell whether they may have changed its count.

A table's row count may have changed when some statement inserted into it, deleted from it, created,
dropped or altered it, or when :attr:`Writes.anything` is set: a statement that can change tables
without naming them (``PRAGMA writable_schema``, creating or dropping a virtual table) or that undoes
earlier work (``ROLLBACK``, ``ROLLBACK TO``). An UPDATE keeps the count, except under the REPLACE
conflict resolution, which deletes the rows in its way: the authorizer does not tell it, so the
caller checks the statements' text and the schema for it (:mod:`lightnb.inspect.kept_counts`).

Watching installs the guard again, which expires every statement prepared before: SQLite prepares
each of them again, asking the watching guard, before it runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from lightnb.backends.sqlite import guard

# actions that name, as their first argument, a table whose rows they may add or remove
_ROWS_OF_FIRST = frozenset({sqlite3.SQLITE_INSERT, sqlite3.SQLITE_DELETE, sqlite3.SQLITE_CREATE_TABLE,
                            sqlite3.SQLITE_CREATE_TEMP_TABLE, sqlite3.SQLITE_DROP_TABLE,
                            sqlite3.SQLITE_DROP_TEMP_TABLE})
# actions that keep every table's row count (an UPDATE: see the module docstring)
_KEEP = frozenset({sqlite3.SQLITE_READ, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION,
                   sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TEMP_INDEX,
                   sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TEMP_INDEX, sqlite3.SQLITE_CREATE_TRIGGER,
                   sqlite3.SQLITE_CREATE_TEMP_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER,
                   sqlite3.SQLITE_DROP_TEMP_TRIGGER, sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_CREATE_TEMP_VIEW,
                   sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_DROP_TEMP_VIEW, sqlite3.SQLITE_ATTACH,
                   sqlite3.SQLITE_DETACH, sqlite3.SQLITE_REINDEX, sqlite3.SQLITE_ANALYZE})
# pragmas set to let SQL change tables without naming them
_ANYTHING_PRAGMAS = frozenset({"writable_schema", "schema_version"})


_TABLE_ACTIONS = frozenset({sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_TEMP_TABLE, sqlite3.SQLITE_DROP_TABLE,
                            sqlite3.SQLITE_DROP_TEMP_TABLE})
_INDEX_ACTIONS = frozenset({sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_CREATE_TEMP_INDEX,
                            sqlite3.SQLITE_DROP_TEMP_INDEX})


@dataclass(frozen=True)
class RowWrites:
    """What some statements may have done, table by table (lower-case names), as the authorizer saw them.

    :param inserted: tables rows may have been inserted into.
    :param deleted: tables rows may have been deleted from.
    :param updated: per table, the columns an UPDATE may have set (as named: ``rowid`` for the rowid).
    :param reshaped: tables made or dropped, or whose indexes were made or dropped.
    :param altered: tables an ``ALTER TABLE`` changed (the kind of change is in its text, not here).
    :param made_or_dropped: tables made or dropped (of ``reshaped``: not those whose indexes alone were).
    """

    inserted: frozenset[str]
    deleted: frozenset[str]
    updated: Mapping[str, frozenset[str]]
    reshaped: frozenset[str]
    altered: frozenset[str]
    made_or_dropped: frozenset[str] = frozenset()


@dataclass(eq=False)
class Writes:
    """What the statements prepared on one connection since the last :meth:`clear` may have written.

    :param seen: the authorizer's questions ``(action, first argument, second argument)``, each once
        (reads left out): the guard adds them as it is asked, and they are judged when asked for.
    """

    seen: set[tuple[int, str | None, str | None]] = field(default_factory=set)
    _judged: tuple[int, frozenset[str], frozenset[str], bool] | None = field(default=None, repr=False)

    def __call__(self, action: int, arg1: str | None, arg2: str | None) -> None:
        """Record one question of the authorizer (as the guard does)."""
        if action != sqlite3.SQLITE_READ:
            self.seen.add((action, arg1, arg2))

    @property
    def counted(self) -> frozenset[str]:
        """The tables (lower-case names, of any attached schema) whose rows may have been added or removed."""
        return self._judge()[1]

    @property
    def updated(self) -> frozenset[str]:
        """The tables (lower-case names) whose rows may have been updated."""
        return self._judge()[2]

    @property
    def anything(self) -> bool:
        """Whether any table's rows may have changed (see the module docstring)."""
        return self._judge()[3]

    def may_count_differently(self, table: str) -> bool:
        """Tell whether the statements may have changed the number of rows of ``table`` (any case)."""
        return self.anything or table.lower() in self.counted

    def wrote(self, table: str) -> bool:
        """Tell whether the statements may have written ``table`` (any case) at all."""
        return self.anything or table.lower() in self.counted or table.lower() in self.updated

    def rows_and_shapes(self) -> RowWrites:
        """What the statements may have done, table by table (lower-case names): see :class:`RowWrites`."""
        inserted: set[str] = set()
        deleted: set[str] = set()
        reshaped: set[str] = set()
        made_or_dropped: set[str] = set()
        altered: set[str] = set()
        updated: dict[str, set[str]] = {}
        for action, first, second in list(self.seen):
            if action == sqlite3.SQLITE_INSERT and first:
                inserted.add(first.lower())
            elif action == sqlite3.SQLITE_DELETE and first:
                deleted.add(first.lower())
            elif action == sqlite3.SQLITE_UPDATE and first and second:
                updated.setdefault(first.lower(), set()).add(second.lower())
            elif action in _TABLE_ACTIONS and first:
                reshaped.add(first.lower())
                made_or_dropped.add(first.lower())
            elif action in _INDEX_ACTIONS and second:
                reshaped.add(second.lower())
            elif action == sqlite3.SQLITE_ALTER_TABLE and second:
                altered.add(second.lower())
        return RowWrites(frozenset(inserted), frozenset(deleted), {t: frozenset(c) for t, c in updated.items()},
                         frozenset(reshaped), frozenset(altered), frozenset(made_or_dropped))

    def clear(self) -> None:
        """Forget what was recorded: from now on, only the statements prepared later are told."""
        self.seen.clear()
        self._judged = None

    def _judge(self) -> tuple[int, frozenset[str], frozenset[str], bool]:
        if self._judged is not None and self._judged[0] == len(self.seen):
            return self._judged  # (the set only grows until cleared)
        counted: set[str] = set()
        updated: set[str] = set()
        anything = False
        for action, arg1, arg2 in list(self.seen):
            if action in _KEEP:
                if action == sqlite3.SQLITE_UPDATE and arg1:
                    updated.add(arg1.lower())
            elif action in _ROWS_OF_FIRST and arg1:
                counted.add(arg1.lower())
            elif action == sqlite3.SQLITE_ALTER_TABLE and arg2:
                counted.add(arg2.lower())  # (its first argument is the schema)
            elif action == sqlite3.SQLITE_PRAGMA:
                anything = anything or ((arg1 or "").lower() in _ANYTHING_PRAGMAS and arg2 is not None)  # set
            elif action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT):
                anything = anything or (arg1 or "").upper() == "ROLLBACK"
            else:  # a virtual table made or dropped, or an action this list does not know
                anything = True
        self._judged = (len(self.seen), frozenset(counted), frozenset(updated), anything)
        return self._judged


def watch(conn: sqlite3.Connection) -> Writes | None:
    """Record from now on what the statements run on ``conn`` may write (None: ``conn`` cannot be watched).

    Every guard installed on ``conn`` afterwards adds to the same record (one set insertion per question,
    judged only when asked); the guard is installed again now, so no statement prepared before escapes it.
    """
    writes = Writes()
    try:
        conn.watched_writes = writes  # type: ignore[attr-defined]  # lightnb's connections hold attributes
    except AttributeError:
        return None  # a plain sqlite3 connection: nothing is recorded, every count is taken again
    guard.install(conn)
    return writes


__all__ = ["RowWrites", "Writes", "watch"]
