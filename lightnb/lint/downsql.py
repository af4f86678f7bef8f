"""down.sql must exist, hold SQL, and undo what up.sql does (checked statically on both trees)."""

from __future__ import annotations

from collections.abc import Iterator

from lightnb.lint.catalog import quote
from lightnb.lint.effects import Effect, rebuilds, script_effects
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.markers import declared_irreversible


def _declared(ctx: MigrationContext) -> str | None:
    """The reason down.sql gives for declaring the migration irreversible (lightnb.markers), if any."""
    return declared_irreversible(ctx.source.down.text) if ctx.source.down is not None else None


@rule("down-missing", severity="error", summary="The migration has no down.sql.")
def down_missing(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag a migration without down.sql."""
    if ctx.source.down is None:
        yield Hit("down.sql", 0, "down.sql is missing, so this migration cannot be reverted",
                  _suggestion(ctx))


@rule("down-empty", severity="error", summary="down.sql is empty or holds only comments (the template).")
def down_empty(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag a down.sql that holds no statement."""
    down = ctx.source.down
    if down is not None and down.is_blank and not ctx.source.up.is_blank:
        if (reason := _declared(ctx)) is not None:
            yield Hit("down.sql", 0, f"down.sql declares the migration irreversible: {reason}", "", "info")
            return
        what = "empty" if not down.text.strip() else "only comments"
        yield Hit("down.sql", 0, f"down.sql is {what}: reverting would leave up.sql's changes in place",
                  _suggestion(ctx))


@rule("down-incomplete", severity="error", summary="down.sql does not undo something up.sql does.")
def down_incomplete(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag each up.sql change that down.sql does not undo."""
    down = ctx.source.down
    if down is None or down.is_blank:
        return
    undone = script_effects(down)
    declared = _declared(ctx)
    for effect in _net_up_effects(ctx):
        if not any(_undoes(candidate, effect) for candidate in undone):
            if declared is not None:
                yield Hit("up.sql", effect.line, f"down.sql does not undo: {_describe(effect)} (declared "
                          f"irreversible: {declared})", "", "info")
                continue
            yield Hit("up.sql", effect.line, f"down.sql does not undo: {_describe(effect)}",
                      f"add to down.sql: {_inverse(effect)}")


def _net_up_effects(ctx: MigrationContext) -> list[Effect]:
    """Return up.sql's effects, with each table rebuild (create, copy, drop, rename) seen as one change."""
    effects = script_effects(ctx.source.up)
    found = rebuilds(effects)
    parts = {id(part) for rebuild in found for part in rebuild.parts}
    net = [Effect("rebuild", "table", r.table, r.table, line=r.line) for r in found]
    net += [e for e in effects if id(e) not in parts]
    return sorted(net, key=lambda e: e.line)


def _undoes(candidate: Effect, effect: Effect) -> bool:
    same = candidate.name.lower() == effect.name.lower()
    table = effect.table.lower()
    dropped_table = candidate.action == "drop" and candidate.kind == "table" and candidate.name.lower() == table
    rebuilt = candidate.action == "rename" and candidate.new_name.lower() == table
    match effect.action:
        case "create" if effect.kind == "table":
            return candidate.action == "drop" and candidate.kind == "table" and same
        case "create":
            return (candidate.action == "drop" and candidate.kind == effect.kind and same) or dropped_table
        case "rebuild":
            return rebuilt or (candidate.table.lower() == table and candidate.action != "create")
        case "drop":
            return candidate.action == "create" and candidate.kind == effect.kind and same
        case "add-column":
            return (candidate.action == "drop-column" and same and candidate.table.lower() == table) \
                or dropped_table or rebuilt
        case "drop-column":
            return (candidate.action == "add-column" and same and candidate.table.lower() == table) \
                or dropped_table or rebuilt
        case "rename-column":
            return (candidate.action == "rename-column" and candidate.table.lower() == table
                    and candidate.name.lower() == effect.new_name.lower()
                    and candidate.new_name.lower() == effect.name.lower()) or dropped_table or rebuilt
        case "rename":
            return candidate.action == "rename" and candidate.name.lower() == effect.new_name.lower() \
                and candidate.new_name.lower() == effect.name.lower()
    return False


def _describe(effect: Effect) -> str:
    match effect.action:
        case "add-column":
            return f"ADD COLUMN {effect.table}.{effect.name}"
        case "drop-column":
            return f"DROP COLUMN {effect.table}.{effect.name}"
        case "rename-column":
            return f"RENAME COLUMN {effect.table}.{effect.name} TO {effect.new_name}"
        case "rename":
            return f"RENAME TABLE {effect.name} TO {effect.new_name}"
        case "rebuild":
            return f"the rebuild of table {effect.name}"
    return f"{effect.action.upper()} {effect.kind.upper()} {effect.name}"


def _inverse(effect: Effect) -> str:
    name, table = quote(effect.name), quote(effect.table)
    match effect.action:
        case "create":
            return f"DROP {effect.kind.upper()} IF EXISTS {name};"
        case "add-column":
            return f"ALTER TABLE {table} DROP COLUMN {name};"
        case "rename-column":
            return f"ALTER TABLE {table} RENAME COLUMN {quote(effect.new_name)} TO {name};"
        case "rename":
            return f"ALTER TABLE {quote(effect.new_name)} RENAME TO {name};"
        case "drop-column":
            return f"ALTER TABLE {table} ADD COLUMN {name} <type as before>;  (values cannot come back)"
        case "rebuild":
            return f"a rebuild of {name} back to its previous definition (lightnb.lint.rebuild)"
    return f"CREATE {effect.kind.upper()} {name} … as it was before up.sql"


def _suggestion(ctx: MigrationContext) -> str:
    inverse = [_inverse(e) for e in reversed(_net_up_effects(ctx))]
    return "write down.sql:\n" + "\n".join(inverse) if inverse else "write down.sql undoing up.sql"
