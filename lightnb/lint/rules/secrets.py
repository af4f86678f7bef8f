"""Secrets are never stored or written in plaintext: secret-like columns follow the encryption convention."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.tokens import TokenType

from lightnb.lint.columns import affinity, defined_columns, name_words
from lightnb.lint.options import LintConfig
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, name_of, token_line, tokens

# Well-known shapes of live credentials (provider-issued prefixes).
SECRET_PREFIXES = ("sk_live_", "sk_test_", "rk_live_", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-",
                   "AKIA", "AIza", "-----BEGIN", "glpat-", "SG.", "eyJhbGci")


# A last word that makes the name about a secret rather than the secret itself: a WebAuthn credential_id
# or an OAuth token_type is public, a password_changed_at is a time.
ABOUT_A_SECRET = frozenset({"id", "ids", "type", "kind", "name", "count", "length", "version", "status",
                            "scope", "scopes", "at", "on", "expires", "expiry"})


def is_secret_name(name: str, config: LintConfig) -> bool:
    """Return True when a column name reads like a secret (password, token, api key …), not like something
    about one (``credential_id``, ``token_type``, ``password_changed_at``)."""
    words = name_words(name)
    if len(words) > 1 and words[-1] in ABOUT_A_SECRET:
        return False
    joined = {"_".join(words[i:i + 2]) for i in range(len(words))} | set(words)
    return any(word in joined or word.replace("_", "") in joined for word in config.secret_words)


@rule("secret-plaintext", severity="error",
      summary="A secret-like column (token, password …) that does not follow the encryption convention.")
def secret_plaintext(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag text/blob columns named like secrets without the project's encrypted-name convention."""
    config = ctx.config
    for found in defined_columns(ctx):
        column = found.column
        if affinity(column.type) in ("INTEGER", "REAL", "NUMERIC"):
            continue  # counts, flags and expiry times are not secrets
        if is_secret_name(column.name, config) and not config.is_encrypted_name(column.name):
            prefix = config.encrypted_prefixes[0] if config.encrypted_prefixes else "encrypted_"
            yield Hit("up.sql", token_line(found.statement, column.name),
                      f"{found.table}.{column.name} looks like a secret stored in plaintext",
                      f"store it encrypted (or hashed) and name it after the convention, e.g. "
                      f"{prefix}{column.name}; encrypt in Rust before writing")


@rule("secret-literal", severity="error", summary="A literal secret written into SQL.")
def secret_literal(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag string literals that are credentials, or are written into secret-like columns.

    The finding never shows any part of the secret: only its length and where it is.
    """
    for script in (s for s in (ctx.source.up, ctx.source.down) if s is not None):
        for statement in script.statements:
            if statement.expr is None:
                continue
            found = _secret_literals(statement.expr, ctx.config)
            if found:
                places = _places(statement)
                whats: dict[str, list[str]] = {}
                for what, value in sorted(found):
                    whats.setdefault(value, []).append(what)
                described = sorted(f"{' and '.join(what)}: {len(value)} characters at "
                                   f"{places.get(value, f'line {statement.line}')}" for value, what in whats.items())
                yield Hit(script.file, statement.line, f"literal secret in SQL ({'; '.join(described)})",
                          "never commit secrets in migrations: load them at runtime from the environment "
                          "or a secret store, and write them encrypted")


def _places(statement: Parsed) -> dict[str, str]:
    """Return {string literal's value: "line L, column C" in the file} for the statement's first occurrences."""
    places: dict[str, str] = {}
    for token in tokens(statement.text):
        if token.token_type == TokenType.STRING and token.text not in places:
            before = statement.text[:token.start]
            line = statement.line + before.count("\n")
            column = token.start - (before.rfind("\n") + 1) + 1
            places[token.text] = f"line {line}, column {column}"
    return places


def _secret_literals(tree: exp.Expr, config: LintConfig) -> set[tuple[str, str]]:
    """Return {(what it is, the literal's value)}: the value is for locating it, never for showing."""
    found = {("a credential-shaped literal", lit.this) for lit in tree.find_all(exp.Literal)
             if lit.is_string and lit.this.startswith(SECRET_PREFIXES)}
    for column, value in _assignments(tree):
        if value.is_string and value.this and is_secret_name(column, config) \
                and not config.is_encrypted_name(column):
            found.add((f"a value for {column}", value.this))
    return found


def _assignments(tree: exp.Expr) -> Iterator[tuple[str, exp.Literal]]:
    """Yield (column, literal) pairs of INSERT … VALUES and UPDATE … SET."""
    if isinstance(tree, exp.Update):
        for eq in tree.expressions:
            if isinstance(eq, exp.EQ) and isinstance(eq.expression, exp.Literal):
                yield name_of(eq.this), eq.expression
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        columns = [name_of(c) for c in tree.this.expressions]
        values = tree.expression
        for row in values.expressions if isinstance(values, exp.Values) else ():
            for column, value in zip(columns, row.expressions):
                if isinstance(value, exp.Literal):
                    yield column, value
