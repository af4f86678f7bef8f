"""The tables whose row count some statements provably kept: counted before, known after without counting.

A capture counts every table the migration can change, before and after it. Counting a table reads
all its pages; but a migration that only updates rows (``UPDATE orders SET ...``) cannot change how
many there are, and its after count is then the before count, exactly. What the statements may have
written is what SQLite's authorizer saw them prepare (:mod:`lightnb.backends.sqlite.writes`: the
statements, the triggers they fired, their foreign-key actions). A table keeps its count when nothing
inserted into it, deleted from it, created, dropped or altered it, and the REPLACE conflict resolution
(which deletes the rows in an UPDATE's way, unseen by the authorizer) cannot have run: the word
``REPLACE`` appears neither in the SQL that ran nor in the schema (a table's ``ON CONFLICT REPLACE``,
a trigger's ``OR REPLACE``), before or after. Whenever anything is uncertain (a rollback, a virtual
table written, ``PRAGMA writable_schema``), every table is counted again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from lightnb.backends import sqlite
from lightnb.catalog import is_bookkeeping
from lightnb.inspect.snapshot import Snapshot, TableSnapshot

# REPLACE the conflict resolution (OR REPLACE, REPLACE INTO, ON CONFLICT REPLACE), not replace() the function
_REPLACE = re.compile(r"\breplace\b(?!\s*\()")
_VIRTUAL = re.compile(r"\s*create\s+virtual\b", re.IGNORECASE)


def kept_counts(conn: sqlite.Connection, previous: Snapshot, writes: sqlite.Writes,
                ran: Sequence[str]) -> dict[str, TableSnapshot]:
    """Return the tables of ``previous`` (by lower-case name) whose row count is still the one it holds.

    :param conn: the connection the statements ran on, as it is now.
    :param previous: a snapshot taken on ``conn`` before them.
    :param writes: what the statements prepared on ``conn`` since ``previous`` was taken may have
        written (watched from before it was taken until now, nothing prepared elsewhere in between).
    :param ran: the SQL text of those statements.
    :returns: the tables' snapshots without fingerprints (their values may have changed): a
        snapshot taken now may take their counts (see ``take_snapshot``'s ``known``).
    """
    kept = {t.name.lower(): replace(t, fingerprint=None, shown_fingerprint=None) for t in previous.tables
            if t.row_count >= 0 and not is_bookkeeping(t.name) and not t.name.lower().startswith("sqlite_")
            and not writes.may_count_differently(t.name)}
    if not kept:
        return {}  # (before reading any text: a data load's SQL may be long)
    now = [*sqlite.read_definitions(conn, "main"), *sqlite.read_definitions(conn, "temp")]
    texts = [*ran, *(t.table.sql for t in previous.tables), *(t.sql for t in previous.triggers),
             *(sql for _kind, _name, sql in now)]
    if any(replaces(text) for text in texts if text):
        return {}
    if any(kind == "table" and _VIRTUAL.match(sql) and writes.wrote(name)
           for kind, name, sql in now):
        return {}  # a virtual table writes its shadow tables through statements of its own
    return kept


def replaces(text: str) -> bool:
    """Whether ``text`` may ask for the REPLACE conflict resolution (the word outside a call of replace())."""
    lowered = text.lower()
    return "replace" in lowered and _REPLACE.search(lowered) is not None


__all__ = ["kept_counts", "replaces"]
