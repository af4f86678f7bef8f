"""Statements that cannot run inside the transaction diesel wraps a migration in (diesel_spec.md §2.3)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, leading_words

# PRAGMAs that fail or silently do nothing inside a transaction (https://sqlite.org/pragma.html).
NON_TRANSACTIONAL_PRAGMAS = {"foreign_keys", "journal_mode", "page_size", "auto_vacuum", "locking_mode",
                             "legacy_file_format", "encoding"}
NON_TRANSACTIONAL_WORDS = {"VACUUM", "BEGIN", "COMMIT", "END", "ROLLBACK", "ATTACH", "DETACH"}


@rule("non-transactional", severity="error",
      summary="VACUUM, BEGIN/COMMIT, ATTACH or a mode PRAGMA in a migration that runs in a transaction.")
def non_transactional(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag statements that fail or do nothing inside diesel's per-migration transaction."""
    if not ctx.source.run_in_transaction:
        return
    for script in (s for s in (ctx.source.up, ctx.source.down) if s is not None):
        for statement in script.statements:
            what = non_transactional_statement(statement)
            if what:
                yield Hit(script.file, statement.line,
                          f"{what} cannot take effect inside the transaction diesel runs this migration in",
                          "move it to its own migration with `run_in_transaction = false` in metadata.toml, "
                          "or remove it (diesel already wraps the file in a transaction)")


def non_transactional_statement(statement: Parsed) -> str:
    tree = statement.expr
    if isinstance(tree, exp.Pragma):
        target = tree.this
        name = (target.this.name if isinstance(target, exp.EQ) else target.name if target else "").lower()
        if isinstance(target, exp.EQ) and name in NON_TRANSACTIONAL_PRAGMAS:
            return f"PRAGMA {name} = …"
        return ""
    words = leading_words(statement.text, 1)
    if words and words[0] in NON_TRANSACTIONAL_WORDS:
        return words[0]
    return ""
