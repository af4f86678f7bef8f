"""Check preview filters and queries with SQLite's own parser, so that what is checked is what runs.

A filter (``--where``) is compiled by SQLite - never by another parser - inside
``SELECT 1 FROM source WHERE (\\n<filter>\\n) AND <sentinel>()`` on an empty copy of the schema (an
in-memory database holding the same tables and views, no rows), with an authorizer that sees every
table, column and function the statement uses. The filter is accepted only when:

- it compiles with no parameter (``?``, ``:name``, ``@name``, ``$name``, TCL's ``$a(…)``: a parameter is a
  place where SQLite and a reader of the text disagree);
- it makes exactly one SELECT (no subquery, no UNION), no grouping, ordering or aggregate (a filter
  that closes its parenthesis to add a clause compiles to opcodes a condition never does), and reads
  only columns of the previewed table or view (never another table, a pragma or a table-valued function);
- the sentinel after it is compiled (a comment or quote opened in the filter did not swallow the rest);
- it reads no masked column and does not look inside JSON (``json_extract``, ``->``, ``->>``), unless the
  preview reveals values anyway. A condition on a masked value would reveal it by counting rows
  (``password_hash LIKE 'a%'``, one character at a time); nullness is not masked, but a filter cannot
  test it without reading the column, so it is refused too.

The preview then runs the same filter text in the same place (``WHERE (\\n<filter>\\n) AND 1``), so
SQLite parses it there exactly as it did when it was checked.

A previewed SELECT (the user's own query) is read by lightnb's lineage tracer to decide which output
columns to mask; SQLite compiles it too, on the empty schema copy, and every masked column SQLite reads
must be one the tracer saw, or every output column is masked. The query may test a masked column
outside its select list only for NULL (``IS NULL`` / ``IS NOT NULL``) or for equality with another
masked column (a join on a token); any other use is refused unless values are revealed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote, read_columns
from lightnb.errors import LightnbError
from lightnb.inspect.lineage import json_path_is_secret, sensitive_outputs
from lightnb.inspect.redact import Redactor

_JSON_FUNCTIONS = frozenset({"json_extract", "jsonb_extract", "->", "->>", "json_each", "json_tree"})
_CLAUSES = ("where", "having", "group", "order", "qualify")


@dataclass
class _Compiled:
    """What SQLite reported while compiling one statement."""

    selects: int = 0                                            # SELECTs outside views
    reads: list[tuple[str, str]] = field(default_factory=list)  # (table, column) read outside views
    functions: list[str] = field(default_factory=list)
    other: list[int] = field(default_factory=list)              # any other action
    opcodes: set[str] = field(default_factory=set)              # of the compiled program


def schema_copy(conn: sqlite.Connection) -> sqlite.Connection:
    """Return an in-memory database with the tables and views of ``conn``'s main schema and no rows."""
    clone = sqlite.open_scratch()
    definitions = sqlite.read_definitions(conn)  # in creation order; SQLite's own tables left out
    pending = [sql for kind, _name, sql in definitions if kind == "table"]
    pending += [sql for kind, _name, sql in definitions if kind == "view"]
    for _ in range(3):  # a view may be created before one it reads: retry what failed
        failed = []
        for sql in pending:
            try:
                clone.execute(sql)
            except sqlite.Error:
                failed.append(sql)  # shadow tables (their virtual table made them), unknown modules
        if len(failed) == len(pending):
            break
        pending = failed
    return clone


# Opcodes a plain WHERE condition never compiles to: grouping, aggregates, sorting, windows.
_CLAUSE_OPCODES = frozenset({"AggStep", "AggStep1", "AggFinal", "AggValue", "AggInverse", "SorterOpen",
                             "SorterSort", "SorterInsert"})


def _compile(clone: sqlite.Connection, sql: str) -> _Compiled:
    seen = _Compiled()

    def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, inner: str | None) -> int:
        if inner is not None:  # inside a view's own definition: the schema's, not the user's text
            return sqlite.SQLITE_OK
        if action == sqlite.SQLITE_SELECT:
            seen.selects += 1
        elif action == sqlite.SQLITE_READ:
            seen.reads.append(((arg1 or "").lower(), (arg2 or "").lower()))
        elif action == sqlite.SQLITE_FUNCTION:
            seen.functions.append((arg2 or "").lower())
        else:
            seen.other.append(action)
        return sqlite.SQLITE_OK

    clone.set_authorizer(authorize)
    try:
        program = clone.execute("EXPLAIN " + sql).fetchall()
    finally:
        clone.set_authorizer(None)
    seen.opcodes = {row[1] for row in program}
    return seen


def check_filter(conn: sqlite.Connection, source: str, where: str, masked: Sequence[str], *,
                 reveal: bool = False) -> None:
    """Refuse a filter that is not one plain condition over ``source``'s own unmasked columns.

    :param source: the table or view previewed.
    :param masked: ``source``'s masked columns (they may not be read unless ``reveal``).
    :raises LightnbError: one line saying what the filter does that is not allowed.
    """
    shown = " ".join(filter_text(where).split())
    sentinel = f"lightnb_filter_end_{secrets.token_hex(6)}"
    clone = schema_copy(conn)
    try:
        clone.create_function(sentinel, 0, lambda: 1, deterministic=True)
        try:
            seen = _compile(clone, f"SELECT 1 FROM {quote(source)} WHERE (\n{where}\n) AND {sentinel}()")
        except sqlite.ProgrammingError as error:
            raise LightnbError(f"the filter {shown!r} uses a parameter (?, :name, @name or $name); write "
                               f"the values into the condition.") from error
        except sqlite.Error as error:
            raise LightnbError(f"the filter {shown!r} is not a single condition SQLite reads ({error}); write "
                               f"an SQL condition such as \"id > 10\".") from error
        own = {c.lower() for c in _columns(clone, source)} | {"", "rowid", "_rowid_", "oid"}
        if seen.selects != 1 or seen.other or sentinel not in seen.functions or seen.opcodes & _CLAUSE_OPCODES:
            raise LightnbError(f"the filter {shown!r} is not a single condition; write an SQL condition "
                               f"such as \"id > 10\" (no subquery, UNION, parameter or unclosed comment).")
        others = sorted({t for t, _c in seen.reads if t != source.lower()})
        if others:
            raise LightnbError(f"the filter {shown!r} reads {', '.join(others)}; a filter may only use the "
                               f"columns of {source}.")
        unknown = sorted({c for _t, c in seen.reads if c not in own})
        if unknown:
            raise LightnbError(f"the filter {shown!r} reads {', '.join(unknown)}, which is not a column of "
                               f"{source}.")
        if reveal:
            return
        hidden = {m.lower() for m in masked}
        secret = sorted({c for _t, c in seen.reads if c in hidden})
        if secret:
            raise LightnbError(f"the filter {shown!r} tests masked column(s) {', '.join(secret)}: counting the "
                               f"rows it keeps would reveal their values; filter on other columns, or reveal "
                               f"values explicitly (--reveal).")
        inside = sorted({f for f in seen.functions if f in _JSON_FUNCTIONS})
        if inside:
            raise LightnbError(f"the filter {shown!r} looks inside JSON ({', '.join(inside)}), where masked "
                               f"keys live; filter on plain columns, or reveal values explicitly (--reveal).")
    finally:
        clone.close()


def filter_text(where: str) -> str:
    """Return the filter for a note, its string and blob literals masked (they may quote a secret)."""
    try:
        tokens = Tokenizer().tokenize(where)
    except (sqlglot.errors.SqlglotError, IndexError, ValueError):
        return "the given filter"
    out, last = [], 0
    for token in tokens:
        if token.token_type in (TokenType.STRING, TokenType.HEX_STRING, TokenType.BIT_STRING,
                                TokenType.BYTE_STRING):
            out.append(where[last:token.start] + "'…'")
            last = token.end + 1
    return "".join(out) + where[last:]


def filter_clause(where: str) -> str:
    """The filter as it runs: in the same place, with the same line breaks, as it was checked."""
    return f"(\n{where}\n) AND 1"


def _columns(conn: sqlite.Connection, source: str) -> list[str]:
    try:
        return [c.name for c in read_columns(conn, source)]
    except sqlite.Error:
        return []


def check_query(conn: sqlite.Connection, tree: exp.Expr, text: str, redactor: Redactor) -> bool:
    """Check a previewed SELECT; return False when SQLite reads it differently from the tracer.

    :raises LightnbError: the query uses a parameter, or tests a masked column outside its select list
        other than for NULL or equality with another masked column.
    """
    clone = schema_copy(conn)
    try:
        try:
            seen = _compile(clone, text)
        except sqlite.ProgrammingError as error:
            raise LightnbError("the query uses a parameter (?, :name, @name or $name); write the values "
                               "into the query.") from error
        except sqlite.Error:
            return True  # SQLite refuses it: running it reports the error
    finally:
        clone.close()
    mentioned = {c.name.lower() for c in tree.find_all(exp.Column)}
    starred = any(True for _ in tree.find_all(exp.Star))
    for table, column in seen.reads:
        if column and redactor.is_sensitive(column, table) and column not in mentioned and not starred:
            return False
    tables = {t.name.lower() for t in tree.find_all(exp.Table)}
    masked = _clause_oracles(tree, redactor, tables, _view_outputs(conn, tables, redactor))
    if masked:
        raise LightnbError(f"the query tests masked column(s) {', '.join(masked)} outside its select list: "
                           f"counting the rows it keeps would reveal their values; test them only with IS NULL "
                           f"/ IS NOT NULL, or reveal values explicitly (--reveal).")
    return True


def _view_outputs(conn: sqlite.Connection, names: set[str], redactor: Redactor) -> set[str]:
    """The masked output columns (lower case) of the views among ``names``."""
    out: set[str] = set()
    for name in names:
        view = sqlite.find_object(conn, name, ("view",))
        if view is None:
            continue
        try:
            cols = [d[0] for d in conn.execute(f"SELECT * FROM {quote(view[1])} LIMIT 0").description]
        except sqlite.Error:
            continue
        taint = sensitive_outputs(conn, f"SELECT * FROM {quote(view[1])}", len(cols), redactor)
        out |= {c.lower() for c, t in zip(cols, taint) if t}
    return out


def _clause_oracles(tree: exp.Expr, redactor: Redactor, tables: set[str], view_masked: set[str]) -> list[str]:
    def masked(column: exp.Column) -> bool:
        return (any(redactor.is_sensitive(column.name, t) for t in tables) or redactor.is_sensitive(column.name)
                or column.name.lower() in view_masked)

    found: set[str] = set()
    for select in tree.find_all(exp.Select):
        clauses = [select.args.get(k) for k in _CLAUSES]
        clauses += [join.args.get("on") for join in select.args.get("joins") or []]
        for clause in clauses:
            if clause is None:
                continue
            for column in clause.find_all(exp.Column):
                if masked(column) and not _harmless(column, masked):
                    found.add(column.name)
            for node in clause.find_all(exp.Expression):
                if json_path_is_secret(node, redactor):
                    found.add(node.sql(dialect="sqlite"))
    return sorted(found)


def _harmless(column: exp.Column, masked: Callable[[exp.Column], bool]) -> bool:
    """A masked column tested for NULL, or compared for equality with another masked column (a join)."""
    parent = column.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    if isinstance(parent, exp.Is) and isinstance(parent.expression, exp.Null):
        return True
    if isinstance(parent, (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ)):
        other = parent.expression if parent.this is column else parent.this
        return isinstance(other, exp.Column) and masked(other)
    return False
