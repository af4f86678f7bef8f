"""Differential suite: error texts of print-schema and ``migration generate``, diesel_cli 2.3.12 first.

Each expected text is diesel_cli's, written from its source at v2.3.12 (the file is cited per test):
``src/errors.rs`` (the ``Error`` enum's ``#[error]`` texts, printed by ``main.rs`` as ``eprintln!("{e}")``,
exit status 1), with what each variant carries. lightnb prints that text first, then its own advice
in ``(lightnb: …)``, on one line; nothing is written when it fails.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest


def database(project: Path, *statements: str) -> Path:
    path = project / "test.db"
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def diesel_line(result, text: str) -> None:
    """One line on stderr: diesel's text, then lightnb's advice; exit status 1, nothing on stdout."""
    assert result.code == 1, result
    assert result.out == "", result
    assert result.err.count("\n") == 1 and result.err.endswith(")\n"), result.err
    assert result.err.startswith(text + " (lightnb: "), result.err


# -- print-schema ----------------------------------------------------------------------------------

@pytest.mark.parametrize("declared, shown", [("JSON", "json"), ("uuid", "uuid"), ("Money", "money"),
                                             ("GEOMETRY", "geometry")])
def test_unsupported_type(project: Path, run, declared: str, shown: str) -> None:
    """diesel_cli src/infer_schema_internals/sqlite.rs `determine_column_type`: the declared type is
    lower-cased, and one that none of the name rules (bool, int, char/clob/text, blob/binary, float/real,
    double/num/dec, datetime/timestamp, date, time) maps is `Error::UnsupportedType(type_name)`,
    errors.rs: ``Unsupported type: `{0}```."""
    database(project, f"CREATE TABLE things (id INTEGER PRIMARY KEY, payload {declared})")
    diesel_line(run("print-schema"), f"Unsupported type: `{shown}`")


def test_table_whose_rowid_aliases_are_all_columns_has_no_primary_key(project: Path, run) -> None:
    """diesel_cli src/infer_schema_internals/sqlite.rs `get_primary_keys` falls back to the first of
    rowid, oid, _rowid_ that is not a column; with all three taken, inference.rs `get_primary_keys`
    returns `Error::NoPrimaryKeyFound(table)`, errors.rs: ``Diesel only supports tables with primary
    keys. Table `{0}` has no primary key`` (the TableName shows its Rust name)."""
    database(project, "CREATE TABLE hidden (rowid INTEGER, oid INTEGER, _rowid_ INTEGER)")
    diesel_line(run("print-schema"), "Diesel only supports tables with primary keys. Table `hidden` has no primary key")


def test_schema_on_sqlite(project: Path, run) -> None:
    """diesel_cli src/infer_schema_internals/sqlite.rs `load_table_names`: a schema name is
    `Error::InvalidSqliteSchema`, errors.rs: ``sqlite cannot infer schema for databases other than the
    main database``."""
    database(project, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    diesel_line(run("print-schema", "--schema", "other"),
                "sqlite cannot infer schema for databases other than the main database")


def test_patch_file_that_cannot_be_read(project: Path, run) -> None:
    """diesel_cli src/print_schema.rs `output_schema`: ``eprintln!("Failed to read patch file at {}: {}",
    patch_file.display(), e)`` (then it returns `Error::IoError`). lightnb prints that line, with the
    io::Error shown as Rust shows it: ``<strerror> (os error <errno>)``."""
    database(project, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    patch = project / "missing.patch"
    diesel_line(run("print-schema", "--patch-file", str(patch)),
                f"Failed to read patch file at {patch}: No such file or directory (os error 2)")


@pytest.mark.parametrize("patch, reason", [
    ("@@ -1,1 +1,1\n-a\n+b\n", "hunk header unterminated"),
    ("@@ 1,1 +1,1 @@\n-a\n+b\n", "unable to parse hunk header"),
    ("@@ -x,1 +1,1 @@\n-a\n+b\n", "can't parse range"),
    ("@@ -1,2 +1,1 @@\n-a\n+b\n", "Hunk header does not match hunk"),
    ("@@ -1,1 +1,1 @@\n-a\n?b\n", "unexpected line in hunk body"),
])
def test_patch_file_that_does_not_parse(project: Path, run, patch: str, reason: str) -> None:
    """diesel_cli src/print_schema.rs: ``diffy::Patch::from_str(&patch)?`` is `Error::DiffyParseError`,
    errors.rs: ``Failed to parse patch file: {0}``; diffy 0.4 (diesel_cli/Cargo.toml: ``diffy = "0.4.0"``)
    src/patch/parse.rs: ``error parsing patch: {reason}`` with the reasons of `hunk_header`, `range`,
    `hunk` and `hunk_lines`."""
    database(project, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    (project / "schema.patch").write_text(patch)
    diesel_line(run("print-schema", "--patch-file", "schema.patch"),
                f"Failed to parse patch file: error parsing patch: {reason}")


def test_patch_file_that_does_not_apply(project: Path, run) -> None:
    """diesel_cli src/print_schema.rs: ``diffy::apply(&out, &patch)?`` is `Error::DiffyApplyError`,
    errors.rs: ``Failed to apply patch: {0}``; diffy 0.4 src/apply.rs: ``error applying hunk #{n}``."""
    database(project, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    (project / "schema.patch").write_text("@@ -1,1 +1,1 @@\n-nothing like this\n+anything\n")
    diesel_line(run("print-schema", "--patch-file", "schema.patch"), "Failed to apply patch: error applying hunk #1")


def test_schema_key_without_configuration(project: Path, run) -> None:
    """diesel_cli src/errors.rs `NoSchemaKeyFound`: ``No `[print_schema.{0}]` entries in your diesel.toml``
    (with more than one configuration; with one, 2.3.12 ignores --schema-key)."""
    database(project, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    (project / "diesel.toml").write_text('[print_schema.a]\nfile = "a.rs"\n[print_schema.b]\nfile = "b.rs"\n')
    diesel_line(run("print-schema", "--schema-key", "c"), "No `[print_schema.c]` entries in your diesel.toml")


def test_table_filter_regex_that_does_not_compile(project: Path, run) -> None:
    """diesel_cli src/errors.rs `TableFilterRegexInvalid`: ``Invalid argument for table filtering regex: {0}``,
    where the regex crate's text starts ``regex parse error:`` (its next lines, the pattern with a caret
    and the reason, are given on the same line: the pattern, then the reason in lightnb's words)."""
    database(project, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    diesel_line(run("print-schema", "-o", "("), "Invalid argument for table filtering regex: regex parse error: (")


# -- migration generate --------------------------------------------------------------------------------

def test_generate_without_any_migrations_folder(project: Path, run) -> None:
    """diesel_cli src/migrations/mod.rs `migrations_dir`: no --migration-dir, MIGRATION_DIRECTORY or
    [migrations_directory] → `FileBasedMigrations::find_migrations_directory()` fails with diesel_migrations
    src/errors.rs `MigrationDirectoryNotFound` (``Unable to find migrations directory in {path:?} or any
    parent directories.``), wrapped by `Error::from_migration_error` as ``Failed to run migrations: {0}``."""
    result = run("migration", "generate", "first")
    diesel_line(result, f'Failed to run migrations: Unable to find migrations directory in "{project}" or any '
                        f'parent directories.')
    assert sorted(p.name for p in project.iterdir()) == ["Cargo.toml"]


@pytest.mark.parametrize("make, reason", [(None, "No such file or directory (os error 2)"),
                                          ("file", "Not a directory (os error 20)")])
def test_generate_with_a_named_folder_that_is_not_one(project: Path, run, make, reason) -> None:
    """diesel_cli src/migrations/mod.rs `run_migration_command` ("generate"): the named folder is locked
    first, `migration_folder_lock` creating ``<dir>/.diesel_lock``, whose failure is `Error::IoError(err,
    Some(path))`, errors.rs: ``Encountered an IO error: {0} for `{path}```."""
    folder = project / "elsewhere"
    if make == "file":
        folder.write_text("")
    diesel_line(run("migration", "generate", "first", "--migration-dir", str(folder)),
                f"Encountered an IO error: {reason} for `{folder}/.diesel_lock`")
    assert not (project / "migrations").exists()


def test_generate_with_a_version_that_exists(project: Path, run) -> None:
    """diesel_cli tests/migration_generate.rs `migration_generate_with_duplicate_specified_version_fails`;
    src/migrations/mod.rs `create_migration_dir`: a folder whose name starts with the version is
    `Error::DuplicateMigrationVersion`, errors.rs: ``Specified migration version `{1}` already exists
    inside `{0}```."""
    (project / "migrations").mkdir()
    assert run("migration", "generate", "hello1", "--version=12345").code == 0
    diesel_line(run("migration", "generate", "hello2", "--version=12345"),
                f"Specified migration version `12345` already exists inside `{project / 'migrations'}`")
    assert [p.name for p in (project / "migrations").iterdir()] == ["12345_hello1"]


@pytest.mark.parametrize("name, reason", [
    ("users/create", "No such file or directory (os error 2)"),   # `1_users` does not exist
    ("../../escape", "No such file or directory (os error 2)"),
    ("x" * 300, "File name too long (os error 36)"),
])
def test_generate_with_a_name_the_file_system_refuses(project: Path, run, name: str, reason: str) -> None:
    """diesel_cli src/migrations/mod.rs `create_migration_dir` → `create`: ``fs::create_dir(&path)``
    on ``migrations_dir.join(format!("{version}_{migration_name}"))``, its failure `Error::IoError(e,
    Some(path))`, errors.rs: ``Encountered an IO error: {0} for `{path}```. diesel validates no name:
    the file system decides."""
    (project / "migrations").mkdir()
    result = run("migration", "generate", name, "--version", "1")
    diesel_line(result, f"Encountered an IO error: {reason} for `{project / 'migrations'}/1_{name}`")
    assert list((project / "migrations").iterdir()) == []
    assert "use letters, digits and underscores" in result.err or "too long" in result.err


@pytest.mark.parametrize("name", ["", "a..b", "tab\tname", "back\\slash", "y" * 220])
def test_generate_refuses_names_diesel_would_create(project: Path, run, name: str) -> None:
    """diesel_cli src/migrations/mod.rs `create_migration_dir` creates any name the file system takes
    (an empty name gives ``<version>_``). lightnb refuses these (README: where lightnb deliberately
    differs), in its own words on one line, and creates nothing."""
    (project / "migrations").mkdir()
    result = run("migration", "generate", name, "--version", "1")
    assert result.code == 1 and result.out == "" and result.err.count("\n") == 1
    assert result.err.startswith("Migration name ") and "(lightnb:" not in result.err
    assert list((project / "migrations").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root creates folders anywhere")
def test_generate_in_a_folder_without_write_permission(project: Path, run) -> None:
    """diesel_cli src/migrations/mod.rs: `migration_folder_lock` creates ``<dir>/.diesel_lock`` first,
    so a folder that cannot be written fails there: `Error::IoError`, ``Encountered an IO error:
    Permission denied (os error 13) for `…```."""
    folder = project / "migrations"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run("migration", "generate", "first")
    finally:
        folder.chmod(0o755)
    assert result.code == 1 and result.err.startswith("Encountered an IO error: Permission denied (os error 13) for `")
