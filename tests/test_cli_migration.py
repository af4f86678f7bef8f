"""The `lightnb migration …` and `lightnb snapshot` verbs, with diesel's output (diesel_spec.md §6.5)."""

import re
from pathlib import Path

import pytest

from lightnb.cli import main
from tests.support.builder import ProjectBuilder, content_of, file_state, make_database

USERS_UP = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATION_DIRECTORY", raising=False)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2017-08-31-210424_create_customers", "CREATE TABLE customers (id INTEGER PRIMARY KEY);",
                       "DROP TABLE customers;")
            .migration("2017-09-03-210424_create_contracts", "CREATE TABLE contracts (id INTEGER PRIMARY KEY);",
                       "DROP TABLE contracts;")
            .migration("2017-09-12-210424_create_bills", "CREATE TABLE bills (id INTEGER PRIMARY KEY);",
                       "DROP TABLE bills;")
            .build())
    monkeypatch.chdir(root)
    return root


def test_generate_prints_relative_paths(capsys, project: Path) -> None:
    code, out, _ = cli(capsys, "migration", "generate", "hello")
    assert code == 0
    assert re.fullmatch(r"Creating migrations.\d{4}-\d{2}-\d{2}-\d{6}-0000_hello.up.sql\n"
                        r"Creating migrations.\d{4}-\d{2}-\d{2}-\d{6}-0000_hello.down.sql\n", out)


def test_generate_with_version_and_migration_dir(capsys, project: Path) -> None:
    (project / "foo").mkdir()
    code, out, _ = cli(capsys, "migration", "generate", "hello", "--version=1234", "--migration-dir=foo")
    assert code == 0
    assert out == "Creating foo/1234_hello/up.sql\nCreating foo/1234_hello/down.sql\n"
    code, _, err = cli(capsys, "migration", "generate", "again", "--version=1234", "--migration-dir=foo")
    assert code == 1 and "Specified migration version `1234` already exists" in err


def test_generate_refuses_escaping_names(capsys, project: Path) -> None:
    for name in ["../evil", "", "a/b"]:
        code, out, err = cli(capsys, "migration", "generate", name)
        assert code == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert not (project / "evil").exists()


def test_run_list_pending_revert_redo_output(capsys, project: Path) -> None:
    db = "--database-url=app.db"
    code, out, err = cli(capsys, "migration", "pending", db)  # diesel's answer, without creating the database
    assert (code, out, err.count("\n")) == (0, "true\n", 1) and "does not exist (not created)" in err
    assert not (project / "app.db").exists()
    code, out, _ = cli(capsys, "migration", "run", db)
    assert code == 0
    assert out == ("Running migration 2017-08-31-210424_create_customers\n"
                   "Running migration 2017-09-03-210424_create_contracts\n"
                   "Running migration 2017-09-12-210424_create_bills\n")
    assert cli(capsys, "migration", "pending", db) == (0, "false\n", "")
    assert cli(capsys, "migration", "run", db) == (0, "", "")
    code, out, _ = cli(capsys, "migration", "list", db)
    assert out == ("Migrations:\n  [X] 2017-08-31-210424_create_customers\n"
                   "  [X] 2017-09-03-210424_create_contracts\n  [X] 2017-09-12-210424_create_bills\n")
    code, out, _ = cli(capsys, "migration", "redo", "-n", "2", db)
    assert out == ("Rolling back migration 2017-09-12-210424_create_bills\n"
                   "Rolling back migration 2017-09-03-210424_create_contracts\n"
                   "Running migration 2017-09-03-210424_create_contracts\n"
                   "Running migration 2017-09-12-210424_create_bills\n")
    assert cli(capsys, "migration", "revert", "-n", "0", db) == (0, "", "")
    code, out, _ = cli(capsys, "migration", "revert", "--all", db)
    assert out == ("Rolling back migration 2017-09-12-210424_create_bills\n"
                   "Rolling back migration 2017-09-03-210424_create_contracts\n"
                   "Rolling back migration 2017-08-31-210424_create_customers\n")
    tables = [r for r in content_of(project / "app.db")[0] if r[0] == "table"]
    assert [r[1] for r in tables] == ["__diesel_schema_migrations"]


def test_run_regenerates_schema_file(capsys, project: Path) -> None:
    assert cli(capsys, "migration", "run", "--database-url=app.db")[0] == 0
    schema = (project / "src" / "schema.rs").read_text()
    assert "diesel::table! {\n    bills (id) {" in schema
    assert cli(capsys, "migration", "revert", "--all", "--no-schema", "--database-url=app.db")[0] == 0
    assert (project / "src" / "schema.rs").read_text() == schema


def test_failing_migration_message_and_state(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = (ProjectBuilder(tmp_path / "p")
            .migration("1_ok", USERS_UP, "DROP TABLE users;")
            .migration("run_error_migrations_fails", "CREATE TABLE x(a);\nTHIS IS NOT SQL;\n", "DROP TABLE x;")
            .build())
    monkeypatch.chdir(root)
    code, out, err = cli(capsys, "migration", "run", "--database-url=p.db")
    assert code == 1
    assert out == "Running migration 1_ok\nRunning migration run_error_migrations_fails\n"
    assert err.startswith("Failed to run migrations: Failed to run run_error_migrations_fails with: ")
    assert "up.sql line 2" in err and err.count("\n") == 1
    code, out, _ = cli(capsys, "migration", "list", "--database-url=p.db")
    assert out == "Migrations:\n  [X] 1_ok\n  [ ] run_error_migrations_fails\n"


def test_empty_and_missing_down_errors(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = ProjectBuilder(tmp_path / "p").migration("12345_empty_migration", "", "").build()
    monkeypatch.chdir(root)
    code, _, err = cli(capsys, "migration", "run", "--database-url=p.db")
    assert code == 1
    assert "Failed to run 12345_empty_migration with: Attempted to run an empty migration." in err
    (root / "migrations" / "12345_empty_migration" / "up.sql").write_text("CREATE TABLE a(x);")
    (root / "migrations" / "12345_empty_migration" / "down.sql").unlink()
    assert cli(capsys, "migration", "run", "--database-url=p.db")[0] == 0
    code, out, err = cli(capsys, "migration", "revert", "--database-url=p.db")
    assert code == 1
    assert out == "Rolling back migration 12345_empty_migration\n"
    assert "Missing `down.sql` file to revert migration" in err


def test_missing_database_url_is_one_line(capsys, project: Path) -> None:
    code, out, err = cli(capsys, "migration", "run")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "--database-url" in err and "DATABASE_URL" in err


def test_database_url_from_dotenv(capsys, project: Path) -> None:
    (project / ".env").write_text("DATABASE_URL=from_env.db\n")
    assert cli(capsys, "migration", "run")[0] == 0
    assert (project / "from_env.db").is_file()


def test_snapshot_then_verbs_act_on_workspace(capsys, project: Path) -> None:
    prod = make_database(project / "prod.db", "CREATE TABLE keep(x); INSERT INTO keep VALUES (42);")
    state = file_state(prod)
    code, out, _ = cli(capsys, "snapshot", "--database-url", "prod.db")
    assert code == 0 and "workspace" in out
    code, out, err = cli(capsys, "migration", "run")
    assert code == 0 and "working on workspace" in err and out.count("Running migration") == 3
    workspace = project / ".lightnb" / "workspace.db"
    assert "bills" in content_of(workspace)[1]
    assert cli(capsys, "migration", "revert", "--all")[0] == 0
    assert cli(capsys, "snapshot", "--reset")[0] == 0
    assert content_of(workspace) == content_of(prod)
    assert cli(capsys, "snapshot", "--discard")[0] == 0
    assert not workspace.exists()
    assert file_state(prod) == state


def test_revert_number_must_be_an_integer(capsys, project: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["migration", "revert", "-n", "infinite"])
    assert info.value.code == 2


def test_locked_schema_prints_the_diff_on_stdout(capsys, project: Path) -> None:
    code, out, err = cli(capsys, "migration", "run", "--locked-schema", "--database-url=app.db")
    assert code == 1
    assert "Running migration 2017-09-12-210424_create_bills" in out
    assert "+diesel::table! {" in out  # the diff of the schema file that would change
    assert err.startswith("Command would result in changes to `") and err.count("\n") == 1
    assert not (project / "src" / "schema.rs").exists()


def test_schema_style_can_be_pinned(capsys, project: Path) -> None:
    (project / "lightnb.toml").write_text('[schema]\nstyle = "2.2"\n')
    assert cli(capsys, "migration", "run", "--database-url=app.db")[0] == 0
    assert ("diesel::allow_tables_to_appear_in_same_query!(\n    bills,\n    contracts,\n    customers,\n);"
            in (project / "src" / "schema.rs").read_text())
    assert cli(capsys, "migration", "redo", "--style", "2.3", "--database-url=app.db")[0] == 0
    assert ("diesel::allow_tables_to_appear_in_same_query!(bills, contracts, customers,);"
            in (project / "src" / "schema.rs").read_text())
    (project / "lightnb.toml").write_text('[schema]\nstyle = "1.4"\n')
    code, _, err = cli(capsys, "migration", "redo", "--database-url=app.db")
    assert code == 1 and "Unknown schema style '1.4'" in err


def test_global_options_before_the_verb(capsys, project: Path) -> None:
    assert cli(capsys, "--database-url", "app.db", "migration", "run")[0] == 0
    code, out, _ = cli(capsys, "--database-url=app.db", "migration", "list")
    assert code == 0 and out.count("[X]") == 3
    (project / "migrations" / "2018-01-01-000000_more").mkdir()
    (project / "migrations" / "2018-01-01-000000_more" / "up.sql").write_text("CREATE TABLE more (id INTEGER);")
    code, _, err = cli(capsys, "--locked-schema", "--database-url", "app.db", "migration", "run")
    assert code == 1 and "Command would result in changes" in err


def test_snapshot_does_not_overwrite_a_workspace_silently(capsys, project: Path) -> None:
    make_database(project / "prod.db", "CREATE TABLE keep(x);")
    assert cli(capsys, "snapshot", "--database-url", "prod.db")[0] == 0
    assert cli(capsys, "migration", "run")[0] == 0
    code, _, err = cli(capsys, "snapshot", "--database-url", "prod.db")
    assert code == 1 and "--reset" in err and err.count("\n") == 1
    assert cli(capsys, "migration", "pending")[1] == "false\n"  # the applied work is still there
