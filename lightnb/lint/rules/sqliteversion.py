"""SQL newer than the oldest SQLite the project supports (``[lint] sqlite_min_version``).

A Rust app links the system's libsqlite3, often older than the SQLite lightnb runs with: a
migration that uses ``unixepoch()`` passes every local check and fails on a server with 3.37.
Each feature below carries the release that introduced it (https://sqlite.org/chronology.html and
each release's notes). Features are found in sqlglot's tokens of each statement (and its tree
where it has one) — never by matching the raw text, so names inside strings, comments and quoted
identifiers do not count. Where a portable rewrite exists, the fix is the rewritten statement,
tried on a copy of the schema like every fix (:mod:`lightnb.lint.fixes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from lightnb.backends import sqlite
from lightnb.errors import MigrationError
from lightnb.lint.effects import statement_effects
from lightnb.lint.fixes import Patch, statements_text
from lightnb.lint.options import format_version
from lightnb.lint.rebuild import Changes, plan_rebuild
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, parse_statement, tokens

Version = tuple[int, int, int]

# Scalar and aggregate functions by the release that added them to SQLite's core.
FUNCTIONS: dict[str, Version] = {
    "iif": (3, 32, 0),
    # math functions (SQLITE_ENABLE_MATH_FUNCTIONS)
    **dict.fromkeys(("acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
                     "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians",
                     "sin", "sinh", "sqrt", "tan", "tanh", "trunc"), (3, 35, 0)),
    "unixepoch": (3, 38, 0), "format": (3, 38, 0),
    "unhex": (3, 41, 0),
    "json_error_position": (3, 42, 0),
    "timediff": (3, 43, 0), "octet_length": (3, 43, 0),
    "concat": (3, 44, 0), "concat_ws": (3, 44, 0), "string_agg": (3, 44, 0),
    **dict.fromkeys(("jsonb", "jsonb_array", "jsonb_extract", "jsonb_insert", "jsonb_object", "jsonb_patch",
                     "jsonb_remove", "jsonb_replace", "jsonb_set", "jsonb_group_array", "jsonb_group_object"),
                    (3, 45, 0)),
    "json_pretty": (3, 46, 0),
    "if": (3, 48, 0),
    "unistr": (3, 50, 0), "unistr_quote": (3, 50, 0),
}
WINDOW_FUNCTIONS = ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
                    "first_value", "last_value", "nth_value")
# Words after which a name followed by "(" is a table or other object, not a function call.
_NOT_A_CALL = {"TABLE", "INTO", "REFERENCES", "JOIN", "FROM", "INDEX", "VIEW", "TRIGGER", "EXISTS", "ON", "UPDATE",
               "KEY", "UNIQUE", "CHECK", "AS", "IN", "WITH", "SET", "TO"}
_NAME_TOKENS = (TokenType.VAR,)


@dataclass(frozen=True, slots=True)
class Use:
    """One use of a feature newer than some SQLite release.

    :param feature: what it is, for people (``unixepoch()``, ``RETURNING``).
    :param since: the release that introduced it.
    :param token: the statement's token where it is (for the line).
    :param rewrite: the portable statement, or None when there is no mechanical rewrite.
    :param advice: what to do instead, in words.
    """

    feature: str
    since: Version
    token: Token | None
    rewrite: str | None = None
    advice: str = ""


@rule("sqlite-too-new", severity="error",
      summary="SQL that needs a newer SQLite than the oldest one the project supports ([lint] sqlite_min_version).")
def sqlite_too_new(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag functions and syntax newer than ``sqlite_min_version``, with the portable rewrite."""
    minimum = ctx.config.sqlite_min_version
    scripts = [(ctx.source.up, ())] + ([(ctx.source.down, ctx.source.up.statements)] if ctx.source.down else [])
    for script, earlier in scripts:
        for index, statement in enumerate(script.statements):
            state = ctx.replay.state_before(index) if script.file == "up.sql" else ctx.replay.after
            uses = [u for u in newer_features(statement, state) if u.since > minimum]
            portable = portable_rewrite(statement, state, minimum) if any(u.rewrite for u in uses) else None
            for use in uses:
                line = statement.line + (use.token.line - 1 if use.token is not None else 0)
                message = (f"{use.feature} needs SQLite {format_version(use.since)}; the project supports SQLite "
                           f"{format_version(minimum)} and later ([lint] sqlite_min_version)")
                if use.rewrite is None or portable is None:
                    yield Hit(script.file, line, message, use.advice)
                    continue
                before = statements_text(earlier + script.statements[:index])
                yield Hit(script.file, line, message, f"replace the statement with:\n{portable}",
                          patch=Patch(portable, before, otherwise=use.advice or "rewrite it by hand"))


def portable_rewrite(statement: Parsed, state: object, minimum: Version) -> str | None:
    """Return the statement with every feature newer than ``minimum`` rewritten, or None when one cannot be."""
    current = statement
    for _ in range(50):
        uses = [u for u in newer_features(current, state) if u.since > minimum]
        if not uses:
            return current.text.strip()
        rewritable = next((u for u in uses if u.rewrite is not None), None)
        text = rewritable.rewrite if rewritable is not None else None
        if text is None or text == current.text:
            return None
        current = Parsed(text, statement.line, parse_statement(text))
    return None


def running_version() -> str:
    """Return the SQLite version lightnb itself runs with."""
    return sqlite.version


def newer_features(statement: Parsed, state: object = None) -> list[Use]:
    """Return every feature of ``statement`` that an older SQLite lacks, with its release."""
    toks = tokens(statement.text)
    found: list[Use] = []
    for finder in _FINDERS:
        found += finder(statement, toks, state)
    return found


# -- finders --------------------------------------------------------------------------------------------------

def _functions(statement: Parsed, toks: list[Token], _state: object) -> list[Use]:
    found = []
    for at, token in enumerate(toks):
        name = token.text.lower()
        if not _is_call(toks, at):
            continue
        if name in FUNCTIONS:
            rewrite, advice = _REWRITES.get(name, (None, ""))
            text = rewrite(statement.text, toks, at) if rewrite else None
            found.append(Use(f"{name}()", FUNCTIONS[name], token, text, advice or f"avoid {name}()"))
        elif name in WINDOW_FUNCTIONS:
            found.append(Use(f"window function {name}()", (3, 25, 0), token, None,
                             "compute it in Rust, or with a correlated subquery"))
    return found


def _is_call(toks: list[Token], at: int) -> bool:
    """Return True when token ``at`` names a function being called (a name followed by "(")."""
    token = toks[at]
    if token.token_type in (TokenType.STRING, TokenType.IDENTIFIER) or at + 1 >= len(toks):
        return False
    if toks[at + 1].token_type != TokenType.L_PAREN:
        return False
    previous = toks[at - 1] if at else None
    if previous is not None and (previous.token_type == TokenType.DOT or previous.text.upper() in _NOT_A_CALL):
        return False
    name = token.text.lower()
    return token.token_type in _NAME_TOKENS or name in FUNCTIONS or name in WINDOW_FUNCTIONS


def _syntax(statement: Parsed, toks: list[Token], state: object) -> list[Use]:
    found: list[Use] = []
    words = [t.text.upper() if t.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) else "" for t in toks]
    for at, token in enumerate(toks):
        word = words[at]
        following = words[at + 1] if at + 1 < len(words) else ""
        if token.token_type == TokenType.DARROW:
            found.append(Use("the ->> operator", (3, 38, 0), token, _json_rewrite(statement.text, toks, at),
                             "use json_extract(x, path)"))
        elif token.token_type == TokenType.ARROW:
            found.append(Use("the -> operator", (3, 38, 0), token, None,
                             "use json_extract(x, path) (it returns the SQL value; json_quote() it for JSON text)"))
        elif word == "RETURNING":
            found.append(Use("RETURNING", (3, 35, 0), token, _cut_clause(statement.text, toks, at),
                             "remove the RETURNING clause (a migration has nobody to return rows to)"))
        elif word == "OVER":
            found.append(Use("a window function (OVER)", (3, 25, 0), token, None,
                             "compute it in Rust, or with a correlated subquery"))
        elif word == "FILTER" and following == "(":
            found.append(Use("FILTER on an aggregate", (3, 30, 0), token, None,
                             "move the condition into the aggregate: sum(CASE WHEN cond THEN x END)"))
        elif word == "NULLS" and following in ("FIRST", "LAST"):
            found.append(Use(f"NULLS {following}", (3, 30, 0), token, None,
                             f"order by `x IS {'NOT ' if following == 'FIRST' else ''}NULL, x` instead"))
        elif word == "IS" and words[at + 1:at + 3] in (["DISTINCT", "FROM"], ["NOT", "DISTINCT"]) \
                and (following == "DISTINCT" or words[at + 3:at + 4] == ["FROM"]):
            negated = following == "NOT"
            width = 4 if negated else 3
            found.append(Use(f"IS {'NOT ' if negated else ''}DISTINCT FROM", (3, 39, 0), token,
                             _replace_tokens(statement.text, toks, at, at + width, "IS" if negated else "IS NOT"),
                             "use IS / IS NOT (SQLite's null-safe comparisons)"))
        elif word in ("RIGHT", "FULL") and (following == "JOIN" or following == "OUTER"):
            found.append(Use(f"{word} JOIN", (3, 39, 0), token, None,
                             "swap the two tables and use LEFT JOIN" if word == "RIGHT" else
                             "combine a LEFT JOIN with the unmatched rows of the other table (UNION ALL)"))
        elif word == "MATERIALIZED" and at and words[at - 1] in ("AS", "NOT"):
            start = at - 1 if words[at - 1] == "NOT" else at
            found.append(Use("a MATERIALIZED hint on a CTE", (3, 35, 0), token,
                             _replace_tokens(statement.text, toks, start, at + 1, ""), "remove the hint"))
        elif word == "CONFLICT" and at and words[at - 1] == "ON" and _upsert(words, at):
            found.append(Use("UPSERT (ON CONFLICT … DO)", (3, 24, 0), token, None,
                             "use INSERT OR IGNORE, or an UPDATE followed by INSERT OR IGNORE"))
        elif word == "GENERATED" and following in ("ALWAYS", "AS"):
            found.append(Use("a generated column", (3, 31, 0), token, None,
                             "store the value in a plain column written by the application, or compute it in a VIEW"))
        elif word == "ORDER BY" and _inside_call(toks, words, at):
            found.append(Use("ORDER BY inside an aggregate's arguments", (3, 44, 0), token, None,
                             "order the rows in a subquery and aggregate its result"))
    found += _strict(statement, toks, words)
    found += _alter(statement, toks, state)
    found += _update_from(statement, toks)
    return found


def _upsert(words: list[str], at: int) -> bool:
    """Return True when ``ON CONFLICT`` at ``at`` is an UPSERT (followed by a target or DO), not a conflict clause."""
    following = words[at + 1] if at + 1 < len(words) else ""
    return following in ("(", "DO")


def _inside_call(toks: list[Token], words: list[str], at: int) -> bool:
    """Return True when token ``at`` sits directly inside a function call's parentheses (not OVER(…) or a query)."""
    depth = 0
    for back in range(at - 1, -1, -1):
        kind = toks[back].token_type
        if kind == TokenType.R_PAREN:
            depth += 1
        elif kind == TokenType.L_PAREN:
            if depth == 0:
                opener = words[back - 1] if back else ""
                inner = words[back + 1] if back + 1 < len(words) else ""
                return back > 0 and _is_call(toks, back - 1) and opener not in ("OVER", "FILTER") and inner != "SELECT"
            depth -= 1
        elif depth == 0 and words[back] == "SELECT":
            return False
    return False


def _strict(statement: Parsed, toks: list[Token], words: list[str]) -> list[Use]:
    if "TABLE" not in words[:4] or words[:1] != ["CREATE"]:
        return []
    depth, closed = 0, None
    for at, token in enumerate(toks):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                closed = at
                break
    if closed is None:
        return []
    for at in range(closed + 1, len(toks)):
        if words[at] == "STRICT":
            start = at - 1 if words[at - 1] == "," else at
            if words[at - 1] != "," and at + 1 < len(words) and words[at + 1] == ",":
                return [Use("a STRICT table", (3, 37, 0), toks[at],
                            _replace_tokens(statement.text, toks, at, at + 2, ""), "remove STRICT")]
            return [Use("a STRICT table", (3, 37, 0), toks[at],
                        _replace_tokens(statement.text, toks, start, at + 1, ""),
                        "remove STRICT (and CHECK the types in Rust)")]
    return []


def _alter(statement: Parsed, toks: list[Token], state: object) -> list[Use]:
    found = []
    for effect in statement_effects(statement):
        if effect.action == "drop-column":
            found.append(Use("ALTER TABLE … DROP COLUMN", (3, 35, 0), _token_named(toks, "DROP"),
                             _rebuild(state, effect.table, Changes(drop=(effect.name,))),
                             f"rebuild table {effect.table} without the column"))
        elif effect.action == "rename-column":
            found.append(Use("ALTER TABLE … RENAME COLUMN", (3, 25, 0), _token_named(toks, "RENAME"),
                             _rebuild(state, effect.table, Changes(rename={effect.name: effect.new_name})),
                             f"rebuild table {effect.table} with the new column name"))
    return found


def _update_from(statement: Parsed, toks: list[Token]) -> list[Use]:
    tree = statement.expr
    if isinstance(tree, exp.Update) and (tree.args.get("from_") or tree.args.get("from")) is not None:
        return [Use("UPDATE … FROM", (3, 33, 0), _token_named(toks, "FROM"), None,
                    "set the column from a correlated subquery: SET x = (SELECT … WHERE …)")]
    return []


def _token_named(toks: list[Token], word: str) -> Token | None:
    return next((t for t in toks if t.text.upper() == word), None)


_FINDERS: tuple[Callable[[Parsed, list[Token], object], list[Use]], ...] = (_functions, _syntax)


# -- rewrites ------------------------------------------------------------------------------------------------

def _call_span(toks: list[Token], at: int) -> tuple[int, list[tuple[int, int]]] | None:
    """Return (index of the closing paren, [(start, end) character span of each argument]) of the call at ``at``."""
    depth, args, start = 0, [], toks[at + 1].end + 1
    for i in range(at + 1, len(toks)):
        kind = toks[i].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                if toks[i - 1].token_type != TokenType.L_PAREN:
                    args.append((start, toks[i].start))
                return i, args
        elif kind == TokenType.COMMA and depth == 1:
            args.append((start, toks[i].start))
            start = toks[i].end + 1
    return None


def _rewrite_call(sql: str, toks: list[Token], at: int, render: Callable[[list[str]], str | None]) -> str | None:
    span = _call_span(toks, at)
    if span is None:
        return None
    close, args = span
    text = render([sql[a:b].strip() for a, b in args])
    if text is None:
        return None
    return sql[:toks[at].start] + text + sql[toks[close].end + 1:]


def _unixepoch(sql: str, toks: list[Token], at: int) -> str | None:
    def render(args: list[str]) -> str | None:
        if any(a.strip().strip("'\"").lower() in ("subsec", "subsecond") for a in args[1:]):
            return None
        return f"CAST(strftime('%s', {', '.join(args) or chr(39) + 'now' + chr(39)}) AS INTEGER)"
    return _rewrite_call(sql, toks, at, render)


def _iif(sql: str, toks: list[Token], at: int) -> str | None:
    def render(args: list[str]) -> str | None:
        if len(args) not in (2, 3):
            return None
        return f"CASE WHEN {args[0]} THEN {args[1]}{' ELSE ' + args[2] if len(args) == 3 else ''} END"
    return _rewrite_call(sql, toks, at, render)


def _renamed(new: str) -> Callable[[str, list[Token], int], str | None]:
    def rewrite(sql: str, toks: list[Token], at: int) -> str | None:
        return sql[:toks[at].start] + new + sql[toks[at].end + 1:]
    return rewrite


def _string_agg(sql: str, toks: list[Token], at: int) -> str | None:
    span = _call_span(toks, at)
    if span is None or any(t.text.upper() == "ORDER BY" for t in toks[at:span[0]]):
        return None
    return _renamed("group_concat")(sql, toks, at)


def _concat(sql: str, toks: list[Token], at: int) -> str | None:
    return _rewrite_call(sql, toks, at, lambda args: "(" + " || ".join(f"coalesce({a}, '')" for a in args) + ")"
                         if args else None)


def _octet_length(sql: str, toks: list[Token], at: int) -> str | None:
    return _rewrite_call(sql, toks, at, lambda args: f"length(CAST({args[0]} AS BLOB))" if len(args) == 1 else None)


_REWRITES: dict[str, tuple[Callable[[str, list[Token], int], str | None] | None, str]] = {
    "unixepoch": (_unixepoch, "use CAST(strftime('%s', …) AS INTEGER)"),
    "format": (_renamed("printf"), "use printf(), its older name"),
    "iif": (_iif, "use CASE WHEN … THEN … ELSE … END"),
    "if": (_iif, "use CASE WHEN … THEN … ELSE … END"),
    "string_agg": (_string_agg, "use group_concat(x, separator)"),
    "concat": (_concat, "use || with coalesce(x, '') around each value"),
    "octet_length": (_octet_length, "use length(CAST(x AS BLOB))"),
    "concat_ws": (None, "join the values with || and the separator"),
    "unhex": (None, "write the bytes as a blob literal X'…', or decode in Rust"),
    "timediff": (None, "compute the difference of two Unix timestamps in seconds"),
}


def _replace_tokens(sql: str, toks: list[Token], start: int, end: int, text: str) -> str:
    """Replace tokens ``start`` up to (not including) ``end`` with ``text``."""
    left = toks[start].start
    right = toks[end - 1].end + 1
    return sql[:left] + text + sql[right:]


def _cut_clause(sql: str, toks: list[Token], at: int) -> str | None:
    """Remove the clause that starts at token ``at`` up to the end of the statement."""
    end = len(toks)
    while end > at and toks[end - 1].token_type == TokenType.SEMICOLON:
        end -= 1
    return (sql[:toks[at].start].rstrip() + sql[toks[end - 1].end + 1:]).rstrip() or None


def _json_rewrite(sql: str, toks: list[Token], at: int) -> str | None:
    """Rewrite ``x ->> path`` as ``json_extract(x, path)`` when both operands are single terms."""
    left = _left_operand(toks, at)
    if left is None or at + 1 >= len(toks):
        return None
    right = toks[at + 1]
    if right.token_type not in (TokenType.STRING, TokenType.NUMBER, TokenType.VAR, TokenType.IDENTIFIER):
        return None
    if at + 2 < len(toks) and toks[at + 2].token_type in (TokenType.DOT, TokenType.L_PAREN):
        return None
    if left > 0 and toks[left - 1].token_type in (TokenType.DPIPE, TokenType.ARROW, TokenType.DARROW):
        return None  # same precedence on the left: keep it for a person
    start, end = toks[left].start, right.end + 1
    return f"{sql[:start]}json_extract({sql[start:toks[at].start].strip()}, {sql[right.start:end]}){sql[end:]}"


def _left_operand(toks: list[Token], at: int) -> int | None:
    """Return the index of the first token of the term just before token ``at`` (a name, a.b, a call, (…))."""
    i = at - 1
    if i < 0:
        return None
    if toks[i].token_type == TokenType.R_PAREN:
        depth = 0
        while i >= 0:
            depth += toks[i].token_type == TokenType.R_PAREN
            depth -= toks[i].token_type == TokenType.L_PAREN
            if depth == 0:
                break
            i -= 1
        if i < 0:
            return None
        if i > 0 and toks[i - 1].token_type in (TokenType.VAR,):
            i -= 1
        return i
    if toks[i].token_type not in (TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING):
        return None
    while i >= 2 and toks[i - 1].token_type == TokenType.DOT:
        i -= 2
    return i


def _rebuild(state: object, table: str, changes: Changes) -> str | None:
    if state is None or getattr(state, "table", None) is None or state.table(table) is None:  # type: ignore[attr-defined]  # state is duck-typed: checked for .table just before
        return None
    try:
        plan = plan_rebuild(state, table, changes)  # type: ignore[arg-type]  # a state with .table() is a Catalog
    except MigrationError:
        return None
    return plan.up_sql
