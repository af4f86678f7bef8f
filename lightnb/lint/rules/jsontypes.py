"""JSON stays out of the schema (the team's rule): no JSON-typed columns, no json_* in DEFAULT/CHECK."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lightnb.lint.columns import constraint_expressions, defined_columns
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import node_line, token_line


@rule("json-column", severity="error", summary="A column declared JSON or JSONB.")
def json_column(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag columns whose declared type is JSON."""
    for found in defined_columns(ctx):
        words = found.column.type.upper().replace("(", " ").split()
        if any(word in ("JSON", "JSONB") for word in words):
            yield Hit("up.sql", token_line(found.statement, found.column.name),
                      f"{found.table}.{found.column.name} is declared {found.column.type}",
                      "model the data as columns or a child table; if it must stay a document, declare it "
                      "TEXT and (de)serialize it in Rust with serde_json")


@rule("json-function", severity="error", summary="json_* functions in a DEFAULT or CHECK constraint.")
def json_function(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag json_* functions used inside DEFAULT or CHECK constraints."""
    for statement in ctx.source.up.statements:
        if not isinstance(statement.expr, (exp.Create, exp.Alter)):
            continue
        found = [(e, next(node for node in e.walk() if _is_json(node)))
                 for e in constraint_expressions(statement.expr) if any(_is_json(node) for node in e.walk())]
        used = [e.sql("sqlite") for e, _ in found]
        if used:
            first = found[0][1]
            yield Hit("up.sql", node_line(statement, first.name if isinstance(first, exp.Anonymous) else
                                          first.sql("sqlite").split("(")[0]),
                      f"JSON function in a DEFAULT or CHECK constraint: {'; '.join(used)}",
                      "validate the document in Rust (serde) before writing it, and drop the constraint")


def _is_json(node: exp.Expr) -> bool:
    if isinstance(node, exp.Anonymous):
        return node.name.lower().startswith("json")
    return isinstance(node, exp.Func) and type(node).__name__.upper().startswith("JSON")
