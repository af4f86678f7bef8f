"""Trace where the values of sensitive columns go, so that redaction follows the data.

Two questions are answered here.

Which output columns of a query carry values of sensitive columns? (:func:`sensitive_outputs`.) A
query's output column is tainted when any column it is computed from is sensitive, following every
branch of a set operation (UNION, INTERSECT, EXCEPT: by position), subqueries, CTEs, ``*`` expansion,
view definitions (read from ``sqlite_master``, recursively), full-text and R*Tree virtual tables, and
JSON paths (``json_extract(data, '$.auth.token')``, ``data ->> 'api_key'``: a path through a
secret-named key is sensitive whatever the column). Anything the tracer cannot follow with certainty
(a table-valued function, an unknown table or module, a query it cannot parse, a width it cannot match,
a JSON path that is computed) taints every output column: masking too much is the safe failure.

Which columns of a database hold values derived from sensitive columns? (:func:`derived_columns`,
:func:`bind`.) Read from the schema, until nothing changes: a generated column whose expression reads
a masked column (or a secret JSON path); the columns of a full-text table (FTS3/4/5) that index a masked
column, with the shadow tables that store them (``x_content.c<i>``, and the index's terms in
``x_data``/``x_idx``/``x_segments``/``x_segdir``, ``fts5vocab`` and ``fts4aux`` terms); R*Tree auxiliary
columns; and every column a trigger writes from a masked column (``INSERT``, ``REPLACE``, ``UPDATE``,
upserts), in any table. A shadow table of a module lightnb does not know is masked whole once its
virtual table holds a masked column.

Copies that leave no trace in the schema (``CREATE TABLE … AS SELECT api_key AS k``, ``INSERT …
SELECT`` into a column named otherwise, a renamed column) are found two ways: from the statements that
made them (:func:`history_lineage` reads the project's migrations, :func:`statement_lineage` one
statement, as impact measures a script), and by value (:class:`SecretFinder` tells which shown values
are held by a masked column of the database(s), set-wise; :class:`KnownSecrets` is SQLite's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote, read_catalog, read_columns
from lightnb.catalog import Table
from lightnb.inspect._parser import bind_on_first_use

if TYPE_CHECKING:  # the redactor is only read here; lightnb.inspect.redact builds a project's from its history
    import sqlglot
    from sqlglot import exp
    from sqlglot.tokens import TokenType

    from lightnb.inspect.redact import Redactor
else:  # the parser is imported when a statement is first parsed (a row diff of plain tables never does)
    bind_on_first_use(globals())


class _Unsure(Exception):
    """The query cannot be analysed with certainty."""


@dataclass(frozen=True)
class _Rel:
    """A relation's output: lower-case column names and, per position, whether it is tainted."""

    names: tuple[str, ...]
    taint: tuple[bool, ...]


@dataclass(frozen=True)
class _Source:
    alias: str
    rel: _Rel
    hidden: frozenset[str] = frozenset()  # columns a USING/NATURAL join folds out of `*`


def sensitive_outputs(conn: sqlite.Connection, query: str, width: int, redactor: Redactor) -> tuple[bool, ...]:
    """Tell, per output column of ``query`` (``width`` of them), whether it may show sensitive values.

    Every column is reported sensitive when the query cannot be analysed with certainty.
    """
    try:
        parsed = [p for p in sqlglot.parse(query, read="sqlite") if p is not None]
    except (sqlglot.errors.SqlglotError, IndexError, ValueError, RecursionError):
        return (True,) * width
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        return (True,) * width
    try:
        rel = _Tracer(conn, redactor).query(parsed[0], {}, ())
    except (_Unsure, sqlite.Error, RecursionError):
        return (True,) * width
    if len(rel.taint) != width:
        return (True,) * width
    return rel.taint


class _Tracer:
    def __init__(self, conn: sqlite.Connection, redactor: Redactor) -> None:
        self.conn = conn
        self.redactor = redactor
        self.views: list[str] = []  # views being expanded (a cycle is unsure)

    # -- queries -------------------------------------------------------------------------------------------
    def query(self, node: exp.Expr, ctes: dict[str, _Rel | None],
              outer: tuple[Sequence[_Source], ...]) -> _Rel:
        while isinstance(node, exp.Subquery):
            node = node.this
        with_ = node.args.get("with_") or node.args.get("with")
        if with_ is not None:
            ctes = dict(ctes)
            for cte in with_.expressions:
                ctes[cte.alias_or_name.lower()] = self._cte(cte, ctes, outer)
        if isinstance(node, exp.SetOperation):
            left = self.query(node.this, ctes, outer)
            right = self.query(node.expression, ctes, outer)
            if len(left.taint) != len(right.taint):
                raise _Unsure("set operation branches differ in width")
            return _Rel(left.names, tuple(a or b for a, b in zip(left.taint, right.taint)))
        if isinstance(node, exp.Select):
            return self._select(node, ctes, outer)
        raise _Unsure(f"cannot trace {type(node).__name__}")

    def _cte(self, cte: exp.CTE, ctes: dict[str, _Rel | None], outer: tuple[Sequence[_Source], ...]) -> _Rel:
        name = cte.alias_or_name.lower()
        declared = [c.name.lower() for c in (cte.args["alias"].columns if cte.args.get("alias") else [])]
        body = cte.this
        scope = dict(ctes)
        scope[name] = None  # a self-reference before its anchor is known is unsure
        try:
            rel = self.query(body, scope, outer)
        except _Unsure:
            if not isinstance(body, exp.SetOperation):
                raise
            # A recursive CTE: start from its anchor, widen until the taint stops growing.
            rel = self.query(body.this, scope, outer)
            for _ in range(len(rel.taint) + 1):
                scope[name] = _named(rel, declared)
                step = self.query(body, scope, outer)
                if len(step.taint) != len(rel.taint):
                    raise _Unsure("recursive CTE changes width") from None
                grown = _Rel(rel.names, tuple(a or b for a, b in zip(rel.taint, step.taint)))
                if grown == rel:
                    break
                rel = grown
        return _named(rel, declared)

    def _select(self, node: exp.Select, ctes: dict[str, _Rel | None], outer: tuple[Sequence[_Source], ...]) -> _Rel:
        sources: list[_Source] = []
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is not None:
            sources.append(self._source(from_.this, ctes, outer))
        for join in node.args.get("joins") or []:
            source = self._source(join.this, ctes, outer)
            hidden: set[str] = {u.name.lower() for u in join.args.get("using") or []}
            if str(join.args.get("method") or "").upper() == "NATURAL":
                earlier = {n for s in sources for n in s.rel.names}
                hidden |= {n for n in source.rel.names if n in earlier}
            sources.append(_Source(source.alias, source.rel, frozenset(hidden)))
        scopes = (sources, *outer)
        names: list[str] = []
        taint: list[bool] = []
        for projection in node.expressions:
            if isinstance(projection, exp.Star):
                expanded = list(sources)
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                wanted = projection.table.lower()
                expanded = [s for s in sources if s.alias == wanted]
                if not expanded:
                    raise _Unsure(f"unknown table {wanted} in {wanted}.*")
                expanded = [_Source(s.alias, s.rel) for s in expanded]
            else:
                names.append(projection.alias_or_name.lower())
                taint.append(self._expr(projection, ctes, scopes))
                continue
            if not expanded:
                raise _Unsure("* without a table")
            for source in expanded:
                for name, tainted in zip(source.rel.names, source.rel.taint):
                    if name not in source.hidden:
                        names.append(name)
                        taint.append(tainted)
        return _Rel(tuple(names), tuple(taint))

    def _source(self, node: exp.Expr, ctes: dict[str, _Rel | None],
                outer: tuple[Sequence[_Source], ...]) -> _Source:
        alias = node.alias_or_name.lower() if hasattr(node, "alias_or_name") else ""
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            return _Source(alias, self._named_source(node.name, node.db, ctes))
        if isinstance(node, exp.Subquery):
            return _Source(alias, self.query(node.this, ctes, outer))
        if isinstance(node, exp.Values):
            rows = [row.expressions if isinstance(row, exp.Tuple) else [row] for row in node.expressions]
            width = len(rows[0]) if rows else 0
            if any(len(r) != width for r in rows):
                raise _Unsure("VALUES rows differ in width")
            taint = tuple(any(self._expr(r[i], ctes, ([],) + outer) for r in rows) for i in range(width))
            return _Source(alias, _Rel(tuple(f"column{i + 1}" for i in range(width)), taint))
        raise _Unsure(f"cannot trace a {type(node).__name__} source (e.g. a table-valued function)")

    def _named_source(self, name: str, db: str, ctes: dict[str, _Rel | None]) -> _Rel:
        key = name.lower()
        if not db and key in ctes:
            rel = ctes[key]
            if rel is None:
                raise _Unsure(f"recursive reference to {name}")
            return rel
        schema = db or "main"
        if key in sqlite.CATALOGUE_TABLES:
            raise _Unsure(f"{name} is the schema table")
        row = sqlite.find_object(self.conn, name, ("table", "view"), schema)
        if row is None:
            raise _Unsure(f"unknown table {name}")
        kind, real, sql = row
        if kind == "table":
            module = virtual_module(sql or "")
            if module is not None and module[0] not in _KNOWN_MODULES:
                raise _Unsure(f"{real} is a virtual table of module {module[0]}")
            cols = [c.name for c in read_columns(self.conn, real, schema)]
            return _Rel(tuple(c.lower() for c in cols), tuple(self.redactor.is_sensitive(c, real) for c in cols))
        return self._view(real, sql or "")

    def _view(self, name: str, sql: str) -> _Rel:
        if name.lower() in self.views:
            raise _Unsure(f"view {name} refers to itself")
        try:
            create = sqlglot.parse_one(sql, read="sqlite")
        except (sqlglot.errors.SqlglotError, IndexError, ValueError, RecursionError) as error:
            raise _Unsure(f"cannot read view {name}") from error
        body = create.args.get("expression") if isinstance(create, exp.Create) else None
        if not isinstance(body, exp.Query):
            raise _Unsure(f"cannot read view {name}")
        target = create.this
        declared = [c.name.lower() for c in target.expressions] if isinstance(target, exp.Schema) else []
        self.views.append(name.lower())
        try:
            rel = self.query(body, {}, ())
        finally:
            self.views.pop()
        return _named(rel, declared)

    # -- expressions ---------------------------------------------------------------------------------------
    def _expr(self, node: exp.Expr, ctes: dict[str, _Rel | None], scopes: tuple[Sequence[_Source], ...]) -> bool:
        if isinstance(node, exp.Query):
            return any(self.query(node, ctes, scopes).taint)
        if isinstance(node, exp.Column):
            return self._column(node, scopes)
        if json_path_is_secret(node, self.redactor):
            return True
        return any(self._expr(child, ctes, scopes) for child in node.iter_expressions())

    def _column(self, column: exp.Column, scopes: Sequence[Sequence[_Source]]) -> bool:
        name = column.name.lower()
        qualifier = column.table.lower()
        for sources in scopes:
            matches = [s for s in sources if s.alias == qualifier] if qualifier else \
                [s for s in sources if name in s.rel.names]
            if matches:
                hits = [t for s in matches for n, t in zip(s.rel.names, s.rel.taint) if n == name]
                # rowid and its aliases are not among the listed columns; they hold no secret.
                return any(hits) if hits else self.redactor.is_sensitive(column.name)
        if qualifier:
            raise _Unsure(f"unknown table {qualifier}")
        # Not a column of any source (a string in double quotes, or rowid): judge by the name.
        return self.redactor.is_sensitive(column.name)


def _named(rel: _Rel, declared: Sequence[str]) -> _Rel:
    if not declared:
        return rel
    if len(declared) != len(rel.taint):
        raise _Unsure("declared column list differs in width")
    return _Rel(tuple(declared), rel.taint)


# -- JSON paths ---------------------------------------------------------------------------------------------
_JSON_EXTRACTORS = {"json_extract", "jsonb_extract", "->", "->>"}
_PATH_KEY = re.compile(r"""\.(?:"((?:[^"]|"")*)"|([^.\[]+))""")


def _path_keys(path: str) -> list[str]:
    """Return the object keys a JSON path literal walks through (``'token'`` alone is a key, as ``->>``)."""
    if not path.startswith("$"):
        return [path]
    return [(quoted.replace('""', '"') if quoted is not None else bare) for quoted, bare in _PATH_KEY.findall(path)]


def json_path_is_secret(node: exp.Expr, redactor: Redactor) -> bool:
    """Tell whether ``node`` extracts a value through a secret-named JSON key (or through a computed path)."""
    name = type(node).__name__
    if isinstance(node, exp.Anonymous):
        if str(node.this).lower() not in _JSON_EXTRACTORS:
            return False
        paths = list(node.expressions[1:])
    elif name.startswith(("JSONExtract", "JSONBExtract")):
        paths = [node.args.get("expression"), *(node.args.get("expressions") or [])]
    else:
        return False
    for path in paths:
        if path is None:
            continue
        if isinstance(path, exp.JSONPath):
            keys = [str(part.this) for part in path.expressions if isinstance(part, exp.JSONPathKey)]
        elif isinstance(path, exp.Literal):
            keys = _path_keys(path.this) if path.is_string else []
        else:
            return True  # a computed path may reach any key
        if any(redactor.is_sensitive(key) for key in keys):
            return True
    return False


# -- virtual tables -----------------------------------------------------------------------------------------
_FTS = {"fts3", "fts4", "fts5"}
_KNOWN_MODULES = _FTS | {"fts5vocab", "fts4aux", "rtree", "rtree_i32", "geopoly"}
_VIRTUAL = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\b.*?\bUSING\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*;?\s*$",
                      re.IGNORECASE | re.DOTALL)


def virtual_module(sql: str) -> tuple[str, list[str]] | None:
    """Return ``(module, arguments)`` of a ``CREATE VIRTUAL TABLE`` statement, or None for another statement."""
    match = _VIRTUAL.match(sql)
    if match is None:
        return None
    return match.group(1).lower(), _split_args(match.group(2) or "")


def _split_args(text: str) -> list[str]:
    """Split module arguments on top-level commas (quotes and brackets respected)."""
    args, depth, current, quote = [], 0, [], ""
    closing = {"'": "'", '"': '"', "`": "`", "[": "]"}
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in closing:
            quote = closing[char]
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        args.append("".join(current).strip())
    return args


def _unquote(word: str) -> str:
    word = word.strip()
    if len(word) >= 2 and word[0] in "'\"`[" and word[-1] in "'\"`]":
        return word[1:-1].replace(word[0] * 2, word[0]) if word[0] != "[" else word[1:-1]
    return word


def _options(args: Sequence[str]) -> dict[str, str]:
    out = {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq and re.fullmatch(r"\s*[A-Za-z_]+\s*", key):
            out[key.strip().lower()] = _unquote(value)
    return out


# -- columns derived from sensitive ones --------------------------------------------------------------------
@dataclass
class _Catalogue:
    """The tables (columns, generated columns, SQL), virtual tables and triggers of one schema."""

    schema: str
    columns: dict[str, list[str]] = field(default_factory=dict)     # lower table name -> column names
    names: dict[str, str] = field(default_factory=dict)             # lower table name -> real name
    sql: dict[str, str] = field(default_factory=dict)
    generated: dict[str, list[str]] = field(default_factory=dict)
    virtual: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    triggers: list[tuple[str, str]] = field(default_factory=list)   # (table, sql)

    @classmethod
    def read(cls, conn: sqlite.Connection, schema: str) -> _Catalogue:
        cat = cls(schema)
        catalog = read_catalog(conn, schema)
        cat.triggers = [(t.table, t.sql) for t in catalog.triggers]
        for table in catalog.tables:  # a virtual table whose module is not loaded here has no columns
            key = table.name.lower()
            cat.names[key], cat.sql[key] = table.name, table.sql
            module = virtual_module(table.sql)
            if module is not None:
                cat.virtual[key] = module
            cat.columns[key] = [c.name for c in table.columns if c.visible]
            cat.generated[key] = [c.name for c in table.columns if c.generated]
        return cat


def derived_columns(conn: sqlite.Connection, redactor: Redactor, schema: str = "main") -> set[tuple[str, str]]:
    """Return the ``(table, column)`` pairs of ``schema`` whose values derive from a masked column.

    Pairs masked by name already are included; exempt columns never are.
    """
    cat = _Catalogue.read(conn, schema)
    taint: set[tuple[str, str]] = {(t, c.lower()) for t, cols in cat.columns.items() for c in cols
                                   if redactor.is_sensitive(c, cat.names[t])}
    for _ in range(len(cat.columns) + len(cat.triggers) + 2):
        current = redactor.with_derived((cat.names[t], c) for t, c in taint)
        found = set(taint)
        found |= _generated(conn, cat, current)
        found |= _virtual(cat, found, current)
        found |= _triggers(conn, cat, redactor.with_derived((cat.names[t], c) for t, c in found))
        found = {(t, c) for t, c in found if not redactor.is_exempt(c, cat.names.get(t, t))}
        if found == taint:
            break
        taint = found
    return {(cat.names.get(t, t), c) for t, c in taint}


def bind(redactor: Redactor, conn: sqlite.Connection, schemas: Sequence[str] = ("main",)) -> Redactor:
    """Return ``redactor`` extended with the columns of ``conn``'s schemas that derive from masked columns.

    A database that cannot be read stays with the redactor's own rules (its readers fail anyway).
    """
    pairs: set[tuple[str, str]] = set()
    for schema in schemas:
        try:
            pairs |= derived_columns(conn, redactor, schema)
        except sqlite.Error:
            continue
    return redactor.with_derived(pairs)


def _column_taint(redactor: Redactor, table: str, column: str) -> bool:
    return redactor.is_sensitive(column, table)


def _generated(conn: sqlite.Connection, cat: _Catalogue, redactor: Redactor) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for key, generated in cat.generated.items():
        if not generated:
            continue
        table = cat.names[key]
        expressions = _generated_expressions(cat.sql[key])
        for column in generated:
            expression = expressions.get(column.lower())
            if expression is None or _expression_taint(conn, expression, table, cat, redactor):
                out.add((key, column.lower()))
    return out


def _generated_expressions(sql: str) -> dict[str, exp.Expr]:
    try:
        create = sqlglot.parse_one(sql, read="sqlite")
    except (sqlglot.errors.SqlglotError, IndexError, ValueError, RecursionError):
        return {}
    schema = create.this if isinstance(create, exp.Create) else None
    out: dict[str, exp.Expr] = {}
    for column in (schema.expressions if isinstance(schema, exp.Schema) else []):
        if not isinstance(column, exp.ColumnDef):
            continue
        for constraint in column.args.get("constraints") or []:
            kind = constraint.args.get("kind")
            body = kind.args.get("this") if kind is not None else None
            if isinstance(kind, (exp.ComputedColumnConstraint, exp.GeneratedAsIdentityColumnConstraint)) \
                    and isinstance(body, exp.Expression):
                out[column.name.lower()] = body
            elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
                expression = kind.args.get("expression")
                if isinstance(expression, exp.Expression):
                    out[column.name.lower()] = expression
    return out


def _expression_taint(conn: sqlite.Connection, expression: exp.Expr, table: str, cat: _Catalogue,
                      redactor: Redactor) -> bool:
    """Tell whether an expression over ``table``'s columns (a generated column) reads masked data."""
    tracer = _Tracer(conn, redactor)
    cols = cat.columns.get(table.lower(), [])
    rel = _Rel(tuple(c.lower() for c in cols), tuple(redactor.is_sensitive(c, table) for c in cols))
    try:
        return tracer._expr(expression, {}, ([_Source(table.lower(), rel)],))
    except (_Unsure, sqlite.Error, RecursionError):
        return True


def _virtual(cat: _Catalogue, taint: set[tuple[str, str]], redactor: Redactor) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    tainted = lambda t, c: (t.lower(), c.lower()) in taint  # noqa: E731
    for key, (module, args) in cat.virtual.items():
        cols = cat.columns.get(key, [])
        options = _options(args)
        if module in _FTS:
            content = options.get("content", "")
            for c in cols:
                if content and tainted(content, c):
                    out.add((key, c.lower()))
            marked = [tainted(key, c) or (key, c.lower()) in out for c in cols]
            out |= _fts_shadows(cat, key, module, cols, marked)
        elif module in ("fts5vocab", "fts4aux"):
            # Terms are the index's tokens (see _fts_shadows): masked always.
            out |= {(key, c.lower()) for c in cols if c.lower() == "term"}
        elif module.startswith("rtree") or module == "geopoly":
            aux = [c for c, a in zip(cols, args) if a.strip().startswith("+")]
            shadow = f"{key}_rowid"
            for i, c in enumerate(aux):
                if tainted(key, c) and shadow in cat.columns:
                    out.add((shadow, f"a{i}"))
        # A shadow table of another module is masked whole once its virtual table holds a masked column.
        if module not in _KNOWN_MODULES and any(tainted(key, c) for c in cols):
            for other in cat.columns:
                if other.startswith(key + "_") and other not in cat.virtual:
                    out |= {(other, c.lower()) for c in cat.columns[other]}
    return out


def _fts_shadows(cat: _Catalogue, key: str, module: str, cols: list[str], marked: list[bool]) -> set[tuple[str, str]]:
    """The shadow columns of a full-text table: stored columns take the masking of the column they
    store; the index (its terms, in blobs) is masked always - it holds every token of every indexed
    column, where a phone number or a key no longer has the shape that would mask it by value."""
    out: set[tuple[str, str]] = set()
    content = cat.columns.get(f"{key}_content", [])
    if module == "fts5":
        for i, flag in enumerate(marked):
            if flag and f"c{i}" in {c.lower() for c in content}:
                out.add((f"{key}_content", f"c{i}"))
        index = {"_data": ("block",), "_idx": ("term",)}
    else:
        body = [c for c in content if c.lower() not in ("docid", "rowid")]
        for flag, column in zip(marked, body):
            if flag:
                out.add((f"{key}_content", column.lower()))
        index = {"_segments": ("block",), "_segdir": ("root",)}
    for suffix, columns in index.items():
        if f"{key}{suffix}" in cat.columns:
            out |= {(f"{key}{suffix}", c) for c in columns}
    return out


def _triggers(conn: sqlite.Connection, cat: _Catalogue, redactor: Redactor) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for table, sql in cat.triggers:
        for statement in _trigger_body(sql):
            out |= _trigger_writes(conn, cat, table, statement, redactor)
    return out


def _trigger_body(sql: str) -> list[str]:
    """Return the statements between a trigger's BEGIN and its final END."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("sqlite").tokenize(sql)
    except sqlglot.errors.SqlglotError:
        return []
    begin = next((t for t in tokens if t.token_type == TokenType.BEGIN), None)
    if begin is None:
        return []
    body = sql[begin.end + 1:]
    body = re.sub(r"\bEND\s*;?\s*$", "", body.rstrip(), flags=re.IGNORECASE)
    return [s.text.rstrip(";") for s in sqlite.split(body)]


_WRITE_TARGET = re.compile(r"^\s*(?:(?:INSERT|REPLACE)(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?)\s+"
                           r"(?:(?:\"[^\"]*\"|`[^`]*`|\[[^\]]*\]|\w+)\s*\.\s*)?(\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|\w+)",
                           re.IGNORECASE)


def _trigger_writes(conn: sqlite.Connection, cat: _Catalogue, table: str, statement: str,
                    redactor: Redactor) -> set[tuple[str, str]]:
    """Return the columns one statement of a trigger on ``table`` writes from masked values."""
    target_match = _WRITE_TARGET.match(statement)
    if target_match is None:
        return set()
    target = _unquote(target_match.group(1))
    tkey = target.lower()
    tcols = cat.columns.get(tkey, [])
    text = re.sub(r"^\s*REPLACE\b", "INSERT OR REPLACE", statement, flags=re.IGNORECASE)
    tracer = _Tracer(conn, redactor)
    try:
        src = tracer._named_source(table, "" if cat.schema == "main" else cat.schema, {})
        scope = ([_Source("new", src), _Source("old", src)],)
        tree = sqlglot.parse_one(text, read="sqlite")
        if isinstance(tree, exp.Insert):
            return _insert_writes(tracer, tree, tkey, tcols, scope)
        if isinstance(tree, exp.Update):
            return {(tkey, a.this.name.lower()) for a in tree.expressions
                    if isinstance(a, exp.EQ) and tracer._expr(a.expression, {}, scope)}
    except (_Unsure, sqlglot.errors.SqlglotError, sqlite.Error, IndexError, ValueError, RecursionError,
            AttributeError):
        pass
    # Not understood: whatever it writes may come from masked data when its table holds any.
    if any(redactor.is_sensitive(c, table) for c in cat.columns.get(table.lower(), [])):
        return {(tkey, c.lower()) for c in tcols}
    return set()


def _insert_writes(tracer: _Tracer, tree: exp.Insert, tkey: str, tcols: list[str],
                   scope: tuple[Sequence[_Source], ...]) -> set[tuple[str, str]]:
    into = tree.this
    names = [c.name.lower() for c in into.expressions] if isinstance(into, exp.Schema) else [c.lower() for c in tcols]
    source = tree.args.get("expression")
    if isinstance(source, exp.Values):
        width = len(names)
        taint = [False] * width
        for row in source.expressions:
            values = row.expressions if isinstance(row, exp.Tuple) else [row]
            if len(values) != width:
                raise _Unsure("VALUES width differs from the column list")
            taint = [t or tracer._expr(v, {}, scope) for t, v in zip(taint, values)]
    elif isinstance(source, exp.Query):
        taint = list(tracer.query(source, {}, scope).taint)
    else:
        raise _Unsure("INSERT without VALUES or SELECT")
    if len(taint) != len(names):
        raise _Unsure("INSERT width differs from the column list")
    out = {(tkey, n) for n, t in zip(names, taint) if t}
    conflict = tree.args.get("conflict")
    if conflict is not None:
        excluded = _Source("excluded", _Rel(tuple(names), tuple(taint)))
        for assignment in conflict.expressions or []:
            if isinstance(assignment, exp.EQ) and tracer._expr(assignment.expression, {}, ((excluded, *scope[0]),)):
                out.add((tkey, assignment.this.name.lower()))
    return out


def _leading_columns(table: Table) -> set[str]:
    """The columns (lower case) that lead an index of ``table``: a lookup there is a seek."""
    return {index.columns[0].lower() for index in table.indexes if index.columns and index.columns[0] != "<expr>"}


# -- copies found by value ----------------------------------------------------------------------------------
class SecretFinder:
    """Tell which shown values are held by a masked column of a database: copies of secrets (any backend).

    A value copied out of a masked column under a name that does not say so (``CREATE TABLE b AS
    SELECT api_key AS k``, ``INSERT … SELECT``, ``UPDATE … SET note = api_token``, a renamed column) is
    still the secret. Texts of at least :attr:`MIN_LENGTH` characters are looked up set-wise in every
    masked column of the database(s) (one query per masked column for a batch of values; answers are
    cached). Numbers are never looked up: ids, counts and times equal to a short masked value would be
    hidden for nothing. A bounded lookup (previews, impact examples) reads a masked column of a table
    larger than :attr:`SCAN_LIMIT` rows only through an index that leads with it.

    A backend says where to look (:meth:`_find_sources`: the masked columns of its ordinary tables) and
    how to ask one column which of some values it holds (:meth:`_holding`); the rest is shared.
    """

    MIN_LENGTH = 8
    SCAN_LIMIT = 200_000
    BATCH = 500

    def __init__(self, redactor: Redactor, *, scan_limit: int | None = None) -> None:
        """:param scan_limit: look only in indexed masked columns of tables with more rows than this
            (a bounded preview stays bounded); None looks everywhere (a diff reads every row anyway)."""
        self.redactor = redactor
        self.scan_limit = scan_limit
        self._sources: list[tuple[str, str, str]] | None = None
        self._known: dict[str, bool] = {}

    def sources(self) -> list[tuple[str, str, str]]:
        """The masked ``(database or schema, table, column)`` triples of ordinary tables that are looked in."""
        if self._sources is None:
            self._sources = self._find_sources()
        return self._sources

    def _find_sources(self) -> list[tuple[str, str, str]]:
        raise NotImplementedError

    def _holding(self, source: tuple[str, str, str], values: list[str]) -> Iterable[object]:
        """The values among ``values`` that the source column holds (nothing when it cannot be read)."""
        raise NotImplementedError

    def _masked(self, where: str, table: Table) -> list[str]:
        """The masked columns of ``table`` (in ``where``) looked in: only those an index leads with, if large."""
        masked = [c.name for c in table.columns if c.visible and self.redactor.is_sensitive(c.name, table.name)]
        if masked and self.scan_limit is not None and self._large(where, table):
            indexed = _leading_columns(table)
            masked = [c for c in masked if c.lower() in indexed]
        return masked

    def _large(self, where: str, table: Table) -> bool:
        """Whether ``table`` may hold more rows than the scan limit (an estimate, never a count)."""
        raise NotImplementedError

    def candidate(self, value: object) -> TypeGuard[str]:
        return isinstance(value, str) and len(value) >= self.MIN_LENGTH and value != self.redactor.mask

    def hits(self, values: Iterable[object]) -> set[str]:
        """Return the values (among ``values``) that a masked column holds."""
        wanted = {v for v in values if self.candidate(v)}
        unknown = sorted(v for v in wanted if v not in self._known)
        if unknown:
            found: set[str] = set()
            for start in range(0, len(unknown), self.BATCH):
                for source in self.sources():
                    found.update(v for v in self._holding(source, unknown[start:start + self.BATCH])
                                 if isinstance(v, str))
            for v in unknown:
                self._known[v] = v in found
        return {v for v in wanted if self._known.get(v)}

    def copied_columns(self, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> set[str]:
        """Return the columns (by position in ``rows``) holding at least one known secret."""
        rows = list(rows)
        hits = self.hits(v for row in rows for v in row)
        if not hits:
            return set()
        return {c for i, c in enumerate(columns) if any(i < len(row) and row[i] in hits for row in rows)}


class KnownSecrets(SecretFinder):
    """:class:`SecretFinder` over SQLite schemas (``main``, an attached ``before``), looked up through ``json_each``."""

    def __init__(self, conn: sqlite.Connection, redactor: Redactor, schemas: Sequence[str] = ("main",),
                 *, scan_limit: int | None = None) -> None:
        super().__init__(redactor, scan_limit=scan_limit)
        self.conn = conn
        self.schemas = tuple(schemas)

    def _find_sources(self) -> list[tuple[str, str, str]]:
        found = []
        for schema in self.schemas:
            try:
                for table in read_catalog(self.conn, schema).tables:
                    if not table.virtual:
                        found += [(schema, table.name, c) for c in self._masked(schema, table)]
            except sqlite.Error:
                continue
        return found

    def _large(self, where: str, table: Table) -> bool:
        """Whether ``table`` may hold more rows than the scan limit (an index seek, never a count)."""
        try:
            high = self.conn.execute(f"SELECT max(rowid) FROM {quote(where)}.{quote(table.name)}").fetchone()[0]
        except sqlite.Error:  # WITHOUT ROWID: only its indexes are used
            return True
        return high is not None and high > (self.scan_limit or 0)

    def _holding(self, source: tuple[str, str, str], values: list[str]) -> Iterable[object]:
        schema, table, column = source
        try:
            rows = self.conn.execute(
                f"SELECT DISTINCT {quote(column)} FROM {quote(schema)}.{quote(table)} "
                f"WHERE {quote(column)} IN (SELECT value FROM json_each(?))", (json.dumps(values),)).fetchall()
        except sqlite.Error:
            return ()
        return (r[0] for r in rows)


def known_secrets(conn: sqlite.Connection, redactor: Redactor, schemas: Sequence[str] = ("main",), *,
                  bounded: bool = False) -> KnownSecrets:
    """Return a :class:`KnownSecrets` over ``conn``'s schemas (``bounded``: at most
    :attr:`KnownSecrets.SCAN_LIMIT` rows read per masked column unless it is indexed)."""
    return KnownSecrets(conn, redactor, schemas, scan_limit=KnownSecrets.SCAN_LIMIT if bounded else None)


def carry_renames(redactor: Redactor, renames: Iterable[tuple[str, str, Iterable[tuple[str, str]]]]) -> Redactor:
    """Return ``redactor`` masking a renamed table's or column's new name when its old one is masked.

    :param renames: ``(before table, after table, [(before column, after column), …])`` for each
        table compared across two databases (every column both sides have, renamed or not).
    """
    pairs: set[tuple[str, str]] = set()
    for before_table, after_table, columns in renames:
        for old, new in columns:
            if redactor.is_sensitive(old, before_table) or redactor.is_sensitive(new, after_table):
                pairs |= {(before_table, old), (after_table, new)}
    return redactor.with_derived(pairs)


def mask_copies(rows: Sequence[dict[str, object]], finder: SecretFinder) -> list[dict[str, object]]:
    """Mask, in every row, the columns where any row shows a value a masked column holds."""
    hits = finder.hits(v for row in rows for v in row.values())
    if not hits:
        return list(rows)
    columns = {c for row in rows for c, v in row.items() if isinstance(v, str) and v in hits}
    mask = finder.redactor.mask
    return [{c: (mask if c in columns and v is not None else v) for c, v in row.items()} for row in rows]


# -- the project's migration history ------------------------------------------------------------------------
_HISTORY_CACHE: dict[tuple, frozenset[tuple[str, str]]] = {}
_MOVES = re.compile(r"\bRENAME\b|\bSELECT\b|\bUPDATE\b", re.IGNORECASE)


def history_lineage(migrations_dir: str | Path, redactor: Redactor) -> frozenset[tuple[str, str]]:
    """Return the ``(table, column)`` pairs the project's migrations fill from masked columns.

    Read from every ``up.sql`` in version order, without a database: a column renamed from a masked
    one (``RENAME COLUMN password_hash TO digest``), a table renamed (its derived columns follow), a
    table made by ``CREATE TABLE … AS SELECT`` or filled by ``INSERT … SELECT`` from masked columns, a
    column set by ``UPDATE … SET c = <masked>``. So a database the migrations ran on keeps masking what
    a single database no longer says (the old name is gone). A statement that cannot be read is skipped.
    """
    folder = Path(migrations_dir)
    try:
        ups = sorted(p for p in folder.glob("*/up.sql") if p.is_file())
        key = (str(folder.resolve()), redactor.patterns, redactor.columns, redactor.exempt,
               tuple((p.parent.name, p.stat().st_mtime_ns, p.stat().st_size) for p in ups))
    except OSError:
        return frozenset()
    if key in _HISTORY_CACHE:
        return _HISTORY_CACHE[key]
    import logging
    taint: set[tuple[str, str]] = set()
    parser_log = logging.getLogger("sqlglot")
    level = parser_log.level
    parser_log.setLevel(logging.ERROR)  # a statement it cannot read (PL/pgSQL …) is skipped, not announced
    try:
        for up in ups:
            try:
                text = up.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for statement in sqlite.split(text):
                _history_step(statement.text, taint, redactor)
    finally:
        parser_log.setLevel(level)
    result = frozenset(taint)
    _HISTORY_CACHE[key] = result
    return result


def statement_lineage(sql: str, redactor: Redactor) -> set[tuple[str, str]]:
    """Return the ``(table, column)`` pairs one statement fills from masked columns (see :func:`history_lineage`)."""
    taint = set(redactor.derived)
    _history_step(sql, taint, redactor)
    return taint - redactor.derived


def _history_step(sql: str, taint: set[tuple[str, str]], redactor: Redactor) -> None:
    if not _MOVES.search(sql):
        return
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (sqlglot.errors.SqlglotError, IndexError, ValueError, RecursionError):
        return

    def tainted(table: str, column: str) -> bool:
        return (table.lower(), column.lower()) in taint or redactor.is_sensitive(column, table)

    def reads_masked(node: exp.Expr, tables: list[str]) -> bool:
        if json_path_is_secret(node, redactor) or any(json_path_is_secret(n, redactor) for n in node.find_all(
                exp.Expression)):
            return True
        for column in node.find_all(exp.Column):
            if _in_clause(column, node):
                continue  # a subquery's WHERE picks rows; its select list is what is copied
            scope = [column.table] if column.table and column.table.lower() in {t.lower() for t in tables} \
                else tables
            if any(tainted(t, column.name) for t in scope) or (not scope and redactor.is_sensitive(column.name)):
                return True
        return False

    if isinstance(tree, exp.Alter):
        table = tree.this.name
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.RenameColumn) and tainted(table, action.this.name):
                taint.add((table.lower(), action.args["to"].name.lower()))
            elif isinstance(action, exp.AlterRename):
                new = action.this.name.lower()
                taint |= {(new, c) for t, c in list(taint) if t == table.lower()}
        return
    if isinstance(tree, exp.Create) and isinstance(tree.args.get("expression"), exp.Query):
        target = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
        _copy_query(tree.args["expression"], target, None, taint, tainted, reads_masked)
        return
    if isinstance(tree, exp.Insert) and isinstance(tree.args.get("expression"), exp.Query):
        into = tree.this
        target = into.this.name if isinstance(into, exp.Schema) else into.name
        names = [c.name for c in into.expressions] if isinstance(into, exp.Schema) else None
        _copy_query(tree.args["expression"], target, names, taint, tainted, reads_masked)
        return
    if isinstance(tree, exp.Update):
        table = tree.this.name
        tables = [table] + [t.name for t in tree.find_all(exp.Table) if t.name != table]
        for assignment in tree.expressions:
            if isinstance(assignment, exp.EQ) and reads_masked(assignment.expression, tables):
                taint.add((table.lower(), assignment.this.name.lower()))


def _copy_query(query: exp.Query, target: str, names: list[str] | None, taint: set[tuple[str, str]],
                tainted: Callable[[str, str], bool],
                reads_masked: Callable[[exp.Expr, list[str]], bool]) -> None:
    selects = [query] if isinstance(query, exp.Select) else list(query.find_all(exp.Select))
    for select in selects:
        tables = [t.name for t in select.find_all(exp.Table)]
        position = 0
        for projection in select.expressions:
            if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column)
                                                    and isinstance(projection.this, exp.Star)):
                # Columns keep their names through *: the masked ones of the sources, by name.
                sources = [projection.table] if isinstance(projection, exp.Column) and projection.table else tables
                for t, c in list(taint):
                    if any(t == s.lower() for s in sources):
                        taint.add((target.lower(), c))
                names = None  # positions after a * are unknown
                continue
            name = names[position] if names is not None and position < len(names) else projection.alias_or_name
            position += 1
            if name and reads_masked(projection, tables):
                taint.add((target.lower(), name.lower()))


def _in_clause(column: exp.Expr, top: exp.Expr) -> bool:
    node = column.parent
    while node is not None and node is not top:
        if isinstance(node, (exp.Where, exp.Join, exp.Group, exp.Order, exp.Having)):
            return True
        node = node.parent
    return False
