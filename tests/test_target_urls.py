"""One rule for which URL a verb is given (``--database-url``, else DATABASE_URL; empty is none), and one
answer to "is this database PostgreSQL's?" — the same for every verb, ``database setup`` included."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.cli import main
from lightnb.errors import ProjectError
from lightnb.project import Project, sqlite_location
from lightnb.target import given_url, is_postgres, resolve_database
from tests.support.builder import ProjectBuilder

UP = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL);"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATION_DIRECTORY", raising=False)
    root = ProjectBuilder(tmp_path / "app").migration("2024-01-01-000000_users", UP, "DROP TABLE users;").build()
    monkeypatch.chdir(root)
    return root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("given", "environment", "expected"), [
    ("given.db", "env.db", "given.db"),   # --database-url wins
    (Path("given.db"), None, "given.db"),
    ("", "env.db", "env.db"),              # an empty --database-url is none: DATABASE_URL
    (None, "env.db", "env.db"),
    ("", "", None),                        # an empty DATABASE_URL is none too
    (None, None, None),
])
def test_the_url_a_verb_is_given(project: Path, given: str | Path | None, environment: str | None,
                                 expected: str | None) -> None:
    environ = {} if environment is None else {"DATABASE_URL": environment}
    assert given_url(Project.discover(project, environ=environ), given) == expected


def test_database_setup_with_an_empty_url_uses_database_url_as_every_verb_does(
        capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "env.db")
    assert cli(capsys, "database", "setup", "--database-url", "") == (
        0, "Creating database: env.db\nRunning migration 2024-01-01-000000_users\n", "")
    assert (project / "env.db").is_file()
    code, out, _err = cli(capsys, "migration", "list", "--database-url", "")
    assert code == 0 and "[X] 2024-01-01-000000_users" in out
    assert cli(capsys, "database", "drop", "--database-url", "") == (0, "Dropping database: env.db\n", "")
    assert not (project / "env.db").exists()


def test_an_empty_url_and_no_database_url_is_diesels_missing_url_error(
        capsys: pytest.CaptureFixture[str], project: Path) -> None:
    for verb in (["database", "setup"], ["database", "drop"], ["print-schema"], ["migration", "run"]):
        code, out, err = cli(capsys, *verb, "--database-url", "")
        assert (code, out) == (1, ""), verb
        assert err.startswith("The --database-url argument must be passed"), (verb, err)
    with pytest.raises(ProjectError, match="--database-url argument must be passed"):
        resolve_database(Project.discover(project, environ={}), "")


def test_an_empty_url_still_means_the_workspace(capsys: pytest.CaptureFixture[str], project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "prod.db")
    assert cli(capsys, "database", "setup")[0] == 0
    assert cli(capsys, "snapshot")[0] == 0
    target = resolve_database(Project.discover(project), "")
    assert target.workspace and target.path == project / ".lightnb" / "workspace.db"


@pytest.mark.parametrize(("database", "postgres"), [
    ("postgres://u@localhost/app", True),
    (" postgresql://u@localhost/app", True),
    ("app.db", False),
    ("sqlite://app.db", False),
    ("file:app.db?mode=ro", False),
    (Path("postgres:/x"), False),          # a path is a SQLite file, whatever it is called
    (sqlite_location("app.db"), False),
    (None, False),
])
def test_is_postgres(database: object, postgres: bool) -> None:
    assert is_postgres(database) is postgres


def test_a_url_no_backend_reads_is_one_line_naming_the_accepted_ones(project: Path) -> None:
    from lightnb import steps
    with pytest.raises(ProjectError, match=r"`mysql://` is not supported; use postgres://") as caught:
        steps.list_migrations(Project.discover(project, environ={}), "mysql://u@h/app")
    assert "\n" not in str(caught.value)
    assert not list(project.glob("mysql*")) and not (project / "mysql:").exists()  # nothing was created
