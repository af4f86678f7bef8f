"""Keep migration SQL inside the database it runs on, whichever path runs it.

Migration SQL is executed by ``migration run/revert/redo``, by lint's replay, by check's
rehearsal, by impact measurement and by the panels. On every such connection SQLite's
authorizer (:meth:`sqlite3.Connection.set_authorizer`) refuses, when a statement is prepared:

* ``ATTACH`` of any database file other than the connection's own file and the files of the
  private scratch folder that holds it (an attached file could then be written: production, say);
  in-memory and temporary databases (``''``, ``:memory:``, ``mode=memory``) are harmless and allowed;
* ``VACUUM INTO`` a file outside those same places (SQLite authorizes it as an ATTACH of the target);
* ``PRAGMA temp_store_directory``/``data_store_directory`` (they move SQLite's files elsewhere);
* ``load_extension()`` and ``fts3_tokenizer()`` (native code; both are also off by default);
* optionally, transaction control (``BEGIN``, ``COMMIT``, ``ROLLBACK``, ending diesel's and lightnb's savepoints) in a
  migration that runs inside diesel's transaction.

Whether the migration runs in a transaction or not (``run_in_transaction = false``), the same
guard applies. A refused statement fails with SQLite's "not authorized"; :meth:`Guard.take`
then says which rule refused it and what to do, in words for one line.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from lightnb import scratch
from lightnb.backends.sqlite.script import split

if TYPE_CHECKING:
    from lightnb.backends.sqlite.writes import Writes

REFUSED_PRAGMAS = frozenset({"temp_store_directory", "data_store_directory"})
REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})
IN_MEMORY_NAMES = ("", ":memory:")
REFUSED_BY_LIGHTNB = "refused by lightnb: "  # how replayed statements' refusals start
_JUDGED = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_FUNCTION,
                     sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT})
# the savepoints a migration runs inside (diesel's nesting, lightnb's measurement): a statement of the migration may
# not release them or roll back to them (it would end, or commit, the transaction it runs in)
OUTER_SAVEPOINTS = ("diesel_savepoint_", "lightnb_")
IN_TRANSACTION = ("is not allowed in a migration that runs in a transaction",
                  "remove it, or set `run_in_transaction = false` in its metadata.toml")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the guard refused a statement: ``problem`` and ``fix`` are each part of one line."""

    problem: str
    fix: str
    escape: bool = True  # False for transaction control: not an attempt to leave the database

    def text(self) -> str:
        return f"{self.problem} — fix: {self.fix}"


@dataclass(eq=False)
class Guard:
    """The authorizer of one connection.

    :param own: files the connection may attach (its own database file, realpath).
    :param folders: folders whose files it may attach or VACUUM INTO (its private scratch folder).
    :param transaction_control: allow BEGIN/COMMIT/ROLLBACK and ending diesel's and lightnb's savepoints.
    """

    own: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()
    transaction_control: bool = True
    begins: int = 0  # BEGINs still allowed without transaction control (the runner's own)
    refusals: list[tuple[Refusal, str | None]] = field(default_factory=list)
    seen: set[tuple[int, str | None, str | None]] | None = None  # every question but reads (see writes)

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None,
                 _source: str | None) -> int:
        if self.seen is not None and action != sqlite3.SQLITE_READ:
            self.seen.add((action, arg1, arg2))
        if action not in _JUDGED:
            return sqlite3.SQLITE_OK  # reads, inserts, updates, schema changes: inside the database
        try:
            refusal = self._judge(action, arg1, arg2)
        except Exception:  # noqa: BLE001 - an authorizer must answer; when in doubt, refuse
            refusal = Refusal("a statement lightnb could not check was refused", "remove it")
        if refusal is None:
            return sqlite3.SQLITE_OK
        self.refusals.append((refusal, arg1 if action == sqlite3.SQLITE_ATTACH else None))
        return sqlite3.SQLITE_DENY

    def _judge(self, action: int, arg1: str | None, arg2: str | None) -> Refusal | None:
        if action == sqlite3.SQLITE_ATTACH:
            return None if self.may_attach(arg1) else _attach_refusal(arg1)
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in REFUSED_PRAGMAS and arg2 is not None:
            return Refusal(f"PRAGMA {(arg1 or '').lower()} is refused (it moves SQLite's files out of the "
                           f"database's folder)", "remove it")
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in REFUSED_FUNCTIONS:
            return Refusal(f"{(arg2 or '').lower()}() is refused (it would load native code into lightnb)", "remove it")
        if not self.transaction_control:
            if action == sqlite3.SQLITE_TRANSACTION and arg1 == "BEGIN" and self.begins > 0:
                self.begins -= 1
                return None
            if action == sqlite3.SQLITE_TRANSACTION:
                return Refusal(f"{arg1 or 'transaction control'} {IN_TRANSACTION[0]}", IN_TRANSACTION[1], False)
            if action == sqlite3.SQLITE_SAVEPOINT and arg1 != "BEGIN" and \
                    (arg2 or "").lower().startswith(OUTER_SAVEPOINTS):
                return Refusal(f"{arg1} SAVEPOINT {arg2} {IN_TRANSACTION[0]}", IN_TRANSACTION[1], False)
        return None

    def may_attach(self, name: str | None) -> bool:
        """Tell whether ATTACH (or VACUUM INTO) of the file ``name`` stays inside this connection's copies."""
        if name is None:
            return False  # a computed file name cannot be checked before it runs
        if name in IN_MEMORY_NAMES:
            return True
        path = name
        if name.startswith("file:"):
            parts = urlsplit(name)
            query = parse_qs(parts.query)
            if parts.netloc not in ("", "localhost") or "vfs" in query:
                return False
            if query.get("mode", [""])[-1] == "memory":
                return True
            path = unquote(parts.path)
            if path in IN_MEMORY_NAMES:
                return True  # "file:" alone is a temporary database; "file::memory:" lives in memory
        resolved = os.path.realpath(os.path.join(os.getcwd(), path))
        if resolved in self.own:
            return True
        return any(resolved.startswith(folder + os.sep) for folder in self.folders)

    def take(self, statement: str = "") -> Refusal | None:
        """Return (and forget) the refusal behind the last "not authorized" error, if the guard made one.

        :param statement: the refused statement's text, to name a ``VACUUM INTO`` as such.
        """
        if not self.refusals:
            return None
        refusal, target = self.refusals[-1]
        self.refusals.clear()
        if target is not None and _first_word(statement) == "vacuum":
            return Refusal(f"VACUUM INTO {_quoted(target)} is refused (it would write a copy of the database "
                           f"outside lightnb's own copies)", "remove it; back up with `lightnb snapshot` or "
                           "sqlite3's .backup, outside the migration")
        return refusal


def _attach_refusal(name: str | None) -> Refusal:
    what = "a computed file name" if name is None else _quoted(name)
    return Refusal(f"ATTACH of {what} is refused (migration SQL may change only the database it runs on; "
                   f"an attached file could be written, production included)",
                   "remove it; copy data in with a separate, reviewed step")


def _quoted(name: str) -> str:
    shown = name if len(name) <= 120 else name[:119] + "…"
    return "'" + shown.replace("'", "''") + "'"


def _first_word(statement: str) -> str:
    pieces = split(statement)
    text = pieces[0].text if pieces else ""
    word = text[:16].split(None, 1)
    return word[0].lower() if word else ""


def install(conn: sqlite3.Connection, *, transaction_control: bool = True, begins: int = 0,
            writes: Writes | None = None) -> Guard:
    """Install a guard on ``conn`` (replacing its authorizer) and return it.

    The connection's own database files are read from ``PRAGMA database_list``; when its main
    file lives in a lightnb scratch folder (:mod:`lightnb.scratch`), that folder's files are its
    own copies too. A connection watched by :func:`lightnb.backends.sqlite.writes.watch` keeps
    being watched.

    :param transaction_control: False refuses BEGIN/COMMIT/ROLLBACK and the end of diesel's and lightnb's savepoints
        (a migration running inside diesel's transaction).
    :param begins: without transaction control, still allow this many BEGINs (the runner's own,
        when it runs a whole file in one call).
    :param writes: where to record what the statements may write (default: the connection's own record, when
        :func:`~lightnb.backends.sqlite.writes.watch` gave it one).
    """
    own, folders = set(), []
    conn.set_authorizer(None)  # read the list of databases unguarded, then guard
    for _seq, _name, file in conn.execute("PRAGMA database_list").fetchall():
        if file:
            own.add(os.path.realpath(file))
            holder = scratch.holding(file)
            if holder is not None:
                folders.append(os.path.realpath(holder))
    guard = Guard(frozenset(own), tuple(dict.fromkeys(folders)), transaction_control, begins,
                  seen=writes.seen if writes is not None else getattr(getattr(conn, "watched_writes", None), "seen",
                                                                      None))
    conn.set_authorizer(guard)
    return guard


def is_refusal(error: BaseException) -> bool:
    """Tell whether ``error`` is SQLite's answer to an authorizer's refusal."""
    text = str(error)
    return isinstance(error, sqlite3.DatabaseError) and ("not authorized" in text or "authorization denied" in text)

