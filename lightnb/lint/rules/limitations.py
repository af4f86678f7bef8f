"""What SQLite's ALTER TABLE cannot do (https://sqlite.org/lang_altertable.html), each with a rebuild as fix."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lightnb.backends.sqlite import quote
from lightnb.catalog import Catalog, Table
from lightnb.errors import MigrationError
from lightnb.lint.columns import placeholder
from lightnb.lint.fixes import Patch, statements_text
from lightnb.lint.rebuild import Changes, Check, Column, ForeignKey, RebuildPlan, Unique, plan_rebuild
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, name_of, token_line, tokens

CONSTANT_DEFAULTS = (exp.Literal, exp.Null, exp.Boolean, exp.HexString)
_DROP_KINDS = ("CONSTRAINT", "FOREIGN KEY")  # MySQL's DROP FOREIGN KEY name is a named constraint too


@rule("alter-column", severity="error", summary="SQLite has no ALTER COLUMN (type, NULL, default).")
def alter_column(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag ALTER COLUMN, which SQLite does not support."""
    yield from _limited(ctx, "alter-column")


@rule("alter-constraint", severity="error", summary="SQLite cannot ADD or DROP a constraint with ALTER TABLE.")
def alter_constraint(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag ALTER TABLE … ADD/DROP CONSTRAINT (and ADD PRIMARY KEY)."""
    yield from _limited(ctx, "alter-constraint")


@rule("add-column-constraint", severity="error", summary="ADD COLUMN cannot declare PRIMARY KEY or UNIQUE.")
def add_column_constraint(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag ADD COLUMN with PRIMARY KEY or UNIQUE."""
    yield from _limited(ctx, "add-column-constraint")


@rule("add-column-default", severity="error",
      summary="ADD COLUMN cannot have a non-constant default (CURRENT_TIMESTAMP, an expression).")
def add_column_default(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag ADD COLUMN whose default is not a constant."""
    yield from _limited(ctx, "add-column-default")


@rule("add-column-not-null", severity="error", summary="ADD COLUMN … NOT NULL needs a non-NULL default.")
def add_column_not_null(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag ADD COLUMN NOT NULL without a non-NULL default."""
    yield from _limited(ctx, "add-column-not-null")


@rule("drop-column-constrained", severity="error",
      summary="DROP COLUMN of a column that is indexed, in a key, or used by a trigger or view.")
def drop_column_constrained(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag DROP COLUMN that SQLite refuses because the column is in use."""
    yield from _limited(ctx, "drop-column-constrained")


def _limited(ctx: MigrationContext, wanted: str) -> Iterator[Hit]:
    statements = ctx.source.up.statements
    for index, statement in enumerate(statements):
        state = ctx.replay.state_before(index)
        for rule_id, why, changes, table, column in limitations_of(statement, state):
            if rule_id == wanted:
                line = token_line(statement, column) if column else statement.line
                fix, plan = _fix(state, table, changes, why)
                patch = None
                if plan is not None:
                    patch = Patch(plan.up_sql, statements_text(statements[:index]), plan.down_sql,
                                  otherwise=f"rebuild table {table} by hand with the new definition "
                                            "(https://sqlite.org/lang_altertable.html#otheralter)")
                yield Hit("up.sql", line, why, fix, patch=patch)


def limitation_of(statement: Parsed, state: Catalog) -> bool:
    """Return True when the statement uses ALTER TABLE in a way SQLite cannot run on ``state``."""
    return bool(limitations_of(statement, state))


def limitations_of(statement: Parsed, state: Catalog) -> list[tuple[str, str, Changes | None, str, str]]:
    """Return (rule id, explanation, rebuild changes or None, table, column or '') per limitation of a statement."""
    tree = statement.expr
    if not isinstance(tree, exp.Alter):
        return []
    table = name_of(tree.this)
    info = state.table(table)
    found: list[tuple[str, str, Changes | None, str, str]] = []
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.AlterColumn):
            found.append(("alter-column", f"SQLite has no ALTER COLUMN ({table}.{action.name})",
                          _alter_column_changes(action), table, action.name))
        elif isinstance(action, exp.AddConstraint):
            found.append(("alter-constraint", f"SQLite cannot ADD a constraint with ALTER TABLE ({table})",
                          _constraint_changes(action), table, ""))
        elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() in _DROP_KINDS:
            names = tuple(name_of(t) for t in action.args.get("tables") or [])
            found.append(("alter-constraint", f"SQLite cannot DROP a constraint with ALTER TABLE "
                                              f"({table}: {', '.join(names)})",
                          Changes(drop_constraints=names) if names else None, table, ""))
        elif isinstance(action, exp.Command) and " ".join(str(action.this).upper().split()) == "DROP" \
                and " ".join(str(action.expression).upper().split()) == "PRIMARY KEY":
            found.append(("alter-constraint", f"SQLite cannot DROP the PRIMARY KEY with ALTER TABLE ({table})",
                          Changes(primary_key=()), table, ""))
        elif isinstance(action, exp.ColumnDef):
            found += [(rid, why, ch, table, action.name) for rid, why, ch in _add_column_limits(table, action)]
        elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() == "COLUMN":
            for column in action.args.get("tables") or []:
                reason = _drop_blocker(info, name_of(column), state) if info else ""
                if reason:
                    found.append(("drop-column-constrained",
                                  f"SQLite cannot DROP COLUMN {table}.{name_of(column)}: {reason}",
                                  Changes(drop=(name_of(column),)), table, name_of(column)))
    return found


def _alter_column_changes(action: exp.AlterColumn) -> Changes:
    column, args = action.name, action.args
    if args.get("dtype") is not None:
        return Changes(types={column: args["dtype"].sql("sqlite")})
    if args.get("default") is not None:
        return Changes(defaults={column: args["default"].sql("sqlite")})
    if args.get("drop") and args.get("allow_null"):
        return Changes(not_null={column: False})
    if args.get("drop"):
        return Changes(defaults={column: None})
    return Changes(not_null={column: True})


def _constraint_changes(action: exp.AddConstraint) -> Changes | None:
    for node in action.expressions:
        named = isinstance(node, exp.Constraint)
        name = name_of(node.this) if named else None
        inner = node.expressions[0] if named and node.expressions else node
        if isinstance(inner, exp.PrimaryKey):
            return Changes(primary_key=tuple(name_of(e) for e in inner.expressions))
        if isinstance(inner, exp.UniqueColumnConstraint) and isinstance(inner.this, exp.Schema):
            return Changes(add_unique=(Unique(tuple(name_of(e) for e in inner.this.expressions), name),))
        if isinstance(inner, exp.CheckColumnConstraint):
            return Changes(add_checks=(Check(inner.this.sql("sqlite"), name),))
        if isinstance(inner, exp.ForeignKey):
            return Changes(add_foreign_keys=(_foreign_key(inner, name),))
    return None


def _foreign_key(node: exp.ForeignKey, name: str | None) -> ForeignKey:
    reference = node.args.get("reference")
    target = reference.this if reference is not None else None
    table = name_of(target.this) if isinstance(target, exp.Schema) else name_of(target)
    to_columns = tuple(name_of(e) for e in target.expressions) if isinstance(target, exp.Schema) else ()
    options = [" ".join(str(o).upper().split()) for o in (reference.args.get("options") or [])] if reference else []
    actions = {what: next((o[len(what) + 1:] for o in options if o.startswith(what + " ")), "NO ACTION")
               for what in ("ON DELETE", "ON UPDATE")}
    return ForeignKey(tuple(name_of(e) for e in node.expressions), table, to_columns, actions["ON DELETE"],
                      actions["ON UPDATE"], name)


def _add_column_limits(table: str, column: exp.ColumnDef) -> list[tuple[str, str, Changes | None]]:
    kinds = [c.kind for c in column.constraints]
    name, declared = column.name, column.args["kind"].sql("sqlite") if column.args.get("kind") else ""
    default = next((k.this for k in kinds if isinstance(k, exp.DefaultColumnConstraint)), None)
    notnull = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds)
    new = Column(name, declared, notnull, default.sql("sqlite") if default is not None else None)
    found: list[tuple[str, str, Changes | None]] = []
    if any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds):
        found.append(("add-column-constraint", f"ADD COLUMN {table}.{name} cannot be a PRIMARY KEY",
                      Changes(add=(new,), primary_key=(name,))))
    if any(isinstance(k, exp.UniqueColumnConstraint) for k in kinds):
        found.append(("add-column-constraint", f"ADD COLUMN {table}.{name} cannot be UNIQUE",
                      Changes(add=(new,), add_unique=((name,),))))
    if default is not None and not _constant(default):
        found.append(("add-column-default",
                      f"ADD COLUMN {table}.{name} has a non-constant default ({default.sql('sqlite')})",
                      Changes(add=(new,))))
    if notnull and _null_default(default):
        filler = placeholder(declared)
        found.append(("add-column-not-null", f"ADD COLUMN {table}.{name} is NOT NULL without a default",
                      Changes(add=(new,), fill={name: filler})))
    return found


def _constant(default: exp.Expr) -> bool:
    """Return True when SQLite accepts ``default`` for ADD COLUMN (checked against SQLite 3.40 itself).

    SQLite evaluates the default without a row (``sqlite3ValueFromExpr``): literals, NULL, TRUE/FALSE,
    blobs, and these under unary minus/plus, CAST and parentheses. A bare name is a string
    (``DEFAULT en``); in parentheses it is a column reference. CURRENT_* and any other operator
    or function is refused ("Cannot add a column with non-constant default").
    """
    if isinstance(default, exp.Column) and not default.table:
        return True
    return _evaluable(default)


def _evaluable(node: exp.Expr) -> bool:
    if isinstance(node, (exp.Paren, exp.Neg, exp.Cast)):
        return _evaluable(node.this)
    return isinstance(node, CONSTANT_DEFAULTS)


def _null_default(default: exp.Expr | None) -> bool:
    """Return True when the default's value is NULL (``NULL``, ``(NULL)``, ``-NULL``, ``CAST(NULL AS …)``)."""
    if default is None:
        return True
    if isinstance(default, (exp.Paren, exp.Neg, exp.Cast)):
        return _null_default(default.this)
    return isinstance(default, exp.Null)


def _drop_blocker(info: Table, column: str, state: Catalog) -> str:
    wanted = column.lower()
    if wanted in (c.lower() for c in info.primary_key):
        return "it is in the PRIMARY KEY"
    for index in info.indexes:
        if wanted in (c.lower() for c in index.columns):
            return f"it is in {'a UNIQUE constraint' if index.origin == 'u' else 'index ' + index.name}"
    if any(wanted in (c.lower() for c in fk.columns) for fk in info.foreign_keys):
        return "it is in a FOREIGN KEY"
    for obj in state.triggers + state.views:
        names = {t.text.lower() for t in tokens(obj.sql)}
        if wanted in names and info.name.lower() in names | {obj.table.lower()}:
            return f"{obj.name} uses it"
    return ""


def _fix(state: Catalog, table: str, changes: Changes | None, why: str) -> tuple[str, RebuildPlan | None]:
    if changes is None or state.table(table) is None:
        return f"rebuild table {table} with the new definition (lightnb.lint.rebuild.plan_rebuild)", None
    try:
        plan = plan_rebuild(state, table, changes)
    except MigrationError as error:
        return f"rebuild table {quote(table)} by hand: {error}", None
    return ("replace the statement with this table rebuild; up.sql:\n" + plan.up_sql
            + "\n-- and down.sql:\n" + plan.down_sql), plan
