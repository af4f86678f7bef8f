"""The parsed structure of SQLite schema objects, so comparisons ignore spelling and see meaning.

Two definitions that SQLite stores and enforces identically are equal here: ``TEXT NULL`` and
``TEXT``; ``VARCHAR(50)`` and ``TEXT`` or ``REAL`` and ``FLOAT`` (same affinity, same Diesel type,
so the same schema.rs); keyword case and whitespace; ``'x'`` and ``"x"`` where SQLite reads the
double-quoted word as a string (a DEFAULT, or a name that is no column); ``DEFAULT NULL`` and no
default; ``FALSE`` and ``0``. Whatever really differs is described in words for people
("the index is no longer partial"), never as two identical-looking spellings.

Expressions are read with sqlglot; one that does not parse is compared by its tokens, with case
and spacing ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from lightnb.inspect._parser import bind_on_first_use

if TYPE_CHECKING:
    import sqlglot
    from sqlglot import exp
    from sqlglot.tokens import TokenType
else:  # the parser is imported when an expression is first parsed (equal spellings need none)
    bind_on_first_use(globals())

_log = logging.getLogger("sqlglot")


def affinity(declared: str) -> str:
    """Return SQLite's type affinity of a declared type (the rules of SQLite's datatype3 §3.1)."""
    upper = (declared or "").upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def diesel_type(declared: str) -> str | None:
    """Return the Diesel SQL type print-schema writes for a declared type (None when it maps to none)."""
    from lightnb.errors import LightnbError
    from lightnb.schema.introspect import sql_type

    try:
        return sql_type(declared or "")
    except LightnbError:
        return None


def same_type(a: str, b: str) -> bool:
    """Tell whether two declared types are the same to SQLite and to schema.rs (affinity and Diesel type)."""
    if " ".join(a.upper().split()) == " ".join(b.upper().split()):
        return True
    return affinity(a) == affinity(b) and diesel_type(a) == diesel_type(b) and diesel_type(a) is not None


def type_change(a: str, b: str) -> str:
    """Describe a real change of declared type in words: what SQLite stores, and what schema.rs says."""
    text = f"type {a or 'none'} -> {b or 'none'}"
    why = []
    if affinity(a) != affinity(b):
        why.append(f"values stored with {affinity(b)} affinity instead of {affinity(a)}")
    da, db = diesel_type(a), diesel_type(b)
    if da != db:
        why.append(f"schema.rs {da or 'unmapped'} -> {db or 'unmapped'}")
    return text + (f" ({'; '.join(why)})" if why else "")


def _parse(sql: str, into: type[exp.Expr] | None = None) -> exp.Expr | None:
    level = _log.level
    _log.setLevel(logging.CRITICAL)
    try:
        return sqlglot.parse_one(sql, read="sqlite", into=into) if into else sqlglot.parse_one(sql, read="sqlite")
    except (sqlglot.errors.SqlglotError, ValueError, IndexError, TypeError, RecursionError):
        return None
    finally:
        _log.setLevel(level)


def _token_key(sql: str) -> str:
    """Fallback: tokens with case ignored (string literals kept), joined by single spaces."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("sqlite").tokenize(sql)
    except (sqlglot.errors.SqlglotError, ValueError, IndexError):
        return " ".join(sql.lower().split())
    return " ".join(repr(t.text) if t.token_type == TokenType.STRING else t.text.lower() for t in tokens)


def _strings_for_unknown_names(tree: exp.Expr, columns: Iterable[str]) -> exp.Expr:
    """Read ``"x"`` as the string 'x' where SQLite does: a quoted name that is no column of the table."""
    known = {c.lower() for c in columns}

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier) \
                and node.this.quoted and node.name.lower() not in known:
            return exp.Literal.string(node.name)
        return node

    return tree.transform(fix, copy=True)


def expression_key(sql: str | None, columns: Iterable[str] | None = None) -> str | None:
    """Return a spelling-free key of an SQL expression or statement: equal keys mean the same thing.

    :param columns: the columns in scope (a table's, for a CHECK or an index); a double-quoted word
        that names none of them is the string SQLite reads it as (``()`` in a DEFAULT: every one is).
        ``None`` keeps double-quoted words as names (views and triggers, which name other tables).
    """
    return _expression_key(sql, None if columns is None else tuple(columns))


@lru_cache(maxsize=4096)
def _expression_key(sql: str | None, columns: tuple[str, ...] | None) -> str | None:
    if sql is None:
        return None
    tree = _parse(sql)
    if tree is None:
        return _token_key(sql)
    if columns is not None:
        tree = _strings_for_unknown_names(tree, columns)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    for node in tree.find_all(exp.Identifier):
        node.set("this", node.name.lower())
        node.set("quoted", False)
    return tree.sql(dialect="sqlite", normalize=True, comments=False)


@lru_cache(maxsize=4096)
def default_key(default: str | None, declared_type: str = "") -> tuple | None:
    """Return what a column default stores, so that spellings of one value compare equal.

    ``NULL`` is no default; ``'x'`` and ``"x"`` are the text x; ``TRUE``/``FALSE`` are 1 and 0;
    numbers compare by value under a numeric affinity and by their text under TEXT affinity.
    Anything else (``CURRENT_TIMESTAMP``, a parenthesised expression) compares by its parsed form.
    """
    if default is None:
        return None
    tree = _parse(default)
    if tree is None:
        return ("expr", _token_key(default))
    while isinstance(tree, exp.Paren):
        tree = tree.this
    kind = affinity(declared_type)
    if isinstance(tree, exp.Null):
        return None
    if isinstance(tree, exp.Column) and isinstance(tree.this, exp.Identifier) and tree.this.quoted and not tree.table:
        return _text_or_number(tree.name, kind, is_string=True)
    if isinstance(tree, exp.Literal):
        return _text_or_number(str(tree.this), kind, is_string=tree.is_string)
    if isinstance(tree, exp.Boolean):
        return _text_or_number("1" if tree.this else "0", kind, is_string=False)
    if isinstance(tree, exp.Neg) and isinstance(tree.this, exp.Literal) and not tree.this.is_string:
        return _text_or_number("-" + str(tree.this.this), kind, is_string=False)
    if isinstance(tree, exp.HexString):
        return ("blob", str(tree.this).lower())
    return ("expr", expression_key(default, ()))


def _text_or_number(text: str, kind: str, *, is_string: bool) -> tuple:
    if kind in ("INTEGER", "REAL", "NUMERIC"):
        try:
            return ("number", float(text))
        except ValueError:
            return ("text", text)
    if is_string or kind == "TEXT":
        return ("text", text)
    try:
        value = int(text)
        return ("integer", value)
    except ValueError:
        try:
            return ("real", float(text))
        except ValueError:
            return ("text", text)


@dataclass(frozen=True, slots=True)
class TableDefinition:
    """What a CREATE TABLE says beyond ``PRAGMA table_xinfo``: the parts SQLite keeps only in its SQL.

    :param autoincrement: the INTEGER PRIMARY KEY is AUTOINCREMENT (rowids are never reused).
    :param checks: CHECK constraints (column and table level), spelling-free.
    :param collations: column (lower case) -> collation other than BINARY.
    :param generated: column (lower case) -> (expression, stored) of a generated column.
    :param parsed: False when the SQL could not be parsed (then nothing is compared).
    """

    autoincrement: bool = False
    checks: frozenset[str] = frozenset()
    collations: dict[str, str] = field(default_factory=dict)
    generated: dict[str, tuple[str, bool]] = field(default_factory=dict)
    parsed: bool = True


def table_definition(sql: str, columns: Iterable[str]) -> TableDefinition:
    """Read the parts of a CREATE TABLE statement that the pragmas do not report."""
    return _table_definition(sql, tuple(columns))


@lru_cache(maxsize=1024)
def _table_definition(sql: str, cols: tuple[str, ...]) -> TableDefinition:
    tree = _parse(sql) if sql else None
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        return TableDefinition(parsed=False)
    checks, collations, generated, autoincrement = set(), {}, {}, False
    for item in tree.this.expressions:
        if isinstance(item, exp.ColumnDef):
            name = item.name.lower()
            for constraint in item.args.get("constraints") or []:
                kind = constraint.args.get("kind")
                if isinstance(kind, exp.AutoIncrementColumnConstraint):
                    autoincrement = True
                elif isinstance(kind, exp.CollateColumnConstraint):
                    collation = kind.name.upper()
                    if collation != "BINARY":
                        collations[name] = collation
                elif isinstance(kind, exp.CheckColumnConstraint):
                    checks.add(expression_key(kind.this.sql(dialect="sqlite"), cols) or "")
                elif isinstance(kind, exp.ComputedColumnConstraint):
                    generated[name] = (expression_key(kind.this.sql(dialect="sqlite"), cols) or "",
                                       bool(kind.args.get("persisted")))
        elif isinstance(item, exp.CheckColumnConstraint):
            checks.add(expression_key(item.this.sql(dialect="sqlite"), cols) or "")
    return TableDefinition(autoincrement, frozenset(checks), collations, generated)


def table_definition_changes(old_sql: str, new_sql: str, old_columns: Iterable[str],
                             new_columns: Iterable[str]) -> list[str]:
    """Describe in words what differs between two CREATE TABLE statements beyond the pragmas."""
    old_columns, new_columns = tuple(old_columns), tuple(new_columns)
    if old_sql == new_sql and old_columns == new_columns:
        return []  # one statement over the same columns has one definition (and is not parsed)
    a = table_definition(old_sql, old_columns)
    b = table_definition(new_sql, new_columns)
    if not (a.parsed and b.parsed):
        return []
    out = []
    if a.autoincrement != b.autoincrement:
        out.append("AUTOINCREMENT " + ("added (rowids are no longer reused)" if b.autoincrement
                                       else "removed (rowids of deleted rows may be reused)"))
    # CHECK constraints are their own kind of change (schema_diff's "check" changes)
    for column in sorted(set(a.collations) | set(b.collations)):
        before, after = a.collations.get(column, "BINARY"), b.collations.get(column, "BINARY")
        if (before != after and column in {c.lower() for c in new_columns}
                and column in {c.lower() for c in old_columns}):
            out.append(f"column {column} compares with COLLATE {after} instead of {before}")
    for column in sorted(set(a.generated) | set(b.generated)):
        was, now = a.generated.get(column), b.generated.get(column)
        if was != now and was is not None and now is not None:
            out.append(f"generated column {column}: expression {was[0]} -> {now[0]}"
                       if was[0] != now[0] else
                       f"generated column {column} is now {'STORED' if now[1] else 'VIRTUAL'}")
    return out


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    """An index as SQLite uses it: its keys (with collation and order), UNIQUE, and its WHERE."""

    keys: tuple[str, ...]
    unique: bool
    where: str | None
    where_text: str | None = field(default=None, compare=False)


def index_definition(sql: str | None, columns: tuple[str, ...], unique: bool,
                     table_columns: Iterable[str] = ()) -> IndexDefinition:
    """Read an index; automatic indexes (no SQL) are their columns."""
    return _index_definition(sql, tuple(columns), unique, tuple(table_columns))


@lru_cache(maxsize=1024)
def _index_definition(sql: str | None, columns: tuple[str, ...], unique: bool,
                      cols: tuple[str, ...]) -> IndexDefinition:
    tree = _parse(sql) if sql else None
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Index):
        return IndexDefinition(tuple(c.lower() for c in columns), unique, None)
    params = tree.this.args.get("params")
    keys = []
    for item in (params.args.get("columns") or []) if params is not None else []:
        desc = isinstance(item, exp.Ordered) and bool(item.args.get("desc"))
        node = item.this if isinstance(item, exp.Ordered) else item
        key = expression_key(node.sql(dialect="sqlite"), cols) or ""
        keys.append(key + (" desc" if desc else ""))
    where = params.args.get("where") if params is not None else None
    where_key = expression_key(where.this.sql(dialect="sqlite"), cols) if where is not None else None
    return IndexDefinition(tuple(keys) or tuple(c.lower() for c in columns), unique, where_key,
                           _where_text(sql) if where is not None and sql else None)


def _where_text(sql: str) -> str | None:
    """Return the WHERE condition of an index as written (spacing squeezed), for people to read."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("sqlite").tokenize(sql)
    except (sqlglot.errors.SqlglotError, ValueError, IndexError):
        return None
    at = next((t for t in tokens if t.token_type == TokenType.WHERE), None)
    return " ".join(sql[at.end + 1:].strip().rstrip(";").split()) if at is not None else None


def index_changes(old: IndexDefinition, new: IndexDefinition) -> list[str]:
    """Describe in words how an index changed (empty when it is the same index)."""
    out = []
    if old.keys != new.keys:
        out.append(f"its keys changed from ({', '.join(old.keys)}) to ({', '.join(new.keys)})")
    if old.unique != new.unique:
        out.append("it is now UNIQUE" if new.unique else "it is no longer UNIQUE")
    if old.where != new.where:
        before, after = old.where_text or old.where, new.where_text or new.where
        if new.where is None:
            out.append(f"the index is no longer partial (it was WHERE {before})")
        elif old.where is None:
            out.append(f"the index is now partial (WHERE {after})")
        else:
            out.append(f"its condition changed from WHERE {before} to WHERE {after}")
    return out
