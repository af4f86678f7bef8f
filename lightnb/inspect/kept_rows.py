"""The tables whose rows some statements provably kept: every row, its rowid, and each value of the columns it had.

A capture compares the rows of the before copy and the database in every table the step's SQL can change
(:func:`lightnb.capture.describe`): on a large table, a join of every row. But the most common migration, a column
added and filled (``ALTER TABLE t ADD COLUMN c ...``, ``UPDATE t SET c = ...``), cannot change a row of ``t`` in the
columns it had before, nor add or remove one: the row comparison, which reads only those columns, would find every
row unchanged. What the statements may have written is what SQLite's authorizer saw them prepare
(:mod:`lightnb.backends.sqlite.writes`: the statements, the triggers they fired, their foreign-key actions, an
UPDATE naming each column it sets). A table keeps its rows when nothing inserted into it or deleted from it, it was
neither made nor dropped (its indexes may be), every ``ALTER TABLE`` of it only added columns, and every UPDATE of
it set only columns that were not there before.

Whenever anything is uncertain, no table is kept (every one is compared, as before): writes that cannot be
followed (a rollback, ``PRAGMA writable_schema``), a virtual table written (it writes its shadow tables through
statements of its own), the REPLACE conflict resolution anywhere (it deletes the rows in an UPDATE's way, unseen
by the authorizer), ``VACUUM`` (it may give the rows of a table without an INTEGER PRIMARY KEY other rowids), an
``ALTER TABLE`` that cannot be read. A table is left out when it was rebuilt (another root page), lost or renamed
a column, has a hidden or generated column, or is a virtual table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lightnb.backends import sqlite
from lightnb.catalog import VISIBLE, Catalog, Table
from lightnb.inspect.kept_counts import replaces

_ROWID_NAMES = frozenset({"rowid", "_rowid_", "oid"})


def kept_rows(writes: sqlite.Writes | None, before: Catalog, after: Catalog, ran: Sequence[str]) -> frozenset[str]:
    """Return the tables (lower-case names) of both catalogs whose rows the statements ``ran`` provably kept, each
    with its rowid and the values of every column it had before (see the module docstring).

    :param writes: what the authorizer saw the statements prepare, and nothing else in between on the database
        (None: not followed, so nothing is kept).
    :param before: the schema before them.
    :param after: the schema after them.
    :param ran: their SQL text.
    """
    if writes is None or writes.anything or any(_vacuums(text) for text in ran):
        return frozenset()
    definitions = [t.sql for catalog in (before, after) for t in catalog.tables] + \
        [t.sql for catalog in (before, after) for t in catalog.triggers]
    if any(replaces(text) for text in (*ran, *definitions) if text):
        return frozenset()
    done = writes.rows_and_shapes()
    written = done.inserted | done.deleted | set(done.updated) | done.made_or_dropped
    if any(t.virtual and t.name.lower() in written for catalog in (before, after) for t in catalog.tables):
        return frozenset()
    added_to: frozenset[str] | None = frozenset()
    if done.altered:  # (reading an ALTER loads the SQL parser: only when there is one)
        from lightnb.inspect.kept_keys import columns_only_added_to
        added_to = columns_only_added_to(ran, references=True)
    if added_to is None:
        return frozenset()
    now = {t.name.lower(): t for t in after.tables}
    kept: set[str] = set()
    for table in before.tables:
        name = table.name.lower()
        later = now.get(name)
        if later is None or name in done.inserted or name in done.deleted or name in done.made_or_dropped \
                or (name in done.altered and name not in added_to) or not _same_rows_possible(table, later):
            continue
        earlier = {c.name.lower() for c in table.columns}
        set_columns = done.updated.get(name, frozenset())
        if set_columns & _ROWID_NAMES or set_columns & earlier:
            continue  # (an UPDATE of a column added by these statements sets no value a row had)
        kept.add(name)
    return frozenset(kept)


def _same_rows_possible(table: Table, later: Table) -> bool:
    """Whether ``later`` holds ``table``'s rows where they were, with every column they had (added ones aside)."""
    if table.virtual or later.virtual or table.unreadable or later.unreadable or table.without_rowid != \
            later.without_rowid or table.rootpage != later.rootpage or not table.rootpage:
        return False
    if any(c.hidden != VISIBLE for c in (*table.columns, *later.columns)):
        return False  # a generated column follows the columns it is made of: left to the comparison
    return {c.name.lower() for c in table.columns} <= {c.name.lower() for c in later.columns}


def _vacuums(text: str) -> bool:
    if "vacuum" not in text.lower():
        return False
    return any(statement.text.lstrip()[:6].lower() == "vacuum" for statement in sqlite.split(text))


@dataclass(frozen=True)
class KeptRows:
    """The tables whose rows a captured step provably kept (:func:`kept_rows`), between its before copy and its
    database, each in the committed state it was in when the step ended.

    :param tables: lower-case names.
    :param before_state: the before copy's committed state (:func:`lightnb.backends.sqlite.committed_state`).
    :param after_state: the database's.
    """

    tables: frozenset[str]
    before_state: tuple[int, ...]
    after_state: tuple[int, ...]

    def holding(self, before_copy: str | Path, database: str | Path) -> frozenset[str]:
        """:attr:`tables` while both files are still in those states (nothing written since); else none."""
        if sqlite.committed_state(before_copy) != self.before_state or \
                sqlite.committed_state(database) != self.after_state:
            return frozenset()
        return self.tables


def kept_for(tables: frozenset[str] | None, before_copy: Path | None, after_state: tuple[int, ...] | None
             ) -> KeptRows | None:
    """A :class:`KeptRows` of ``tables`` for a before copy and a database now in ``after_state`` (None when any of
    them is unknown, or no table was kept)."""
    before_state = sqlite.committed_state(before_copy) if before_copy is not None else None
    if not tables or before_state is None or after_state is None:
        return None
    return KeptRows(frozenset(tables), before_state, after_state)


# A result keeps what its step provably kept out of its fields (like the impact measured ahead: lightnb.inspect.ahead),
# so that nothing renders or serialises it; describing the step takes it while both files are provably unchanged.
_KEPT = "_rows_kept"


def keep_kept_rows(result: object, kept: KeptRows | None) -> None:
    """Let ``result`` (a step's :class:`~lightnb.results.RunResult`) hold ``kept``."""
    object.__setattr__(result, _KEPT, kept)


def kept_rows_of(result: object) -> KeptRows | None:
    """What :func:`keep_kept_rows` let ``result`` hold (None when nothing)."""
    return getattr(result, _KEPT, None)


__all__ = ["KeptRows", "keep_kept_rows", "kept_for", "kept_rows", "kept_rows_of"]
