"""Read the parts of a ``CREATE TABLE`` statement from sqlglot's tokens.

sqlglot's parser rejects valid SQLite tables (``WITHOUT ROWID``, types such as ``UNSIGNED BIG INT``);
its tokenizer does not. SQLite's grammar for a table body is flat: comma-separated column
definitions, each a name, a type and a list of clauses that all start with a keyword, then table
constraints. This module reads that structure token by token, keeping each clause's source text, so
CHECKs, collations, generated columns and constraint names survive a rebuild whatever sqlglot parses.
The facts SQLite can tell (types, NOT NULL, defaults, keys, indexes) still come from its catalogue
(:mod:`lightnb.catalog` records, read by the SQLite backend).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.tokens import Token, TokenType

from lightnb.lint.source import tokens

_NOT_KEYWORDS = (TokenType.IDENTIFIER, TokenType.STRING)
_TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
_KINDS = {"PRIMARY": "primary", "UNIQUE": "unique", "CHECK": "check", "DEFAULT": "default",
          "COLLATE": "collate", "REFERENCES": "references", "GENERATED": "generated", "AS": "generated",
          "NOT": "notnull", "NULL": "null", "FOREIGN": "foreign"}


@dataclass(frozen=True, slots=True)
class Clause:
    """One column clause or table constraint.

    :param kind: primary, notnull, null, unique, check, default, collate, references, generated, foreign.
    :param name: the ``CONSTRAINT name`` before it, or None.
    :param text: its source text (without the ``CONSTRAINT name``).
    :param inner: the text inside its first parentheses ('' when it has none).
    :param columns: the column names of a table constraint's first parentheses.
    :param word: the last word (a collation's name; STORED or VIRTUAL for a generated column).
    """

    kind: str
    name: str | None
    text: str
    inner: str = ""
    columns: tuple[str, ...] = ()
    word: str = ""


@dataclass(frozen=True, slots=True)
class ColumnText:
    """A column definition as written: name, declared type, clauses."""

    name: str
    type: str
    clauses: tuple[Clause, ...]

    def clause(self, kind: str) -> Clause | None:
        """Return the first clause of this kind, or None."""
        return next((c for c in self.clauses if c.kind == kind), None)


@dataclass(frozen=True, slots=True)
class CreateText:
    """A ``CREATE TABLE`` statement's columns and table constraints as written."""

    columns: tuple[ColumnText, ...]
    constraints: tuple[Clause, ...]
    autoincrement: bool

    def column(self, name: str) -> ColumnText | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    def clauses(self) -> list[tuple[str | None, Clause]]:
        """Return (column name or None for table constraints, clause) for every clause."""
        return [(c.name, k) for c in self.columns for k in c.clauses] + [(None, k) for k in self.constraints]


def read_create_table(sql: str) -> CreateText | None:
    """Return the parts of a ``CREATE TABLE … (…)`` statement, or None (``AS SELECT``, untokenizable)."""
    toks = tokens(sql)
    start = next((i for i, t in enumerate(toks) if t.token_type == TokenType.L_PAREN), None)
    if start is None or not any(_word(t) == "TABLE" for t in toks[:start]):
        return None
    end = _closing(toks, start)
    if end is None:
        return None
    columns, constraints = [], []
    for item in _split(toks[start + 1:end]):
        if not item:
            continue
        if _word(item[0]) in _TABLE_CONSTRAINTS:
            constraints += _clauses(sql, item)
        else:
            clauses = _clauses(sql, item[1:])
            first_clause = next((i for i, t in enumerate(item[1:], 1) if _starts(item, i)), len(item))
            type_tokens = item[1:first_clause]
            declared = sql[type_tokens[0].start:type_tokens[-1].end + 1] if type_tokens else ""
            columns.append(ColumnText(item[0].text, declared, tuple(clauses)))
    autoincrement = any(_word(t) == "AUTOINCREMENT" for t in toks[start:end])
    return CreateText(tuple(columns), tuple(constraints), autoincrement)


def paren_span(toks: list[Token], at: int) -> tuple[int, int] | None:
    """Return the token indexes of the first ``(`` at or after ``at`` and of its matching ``)``."""
    start = next((i for i in range(at, len(toks)) if toks[i].token_type == TokenType.L_PAREN), None)
    if start is None:
        return None
    end = _closing(toks, start)
    return (start, end) if end is not None else None


def _word(token: Token) -> str:
    if token.token_type in _NOT_KEYWORDS:
        return ""
    return token.text.upper().split()[0] if token.text.strip() else ""


def _closing(toks: list[Token], start: int) -> int | None:
    depth = 0
    for i in range(start, len(toks)):
        if toks[i].token_type == TokenType.L_PAREN:
            depth += 1
        elif toks[i].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return i
    return None


def _split(toks: list[Token]) -> list[list[Token]]:
    items: list[list[Token]] = [[]]
    depth = 0
    for token in toks:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        if token.token_type == TokenType.COMMA and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return items


def _starts(item: list[Token], i: int) -> bool:
    """Return True when token ``i`` of a definition starts a clause (at depth 0, checked by the caller)."""
    word = _word(item[i])
    previous = _word(item[i - 1]) if i > 0 else ""
    following = _word(item[i + 1]) if i + 1 < len(item) else ""
    if _depth(item, i):
        return False
    if word == "REFERENCES" and any(_word(t) == "FOREIGN" for t in item[:i]):
        return False  # part of the table constraint FOREIGN KEY (…) REFERENCES …
    if word in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "COLLATE", "REFERENCES", "GENERATED", "FOREIGN"):
        return previous != "CONSTRAINT"
    if word == "DEFAULT":
        return previous != "SET"  # ON DELETE SET DEFAULT
    if word == "AS":
        return previous != "ALWAYS"
    if word == "NOT":
        return following == "NULL"
    if word == "NULL":
        return previous not in ("NOT", "SET")  # ON DELETE SET NULL
    return False


def _depth(item: list[Token], i: int) -> int:
    depth = 0
    for token in item[:i]:
        depth += token.token_type == TokenType.L_PAREN
        depth -= token.token_type == TokenType.R_PAREN
    return depth


def _clauses(sql: str, item: list[Token]) -> list[Clause]:
    starts = [i for i in range(len(item)) if _starts(item, i)]
    found, name = [], None
    for n, begin in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(item)
        part = item[begin:end]
        if _word(part[0]) == "CONSTRAINT":
            name = part[1].text if len(part) > 1 else None
            if len(part) <= 2:
                continue  # the clause follows as its own part
            part = part[2:]
        found.append(_clause(sql, part, name))
        name = None
    return found


def _clause(sql: str, part: list[Token], name: str | None) -> Clause:
    kind = _KINDS.get(_word(part[0]), _word(part[0]).lower())
    span = paren_span(part, 0)
    inner = sql[part[span[0]].end + 1:part[span[1]].start] if span and span[1] > span[0] else ""
    columns: tuple[str, ...] = ()
    if span:
        columns = tuple(t[0].text for t in _split(part[span[0] + 1:span[1]]) if t)
    return Clause(kind, name, sql[part[0].start:part[-1].end + 1], inner.strip(), columns, part[-1].text.upper())
