"""Copies of secrets found by value on PostgreSQL: which shown values a masked column holds.

The shared rule is :class:`~lightnb.inspect.lineage.SecretFinder` (texts of at least 8 characters,
never numbers, looked up set-wise, cached; a bounded lookup reads a large table's masked column only
through an index leading with it). Here are PostgreSQL's parts: the masked text-like columns of the
ordinary tables of one or more databases, asked ``SELECT DISTINCT col FROM t WHERE col::text = ANY(…)``
in a read-only transaction; a table is large by the planner's own estimate (``pg_class.reltuples``
scaled to the table's current size), never by a count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from lightnb.backends.postgres.records import read_catalog
from lightnb.catalog import Table
from lightnb.errors import DatabaseError
from lightnb.inspect.lineage import SecretFinder
from lightnb.inspect.redact import Redactor

# format_type's names of the types whose values are compared as text (a uuid, json or bytea is not a copy of a token)
_TEXT_TYPES = ("text", "character varying", "character", "citext", "name")

# rows per page: the planner's estimate (reltuples/relpages) scaled to the table's current size; a table never
# analysed (or analysed empty) counts at most one row per 28 bytes (a heap tuple's header and line pointer)
_ESTIMATE = sql.SQL(
    "SELECT CASE WHEN c.reltuples >= 0 AND c.relpages > 0 THEN c.reltuples / c.relpages "
    "ELSE current_setting('block_size')::int / 28 END, "
    "pg_relation_size(c.oid) / current_setting('block_size')::int FROM pg_class c WHERE c.oid = {}::regclass")


def _identifier(table: str) -> sql.Identifier:
    """``table`` as the catalogue names it (``schema.table`` outside ``public``), quoted."""
    return sql.Identifier(*table.split(".", 1))


@contextlib.contextmanager
def _read_only(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """A read-only transaction (a savepoint inside one already open)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        yield


def _text_like(type_name: str) -> bool:
    base = type_name.split("(", 1)[0].strip().lower()
    return base in _TEXT_TYPES


class PgKnownSecrets(SecretFinder):
    """:class:`SecretFinder` over PostgreSQL databases (each session read-only)."""

    def __init__(self, conns: Sequence[psycopg.Connection[Any]], redactor: Redactor, *,
                 scan_limit: int | None = None) -> None:
        super().__init__(redactor, scan_limit=scan_limit)
        self.conns = tuple(conns)

    def _conn(self, where: str) -> psycopg.Connection[Any]:
        return self.conns[int(where)]

    def _find_sources(self) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        for i, conn in enumerate(self.conns):
            try:
                with _read_only(conn):
                    tables = read_catalog(conn).tables
                    for table in tables:
                        text = {c.name for c in table.columns if _text_like(c.type)}
                        found += [(str(i), table.name, c) for c in self._masked(str(i), table) if c in text]
            except (psycopg.Error, DatabaseError):
                continue
        return found

    def _large(self, where: str, table: Table) -> bool:
        conn = self._conn(where)
        try:
            with conn.transaction():  # a savepoint: a failure leaves the catalogue read going
                row = conn.execute(_ESTIMATE.format(sql.Literal(_identifier(table.name).as_string(conn)))).fetchone()
        except psycopg.Error:
            return True  # unknown size: only its indexes are used
        if row is None:
            return True
        per_page, pages = row
        return float(per_page) * int(pages) > (self.scan_limit or 0)

    @staticmethod
    def lookup(table: str, column: str) -> sql.Composed:
        """The query telling which of some texts (its one parameter, a list) ``table.column`` holds."""
        return sql.SQL("SELECT DISTINCT {c}::text FROM {t} WHERE {c}::text = ANY(%s::text[])").format(
            c=sql.Identifier(column), t=_identifier(table))

    def _holding(self, source: tuple[str, str, str], values: list[str]) -> Iterable[object]:
        where, table, column = source
        conn = self._conn(where)
        query = self.lookup(table, column)
        try:
            with _read_only(conn):
                return [r[0] for r in conn.execute(query, (values,))]
        except psycopg.Error:
            return ()


def pg_known_secrets(conns: Sequence[psycopg.Connection[Any]], redactor: Redactor, *,
                     bounded: bool = False) -> PgKnownSecrets:
    """Return a :class:`PgKnownSecrets` over the databases of ``conns`` (``bounded``: at most
    :attr:`SecretFinder.SCAN_LIMIT` rows read per masked column unless an index leads with it)."""
    return PgKnownSecrets(conns, redactor, scan_limit=SecretFinder.SCAN_LIMIT if bounded else None)


__all__ = ["PgKnownSecrets", "pg_known_secrets"]
