"""down.sql must exist, hold SQL, and undo what up.sql does (checked statically on both trees)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot.tokens import TokenType

from lightnb.backends.sqlite import quote
from lightnb.catalog import Catalog
from lightnb.lint.createtable import read_create_table
from lightnb.lint.effects import Effect, rebuilds, script_effects
from lightnb.lint.fixes import Patch, statements_text
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import tokens
from lightnb.markers import declared_irreversible


def _declared(ctx: MigrationContext) -> str | None:
    """The reason down.sql gives for declaring the migration irreversible (lightnb.markers), if any."""
    return declared_irreversible(ctx.source.down.text) if ctx.source.down is not None else None


@rule("down-missing", severity="error", summary="The migration has no down.sql.")
def down_missing(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag a migration without down.sql."""
    if ctx.source.down is None:
        fix, patch = _suggestion(ctx)
        yield Hit("down.sql", 0, "down.sql is missing, so this migration cannot be reverted", fix, patch=patch)


@rule("down-empty", severity="error", summary="down.sql is empty or holds only comments (the template).")
def down_empty(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag a down.sql that holds no statement."""
    down = ctx.source.down
    if down is not None and down.is_blank and not ctx.source.up.is_blank:
        if (reason := _declared(ctx)) is not None:
            yield Hit("down.sql", 0, f"down.sql declares the migration irreversible: {reason}", "", "info")
            return
        what = "empty" if not down.text.strip() else "only comments"
        fix, patch = _suggestion(ctx)
        yield Hit("down.sql", 0, f"down.sql is {what}: reverting would leave up.sql's changes in place",
                  fix, patch=patch)


@rule("down-incomplete", severity="error", summary="down.sql does not undo something up.sql does.")
def down_incomplete(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag each up.sql change that down.sql does not undo."""
    down = ctx.source.down
    if down is None or down.is_blank:
        return
    undone = script_effects(down)
    declared = _declared(ctx)
    for effect in _net_up_effects(ctx):
        if _recreated(effect, ctx):
            continue  # an index or trigger a rebuild dropped with its table and put back as it was
        if not any(_undoes(candidate, effect) for candidate in undone):
            if declared is not None:
                yield Hit("up.sql", effect.line, f"down.sql does not undo: {_describe(effect)} (declared "
                          f"irreversible: {declared})", "", "info")
                continue
            inverse = _inverse(effect, ctx)
            patch = None
            if inverse.sql:
                patch = Patch(inverse.sql, statements_text(ctx.source.up.statements + down.statements),
                              otherwise=f"add to down.sql what undoes {_describe(effect)}")
            yield Hit("up.sql", effect.line, f"down.sql does not undo: {_describe(effect)}",
                      f"add to down.sql: {inverse.text}", patch=patch)


@rule("down-destroys", severity="error",
      summary="down.sql drops a table, column or index that existed before up.sql ran.")
def down_destroys(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag what reverting destroys although up.sql did not create it (its values are lost on revert)."""
    after_down, down = ctx.replay.after_down, ctx.source.down
    if after_down is None or down is None or down.is_blank or ctx.replay.up_errors:
        return
    before, after = ctx.replay.before, ctx.replay.after
    for table in before.tables:
        kept, gone = after.table(table.name), after_down.table(table.name)
        if kept is None:
            continue
        if gone is None:
            yield Hit("down.sql", _line(down, table.name), f"down.sql drops table {table.name}, which existed "
                      "before up.sql: reverting deletes its rows", "remove the statement from down.sql "
                      "(up.sql did not create this table)")
            continue
        for column in table.columns:
            if kept.column(column.name) is not None and gone.column(column.name) is None:
                yield Hit("down.sql", _line(down, column.name),
                          f"down.sql drops column {table.name}.{column.name}, which existed before up.sql: "
                          "reverting loses its values",
                          "remove it from down.sql (up.sql did not add this column)")
        for index in table.indexes:
            if index.sql and any(i.name.lower() == index.name.lower() for i in kept.indexes) \
                    and not any(i.name.lower() == index.name.lower() for i in gone.indexes):
                yield Hit("down.sql", _line(down, index.name),
                          f"down.sql drops index {index.name}, which existed before up.sql",
                          f"remove it from down.sql, or recreate it: {index.sql};", severity="warning")


def _line(script: object, name: str) -> int:
    from lightnb.lint.source import node_line
    for statement in getattr(script, "statements", ()):
        line = node_line(statement, name)
        if line != statement.line or name.lower() in statement.text.lower():
            return line
    return 0


def _net_up_effects(ctx: MigrationContext) -> list[Effect]:
    """Return up.sql's effects, with each table rebuild (create, copy, drop, rename) seen as one change."""
    effects = script_effects(ctx.source.up)
    found = rebuilds(effects)
    parts = {id(part) for rebuild in found for part in rebuild.parts}
    net = [Effect("rebuild", "table", r.table, r.table, line=r.line) for r in found]
    net += [e for e in effects if id(e) not in parts]
    return sorted(net, key=lambda e: e.line)


def _recreated(effect: Effect, ctx: MigrationContext) -> bool:
    """Return True when up.sql creates an index or trigger that existed before it, with the same SQL."""
    if effect.action != "create" or effect.kind not in ("index", "trigger") or effect.statement is None:
        return False
    before = ctx.replay.before
    if effect.kind == "index":
        old = [i.sql for t in before.tables for i in t.indexes if i.name.lower() == effect.name.lower()]
    else:
        old = [t.sql for t in before.triggers if t.name.lower() == effect.name.lower()]
    words = [t.text.lower() for t in tokens(effect.statement.text) if t.token_type != TokenType.SEMICOLON]
    return any(sql and [t.text.lower() for t in tokens(sql) if t.token_type != TokenType.SEMICOLON] == words
               for sql in old)


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


@dataclass(frozen=True, slots=True)
class _Inverse:
    """What undoes one effect: text to show, and the SQL to try (empty when there is none)."""

    text: str
    sql: str = ""


def _inverse(effect: Effect, ctx: MigrationContext) -> _Inverse:
    name, table = quote(effect.name), quote(effect.table)
    state = _state_before(effect, ctx)
    match effect.action:
        case "create":
            return _sql(f"DROP {effect.kind.upper()} IF EXISTS {name};")
        case "add-column":
            return _sql(f"ALTER TABLE {table} DROP COLUMN {name};")
        case "rename-column":
            return _sql(f"ALTER TABLE {table} RENAME COLUMN {quote(effect.new_name)} TO {name};")
        case "rename":
            return _sql(f"ALTER TABLE {quote(effect.new_name)} RENAME TO {name};")
        case "drop-column":
            definition = _column_definition(state, effect.table, effect.name)
            if definition:
                return _sql(f"ALTER TABLE {table} ADD COLUMN {definition};  -- its old values cannot come back")
            return _Inverse(f"ALTER TABLE {table} ADD COLUMN {name} … as it was before up.sql "
                            "(values cannot come back)")
        case "drop":
            recreated = _recreate(state, effect.kind, effect.name)
            if recreated:
                return _sql(recreated)
        case "rebuild":
            return _Inverse(f"a rebuild of {name} back to its previous definition (lightnb.lint.rebuild)")
    return _Inverse(f"CREATE {effect.kind.upper()} {name} … as it was before up.sql")


def _sql(text: str) -> _Inverse:
    return _Inverse(text, text)


def _state_before(effect: Effect, ctx: MigrationContext) -> Catalog:
    for index, statement in enumerate(ctx.source.up.statements):
        if statement is effect.statement:
            return ctx.replay.state_before(index)
    return ctx.replay.before


def _column_definition(state: Catalog, table: str, column: str) -> str:
    """Return the column's definition as written in its table, made valid for ADD COLUMN, or ''."""
    info = state.table(table)
    written = read_create_table(info.sql) if info else None
    col = written.column(column) if written else None
    current = info.column(column) if info else None
    if col is None or current is None or current.pk or current.hidden:
        return ""
    kinds = {c.kind for c in col.clauses}
    if kinds & {"primary", "unique", "generated"}:
        return ""
    parts = [quote(col.name)] + ([col.type] if col.type else []) + [c.text for c in col.clauses]
    if current.notnull and current.default is None:
        from lightnb.lint.columns import placeholder
        filler = placeholder(col.type)
        parts.append(f"DEFAULT {filler}")
    return " ".join(parts)


def _recreate(state: Catalog, kind: str, name: str) -> str:
    """Return the SQL that recreates a dropped table (with its indexes and triggers), index, view or trigger."""
    if kind == "table":
        info = state.table(name)
        if info is None or not info.sql:
            return ""
        own = [i.sql for i in info.indexes if i.sql] + [t.sql for t in state.triggers
                                                       if t.table.lower() == name.lower()]
        return "\n".join(s.rstrip().rstrip(";") + ";" for s in [info.sql, *own]) + \
            "\n-- (its rows cannot come back)"
    if kind == "index":
        found = [i.sql for t in state.tables for i in t.indexes if i.name.lower() == name.lower() and i.sql]
    else:
        found = [o.sql for o in (state.views if kind == "view" else state.triggers) if o.name.lower() == name.lower()]
    return found[0].rstrip().rstrip(";") + ";" if found else ""


def _suggestion(ctx: MigrationContext) -> tuple[str, Patch | None]:
    inverse = [_inverse(e, ctx) for e in reversed(_net_up_effects(ctx))]
    if not inverse:
        return "write down.sql undoing up.sql", None
    text = "write down.sql:\n" + "\n".join(i.text for i in inverse)
    if not all(i.sql for i in inverse):
        return text, None
    return text, Patch("\n".join(i.sql for i in inverse), statements_text(ctx.source.up.statements),
                       otherwise="write down.sql undoing each change of up.sql, in reverse order")
