"""``migration generate --diff-schema``: up.sql and down.sql from schema.rs versus the database.

What the developer wants is schema.rs (read with :func:`lightnb.models.schema_rs.parse_schema`);
what is, is the database (read with print-schema's introspection, docs off, ordinal column
order, the chosen ``[print_schema]`` configuration's filter). The difference is written as
diesel_cli 2.3.12 writes it (``src/migrations/diff_schema.rs``), byte for byte, SQLite quoting:

* a table in the database but not in schema.rs: ``DROP TABLE IF EXISTS`` / its ``CREATE TABLE``;
* a table in schema.rs but not in the database: ``CREATE TABLE`` / ``DROP TABLE IF EXISTS``;
* a table in both: ``ALTER TABLE … DROP COLUMN`` for removed and changed columns, then
  ``ALTER TABLE … ADD COLUMN`` for added and changed ones (down.sql the reverse);
* one ``\\n`` after each difference's SQL, so an unchanged table gives an empty line.

Where diesel's order is a hash map's (several added columns, several new tables), lightnb takes
schema.rs's order, so the output is stable.

SQLite cannot ALTER a column's type or nullability, nor drop a column that is a key, indexed,
UNIQUE or used by a constraint; diesel's SQL then fails, or loses the column's data. For such a
table lightnb writes the table rebuild of :mod:`lightnb.lint.rebuild` instead (its down.sql
recreates the original definition verbatim) — but only when the rebuild applies where diesel's
SQL does not, or keeps data diesel's would lose; both are tried on a scratch copy. Then the pair
is proven like ``lightnb check`` does (up, down, up again on a copy, lint) and the verdict is
reported. The database itself is only read.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lightnb import migrations as migration_files
from lightnb.backends import sqlite
from lightnb.backends.sqlite import read_catalog
from lightnb.errors import LightnbError, MigrationError, ProjectError, with_advice
from lightnb.models.schema_rs import Schema as RustSchema
from lightnb.models.schema_rs import SchemaColumn, SchemaTable, parse_schema
from lightnb.models.types import SqlType
from lightnb.project import Project, SqliteLocation, find_project_root
from lightnb.results import GenerateResult
from lightnb.schema.config import PrintSchemaOptions, TableFilter, options_from_config
from lightnb.schema.introspect import introspect
from lightnb.schema.model import Column as DbColumn
from lightnb.schema.model import Table as DbTable

# diesel_cli diff_schema.rs `compatible_type_list`
_COMPATIBLE = {"integer": ("int4",), "bigint": ("int8",), "smallint": ("int2",), "text": ("varchar",)}


@dataclass(frozen=True)
class ColumnType:
    """diesel's ``ColumnType`` as far as SQLite needs it (``data_structures.rs``)."""

    sql_name: str
    nullable: bool
    unsigned: bool = False
    array: bool = False
    max_length: int | None = None

    def render(self) -> str:
        """diesel's ``generate_column_type_name`` (not for a record type)."""
        text = f" {self.sql_name.upper()}" + ("[]" if self.array else "")
        text += f"({self.max_length})" if self.max_length is not None else ""
        return text + ("" if self.nullable else " NOT NULL") + (" UNSIGNED" if self.unsigned else "")

    def same_as(self, wanted: ColumnType) -> bool:
        """diesel's ``is_same_type`` (database type first, schema.rs type second)."""
        if (self.array, self.nullable, self.unsigned, self.max_length) != \
                (wanted.array, wanted.nullable, wanted.unsigned, wanted.max_length):
            return False
        have, want = self.sql_name.lower(), wanted.sql_name.lower()
        if have == want:
            return True
        if have in _COMPATIBLE:
            return want in _COMPATIBLE[have]
        if want in _COMPATIBLE:
            return have in _COMPATIBLE[want]
        return False


def schema_column_type(sql_type: SqlType, max_length: int | None = None) -> ColumnType:
    """diesel's ``ColumnType::for_column_def``: the SQL type of a schema.rs column."""
    name = sql_type.name
    wrapper = name in ("Nullable", "Array", "Unsigned", "Range", "Multirange", "Record")
    if not wrapper or not sql_type.args:
        return ColumnType("pg_lsn" if name == "PgLsn" else name, False, max_length=max_length)
    inner = schema_column_type(sql_type.args[0], max_length)
    nullable = name == "Nullable" or (name != "Array" and inner.nullable)
    array = name == "Array" or (name != "Array" and inner.array)
    return ColumnType(inner.sql_name, nullable, name == "Unsigned" or inner.unsigned, array, max_length)


def quote(identifier: str) -> str:
    """SQLite identifier quoting of diesel's query builder: backticks, a backtick doubled."""
    return "`" + identifier.replace("`", "``") + "`"


@dataclass(frozen=True)
class _CreateColumn:
    sql_name: str
    rust_name: str
    type: ColumnType


@dataclass
class TableDiff:
    """One difference, in diesel's order. ``kind``: drop, create or change."""

    kind: str
    table: str                      # diesel's table name for the SQL (lower-cased)
    db: DbTable | None = None
    wanted: SchemaTable | None = None
    added: list[SchemaColumn] = field(default_factory=list)
    removed: list[DbColumn] = field(default_factory=list)
    changed: list[tuple[DbColumn, SchemaColumn]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (parent, column, parent key)
    up: str = ""
    down: str = ""
    rebuilt: bool = False
    note: str = ""


@dataclass(frozen=True)
class DiffResult:
    """What ``generate`` wrote and what the proof found."""

    generated: GenerateResult
    up_sql: str
    down_sql: str
    diffs: tuple[TableDiff, ...]
    check: Any = None  # lightnb.checks.MigrationCheck, when proven
    database: str = ""

    @property
    def rebuilt(self) -> tuple[str, ...]:
        """Tables written as a table rebuild."""
        return tuple(d.table for d in self.diffs if d.rebuilt)

    def report_lines(self) -> list[str]:
        """Lines for the developer: rebuilds chosen, and the proof's verdict with its reasons."""
        lines = [d.note for d in self.diffs if d.note]
        if self.check is not None:
            lines.append(f"proof on a copy of {self.database}: {self.check.verdict} "
                         f"({' → '.join(self.check.steps) or 'nothing ran'})")
            lines += [f"  {reason}" for reason in self.check.reasons]
        return lines


def _column_rust_type(column: SchemaColumn) -> ColumnType:
    return schema_column_type(column.sql_type, getattr(column, "max_length", None))


def _db_type(column: DbColumn) -> ColumnType:
    return ColumnType(column.sql_type, column.nullable)


def diff_tables(db_tables: list[DbTable], schema: RustSchema) -> list[TableDiff]:
    """Compare the database's tables with schema.rs's, as diesel's ``generate_sql_based_on_diff_schema``.

    :raises MigrationError: for a changed primary key or a dropped table with a composite foreign key.
    """
    wanted: dict[str, SchemaTable] = {}
    for declared in schema.tables:
        wanted[declared.rust_name] = declared  # diesel keys by the Rust name; a later duplicate wins
    joinables: dict[str, list[Any]] = {}
    for join in schema.joinables:
        joinables.setdefault(join.child, []).append(join)
    diffs: list[TableDiff] = []
    for table in db_tables:
        target = wanted.pop(table.sql_name.lower(), None)
        if target is None:
            if any(len(fk.parent_columns) != 1 for fk in table.foreign_keys):
                raise MigrationError(with_advice(
                    "Tables with composite foreign keys are not supported by --diff-schema",
                    f"table {table.sql_name} would be dropped; write that migration by hand"))
            keys = [(fk.parent_rust, fk.column_rust, fk.parent_columns[0]) for fk in table.foreign_keys]
            diffs.append(TableDiff("drop", table.sql_name.lower(), db=table, foreign_keys=keys))
            continue
        if sorted(table.primary_key) != sorted(target.primary_key):
            raise MigrationError(with_advice(
                "Cannot change primary keys with --diff-schema yet",
                f"table {table.sql_name}: ({', '.join(table.primary_key)}) in the database, "
                f"({', '.join(target.primary_key)}) in schema.rs; write that migration by hand "
                f"(`lightnb.lint.rebuild.plan_rebuild` with Changes(primary_key=…) writes the rebuild)"))
        columns = {c.sql_name.lower(): c for c in target.columns}
        diff = TableDiff("change", target.sql_name.lower(), db=table, wanted=target)
        for column in table.columns:
            expected = columns.pop(column.sql_name.lower(), None)
            if expected is None:
                diff.removed.append(column)
            elif not _db_type(column).same_as(_column_rust_type(expected)):
                diff.changed.append((column, expected))
        diff.added = list(columns.values())
        diffs.append(diff)
    pk_of = {t.rust_name: t.primary_key for t in schema.tables}
    for target in wanted.values():
        keys = []
        for join in joinables.pop(target.rust_name, []):
            if join.parent not in pk_of:
                continue
            parent_key = pk_of[join.parent]
            if len(parent_key) == 1:
                keys.append((join.parent, join.column, parent_key[0]))
        diffs.append(TableDiff("create", target.sql_name.lower(), wanted=target, foreign_keys=keys))
    return diffs


def _create_table(table: str, columns: list[_CreateColumn], primary_key: list[str],
                  foreign_keys: list[tuple[str, str, str]], bigint: bool) -> str:
    """diesel's ``generate_create_table`` (SQLite quoting)."""
    out = [f"CREATE TABLE {quote(table)}(\n"]
    references = []
    for index, column in enumerate(columns):
        if index:
            out.append(",\n")
        out.append("\t")
        only_key = column.rust_name in primary_key and len(primary_key) == 1
        out.append(quote(column.sql_name))
        kind = column.type
        if bigint and only_key and kind.sql_name.lower() == "bigint":
            kind = replace(kind, sql_name="Integer")  # a rowid alias, as print-schema reads it back
        out.append(kind.render())
        if only_key:
            out.append(" PRIMARY KEY")
        match = next((fk for fk in foreign_keys if fk[1] == column.rust_name), None)
        if match is not None:
            references.append((column, match[0], match[2]))
    if len(primary_key) > 1:
        out.append(",\n\tPRIMARY KEY(" + ", ".join(quote(k) for k in primary_key) + ")")
    for column, parent, key in references:
        out.append(f",\n\tFOREIGN KEY ({quote(column.sql_name)}) REFERENCES {quote(parent)}({quote(key)})")
    out.append("\n);\n")
    return "".join(out)


def _add_column(table: str, column: str, kind: ColumnType) -> str:
    return f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)}{kind.render()};"


def _drop_column(table: str, column: str) -> str:
    return f"ALTER TABLE {quote(table)} DROP COLUMN {quote(column)};"


def diesel_sql(diff: TableDiff, bigint: bool) -> tuple[str, str]:
    """Return diesel's (up, down) SQL for one difference, without the trailing ``\\n`` separator."""
    if diff.kind == "drop":
        assert diff.db is not None
        columns = [_CreateColumn(c.sql_name, c.rust_name, _db_type(c)) for c in diff.db.columns]
        down = _create_table(diff.table, columns, list(diff.db.primary_key_rust), diff.foreign_keys, bigint)
        return f"DROP TABLE IF EXISTS {quote(diff.table)};", down
    if diff.kind == "create":
        assert diff.wanted is not None
        columns = [_CreateColumn(c.sql_name.lower(), c.sql_name, _column_rust_type(c)) for c in diff.wanted.columns]
        up = _create_table(diff.table, columns, list(diff.wanted.primary_key), diff.foreign_keys, bigint)
        return up, f"DROP TABLE IF EXISTS {quote(diff.table)};"
    ups: list[str] = []
    downs: list[str] = []
    for column in [*diff.removed, *(old for old, _ in diff.changed)]:
        ups.append(_drop_column(diff.table, column.sql_name) + "\n")
    for wanted in [*diff.added, *(new for _, new in diff.changed)]:
        ups.append(_add_column(diff.table, wanted.rust_name.lower(), _column_rust_type(wanted)) + "\n")
    for wanted in [*diff.added, *(new for _, new in diff.changed)]:
        downs.append(_drop_column(diff.table, wanted.rust_name.lower()) + "\n")
    for column in [*diff.removed, *(old for old, _ in diff.changed)]:
        downs.append(_add_column(diff.table, column.sql_name.lower(), _db_type(column)) + "\n")
    return "".join(ups), "".join(downs)


def _applies(conn: sqlite.Connection, sql: str) -> str | None:
    """Run ``sql`` on ``conn`` inside a savepoint and undo it; return SQLite's error, or None."""
    conn.execute("SAVEPOINT lightnb_diff_trial")
    try:
        for statement in sqlite.split(sql):
            for _row in conn.execute(statement.text):
                pass
        return None
    except sqlite.Error as error:
        return str(error)
    finally:
        conn.execute("ROLLBACK TO lightnb_diff_trial")
        conn.execute("RELEASE lightnb_diff_trial")


def _rebuild(conn: sqlite.Connection, diff: TableDiff) -> tuple[str, str] | None:
    """Plan the table rebuild that makes ``diff`` on SQLite, or None when it cannot be planned."""
    from lightnb.lint.rebuild import Changes, Column, plan_rebuild
    assert diff.db is not None
    types, not_null = {}, {}
    for old, new in diff.changed:
        kind = _column_rust_type(new)
        types[old.sql_name] = kind.render().split(" NOT NULL")[0].strip()
        if kind.nullable != old.nullable:
            not_null[old.sql_name] = not kind.nullable
    added = [Column(c.rust_name.lower(), _column_rust_type(c).render().split(" NOT NULL")[0].strip(),
                    not _column_rust_type(c).nullable) for c in diff.added]
    changes = Changes(types=types, not_null=not_null, drop=[c.sql_name for c in diff.removed if not c.implicit],
                      add=added)
    try:
        plan = plan_rebuild(conn, diff.db.sql_name, changes)
    except LightnbError:
        return None
    return plan.up_sql, plan.down_sql


def render(conn: sqlite.Connection, diffs: list[TableDiff], *, bigint: bool,
           sqlite_rebuilds: bool = True) -> tuple[str, str]:
    """Return (up.sql, down.sql) bodies: diesel's SQL, or a rebuild where SQLite needs one (see module doc).

    :param conn: a scratch copy of the database: trials run in savepoints and are undone.
    """
    up_sql, down_sql = "", ""
    for diff in diffs:
        diff.up, diff.down = diesel_sql(diff, bigint)
        if sqlite_rebuilds and diff.kind == "change" and (diff.changed or diff.removed or diff.added):
            failure = _applies(conn, diff.up)
            if diff.changed or failure is not None:
                planned = _rebuild(conn, diff)
                if planned is not None and _applies(conn, planned[0]) is None:
                    diff.up, diff.down = planned[0].rstrip("\n"), planned[1].rstrip("\n")
                    diff.rebuilt = True
                    why = (f"SQLite cannot ALTER {', '.join(old.sql_name for old, _ in diff.changed)}'s type or "
                           f"nullability without losing its data" if diff.changed else
                           f"diesel's ALTER TABLE fails here ({failure})")
                    diff.note = f"table {diff.table} is written as a table rebuild: {why}"
                elif failure is not None:
                    diff.note = (f"table {diff.table}: diesel's SQL fails on this database ({failure}) and no "
                                 f"rebuild can do it either; edit the migration (e.g. give the column a DEFAULT)")
        up_sql += diff.up + "\n"
        down_sql += diff.down + "\n"
    return up_sql, down_sql


def schema_options(project: Project, schema_key: str | None, *, table_names: tuple[str, ...] = (),
                   only_tables: bool = False, except_tables: bool = False,
                   integer_primary_key_is_bigint: bool = False) -> PrintSchemaOptions:
    """The print-schema configuration ``--diff-schema`` uses, with the command line's filter and flag.

    :raises ProjectError: for a ``--schema-key`` diesel.toml does not have.
    """
    key = schema_key or "default"
    sections = {"default": {}, **project.print_schema}
    if key not in sections:
        raise ProjectError(with_advice(f"No `[print_schema.{key}]` entries in your diesel.toml",
                                       "add the section or fix --schema-key"))
    options = options_from_config(sections[key], project.config_dir, key=key)
    if only_tables:
        options = replace(options, filter=TableFilter("only", table_names))
    elif except_tables:
        options = replace(options, filter=TableFilter("except", table_names))
    if integer_primary_key_is_bigint:
        options = replace(options, integer_primary_key_is_bigint=True)
    return replace(options, with_docs="no-doc-comments", column_sorting="ordinal_position", schema=None)


def read_wanted_schema(project: Project, path: str | Path) -> RustSchema:
    """Read schema.rs; a relative path is taken from the project root, as diesel does.

    :raises ProjectError: when the file cannot be read or parsed.
    """
    root = find_project_root(Path.cwd()) or project.root
    file = root / path
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ProjectError(with_advice(f"Encountered an IO error: {error.strerror} (os error {error.errno}) for "
                                       f"`{file}`", "check --diff-schema=PATH or `file` in diesel.toml"),
                           path=file) from error
    try:
        return parse_schema(text, path=file)
    except LightnbError as error:
        diesel_text = getattr(error, "diesel_text", None)  # diesel's own line for this error, when known
        if diesel_text:
            raise ProjectError(with_advice(diesel_text, f"fix {file}"), path=file) from error
        raise ProjectError(with_advice(f"Failed to parse schema: {error}", f"fix {file}"), path=file) from error


def generate(project: Project, name: str, *, database: Path | SqliteLocation, schema_rs: str | Path | None = None,
             schema_key: str | None = None, table_names: tuple[str, ...] = (), only_tables: bool = False,
             except_tables: bool = False, integer_primary_key_is_bigint: bool = False,
             version: str | None = None, style: str = "2.3", no_down: bool = False,
             prove: bool = True) -> DiffResult:
    """Write a migration from the difference between schema.rs and ``database``, and prove it.

    :param schema_rs: the schema.rs to compare with (``--diff-schema=PATH``, relative to the project
        root); None: the ``file`` of the configuration (none set: empty SQL, as diesel 2.3.12).
    :param prove: rehearse the new migration on a copy (up, down, up again, lint) and keep the verdict.
    :raises LightnbError: for a bad configuration, an unreadable schema.rs, a changed primary key.
    """
    from lightnb.workspace import Workspace
    missing = migration_files.generate_folder_error(project.migrations_dir, project.migrations_origin)
    if missing is not None:
        raise missing
    options = schema_options(project, schema_key, table_names=table_names, only_tables=only_tables,
                             except_tables=except_tables, integer_primary_key_is_bigint=integer_primary_key_is_bigint)
    path = Path(schema_rs) if schema_rs else options.file
    source = database.path if isinstance(database, SqliteLocation) else Path(database)
    shown = str(source) if source is not None else ":memory:"
    with tempfile.TemporaryDirectory(prefix="lightnb-diff-") as scratch:
        copy = Workspace.create(source if source is not None and source.exists() else None, scratch)
        conn = copy.connect()
        try:
            diffs: list[TableDiff] = []
            up_sql = down_sql = ""
            if path is not None:
                wanted = read_wanted_schema(project, path)
                diffs = diff_tables(list(introspect(read_catalog(conn), options).tables), wanted)
                up_sql, down_sql = render(conn, diffs, bigint=options.integer_primary_key_is_bigint)
            migration = migration_files.generate(project.migrations_dir, name, version=version, style=style,
                                                 origin=project.migrations_origin,
                                                 no_down=no_down, up_sql=up_sql, down_sql=down_sql)
            check = _prove(project, conn, migration) if prove and (up_sql.strip() or down_sql.strip()) else None
        finally:
            conn.close()
    files = (migration.up_path,) + ((migration.down_path,) if migration.down_path else ())
    return DiffResult(GenerateResult(migration, files), up_sql, down_sql, tuple(diffs), check, shown)


def _prove(project: Project, conn: sqlite.Connection, migration: migration_files.Migration) -> Any:
    """Rehearse the new migration on the scratch copy as ``lightnb check`` does (up, down, up again, lint)."""
    from lightnb.checks import rehearse
    from lightnb.lint.config import config_from_settings
    from lightnb.lint.engine import lint_source
    from lightnb.lint.source import source_of
    config = config_from_settings(project.settings)
    # The lint reads the state before the migration by replaying history: here that state is the
    # database itself (its tables need not come from migrations), so its own definitions are the history.
    definitions = [sql for _kind, _name, sql in sqlite.read_definitions(conn)]
    history = [";\n".join(definitions) + ";\n"] if definitions else []
    findings = lint_source(source_of(migration), history=history, config=config, conn=conn)
    from lightnb.runner import ensure_tracking_table
    ensure_tracking_table(conn)  # as on any database diesel has migrated: not part of what the pair changes
    return rehearse(conn, migration, findings, redactor=config.redactor)
