"""What a script does to the schema, read from sqlglot trees: created, dropped, renamed objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from lightnb.lint.source import Parsed, Script, leading_words, name_of, trigger_header


@dataclass(frozen=True, slots=True)
class Effect:
    """One schema change of a statement.

    :param action: ``create``, ``drop``, ``add-column``, ``drop-column``, ``rename-column`` or ``rename``.
    :param kind: ``table``, ``index``, ``view``, ``trigger`` or ``column``.
    :param name: the object (or column) name; ``new_name`` for renames.
    :param table: the table the object belongs to ('' when unknown).
    """

    action: str
    kind: str
    name: str
    table: str = ""
    new_name: str = ""
    line: int = 0
    statement: Parsed | None = field(default=None, compare=False)


def script_effects(script: Script) -> list[Effect]:
    """Return the schema effects of every statement of ``script``, in order."""
    return [effect for statement in script.statements for effect in statement_effects(statement)]


def statement_effects(statement: Parsed) -> list[Effect]:
    """Return the schema effects of one statement."""
    tree, line = statement.expr, statement.line
    if isinstance(tree, exp.Create):
        return _create_effects(tree, statement)
    if isinstance(tree, exp.Drop):
        kind = str(tree.args.get("kind") or "").lower()
        return [Effect("drop", kind, name_of(t), line=line, statement=statement)
                for t in tree.args.get("tables") or [tree.this] if t is not None]
    if isinstance(tree, exp.Alter):
        return _alter_effects(tree, statement)
    if isinstance(tree, exp.Command) and leading_words(statement.text, 3)[:1] == ("CREATE",):
        header = trigger_header(statement.text)
        if header:
            return [Effect("create", "trigger", header[0], header[1], line=line, statement=statement)]
    return []


def _create_effects(tree: exp.Create, statement: Parsed) -> list[Effect]:
    kind = str(tree.args.get("kind") or "").lower()
    target = tree.this
    if kind == "index" and isinstance(target, exp.Index):
        return [Effect("create", "index", name_of(target.this), name_of(target.args.get("table")),
                       line=statement.line, statement=statement)]
    table = target.this if isinstance(target, exp.Schema) else target
    return [Effect("create", kind, name_of(table), name_of(table), line=statement.line, statement=statement)]


def _alter_effects(tree: exp.Alter, statement: Parsed) -> list[Effect]:
    table, line, effects = name_of(tree.this), statement.line, []
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            effects.append(Effect("add-column", "column", action.name, table, line=line, statement=statement))
        elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() == "COLUMN":
            for column in action.args.get("tables") or []:
                effects.append(Effect("drop-column", "column", name_of(column), table, line=line,
                                      statement=statement))
        elif isinstance(action, exp.RenameColumn):
            effects.append(Effect("rename-column", "column", name_of(action.this), table,
                                  name_of(action.args.get("to")), line=line, statement=statement))
        elif isinstance(action, exp.AlterRename):
            effects.append(Effect("rename", "table", table, table, name_of(action.this), line=line,
                                  statement=statement))
    return effects


@dataclass(frozen=True, slots=True)
class Rebuild:
    """A table rebuilt inside one script: the table, and the effects that make up the rebuild."""

    table: str
    line: int
    parts: tuple[Effect, ...]


def rebuilds(effects: list[Effect]) -> list[Rebuild]:
    """Find the two table-rebuild patterns in a script's effects.

    * create ``X_new``, copy, drop ``X``, rename ``X_new`` to ``X`` (SQLite's documented procedure);
    * rename ``X`` to ``X_old``, create ``X``, copy, drop ``X_old``.
    """
    found = []
    for rename in (e for e in effects if e.action == "rename"):
        create = next((e for e in effects if e.action == "create" and e.kind == "table"
                       and e.name.lower() == rename.name.lower()), None)
        drop = next((e for e in effects if e.action == "drop" and e.kind == "table"
                     and e.name.lower() == rename.new_name.lower()), None)
        if create is None or drop is None:
            continue
        table = rename.new_name if drop.line <= rename.line else rename.name
        found.append(Rebuild(table, min(create.line, rename.line), (create, drop, rename)))
    return found
