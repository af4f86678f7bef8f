"""The verbs lightnb lacked (setup, database, completions, --version, statement logging) and the
behaviours that differed, each against diesel_cli 2.3.12's source and tests (cited per test)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from lightnb.completions import SHELLS
from lightnb.database import DEFAULT_DIESEL_TOML
from tests.diesel_parity.conftest import migration, tables
from tests.support.builder import file_state, make_database

USERS = ("12345_create_users_table", "CREATE TABLE users ( id INTEGER )", "DROP TABLE users")


def test_setup_creates_folder_config_database_and_runs_migrations(project: Path, run) -> None:
    """setup.rs (`setup_creates_migrations_directory`, `…_creates_config_file`, `…_notifies_when_creating_a_database`,
    `…_writes_migration_dir_as_relative_path`) and main.rs `create_migrations_directory`."""
    result = run("setup")
    assert result.code == 0 and result.err == ""
    assert result.out == (f"Creating migrations directory at: {project / 'migrations'}\n"
                          f"Creating database: {project / 'test.db'}\n")
    assert (project / "migrations" / ".keep").is_file()
    assert (project / "diesel.toml").read_text() == DEFAULT_DIESEL_TOML
    assert tables(project / "test.db") == ["__diesel_schema_migrations"]
    assert run("setup").out == ""  # nothing to create, table exists: no migration runs (setup.rs)


def test_setup_runs_migrations_only_without_tracking_table(project: Path, run) -> None:
    """setup.rs `setup_runs_migrations_if_no_schema_table` / `setup_doesnt_run_migrations_if_schema_table_exists`."""
    migration(project, *USERS)
    assert run("setup").out.endswith("Creating database: " + str(project / "test.db") +
                                     "\nRunning migration 12345_create_users_table\n")
    (project / "test.db").unlink()
    make_database(project / "test.db", "CREATE TABLE __diesel_schema_migrations ( version INTEGER )")
    assert run("setup").out == "" and "users" not in tables(project / "test.db")


def test_setup_migration_dir_and_config_file_arguments(project: Path, run) -> None:
    """setup.rs `setup_writes_migration_dir_by_arg_to_config_file`, `setup_can_take_config_file_by_param`."""
    result = run("setup", "--migration-dir=foo", "--config-file=bar")
    assert result.code == 0 and result.out.startswith("Creating migrations directory at: foo\n")
    assert (project / "foo" / ".keep").is_file() and not (project / "migrations").exists()
    assert 'dir = "foo"' in (project / "bar").read_text() and not (project / "diesel.toml").exists()


def test_setup_without_project_root_is_diesels_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run) -> None:
    """main.rs `find_project_root`: no diesel.toml nor Cargo.toml upward → ProjectRootNotFound."""
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    result = run("setup", "--database-url", "x.db")
    assert result.code == 1
    assert result.err.startswith(f'Unable to find diesel.toml or Cargo.toml in "{tmp_path}" or any parent directories.')


def test_database_setup_reset_drop(project: Path, run) -> None:
    """database_setup.rs, database_reset.rs (`reset_runs_database_setup`, `reset_updates_schema_if_config_present`),
    database_drop.rs; `db` is an alias (`database_abbreviated_as_db`)."""
    (project / "migrations").mkdir()
    (project / "diesel.toml").write_text('[print_schema]\nfile = "src/my_schema.rs"\n')
    migration(project, *USERS)
    result = run("db", "setup")
    assert result.out == f"Creating database: {project / 'test.db'}\nRunning migration 12345_create_users_table\n"
    assert (project / "src" / "my_schema.rs").is_file()
    conn = sqlite3.connect(project / "test.db")
    conn.execute("CREATE TABLE posts ( id INTEGER )")
    conn.close()
    result = run("database", "reset")
    assert result.out == (f"Dropping database: {project / 'test.db'}\nCreating database: {project / 'test.db'}\n"
                          "Running migration 12345_create_users_table\n")
    assert tables(project / "test.db") == ["__diesel_schema_migrations", "users"]
    assert run("database", "drop").out == f"Dropping database: {project / 'test.db'}\n"
    assert not (project / "test.db").exists()
    assert run("database", "drop") .out == ""  # database_drop.rs `…_does_not_print_to_stdout_if_no_db_exists`


def test_database_migration_dir_before_and_after_the_verb(project: Path, run) -> None:
    """database_setup.rs `…_respects_migration_dir_by_arg_to_database` and `…_by_arg`."""
    migration(project, *USERS, folder="foo")
    assert "Running migration 12345" in run("database", "--migration-dir=foo", "setup").out
    (project / "test.db").unlink()
    assert "Running migration 12345" in run("database", "setup", "--migration-dir=foo").out


def test_database_verbs_use_the_workspace_and_refuse_production(project: Path, run,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """lightnb: without --database-url the workspace stands for production; production is never written
    nor deleted, whatever the spelling of its path; a file that is not SQLite is never deleted."""
    monkeypatch.delenv("DATABASE_URL")
    migration(project, *USERS)
    prod = make_database(project / "prod.db", "CREATE TABLE keep (x); INSERT INTO keep VALUES (1);")
    state = file_state(prod)
    (project / "lightnb.toml").write_text('production = "prod.db"\n')
    assert run("snapshot").code == 0
    result = run("database", "reset")
    workspace = project / ".lightnb" / "workspace.db"
    assert result.code == 0 and result.out.startswith(f"Dropping database: {workspace}\nCreating database:")
    assert "users" in tables(workspace) and "keep" not in tables(workspace)
    spellings = ["prod.db", str(prod), f"file:{prod}", "file:prod.db?mode=rwc", "sqlite://prod.db",
                 f"file://localhost{prod}", "file:pr%6Fd.db", f"./{prod.name}"]
    for url in spellings:
        for argv in (("database", "drop", "--database-url", url), ("database", "reset", "--database-url", url),
                     ("migration", "run", "--database-url", url), ("setup", "--database-url", url)):
            result = run(*argv)
            assert result.code == 1 and "production database" in result.err, (argv, result)
    assert file_state(prod) == state
    (project / "notes.db").write_text("not a database")
    result = run("database", "drop", "--database-url", "notes.db")
    assert result.code == 1 and "not a SQLite database" in result.err and (project / "notes.db").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_completions_parse_in_their_shell(project: Path, run, shell: str, tmp_path: Path) -> None:
    """completion_generation.rs: `completions bash|fish|zsh` succeed; here each script also parses in its shell."""
    result = run("completions", shell)
    assert result.code == 0 and "migration" in result.out and "--diff-schema" in result.out
    script = tmp_path / f"lightnb.{shell}"
    script.write_text(result.out)
    checks = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "-n"], "powershell": ["pwsh", "-NoProfile",
              "-Command", f"$null = [System.Management.Automation.Language.Parser]::ParseFile('{script}', "
                          f"[ref]$null, [ref]$e); if ($e) {{ exit 1 }}"], "elvish": ["elvish", "-compileonly"]}
    command = checks[shell]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    if shell == "elvish":  # the editor module exists only in an interactive shell: compile against a stand-in
        script.write_text(result.out.replace("set edit:completion:arg-completer[lightnb] = ", "var completer = "))
    argv = command if shell == "powershell" else command + [str(script)]
    checked = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_bash_completion_completes_verbs_and_choices(project: Path, run, tmp_path: Path) -> None:
    script = tmp_path / "lightnb.bash"
    script.write_text(run("completions", "bash").out)
    probe = (f"source {script}; COMP_WORDS=(lightnb migration re); COMP_CWORD=2; _lightnb; echo ${{COMPREPLY[@]}}; "
             f"COMP_WORDS=(lightnb print-schema --column-sorting ''); COMP_CWORD=3; _lightnb; echo ${{COMPREPLY[@]}}")
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out == "redo revert\nordinal_position name\n"


def test_version(run) -> None:
    """cli.rs: `-V` prints the short version, `--version` the long one (version, backends)."""
    short, long = run("-V"), run("--version")
    assert short.code == 0 and short.out.startswith("lightnb ") and short.out.count("\n") == 1
    assert long.code == 0 and "\n Version: " in long.out and "\n Supported Backends: sqlite\n" in long.out
    assert "diesel_cli 2.3.12" in long.out


def test_statement_log_masks_values(project: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """main.rs: DIESEL_LOG filters tracing output on stderr (database.rs logs each query); lightnb masks literals."""
    migration(project, "1_secret", "CREATE TABLE tokens (v TEXT); INSERT INTO tokens VALUES ('sk-live-123');",
              "DROP TABLE tokens;")
    quiet = run("migration", "run")
    assert quiet.err == "" and quiet.out == "Running migration 1_secret\n"
    monkeypatch.setenv("DIESEL_LOG", "debug")
    logged = run("migration", "redo")
    assert logged.out == "Rolling back migration 1_secret\nRunning migration 1_secret\n"
    assert "lightnb: SQL: INSERT INTO tokens VALUES ('…');" in logged.err and "sk-live" not in logged.err
    assert "lightnb: SQL: DELETE FROM __diesel_schema_migrations WHERE version = '…'" in logged.err
    monkeypatch.delenv("DIESEL_LOG")
    assert "lightnb: SQL: DROP TABLE tokens;" in run("migration", "--verbose", "revert").err


def test_global_options_after_the_group_verb(project: Path, run) -> None:
    """migration_run.rs `…_custom_database_url_2` / `…_custom_migration_dir_2`: options between `migration`
    and `run`."""
    migration(project, *USERS, folder="custom_migrations")
    result = run("migration", "--database-url", str(project / "other.db"), "--migration-dir",
                 "custom_migrations", "--config-file", "missing.toml", "run")
    assert (result.code, result.out) == (0, "Running migration 12345_create_users_table\n")
    assert "users" in tables(project / "other.db") and not (project / "test.db").exists()
    assert run("--locked-schema", "migration", "--migration-dir", "custom_migrations", "list").code == 0


def test_rows_of_a_statement_all_run_and_the_trigger_is_diesels(project: Path, run) -> None:
    """diesel sqlite/connection/mod.rs registers diesel_manage_updated_at, whose trigger text is
    diesel_manage_updated_at.sql with the name pasted unquoted; batch_execute steps every row."""
    migration(project, "1_updated_at",
              "CREATE TABLE users (id INTEGER PRIMARY KEY, updated_at TIMESTAMP);\n"
              "CREATE TABLE posts (id INTEGER PRIMARY KEY, updated_at TIMESTAMP);\n"
              "SELECT diesel_manage_updated_at(t) FROM (SELECT 'users' AS t UNION ALL SELECT 'posts');\n",
              "DROP TABLE posts; DROP TABLE users;")
    assert run("migration", "run").code == 0
    conn = sqlite3.connect(project / "test.db")
    triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    conn.close()
    assert sorted(triggers) == ["__diesel_manage_updated_at_posts", "__diesel_manage_updated_at_users"]
    assert triggers["__diesel_manage_updated_at_users"] == (
        "CREATE TRIGGER __diesel_manage_updated_at_users\nAFTER UPDATE ON users\nFOR EACH ROW WHEN\n"
        "  old.updated_at IS NULL AND\n  new.updated_at IS NULL OR\n  old.updated_at == new.updated_at\n"
        "BEGIN\n  UPDATE users\n  SET updated_at = CURRENT_TIMESTAMP\n  WHERE ROWID = new.ROWID;\nEND")


def test_print_schema_on_a_missing_or_memory_database(project: Path, run) -> None:
    """diesel connects with SQLITE_OPEN_CREATE: a missing database is created empty and its schema printed.

    lightnb prints the same schema but creates nothing (a reading verb never writes); stderr says so."""
    result = run("print-schema")
    assert (result.code, result.out) == (0, "// @generated automatically by Diesel CLI.\n")
    assert "does not exist (not created)" in result.err
    assert not (project / "test.db").exists()
    assert run("print-schema", "--database-url", ":memory:").out == "// @generated automatically by Diesel CLI.\n"
    migration(project, *USERS)
    result = run("migration", "run", "--database-url", ":memory:", "--no-schema")
    assert (result.code, result.out) == (0, "Running migration 12345_create_users_table\n")
    assert not (project / ":memory:").exists()


def test_schema_key_with_one_configuration_is_ignored(project: Path, run) -> None:
    """config.rs `update_config`/`set_filter`: without [print_schema.KEY] sections, every flag applies to the
    default configuration and --schema-key is not looked up."""
    make_database(project / "test.db", "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL);")
    (project / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n')
    plain = run("print-schema", "--with-docs")
    keyed = run("print-schema", "--schema-key", "user1", "--with-docs")
    assert keyed.code == 0 and keyed.out == plain.out and "/// Representation of the `users` table." in keyed.out


def test_config_file_that_does_not_exist_means_defaults(project: Path, run) -> None:
    """config.rs `Config::read`: a missing file is the default configuration, not an error."""
    make_database(project / "test.db", "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL);")
    result = run("print-schema", "--config-file", "nowhere.toml")
    assert result.code == 0 and "users (id)" in result.out


def test_file_uri_keeps_parameters_and_percent_decoding(project: Path, run) -> None:
    """diesel opens URLs with SQLITE_OPEN_URI (sqlite/connection/raw.rs): `file:` URIs keep `mode=ro` and are
    percent-decoded; a bare path is literal."""
    migration(project, *USERS)
    make_database(project / "app db.sqlite", "CREATE TABLE keep (x);")
    state = file_state(project / "app db.sqlite")
    result = run("migration", "run", "--database-url", "file:app%20db.sqlite?mode=ro")
    assert result.code == 1 and "attempt to write a readonly database" in result.err
    assert file_state(project / "app db.sqlite") == state
    assert run("migration", "run", "--database-url", "file:app%20db.sqlite").code == 0
    assert "users" in tables(project / "app db.sqlite")
    assert run("migration", "run", "--database-url", "app%20db.sqlite").code == 0
    assert (project / "app%20db.sqlite").is_file()
