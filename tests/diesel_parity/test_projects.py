"""Differential conformance: odd projects through lightnb, with diesel_cli 2.3.12's stdout, stderr and status.

Each expectation is written from diesel_cli's source and tests (cited per test): stdout lines from
diesel_migrations src/migration_harness.rs (``HarnessWithOutput``), error texts from
diesel_migrations src/errors.rs and diesel_cli src/errors.rs, discovery rules from
migrations_internals src/lib.rs. lightnb prints diesel's text first on stderr; its own advice follows
on the same line in ``(lightnb: …)``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.diesel_parity.conftest import migration, tables

INVALID = ("Failed to run migrations: Invalid migration directory: the directory's name should be "
           "<timestamp>_<name_of_migration>, and it should contain up.sql and optionally down.sql.")


def _one_line(text: str) -> bool:
    return text.count("\n") == 1 and text.endswith("\n")


def test_odd_versions_sort_by_version_string(project: Path, run) -> None:
    """migration_list.rs `migration_list_orders_nontimestamp_versions_alphabetically` and
    `…_old_and_new_timestamp_forms_mixed_correctly`: byte order of the version (part before `_`, dashes removed)."""
    names = ["a_migration", "bc_migration", "aa_migration", "!wow_migration", "7letters",
             "2024-05-31-093257_stamped_migration", "20170505070309_migration", "2017-11-23-064836_migration"]
    for name in names:
        migration(project, name, "", "")
    result = run("migration", "list")
    assert result.code == 0
    assert result.out == ("Migrations:\n  [ ] !wow_migration\n  [ ] 20170505070309_migration\n"
                          "  [ ] 2017-11-23-064836_migration\n  [ ] 2024-05-31-093257_stamped_migration\n"
                          "  [ ] 7letters\n  [ ] a_migration\n  [ ] aa_migration\n  [ ] bc_migration\n")


def test_extra_files_and_hidden_entries_are_ignored(project: Path, run) -> None:
    """migrations_internals lib.rs `migrations_directories`: files, dot-entries and empty folders are skipped."""
    migration(project, "12345_create_users", "CREATE TABLE users (id INTEGER PRIMARY KEY);", "DROP TABLE users;")
    (project / "migrations" / "README.md").write_text("notes\n")
    (project / "migrations" / ".keep").write_text("")
    (project / "migrations" / ".git").mkdir()
    (project / "migrations" / ".git" / "HEAD").write_text("x")
    (project / "migrations" / "2020_empty").mkdir()  # completely empty: ignored since 2.3.8
    (project / "migrations" / "12345_create_users" / "notes.txt").write_text("extra file inside")
    result = run("migration", "run")
    assert (result.code, result.out, result.err) == (0, "Running migration 12345_create_users\n", "")
    assert run("migration", "list").out == "Migrations:\n  [X] 12345_create_users\n"


@pytest.mark.parametrize(("layout", "reason"), [
    ({"2020_nested/inner/up.sql": "SELECT 1;"}, "up.sql only in a nested folder"),
    ({"2020_keep/.keep": ""}, "a folder holding only a dot-file is not empty, and has no up.sql"),
    ({"2020_down_only/down.sql": "SELECT 1;"}, "down.sql without up.sql"),
])
def test_nested_or_incomplete_folders_are_invalid(project: Path, run, layout: dict[str, str], reason: str) -> None:
    """file_based_migrations.rs `from_path`: any candidate without up.sql → UnknownMigrationFormat (exit 1)."""
    (project / "migrations").mkdir()
    for relative, text in layout.items():
        path = project / "migrations" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for verb in ("run", "list", "pending"):
        result = run("migration", verb)
        assert result.code == 1 and result.out == "", reason
        assert result.err.startswith(INVALID) and _one_line(result.err)


def test_nested_folder_beside_up_sql_is_ignored(project: Path, run) -> None:
    """valid_sql_migration_directory only asks for up.sql among the entries; a nested folder is harmless."""
    folder = migration(project, "2020_with_nested", "CREATE TABLE t (id INTEGER PRIMARY KEY);", "DROP TABLE t;")
    (folder / "nested").mkdir()
    (folder / "nested" / "up.sql").write_text("THIS IS NOT RUN;")
    assert run("migration", "run").out == "Running migration 2020_with_nested\n"
    assert tables(project / "test.db") == ["__diesel_schema_migrations", "t"]


def test_metadata_toml_quirks(project: Path, run) -> None:
    """migrations_internals `TomlMetadata`: absent → in a transaction; present without the key → NOT in a
    transaction (serde default false); unreadable TOML → default (true). migration_run.rs
    `migration_run_without_transaction`: BEGIN/COMMIT inside works only outside diesel's transaction."""
    body = "BEGIN TRANSACTION;CREATE TABLE {0} ( id INTEGER PRIMARY KEY );COMMIT TRANSACTION;"
    migration(project, "2023-05-08-210424_without_transaction", body.format("customers"), None,
              metadata="run_in_transaction = false")
    migration(project, "2023-05-08-210425_empty_metadata", body.format("orders"), None, metadata="")
    result = run("migration", "run")
    assert (result.code, result.err) == (0, "")
    assert result.out == ("Running migration 2023-05-08-210424_without_transaction\n"
                          "Running migration 2023-05-08-210425_empty_metadata\n")
    # diesel reads an unreadable metadata.toml as the default (in a transaction) and runs the migration;
    # lightnb refuses it, naming the migration (a deliberate difference listed in the README)
    migration(project, "2023-05-08-210426_broken_metadata", body.format("items"), None, metadata="this is = = not toml")
    result = run("migration", "run")
    assert result.code == 1 and result.out == ""
    assert "2023-05-08-210426_broken_metadata" in result.err and "metadata.toml" in result.err
    assert result.err.count("\n") == 1
    assert "items" not in tables(project / "test.db")


def test_comment_only_up_sql_runs_and_is_recorded(project: Path, run) -> None:
    """file_based_migrations.rs `run_sql_from_file`: only a 0-byte file is empty; comments run as a no-op."""
    migration(project, "12345_comment_only", "-- nothing to do yet\n", "-- nothing to undo\n")
    assert run("migration", "run").out == "Running migration 12345_comment_only\n"
    assert run("migration", "pending").out == "false\n"
    assert run("migration", "revert").out == "Rolling back migration 12345_comment_only\n"


def test_empty_up_sql_is_diesels_error(project: Path, run) -> None:
    """migration_run.rs `empty_migrations_are_not_valid` (RunMigrationsError::EmptyMigration)."""
    migration(project, "12345_empty_migration", "")
    result = run("migration", "run")
    assert result.code == 1 and result.out == "Running migration 12345_empty_migration\n"
    assert result.err.startswith("Failed to run migrations: Failed to run 12345_empty_migration with: Attempted to "
                                 "run an empty migration.") and _one_line(result.err)


def test_missing_down_sql(project: Path, run) -> None:
    """migration_revert.rs `migration_revert_gives_reasonable_error_message_on_missing_down`."""
    migration(project, "12345_create_users_table", "CREATE TABLE users (id INTEGER PRIMARY KEY);")
    assert run("migration", "run").code == 0
    result = run("migration", "revert")
    assert result.code == 1 and result.out == "Rolling back migration 12345_create_users_table\n"
    assert result.err.startswith("Failed to run migrations: Missing `down.sql` file to revert migration")
    assert "users" in tables(project / "test.db")  # nothing was reverted


def test_syntax_error_keeps_earlier_migrations(project: Path, run) -> None:
    """migration_run.rs `error_migrations_fails`: `Failed to run <name> with: ` then SQLite's message."""
    migration(project, "1_ok", "CREATE TABLE a (id INTEGER PRIMARY KEY);", "DROP TABLE a;")
    migration(project, "run_error_migrations_fails", "CREATE TABLE users (id INTEGER PRIMARY KEY}", "DROP TABLE users")
    result = run("migration", "run")
    assert result.code == 1
    assert result.out == "Running migration 1_ok\nRunning migration run_error_migrations_fails\n"
    assert result.err.startswith('Failed to run migrations: Failed to run run_error_migrations_fails with: '
                                 'unrecognized token: "}" (lightnb: up.sql line 1')
    assert run("migration", "list").out == "Migrations:\n  [X] 1_ok\n  [ ] run_error_migrations_fails\n"


def _three(project: Path) -> None:
    for name, table in (("2017-08-31-210424_create_customers", "customers"),
                        ("2017-09-03-210424_create_contracts", "contracts"),
                        ("2017-09-12-210424_create_bills", "bills")):
        migration(project, name, f"CREATE TABLE {table} ( id INTEGER PRIMARY KEY )", f"DROP TABLE {table}")


def test_revert_all_number_and_redo_all(project: Path, run) -> None:
    """migration_revert.rs (`-n 2`, `--all`, `-n 0`, `-n 1000`) and migration_redo.rs (`-n 2`, `--all`)."""
    _three(project)
    assert run("migration", "run").code == 0
    assert run("migration", "redo", "-n", "2").out == (
        "Rolling back migration 2017-09-12-210424_create_bills\n"
        "Rolling back migration 2017-09-03-210424_create_contracts\n"
        "Running migration 2017-09-03-210424_create_contracts\nRunning migration 2017-09-12-210424_create_bills\n")
    assert run("migration", "redo", "--all").out == (
        "Rolling back migration 2017-09-12-210424_create_bills\n"
        "Rolling back migration 2017-09-03-210424_create_contracts\n"
        "Rolling back migration 2017-08-31-210424_create_customers\n"
        "Running migration 2017-08-31-210424_create_customers\n"
        "Running migration 2017-09-03-210424_create_contracts\nRunning migration 2017-09-12-210424_create_bills\n")
    assert (run("migration", "revert", "-n", "0").out, run("migration", "redo", "-n", "0").out) == ("", "")
    assert run("migration", "revert", "-n", "2").out == (
        "Rolling back migration 2017-09-12-210424_create_bills\n"
        "Rolling back migration 2017-09-03-210424_create_contracts\n")
    assert run("migration", "revert", "-n", "1000").out == "Rolling back migration 2017-08-31-210424_create_customers\n"
    assert run("migration", "run").code == 0
    assert run("migration", "revert", "--all").out == (
        "Rolling back migration 2017-09-12-210424_create_bills\n"
        "Rolling back migration 2017-09-03-210424_create_contracts\n"
        "Rolling back migration 2017-08-31-210424_create_customers\n")
    assert tables(project / "test.db") == ["__diesel_schema_migrations"]


@pytest.mark.parametrize("verb", ["revert", "redo"])
def test_number_must_be_a_count_with_clap_text(project: Path, run, verb: str) -> None:
    """migration_revert.rs / migration_redo.rs `…_n_with_a_string_should_throw_an_error`: exact stderr, exit 2."""
    result = run("migration", verb, "-n", "infinite")
    upper = verb.upper()
    assert result.code == 2
    assert result.err == (f"error: invalid value 'infinite' for '--number <{upper}_NUMBER>': "
                          "invalid digit found in string\n\nFor more information, try '--help'.\n")


def test_initial_setup_migration_prints_nothing(project: Path, run) -> None:
    """migration_harness.rs `HarnessWithOutput`: no Running/Rolling back line for version 00000000000000."""
    migration(project, "00000000000000_diesel_initial_setup", "CREATE TABLE setup_marker (id INTEGER);",
              "DROP TABLE setup_marker;")
    migration(project, "12345_create_users", "CREATE TABLE users (id INTEGER PRIMARY KEY);", "DROP TABLE users;")
    assert run("migration", "run").out == "Running migration 12345_create_users\n"
    assert run("migration", "redo", "--all").out == ("Rolling back migration 12345_create_users\n"
                                                     "Running migration 12345_create_users\n")
    assert run("migration", "revert", "--all").out == "Rolling back migration 12345_create_users\n"
    assert tables(project / "test.db") == ["__diesel_schema_migrations"]


def test_redo_prints_rolling_back_before_an_error_and_undoes_everything(project: Path, run) -> None:
    """migrations/mod.rs `redo_migrations`: one outer transaction; the revert loop fails only when it reaches
    a version without folder (UnknownMigrationVersion), after the lines of the ones before it."""
    _three(project)
    assert run("migration", "run").code == 0
    conn = sqlite3.connect(project / "test.db")
    conn.execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20170910000000')")
    conn.commit()
    conn.close()
    before = tables(project / "test.db")
    result = run("migration", "redo", "-n", "3")
    assert result.code == 1 and result.out == "Rolling back migration 2017-09-12-210424_create_bills\n"
    assert result.err.startswith("Failed to run migrations: Unable to find migration version 20170910000000 to "
                                 "revert in the migrations directory.") and _one_line(result.err)
    assert tables(project / "test.db") == before  # rolled back: bills is still there


def test_migration_dir_that_does_not_exist(project: Path, run) -> None:
    """diesel_cli errors.rs IoError for a named folder; MigrationDirectoryNotFound when the search finds none."""
    result = run("migration", "run", "--migration-dir", "nope")
    assert result.code == 1 and result.err.startswith("Encountered an IO error: No such file or directory "
                                                      "(os error 2) for `")
    result = run("migration", "run")
    assert result.code == 1 and result.err.startswith(
        f'Failed to run migrations: Unable to find migrations directory in "{project}" or any parent directories.')
