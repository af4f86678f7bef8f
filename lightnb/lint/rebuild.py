"""Plan SQLite's 12-step table rebuild (https://sqlite.org/lang_altertable.html#otheralter) as SQL.

Plan, then apply (as sqlite-utils' ``Table.transform_sql`` / ``transform``): :func:`plan_rebuild`
returns the up.sql and down.sql text of a migration that changes one table in a way ``ALTER TABLE``
cannot (a type, nullability, default, dropping or renaming a column, adding a constraint). The new
table is created under a temporary name, rows are copied (rowids kept), the old table is dropped and
the new one renamed; indexes, triggers and views are recreated, then ``PRAGMA foreign_key_check``.
down.sql recreates the original definition verbatim and copies the rows back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from lightnb.errors import MigrationError
from lightnb.lint.catalog import Catalog, SchemaObject, TableInfo, quote, read_catalog
from lightnb.lint.columns import affinity
from lightnb.lint.source import tokens

TEMP_PREFIX = "_lightnb_new_"
_IDENTIFIER_TOKENS = (TokenType.VAR, TokenType.IDENTIFIER)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table definition; ``default`` and ``collate`` are SQL text."""

    name: str
    type: str = ""
    notnull: bool = False
    default: str | None = None
    collate: str | None = None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key of a table definition."""

    columns: tuple[str, ...]
    table: str
    to_columns: tuple[str, ...] = ()
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True, slots=True)
class TableDef:
    """A table definition that can be rendered as ``CREATE TABLE``."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    autoincrement: bool = False
    uniques: tuple[tuple[str, ...], ...] = ()
    checks: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    without_rowid: bool = False

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
    :param add_unique: UNIQUE constraints to add.
    :param add_checks: CHECK expressions (SQL text) to add.
    :param add_foreign_keys: foreign keys to add.
    """

    types: Mapping[str, str] = field(default_factory=dict)
    not_null: Mapping[str, bool] = field(default_factory=dict)
    defaults: Mapping[str, str | None] = field(default_factory=dict)
    drop: Sequence[str] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    add: Sequence[Column] = ()
    fill: Mapping[str, str] = field(default_factory=dict)
    primary_key: Sequence[str] | None = None
    add_unique: Sequence[Sequence[str]] = ()
    add_checks: Sequence[str] = ()
    add_foreign_keys: Sequence[ForeignKey] = ()

    def describe(self) -> list[str]:
        """Return one line per change, for the generated SQL's header."""
        lines = [f"type of {c} -> {t}" for c, t in self.types.items()]
        lines += [f"{c} {'NOT NULL' if v else 'allows NULL'}" for c, v in self.not_null.items()]
        lines += [f"default of {c} -> {d if d is not None else 'none'}" for c, d in self.defaults.items()]
        lines += [f"drop column {c}" for c in self.drop] + [f"rename {a} -> {b}" for a, b in self.rename.items()]
        lines += [f"add column {c.name}" for c in self.add]
        lines += [f"primary key ({', '.join(self.primary_key)})"] if self.primary_key is not None else []
        lines += [f"add UNIQUE ({', '.join(u)})" for u in self.add_unique]
        lines += [f"add CHECK ({c})" for c in self.add_checks]
        lines += [f"add FOREIGN KEY ({', '.join(f.columns)}) REFERENCES {f.table}" for f in self.add_foreign_keys]
        return lines


@dataclass(frozen=True, slots=True)
class RebuildPlan:
    """The result of :func:`plan_rebuild`: both definitions and the migration's two files."""

    table: str
    before: TableDef
    after: TableDef
    up_sql: str
    down_sql: str


def plan_rebuild(source: sqlite3.Connection | Catalog, table: str, changes: Changes) -> RebuildPlan:
    """Return the up.sql and down.sql that rebuild ``table`` with ``changes``.

    :param source: a connection (its schema is read) or a :class:`Catalog` already read.
    :raises MigrationError: when the table or a named column does not exist, or the change is impossible.
    """
    catalog = read_catalog(source) if isinstance(source, sqlite3.Connection) else source
    info = catalog.table(table)
    if info is None:
        raise MigrationError(f"Table {table!r} does not exist at this point; check the name "
                             f"(tables: {', '.join(t.name for t in catalog.tables) or 'none'}).")
    before = table_def(info)
    after = apply_changes(before, changes)
    dependants = _dependants(catalog, info)
    up = _rebuild_sql(info.name, render_create(replace(after, name=TEMP_PREFIX + info.name)),
                      _copy_up(before, after, changes, info), dependants, changes.describe(),
                      _index_sql(info, changes), _trigger_sql(catalog, info, changes), changes.rename)
    down_create = _renamed_create(info.sql, TEMP_PREFIX + info.name) or render_create(
        replace(before, name=TEMP_PREFIX + info.name))
    down = _rebuild_sql(info.name, down_create, _copy_down(before, after, changes, info), dependants,
                        [f"undo: {line}" for line in changes.describe()],
                        [i.sql for i in info.indexes if i.sql],
                        [t.sql for t in catalog.triggers if t.table.lower() == info.name.lower()], {})
    return RebuildPlan(info.name, before, after, up, down)


def table_def(info: TableInfo) -> TableDef:
    """Build a :class:`TableDef` from the catalogue (CHECKs, COLLATE, AUTOINCREMENT from its SQL)."""
    checks, collations, autoincrement = _from_create_sql(info.sql)
    columns = tuple(Column(c.name, c.type, c.notnull, c.default, collations.get(c.name.lower()))
                    for c in info.columns if not c.hidden)
    uniques = tuple(i.columns for i in info.indexes if i.origin == "u")
    keys = tuple(ForeignKey(fk.columns, fk.ref_table, tuple(c for c in fk.ref_columns if c is not None),
                            fk.on_delete, fk.on_update) for fk in info.foreign_keys)
    return TableDef(info.name, columns, info.primary_key, autoincrement, uniques, checks, keys,
                    info.without_rowid)


def apply_changes(before: TableDef, changes: Changes) -> TableDef:
    """Return ``before`` with ``changes`` applied.

    :raises MigrationError: when a change names a column the table does not have.
    """
    names = {c.name.lower() for c in before.columns}
    added = {c.name.lower() for c in changes.add}
    for column in [*changes.types, *changes.not_null, *changes.defaults, *changes.drop, *changes.rename,
                   *(c for c in changes.fill if c.lower() not in added)]:
        if column.lower() not in names:
            raise MigrationError(f"Column {column!r} does not exist in table {before.name!r}; "
                                 f"its columns are {', '.join(c.name for c in before.columns)}.")
    dropped = {c.lower() for c in changes.drop}
    columns = []
    for column in before.columns:
        if column.name.lower() in dropped:
            continue
        column = replace(column, type=changes.types.get(column.name, column.type),
                         notnull=changes.not_null.get(column.name, column.notnull),
                         default=changes.defaults.get(column.name, column.default),
                         name=changes.rename.get(column.name, column.name))
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
        uniques=tuple(renamed(u) for u in before.uniques if kept(u)) + tuple(tuple(u) for u in changes.add_unique),
        checks=tuple(_rename_identifiers(c, changes.rename) for c in before.checks) + tuple(changes.add_checks),
        foreign_keys=tuple(replace(fk, columns=renamed(fk.columns)) for fk in before.foreign_keys
                           if kept(fk.columns)) + tuple(changes.add_foreign_keys))


def render_create(table: TableDef) -> str:
    """Render ``CREATE TABLE`` for a definition (single-column primary keys inline, so rowid aliases stay)."""
    inline_pk = table.primary_key[0] if len(table.primary_key) == 1 else None
    lines = [_column_sql(c, c.name == inline_pk, table.autoincrement) for c in table.columns]
    if len(table.primary_key) > 1:
        lines.append(f"PRIMARY KEY ({_names(table.primary_key)})")
    lines += [f"UNIQUE ({_names(u)})" for u in table.uniques]
    lines += [f"CHECK ({c})" for c in table.checks]
    for fk in table.foreign_keys:
        target = f" ({_names(fk.to_columns)})" if fk.to_columns else ""
        actions = "".join(f" ON {what} {action}" for what, action in (("UPDATE", fk.on_update),
                                                                       ("DELETE", fk.on_delete))
                          if action and action.upper() != "NO ACTION")
        lines.append(f"FOREIGN KEY ({_names(fk.columns)}) REFERENCES {quote(fk.table)}{target}{actions}")
    suffix = " WITHOUT ROWID" if table.without_rowid else ""
    return f"CREATE TABLE {quote(table.name)} (\n    " + ",\n    ".join(lines) + f"\n){suffix}"


def _column_sql(column: Column, primary: bool, autoincrement: bool) -> str:
    parts = [quote(column.name)] + ([column.type] if column.type else [])
    if primary:
        parts.append("PRIMARY KEY AUTOINCREMENT" if autoincrement else "PRIMARY KEY")
    if column.notnull:
        parts.append("NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.collate:
        parts.append(f"COLLATE {column.collate}")
    return " ".join(parts)


def _names(columns: Sequence[str]) -> str:
    return ", ".join(quote(c) for c in columns)


def _rebuild_sql(table: str, create: str, copy: str, dependants: Sequence[SchemaObject],
                 header: Sequence[str], indexes: Sequence[str], triggers: Sequence[str],
                 renames: Mapping[str, str]) -> str:
    temp = quote(TEMP_PREFIX + table)
    lines = [f"-- Rebuild table {table} (SQLite's 12-step procedure: https://sqlite.org/lang_altertable.html)"]
    lines += [f"--   {line}" for line in header]
    lines += ["-- diesel runs this with foreign_keys OFF; with them ON, ON DELETE actions of child",
              "-- tables would fire on the DROP below.", ""]
    statements = [f"DROP {_kind(o)} IF EXISTS {quote(o.name)}" for o in dependants]
    statements += [create, copy, f"DROP TABLE {quote(table)}", f"ALTER TABLE {temp} RENAME TO {quote(table)}"]
    statements += list(indexes) + list(triggers) + [_rename_identifiers(o.sql, renames) for o in dependants]
    statements.append(f"PRAGMA foreign_key_check({quote(table)})")
    return "\n".join(lines) + "\n" + "\n".join(s.rstrip().rstrip(";") + ";" for s in statements) + "\n"


def _kind(obj: SchemaObject) -> str:
    words = [t.text.upper() for t in tokens(obj.sql)[:3]]
    return "VIEW" if "VIEW" in words else "TRIGGER"


def _copy_up(before: TableDef, after: TableDef, changes: Changes, info: TableInfo) -> str:
    dropped = {c.lower() for c in changes.drop}
    pairs = []
    for column in before.columns:
        if column.name.lower() in dropped:
            continue
        value = quote(column.name)
        if column.name in changes.fill:
            value = f"COALESCE({value}, {changes.fill[column.name]})"
        pairs.append((changes.rename.get(column.name, column.name), value))
    pairs += [(c.name, changes.fill[c.name]) for c in changes.add if c.name in changes.fill]
    return _insert(TEMP_PREFIX + info.name, info, pairs)


def _copy_down(before: TableDef, after: TableDef, changes: Changes, info: TableInfo) -> str:
    dropped = {c.lower() for c in changes.drop}
    pairs = []
    for column in before.columns:
        if column.name.lower() in dropped:
            pairs.append((column.name, _filler(column)))
        else:
            pairs.append((column.name, quote(changes.rename.get(column.name, column.name))))
    return _insert(TEMP_PREFIX + info.name, info, pairs)


def _insert(target: str, info: TableInfo, pairs: Sequence[tuple[str, str]]) -> str:
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
    return {"INTEGER": "0", "REAL": "0.0", "NUMERIC": "0", "BLOB": "X''"}.get(affinity(column.type), "''")


def _has_rowid_alias(info: TableInfo) -> bool:
    pk = [c for c in info.columns if c.pk]
    return len(pk) == 1 and pk[0].type.upper() == "INTEGER"


def _index_sql(info: TableInfo, changes: Changes) -> list[str]:
    dropped = {c.lower() for c in changes.drop}
    kept = [i for i in info.indexes if i.sql and not any(c.lower() in dropped for c in i.columns)]
    return [_rename_identifiers(i.sql, changes.rename) for i in kept]


def _trigger_sql(catalog: Catalog, info: TableInfo, changes: Changes) -> list[str]:
    own = [t for t in catalog.triggers if t.table.lower() == info.name.lower()]
    return [_rename_identifiers(t.sql, changes.rename) for t in own]


def _dependants(catalog: Catalog, info: TableInfo) -> list[SchemaObject]:
    """Views, and triggers of other tables, whose SQL names the table: SQLite refuses the rename otherwise."""
    wanted = info.name.lower()
    others = [t for t in catalog.triggers if t.table.lower() != wanted] + list(catalog.views)
    return [o for o in others if any(_identifier(t) == wanted for t in tokens(o.sql))]


def _identifier(token) -> str:  # type: ignore[no-untyped-def]
    return token.text.lower() if token.token_type in _IDENTIFIER_TOKENS else ""


def _rename_identifiers(sql: str, renames: Mapping[str, str]) -> str:
    """Return ``sql`` with identifier tokens renamed (columns renamed by the rebuild)."""
    lowered = {old.lower(): new for old, new in renames.items()}
    if not lowered:
        return sql
    out, position = [], 0
    for token in tokens(sql):
        new = lowered.get(_identifier(token))
        if new is not None:
            out += [sql[position:token.start], quote(new)]
            position = token.end + 1
    return "".join(out) + sql[position:]


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


def _from_create_sql(sql: str) -> tuple[tuple[str, ...], dict[str, str], bool]:
    """Return (CHECK expressions, column -> collation, AUTOINCREMENT) read from ``CREATE TABLE`` text."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError):
        tree = None
    if not isinstance(tree, exp.Create):
        autoincrement = "AUTOINCREMENT" in {t.text.upper() for t in tokens(sql)}
        return (), {}, autoincrement
    checks = tuple(node.this.sql("sqlite") for node in tree.find_all(exp.CheckColumnConstraint))
    collations = {}
    for column in tree.find_all(exp.ColumnDef):
        for constraint in column.constraints:
            if isinstance(constraint.kind, exp.CollateColumnConstraint):
                collations[column.name.lower()] = constraint.kind.this.sql("sqlite")
    autoincrement = any(True for _ in tree.find_all(exp.AutoIncrementColumnConstraint))
    return checks, collations, autoincrement
