"""Keep schema files in step with the database: regenerate them, or explain how they differ.

Regeneration follows diesel's ``regenerate_schema_if_file_specified`` (diesel_spec.md §2.9); the
check is diesel's ``--locked-schema`` comparison (line by line) plus findings that name the table
and column that differ, in one line each.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lightnb.backends import sqlite
from lightnb.errors import FileWriteError, LightnbError, with_advice
from lightnb.files import existing_regular, write_text_atomic
from lightnb.project import Project
from lightnb.schema.config import DEFAULT_STYLE, STYLES, PrintSchemaOptions, configurations
from lightnb.schema.introspect import introspect
from lightnb.schema.model import Schema, SchemaError, Table
from lightnb.schema.print_schema import render
from lightnb.schema.style import choose_style, resolve_style
from lightnb.schema.target import check_schema_target

if TYPE_CHECKING:
    from lightnb.models.schema_rs import Schema as SchemaFile
    from lightnb.models.schema_rs import SchemaTable


class ProjectLike(Protocol):
    """The parts of :class:`lightnb.project.Project` this module reads."""

    @property
    def config_dir(self) -> Path: ...

    @property
    def print_schema(self) -> Mapping[str, Mapping[str, Any]]: ...


class MigratableProject(ProjectLike, Protocol):
    """A project whose migrations can be replayed."""

    @property
    def migrations_dir(self) -> Path: ...


@dataclass(frozen=True, slots=True)
class FileSync:
    """How one configured schema file compares with the database.

    :param path: the schema file.
    :param key: the ``[print_schema]`` configuration it belongs to.
    :param style: the diesel style it was compared in.
    :param in_sync: whether its lines equal what print-schema prints now.
    :param findings: one line per difference, naming table and column.
    :param diff: unified diff from the file to the expected text (empty when in sync).
    :param expected: what print-schema prints for this configuration now.
    """

    path: Path
    key: str
    style: str
    in_sync: bool
    findings: tuple[str, ...]
    diff: str
    expected: str = ""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """The out-of-sync check of every configured schema file.

    :param in_sync: True when every file matches the database.
    :param files: one entry per configuration that has a ``file``.
    """

    in_sync: bool
    files: tuple[FileSync, ...]

    @property
    def findings(self) -> list[str]:
        """Return every finding, prefixed by its file name when there are several files."""
        several = len(self.files) > 1
        return [f"{f.path.name}: {line}" if several else line for f in self.files for line in f.findings]

    @property
    def diff(self) -> str:
        """Return the diffs of every file, concatenated."""
        return "".join(f.diff for f in self.files)

    def __str__(self) -> str:
        if self.in_sync:
            return "\n".join(f"{f.path} is up to date." for f in self.files) or "No schema file configured."
        return "\n".join(self.findings) + (f"\n\n{self.diff}" if self.diff else "")


def _file_configurations(project: ProjectLike, style: str) -> list[PrintSchemaOptions]:
    """Return the configurations with a ``file``, each in its resolved style (file-only guess)."""
    chosen = []
    for options in configurations(project.print_schema, Path(project.config_dir)):
        if options.file is not None:
            chosen.append(replace(options, style=resolve_style(style, options.file)))
    return chosen


_CANDIDATES = (DEFAULT_STYLE, *sorted((s for s in STYLES if s != DEFAULT_STYLE), reverse=True))


def printed_in_style(conn: sqlite.Connection, options: PrintSchemaOptions, style: str
                     ) -> tuple[PrintSchemaOptions, Schema, str]:
    """Return the options in their resolved style, the schema and the text it prints.

    ``auto`` keeps the style of the existing ``options.file``: what the file shows (allow-tables
    layout, renamed columns), else the style whose output is closest to the file; a new file
    gets the default style.
    """
    catalog = sqlite.read_catalog(conn)
    if style != "auto" or options.file is None or not Path(options.file).is_file():
        chosen = replace(options, style=resolve_style(style, options.file))
        schema = introspect(catalog, chosen)
        return chosen, schema, render(schema, chosen)
    existing = read_schema_text(Path(options.file))
    candidates = {}
    for candidate in _CANDIDATES:  # ties go to the earlier, newer style
        chosen = replace(options, style=candidate)
        try:
            schema = introspect(catalog, chosen)
            candidates[candidate] = (chosen, schema, render(schema, chosen))
        except SchemaError:
            if candidate == DEFAULT_STYLE:
                raise
            # e.g. 2.1 cannot print a table without primary key; a patch made for another layout
            continue
    best = choose_style(existing, {s: text for s, (_o, _s, text) in candidates.items()})
    return candidates[best]


def regenerate_schema_files(project: ProjectLike, conn: sqlite.Connection, *,
                            style: str = "auto", protected: Iterable[str | Path] = ()) -> list[Path]:
    """Rewrite every configured schema file from the database, as diesel does after a migration.

    Every target is checked before any is written (:func:`check_schema_targets`), and each file
    is replaced atomically: a failure leaves every schema file as it was or wholly new.

    :param style: ``auto`` keeps the style of each existing file (2.3 for a new file), or ``2.2``/``2.3``.
    :param protected: more databases no schema file may be written over.
    :returns: the files written, in configuration order.
    :raises SchemaError: when the database holds something print-schema cannot express.
    :raises FileWriteError: when a target is not a schema file, or cannot be written.
    """
    configurations = check_schema_targets(project, conn, protected=protected)
    written = []
    for options in configurations:
        options, _schema, text = printed_in_style(conn, options, style)
        assert options.file is not None
        try:
            write_text_atomic(options.file, text, newline="\n", what="schema file")
        except FileWriteError as error:
            cause = error.__cause__
            if not isinstance(cause, OSError):
                raise
            raise FileWriteError(with_advice(f"Encountered an IO error: {cause.strerror} (os error {cause.errno}) for "
                                           f"`{cause.filename or options.file}`", "check the `file` path of "
                                           "[print_schema] and its permissions"), path=options.file) from error
        written.append(options.file)
    return written


def check_schema_targets(project: ProjectLike, conn: sqlite.Connection | None = None, *,
                         protected: Iterable[str | Path] = ()) -> list[PrintSchemaOptions]:
    """Check that every configured schema file may be written; return their configurations.

    A target may not be the database ``conn`` reads, a production database of the project, nor
    anything but a schema file print-schema would write (:mod:`lightnb.schema.target`).

    :raises FileWriteError: one line naming the first target that may not be written.
    """
    guard: list[str | Path] = [*protected, *_connection_files(conn)]
    if isinstance(project, Project):
        from lightnb.target import named_database, protected_paths
        named = named_database(project)  # the database the project names is never a schema file, production or not
        guard = [*protected_paths(project, [*guard, *([named] if named is not None else [])])]
    else:
        guard = [*guard, *(Path(f"{g}{suffix}") for g in list(guard) for suffix in ("-journal", "-wal", "-shm"))]
    configurations = _file_configurations(project, "2.3")
    for options in configurations:
        assert options.file is not None
        check_schema_target(options.file, protected=guard)
    return configurations


def _connection_files(conn: sqlite.Connection | None) -> list[Path]:
    """Return the files a connection reads (its main database, and the file a private copy stands for)."""
    if conn is None:
        return []
    files = []
    source = getattr(conn, "source", None)
    if source:
        files.append(Path(source))
    main = sqlite.database_file(conn)
    if main:
        files.append(Path(main))
    return files


def read_schema_text(path: Path) -> str:
    """Read an existing schema file as text.

    :raises LightnbError: one line when it is not a regular UTF-8 text file.
    """
    try:
        existing_regular(path, what="schema file")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LightnbError(f"The schema file {path} is not UTF-8 text (is `file` in [print_schema] of diesel.toml "
                           f"naming a database or another file?); fix `file` in [print_schema].",
                           path=path) from error
    except OSError as error:
        raise LightnbError(f"Cannot read the schema file {path}: {error.strerror}; check `file` in "
                           f"[print_schema] and its permissions.", path=path) from error


def check_schema_sync(project: ProjectLike, conn: sqlite.Connection, *, style: str = "auto") -> SyncReport:
    """Compare every configured schema file with what the database prints now.

    :param style: the style to expect; ``auto`` uses the style each file is written in.
    :raises SchemaError: when the database holds something print-schema cannot express.
    """
    files = []
    for options in _file_configurations(project, "2.3" if style == "auto" else style):
        options, schema, text = printed_in_style(conn, options, style)
        files.append(compare_file(options, schema, text))
    return SyncReport(all(f.in_sync for f in files), tuple(files))


def check_migrations_sync(project: MigratableProject, *, style: str = "auto") -> SyncReport:
    """Apply every migration to a fresh database and compare the schema files with it.

    This answers "does schema.rs match the migrations?" without touching any real database. A
    migration that fails on a fresh database makes every file out of sync, with that failure as
    the finding.

    :raises SchemaError: when the database holds something print-schema cannot express.
    """
    from lightnb import migrations, runner, scratch
    from lightnb.errors import MigrationError

    with scratch.folder("schema") as folder:  # a throwaway database, not one of the user's
        conn = sqlite.connect(folder / "fresh.sqlite3")
        try:
            conn.execute("PRAGMA synchronous = OFF")  # a throwaway database: no need to wait for the disk
            try:
                runner.run_pending(conn, migrations.discover(project.migrations_dir))
            except MigrationError as error:
                finding = f"the migrations do not apply to a fresh database: {error}"
                files = tuple(FileSync(o.file, o.key, o.style, False, (finding,), "")
                              for o in _file_configurations(project, style) if o.file is not None)
                return SyncReport(False, files)
            return check_schema_sync(project, conn, style=style)
        finally:
            conn.close()


def compare_file(options: PrintSchemaOptions, schema: Schema, expected: str) -> FileSync:
    """Compare the file of ``options`` with the ``expected`` text printed from ``schema``."""
    assert options.file is not None
    path = options.file
    if not path.is_file():
        finding = f"{path.name} does not exist; regenerate it with `lightnb print-schema`"
        diff = "".join(difflib.unified_diff([], expected.splitlines(keepends=True), fromfile="/dev/null",
                                            tofile=f"{path} (print-schema)"))
        return FileSync(path, options.key, options.style, False, (finding,), diff, expected)
    actual = read_schema_text(path)
    # diesel --locked-schema compares line by line, so a final newline does not matter.
    if actual.splitlines() == expected.splitlines():
        return FileSync(path, options.key, options.style, True, (), "", expected)
    diff = "".join(difflib.unified_diff(actual.splitlines(keepends=True), expected.splitlines(keepends=True),
                                        fromfile=str(path), tofile="database (print-schema)"))
    from lightnb.models.schema_rs import parse_schema  # the Rust reader loads only when a file is compared
    findings = describe_differences(parse_schema(actual, strict=False), schema, path.name) or [
        f"{path.name} lays out the same schema differently from diesel {options.style} "
        f"(docs, imports or formatting)"]
    return FileSync(path, options.key, options.style, False, tuple(findings), diff, expected)


def describe_differences(file: SchemaFile, schema: Schema, name: str = "schema.rs") -> list[str]:
    """Return one readable line per table, column, key or joinable that differs."""
    findings = []
    db_tables = {t.sql_name: t for t in schema.tables}
    stray = [t.sql_name for t in file.tables if t.sql_name not in db_tables]
    findings += [f"table `{t}` is in {name} but no migration creates it" for t in stray]
    for table in schema.tables:
        in_file = file.table_named(table.sql_name)
        if in_file is None:
            findings.append(f"table `{table.sql_name}` is created by the migrations but missing from {name}")
            continue
        findings += _table_differences(in_file, table, name)
    findings += _table_order(file, schema, name)
    findings += _joinable_differences(file, schema, name)
    return findings


def _table_differences(file_table: SchemaTable, table: Table, name: str) -> list[str]:
    t = table.sql_name
    findings = []
    if file_table.rust_name != table.rust_name:
        findings.append(f"{t}: Rust name `{file_table.rust_name}` in file, `{table.rust_name}` in database")
    if tuple(file_table.primary_key) != table.primary_key_rust:
        findings.append(f"{t}: primary key ({', '.join(file_table.primary_key)}) in file, "
                        f"({', '.join(table.primary_key_rust)}) in database")
    file_cols = {c.sql_name: c for c in file_table.columns}
    db_cols = {c.sql_name: c for c in table.columns}
    for column in file_table.columns:
        if column.sql_name not in db_cols:
            findings.append(f"{t}.{column.sql_name}: column is in {name} but not in the database")
    for db_column in table.columns:
        other = file_cols.get(db_column.sql_name)
        if other is None:
            findings.append(f"{t}.{db_column.sql_name}: column is in the database but missing from {name}")
        elif other.type_text != db_column.diesel_type:
            findings.append(f"{t}.{db_column.sql_name}: type {other.type_text} in file, "
                            f"{db_column.diesel_type} in database")
        elif other.rust_name != db_column.rust_name:
            findings.append(f"{t}.{db_column.sql_name}: Rust name `{other.rust_name}` in file, "
                            f"`{db_column.rust_name}` in database")
        if other is not None and other.max_length != db_column.max_length:
            findings.append(f"{t}.{db_column.sql_name}: {_length(other.max_length)} in {name}, "
                            f"{_length(db_column.max_length)} in database"
                            + (" (SQLite reports no column length: print-schema never prints #[max_length])"
                               if db_column.max_length is None else ""))
    findings += _order_difference(f"{t}: column order differs", [c.sql_name for c in file_table.columns],
                                  [c.sql_name for c in table.columns])
    return findings


def _length(max_length: int | None) -> str:
    return "no #[max_length]" if max_length is None else f"#[max_length = {max_length}]"


def _order_difference(what: str, in_file: Sequence[str], in_db: Sequence[str]) -> list[str]:
    """Return a finding when the names both sides share come in a different order."""
    common = set(in_file) & set(in_db)
    file_order = [c for c in in_file if c in common]
    db_order = [c for c in in_db if c in common]
    if file_order == db_order:
        return []
    return [f"{what}: file has {', '.join(file_order)}; database has {', '.join(db_order)}"]


def _table_order(file: SchemaFile, schema: Schema, name: str) -> list[str]:
    # diesel prints tables sorted by name; another order means the file was not printed by diesel.
    return _order_difference(f"tables are not in diesel's order in {name}",
                             [t.sql_name for t in file.tables], [t.sql_name for t in schema.tables])


def _joinable_differences(file: SchemaFile, schema: Schema, name: str) -> list[str]:
    db_rust = {t.rust_name for t in schema.tables}
    in_file = {j.key for j in file.joinables if j.child in db_rust and j.parent in db_rust}  # stray tables said already
    file_rust = {t.rust_name for t in file.tables}
    in_db = {(j.child_rust, j.parent_rust, j.column_rust) for j in schema.joinables
             if j.child_rust in file_rust and j.parent_rust in file_rust}
    findings = [f"joinable `{c} -> {p} ({col})` is in {name} but {_why_no_joinable(schema, c, p, col)}"
                for c, p, col in sorted(in_file - in_db)]
    findings += [f"joinable `{c} -> {p} ({col})` follows from the database's foreign keys but is "
                 f"missing from {name}" for c, p, col in sorted(in_db - in_file)]
    return findings


def _why_no_joinable(schema: Schema, child: str, parent: str, column: str) -> str:
    """Explain why the database yields no ``joinable!`` for this foreign key."""
    table = next(t for t in schema.tables if t.rust_name == child)
    records = [r for r in table.foreign_keys if r.column_rust == column]
    if not records:
        return f"the database has no foreign key on `{table.sql_name}.{column}`"
    target = records[-1].parent_table
    if target not in schema.table_names:
        return (f"in the database `{table.sql_name}.{column}` references `{target}`, which does not "
                f"exist (SQLite rewrites references when a table is renamed)")
    if records[-1].parent_rust != parent:
        return f"in the database `{table.sql_name}.{column}` references `{target}`"
    return (f"the database links `{table.sql_name}` and `{target}` by more than one foreign key or "
            f"not through the primary key, so diesel prints no joinable")
