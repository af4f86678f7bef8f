"""Plan SQLite's 12-step table rebuild (https://sqlite.org/lang_altertable.html#otheralter) as SQL.

Plan, then apply (as sqlite-utils' ``Table.transform_sql`` / ``transform``): :func:`plan_rebuild`
returns the up.sql and down.sql text of a migration that changes one table in a way ``ALTER TABLE``
cannot (a type, nullability, default, dropping or renaming a column, adding or dropping a
constraint). The new table is created under a temporary name, rows are copied (rowids kept;
generated columns are computed again, never copied), the old table is dropped and the new one
renamed; indexes, triggers and views are recreated (a renamed column rewritten where it belongs to
this table), then ``PRAGMA foreign_key_check``. down.sql recreates the original definition
verbatim and copies the rows back.

The definition is read from the catalogue (:mod:`lightnb.catalog` records the SQLite backend fills:
types, NOT NULL, defaults, keys, indexes) plus the
tokens of the original ``CREATE TABLE`` (CHECKs, collations, generated columns, constraint names:
:mod:`lightnb.lint.createtable`), so tables sqlglot cannot parse are rebuilt without losing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot.tokens import Token, TokenType

from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote
from lightnb.catalog import Catalog, Table, Trigger, View
from lightnb.errors import MigrationError
from lightnb.lint.columns import placeholder
from lightnb.lint.createtable import CreateText, read_create_table
from lightnb.lint.renames import rename_in_expression, rename_in_schema_sql
from lightnb.lint.source import tokens

TEMP_PREFIX = "_lightnb_new_"
_IDENTIFIER_TOKENS = (TokenType.VAR, TokenType.IDENTIFIER)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table definition; ``default``, ``collate`` and ``generated`` are SQL text.

    :param generated: the expression of a generated column (``GENERATED ALWAYS AS (…)``), or None.
    :param stored: a generated column is STORED (else VIRTUAL).
    """

    name: str
    type: str = ""
    notnull: bool = False
    default: str | None = None
    collate: str | None = None
    generated: str | None = None
    stored: bool = False


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key of a table definition (``name``: its ``CONSTRAINT`` name, if any)."""

    columns: tuple[str, ...]
    table: str
    to_columns: tuple[str, ...] = ()
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Unique:
    """A UNIQUE constraint of a table definition."""

    columns: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """A CHECK constraint of a table definition; ``expr`` is SQL text."""

    expr: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class TableDef:
    """A table definition that can be rendered as ``CREATE TABLE``."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    autoincrement: bool = False
    uniques: tuple[Unique, ...] = ()
    checks: tuple[Check, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    without_rowid: bool = False

    def named(self) -> dict[str, Unique | Check | ForeignKey]:
        """Return the named constraints by lower-cased name."""
        constraints: list[Unique | Check | ForeignKey] = [*self.uniques, *self.checks, *self.foreign_keys]
        return {c.name.lower(): c for c in constraints if c.name}

    def column(self, name: str) -> Column | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass(frozen=True, slots=True)
class Changes:
    """The wanted change, in the spirit of sqlite-utils' ``transform(...)`` keywords.

    :param types: column -> new declared type.
    :param not_null: column -> True (make NOT NULL) or False (allow NULL).
    :param defaults: column -> new default SQL text (None removes the default).
    :param drop: columns to drop.
    :param rename: column -> new name.
    :param add: columns to add at the end.
    :param fill: column -> SQL expression written where the old value is NULL (for NOT NULL).
    :param primary_key: the new primary key, or None to keep it.
    :param add_unique: UNIQUE constraints to add (column lists, or :class:`Unique` to name them).
    :param add_checks: CHECK constraints to add (SQL text, or :class:`Check` to name them).
    :param add_foreign_keys: foreign keys to add.
    :param drop_constraints: names of constraints to drop (``CONSTRAINT name …`` in the table).
    :param drop_unique: UNIQUE constraints to drop, by their columns.
    :param drop_checks: CHECK constraints to drop, by their expression (spacing and case ignored).
    :param drop_foreign_keys: foreign keys to drop, by their referencing columns.
    """

    types: Mapping[str, str] = field(default_factory=dict)
    not_null: Mapping[str, bool] = field(default_factory=dict)
    defaults: Mapping[str, str | None] = field(default_factory=dict)
    drop: Sequence[str] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    add: Sequence[Column] = ()
    fill: Mapping[str, str] = field(default_factory=dict)
    primary_key: Sequence[str] | None = None
    add_unique: Sequence[Sequence[str] | Unique] = ()
    add_checks: Sequence[str | Check] = ()
    add_foreign_keys: Sequence[ForeignKey] = ()
    drop_constraints: Sequence[str] = ()
    drop_unique: Sequence[Sequence[str]] = ()
    drop_checks: Sequence[str] = ()
    drop_foreign_keys: Sequence[Sequence[str]] = ()

    def uniques(self) -> tuple[Unique, ...]:
        """Return the UNIQUE constraints to add as :class:`Unique`."""
        return tuple(u if isinstance(u, Unique) else Unique(tuple(u)) for u in self.add_unique)

    def checks(self) -> tuple[Check, ...]:
        """Return the CHECK constraints to add as :class:`Check`."""
        return tuple(c if isinstance(c, Check) else Check(c) for c in self.add_checks)

    def describe(self) -> list[str]:
        """Return one line per change, for the generated SQL's header."""
        lines = [f"type of {c} -> {t}" for c, t in self.types.items()]
        lines += [f"{c} {'NOT NULL' if v else 'allows NULL'}" for c, v in self.not_null.items()]
        lines += [f"default of {c} -> {d if d is not None else 'none'}" for c, d in self.defaults.items()]
        lines += [f"drop column {c}" for c in self.drop] + [f"rename {a} -> {b}" for a, b in self.rename.items()]
        lines += [f"add column {c.name}" for c in self.add]
        if self.primary_key is not None:
            lines.append(f"primary key ({', '.join(self.primary_key)})" if self.primary_key else "drop the PRIMARY KEY")
        lines += [f"add UNIQUE ({', '.join(u.columns)})" for u in self.uniques()]
        lines += [f"add CHECK ({c.expr})" for c in self.checks()]
        lines += [f"add FOREIGN KEY ({', '.join(f.columns)}) REFERENCES {f.table}" for f in self.add_foreign_keys]
        lines += [f"drop CONSTRAINT {n}" for n in self.drop_constraints]
        lines += [f"drop UNIQUE ({', '.join(u)})" for u in self.drop_unique]
        lines += [f"drop CHECK ({c})" for c in self.drop_checks]
        lines += [f"drop FOREIGN KEY ({', '.join(f)})" for f in self.drop_foreign_keys]
        return lines


@dataclass(frozen=True, slots=True)
class RebuildPlan:
    """The result of :func:`plan_rebuild`: both definitions and the migration's two files."""

    table: str
    before: TableDef
    after: TableDef
    up_sql: str
    down_sql: str


def plan_rebuild(source: sqlite.Connection | Catalog, table: str, changes: Changes) -> RebuildPlan:
    """Return the up.sql and down.sql that rebuild ``table`` with ``changes``.

    :param source: a connection (its schema is read) or a :class:`Catalog` already read.
    :raises MigrationError: when the table or a named column does not exist, or the change is impossible.
    """
    catalog = source if isinstance(source, Catalog) else sqlite.read_catalog(source).without_bookkeeping()
    info = catalog.table(table)
    if info is None:
        raise MigrationError(f"Table {table!r} does not exist at this point; check the name "
                             f"(tables: {', '.join(t.name for t in catalog.tables) or 'none'}).")
    before = table_def(info)
    after = apply_changes(before, changes)
    dependants = _dependants(catalog, info)
    columns_of = _columns_of(catalog)
    renamed = [_renamed_dependant(o, info.name, changes.rename, columns_of) for o in dependants]
    up = _rebuild_sql(info.name, render_create(replace(after, name=TEMP_PREFIX + info.name)),
                      _copy_up(before, after, changes, info), dependants, changes.describe(),
                      _index_sql(info, changes), _trigger_sql(catalog, info, changes, columns_of), renamed)
    down_create = _renamed_create(info.sql, TEMP_PREFIX + info.name) or render_create(
        replace(before, name=TEMP_PREFIX + info.name))
    down = _rebuild_sql(info.name, down_create, _copy_down(before, after, changes, info), dependants,
                        [f"undo: {line}" for line in changes.describe()],
                        [i.sql for i in info.indexes if i.sql],
                        [t.sql for t in catalog.triggers if t.table.lower() == info.name.lower()],
                        [o.sql for o in dependants])
    return RebuildPlan(info.name, before, after, up, down)


def table_def(info: Table) -> TableDef:
    """Build a :class:`TableDef` from the catalogue and the tokens of the table's ``CREATE TABLE``.

    :raises MigrationError: when a generated column's expression cannot be read from the SQL.
    """
    text = read_create_table(info.sql) or CreateText((), (), False)
    columns = []
    for column in info.columns:
        if column.hidden not in (0, 2, 3):
            continue  # hidden columns of virtual tables
        written = text.column(column.name)
        collate = written.clause("collate") if written else None
        generated = written.clause("generated") if written and column.hidden else None
        if column.hidden and generated is None:
            raise MigrationError(f"Cannot read the expression of generated column {info.name}.{column.name} "
                                 f"from its CREATE TABLE; rebuild this table by hand.")
        columns.append(Column(column.name, column.type, column.notnull, column.default,
                              collate.word if collate else None, generated.inner if generated else None,
                              column.hidden == 3))
    named = {(kind, tuple(c.lower() for c in cols)): name for kind, cols, name in _constraint_names(text)}
    uniques = tuple(Unique(i.columns, named.get(("unique", tuple(c.lower() for c in i.columns))))
                    for i in info.indexes if i.origin == "u")
    keys = tuple(ForeignKey(fk.columns, fk.ref_table, tuple(c for c in fk.ref_columns if c is not None),
                            fk.on_delete, fk.on_update, named.get(("foreign", tuple(c.lower() for c in fk.columns))))
                 for fk in info.foreign_keys)
    checks = tuple(Check(clause.inner, clause.name) for _, clause in text.clauses() if clause.kind == "check")
    return TableDef(info.name, tuple(columns), info.primary_key, text.autoincrement, uniques, checks, keys,
                    info.without_rowid)


def _constraint_names(text: CreateText) -> list[tuple[str, tuple[str, ...], str]]:
    """Return (unique|foreign, columns, name) for the named UNIQUE and FOREIGN KEY constraints."""
    found = []
    for column, clause in text.clauses():
        if clause.name and clause.kind in ("unique", "foreign", "references"):
            kind = "unique" if clause.kind == "unique" else "foreign"
            columns = (column,) if column is not None else clause.columns
            found.append((kind, columns, clause.name))
    return found


def apply_changes(before: TableDef, changes: Changes) -> TableDef:
    """Return ``before`` with ``changes`` applied.

    CHECKs that use a dropped column are dropped with it (SQLite could not keep them).

    :raises MigrationError: when a change names a column or constraint the table does not have, or a
        generated column uses a dropped column.
    """
    names = {c.name.lower() for c in before.columns}
    added = {c.name.lower() for c in changes.add}
    for named in [*changes.types, *changes.not_null, *changes.defaults, *changes.drop, *changes.rename,
                  *(c for c in changes.fill if c.lower() not in added)]:
        if named.lower() not in names:
            raise MigrationError(f"Column {named!r} does not exist in table {before.name!r}; "
                                 f"its columns are {', '.join(c.name for c in before.columns)}.")
    dropped = {c.lower() for c in changes.drop}
    removed = _removed_constraints(before, changes)
    columns: list[Column] = []
    for column in before.columns:
        if column.name.lower() in dropped:
            continue
        if column.generated is not None and _uses(column.generated, dropped):
            raise MigrationError(f"Generated column {before.name}.{column.name} uses a dropped column "
                                 f"({column.generated}); drop or change it in the same rebuild.")
        column = replace(column, type=changes.types.get(column.name, column.type),
                         notnull=changes.not_null.get(column.name, column.notnull),
                         default=changes.defaults.get(column.name, column.default),
                         name=changes.rename.get(column.name, column.name),
                         generated=column.generated and rename_in_expression(column.generated, changes.rename))
        columns.append(column)
    columns += list(changes.add)

    def renamed(cols: Sequence[str]) -> tuple[str, ...]:
        return tuple(changes.rename.get(c, c) for c in cols)

    def kept(cols: Sequence[str]) -> bool:
        return not any(c.lower() in dropped for c in cols)

    primary = tuple(changes.primary_key) if changes.primary_key is not None else renamed(before.primary_key)
    return replace(
        before, columns=tuple(columns),
        primary_key=primary if kept(primary) else (),
        autoincrement=before.autoincrement and changes.primary_key is None,
        uniques=tuple(replace(u, columns=renamed(u.columns)) for u in before.uniques
                      if kept(u.columns) and id(u) not in removed) + changes.uniques(),
        checks=tuple(replace(c, expr=rename_in_expression(c.expr, changes.rename)) for c in before.checks
                     if not _uses(c.expr, dropped) and id(c) not in removed) + changes.checks(),
        foreign_keys=tuple(replace(fk, columns=renamed(fk.columns)) for fk in before.foreign_keys
                           if kept(fk.columns) and id(fk) not in removed) + tuple(changes.add_foreign_keys))


def _removed_constraints(table: TableDef, changes: Changes) -> set[int]:
    """Return the ids of the constraints ``changes`` drops.

    :raises MigrationError: when a constraint to drop does not exist.
    """
    removed: list[Unique | Check | ForeignKey] = []
    named = table.named()
    for name in changes.drop_constraints:
        if name.lower() not in named:
            raise MigrationError(f"Table {table.name!r} has no constraint named {name!r}; its named constraints "
                                 f"are {', '.join(sorted(c.name or '' for c in named.values())) or 'none'}.")
        removed.append(named[name.lower()])
    # One entry per kind of constraint to find by its columns: its word, the columns, the candidates, their columns.
    wanted: list[tuple[str, Sequence[str], Sequence[Unique | ForeignKey], Callable[[Any], Sequence[str]]]]
    wanted = [("UNIQUE", cols, table.uniques, lambda u: u.columns) for cols in changes.drop_unique]
    wanted += [("FOREIGN KEY", cols, table.foreign_keys, lambda f: f.columns) for cols in changes.drop_foreign_keys]
    for kind, cols, candidates, key in wanted:
        match = [c for c in candidates if [x.lower() for x in key(c)] == [x.lower() for x in cols]]
        if not match:
            raise MigrationError(f"Table {table.name!r} has no {kind} on ({', '.join(cols)}); check the columns.")
        removed += match
    for expr in changes.drop_checks:
        checks = [c for c in table.checks if _same_sql(c.expr, expr)]
        if not checks:
            raise MigrationError(f"Table {table.name!r} has no CHECK ({expr}); its CHECKs are "
                                 f"{'; '.join(c.expr for c in table.checks) or 'none'}.")
        removed += checks
    return {id(c) for c in removed}


def _same_sql(a: str, b: str) -> bool:
    return [t.text.lower() for t in tokens(a)] == [t.text.lower() for t in tokens(b)]


def _uses(expr: str, columns: set[str]) -> bool:
    return bool(columns) and any(t.text.lower() in columns for t in tokens(expr)
                                 if t.token_type in _IDENTIFIER_TOKENS)


def render_create(table: TableDef) -> str:
    """Render ``CREATE TABLE`` for a definition (single-column primary keys inline, so rowid aliases stay)."""
    inline_pk = table.primary_key[0] if len(table.primary_key) == 1 else None
    lines = [_column_sql(c, c.name == inline_pk, table.autoincrement) for c in table.columns]
    if len(table.primary_key) > 1:
        lines.append(f"PRIMARY KEY ({_names(table.primary_key)})")
    lines += [f"{_constraint(u.name)}UNIQUE ({_names(u.columns)})" for u in table.uniques]
    lines += [f"{_constraint(c.name)}CHECK ({c.expr})" for c in table.checks]
    for fk in table.foreign_keys:
        target = f" ({_names(fk.to_columns)})" if fk.to_columns else ""
        actions = "".join(f" ON {what} {action}" for what, action in (("UPDATE", fk.on_update),
                                                                       ("DELETE", fk.on_delete))
                          if action and action.upper() != "NO ACTION")
        lines.append(f"{_constraint(fk.name)}FOREIGN KEY ({_names(fk.columns)}) REFERENCES {quote(fk.table)}"
                     f"{target}{actions}")
    suffix = " WITHOUT ROWID" if table.without_rowid else ""
    return f"CREATE TABLE {quote(table.name)} (\n    " + ",\n    ".join(lines) + f"\n){suffix}"


def _constraint(name: str | None) -> str:
    return f"CONSTRAINT {quote(name)} " if name else ""


def _column_sql(column: Column, primary: bool, autoincrement: bool) -> str:
    parts = [quote(column.name)] + ([column.type] if column.type else [])
    if primary:
        parts.append("PRIMARY KEY AUTOINCREMENT" if autoincrement else "PRIMARY KEY")
    if column.notnull:
        parts.append("NOT NULL")
    if column.default is not None and column.generated is None:
        parts.append(f"DEFAULT {column.default}")
    if column.collate:
        parts.append(f"COLLATE {column.collate}")
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) {'STORED' if column.stored else 'VIRTUAL'}")
    return " ".join(parts)


def _names(columns: Sequence[str]) -> str:
    return ", ".join(quote(c) for c in columns)


def _rebuild_sql(table: str, create: str, copy: str, dependants: Sequence[Trigger | View],
                 header: Sequence[str], indexes: Sequence[str], triggers: Sequence[str],
                 recreated: Sequence[str]) -> str:
    temp = quote(TEMP_PREFIX + table)
    lines = [f"-- Rebuild table {table} (SQLite's 12-step procedure: https://sqlite.org/lang_altertable.html)"]
    lines += [f"--   {line}" for line in header]
    lines += ["-- diesel runs this with foreign_keys OFF; with them ON, ON DELETE actions of child",
              "-- tables would fire on the DROP below.", ""]
    statements = [f"DROP {_kind(o)} IF EXISTS {quote(o.name)}" for o in dependants]
    statements += [create, copy, f"DROP TABLE {quote(table)}", f"ALTER TABLE {temp} RENAME TO {quote(table)}"]
    statements += list(indexes) + list(triggers) + list(recreated)
    statements.append(f"PRAGMA foreign_key_check({quote(table)})")
    return "\n".join(lines) + "\n" + "\n".join(s.rstrip().rstrip(";") + ";" for s in statements) + "\n"


def _kind(obj: Trigger | View) -> str:
    words = [t.text.upper() for t in tokens(obj.sql)[:3]]
    return "VIEW" if "VIEW" in words else "TRIGGER"


def _copy_up(before: TableDef, after: TableDef, changes: Changes, info: Table) -> str:
    dropped = {c.lower() for c in changes.drop}
    generated = {c.name.lower() for c in after.columns if c.generated is not None}
    pairs = []
    for column in before.columns:
        new_name = changes.rename.get(column.name, column.name)
        if column.name.lower() in dropped or column.generated is not None or new_name.lower() in generated:
            continue  # generated columns are computed by the new table, never inserted
        value = quote(column.name)
        if column.name in changes.fill:
            value = f"COALESCE({value}, {changes.fill[column.name]})"
        pairs.append((new_name, value))
    pairs += [(c.name, changes.fill[c.name]) for c in changes.add if c.name in changes.fill and c.generated is None]
    return _insert(TEMP_PREFIX + info.name, info, pairs)


def _copy_down(before: TableDef, after: TableDef, changes: Changes, info: Table) -> str:
    dropped = {c.lower() for c in changes.drop}
    pairs = []
    for column in before.columns:
        if column.generated is not None:
            continue
        if column.name.lower() in dropped:
            pairs.append((column.name, _filler(column)))
        else:
            pairs.append((column.name, quote(changes.rename.get(column.name, column.name))))
    return _insert(TEMP_PREFIX + info.name, info, pairs)


def _insert(target: str, info: Table, pairs: Sequence[tuple[str, str]]) -> str:
    keep_rowid = not info.without_rowid and not _has_rowid_alias(info)
    names = (["rowid"] if keep_rowid else []) + [quote(n) for n, _ in pairs]
    values = (["rowid"] if keep_rowid else []) + [v for _, v in pairs]
    return (f"INSERT INTO {quote(target)} ({', '.join(names)})\n"
            f"    SELECT {', '.join(values)} FROM {quote(info.name)}")


def _filler(column: Column) -> str:
    """Return the value a dropped column gets back on revert (its old values are gone)."""
    if column.default is not None:
        return column.default
    if not column.notnull:
        return "NULL"
    return placeholder(column.type)


def _has_rowid_alias(info: Table) -> bool:
    pk = [c for c in info.columns if c.pk]
    return len(pk) == 1 and pk[0].type.upper() == "INTEGER"


def _index_sql(info: Table, changes: Changes) -> list[str]:
    dropped = {c.lower() for c in changes.drop}
    kept = [i for i in info.indexes if i.sql and not any(c.lower() in dropped for c in i.columns)]
    return [rename_in_schema_sql(i.sql, "index", info.name, changes.rename, lambda _: set())
            for i in kept if i.sql]


def _trigger_sql(catalog: Catalog, info: Table, changes: Changes,
                 columns_of: Callable[[str], set[str]]) -> list[str]:
    own = [t for t in catalog.triggers if t.table.lower() == info.name.lower()]
    return [rename_in_schema_sql(t.sql, "trigger", info.name, changes.rename, columns_of) for t in own]


def _renamed_dependant(obj: Trigger | View, table: str, renames: Mapping[str, str],
                       columns_of: Callable[[str], set[str]]) -> str:
    return rename_in_schema_sql(obj.sql, _kind(obj).lower(), table, renames, columns_of)


def _columns_of(catalog: Catalog) -> Callable[[str], set[str]]:
    """Return table name -> its column names (lower case), from the catalogue before the rebuild."""
    def columns(name: str) -> set[str]:
        table = catalog.table(name)
        return {c.name.lower() for c in table.columns} if table else set()
    return columns


def _dependants(catalog: Catalog, info: Table) -> list[Trigger | View]:
    """Views, and triggers of other tables, whose SQL names the table: SQLite refuses the rename otherwise."""
    wanted = info.name.lower()
    others = [t for t in catalog.triggers if t.table.lower() != wanted] + list(catalog.views)
    return [o for o in others if any(_identifier(t) == wanted for t in tokens(o.sql))]


def _identifier(token: Token) -> str:
    return token.text.lower() if token.token_type in _IDENTIFIER_TOKENS else ""


def _renamed_create(sql: str, new_name: str) -> str | None:
    """Return the original ``CREATE TABLE`` text with only the table name replaced, or None."""
    toks = tokens(sql)
    words = [t.text.upper() for t in toks]
    if "TABLE" not in words[:3]:
        return None
    at = words.index("TABLE") + 1
    if words[at:at + 3] == ["IF", "NOT", "EXISTS"]:
        at += 3
    if at + 2 < len(toks) and toks[at + 1].token_type == TokenType.DOT:
        at += 2
    if at >= len(toks):
        return None
    name = toks[at]
    return sql[:name.start] + quote(new_name) + sql[name.end + 1:]
