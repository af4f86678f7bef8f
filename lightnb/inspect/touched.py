"""The tables a migration's SQL can change: where a rehearsal needs to look, and where it need not.

Comparing every row of every table after each step costs as much as the database is large; a
migration usually changes one table. The tables it *can* change are found without parsing, so
that no statement the parser does not know can hide one:

- every table or view whose name appears anywhere in the SQL text (statements, comments, strings,
  any case; a name with a double quote also as SQL writes it), so the set is never smaller than
  what the statements name;
- the bodies of the triggers on those tables and views, which run with the statements and may
  change other tables (followed transitively);
- the tables whose foreign keys point at a table in the set (a delete, a drop or a rename of the
  parent may cascade, set null, or leave the child violating its key), transitively;
- the bookkeeping tables the runner writes.

A name found by accident only costs a comparison. ``PRAGMA writable_schema`` can rewrite any table
without naming it: then the answer is None, which means every table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lightnb.backends import sqlite
from lightnb.inspect.snapshot import Snapshot, TableSnapshot

if TYPE_CHECKING:
    from lightnb.catalog import Catalog

_ANYTHING = ("writable_schema",)  # a statement that may change tables it does not name


@dataclass(frozen=True)
class Touched:
    """The tables some SQL can change: ``name in touched`` (any case) for a table of the database
    or one the SQL creates (any name it mentions may be one)."""

    tables: frozenset[str]
    texts: tuple[str, ...]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name.lower() in self.tables or _mentioned(name, self.texts))


def touched_tables(conn: sqlite.Connection, sql: Iterable[str], *, schema: str = "main",
                   always: Iterable[str] = ()) -> Touched | None:
    """Return the tables ``sql`` can change on ``conn``'s database (as it is now), or None for all.

    :param sql: the texts that will run (e.g. a migration's up.sql and down.sql).
    :param always: names always in the set (the runner's bookkeeping tables).
    """
    corpus = "\n".join(sql).lower()
    if any(word in corpus for word in _ANYTHING):
        return None
    return touched_in(sqlite.read_catalog(conn, schema), [corpus], always=always)


def checked_tables(conn: sqlite.Connection, touched: Touched | None) -> list[str] | None:
    """The tables of ``conn``'s database, as it is now, that are in ``touched`` (None: every table).

    Where a check of what some SQL did needs to look: ``PRAGMA integrity_check`` or
    ``foreign_key_check`` of those tables gives, for what the SQL can have changed, what a whole-file
    pass gives; every other table's pages and rows are as they were.
    """
    if touched is None:
        return None
    return [name for name in table_names(conn) if name in touched]


def table_names(conn: sqlite.Connection) -> list[str]:
    """The names of the ordinary tables (no virtual table) of ``conn``'s main database, as it is now."""
    return [t.name for t in sqlite.read_catalog(conn).tables if not t.virtual]


def touched_in(schema: Catalog | Snapshot, sql: Iterable[str], *, always: Iterable[str] = ()) -> Touched | None:
    """Return the tables ``sql`` can change on a database whose schema was ``schema`` (a catalogue
    read, or a snapshot taken, just before the SQL ran), or None for all (see :func:`touched_tables`).
    """
    corpus = "\n".join(sql).lower()
    if any(word in corpus for word in _ANYTHING):
        return None
    tables = [t.table if isinstance(t, TableSnapshot) else t for t in schema.tables]
    relations = [t.name.lower() for t in tables] + [v.name.lower() for v in schema.views]
    triggers = [(t.table.lower(), t.sql.lower()) for t in schema.triggers]
    parents = {t.name.lower(): {key.ref_table.lower() for key in t.foreign_keys} for t in tables}
    found = {name.lower() for name in always}
    texts = [corpus]
    pending = list(triggers)
    grew = True
    while grew:
        grew = False
        for name in relations:
            if name not in found and _mentioned(name, texts):
                found.add(name)
                grew = True
        for child, refs in parents.items():
            if child not in found and any(r in found or _mentioned(r, texts) for r in refs):
                found.add(child)
                grew = True
        for trigger in list(pending):
            if trigger[0] in found or _mentioned(trigger[0], texts):
                texts.append(trigger[1])
                pending.remove(trigger)
                grew = True
    return Touched(frozenset(found), tuple(texts))


def _mentioned(name: str, texts: Sequence[str]) -> bool:
    lowered = name.lower()
    forms = {lowered, lowered.replace('"', '""'), lowered.replace("'", "''")}
    return any(form in text for text in texts for form in forms)
