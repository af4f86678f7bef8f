"""Opening a workbook on a PostgreSQL project: a fresh workspace database copied from production, never production."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb import steps
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.private import NotPrivate
from lightnb.errors import ProjectError, WorkspaceError
from lightnb.results import PostgresWorkspace
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

CREATE = "2024-01-01-000000_create_notes"


def _project(root: Path, database_url: str, production: str | None) -> Path:
    built = ProjectBuilder(root, config=None).migration(
        CREATE, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
                "INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 5) AS i;\n",
        "DROP TABLE notes;\n").build()
    (built / ".env").write_text(f"DATABASE_URL={database_url}\n", encoding="utf-8")
    if production is not None:
        (built / "lightnb.toml").write_text(f'production = "{production}"\n', encoding="utf-8")
    return built


def _notes(url: str) -> list[tuple[object, ...]]:
    with connect(url, read_only=True) as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM notes ORDER BY id")]


@pytest.fixture
def production(pg_database: PgDatabase) -> PgDatabase:
    pg_database.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
                        "INSERT INTO notes VALUES (1, 'production row');\n")
    return pg_database


def test_a_workbook_opens_on_a_fresh_copy_of_production(tmp_path: Path, production: PgDatabase,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    workspace = f"{production.name}_workspace"
    url = production.cluster.create_database(workspace)
    try:
        with connect(url) as conn:
            conn.execute("CREATE TABLE stale (id INTEGER PRIMARY KEY)")
        root = _project(tmp_path / "app", url, production.url)
        started = steps.open_workbook(root, backend="postgres")
        assert isinstance(started.workspace, PostgresWorkspace) and started.workspace.path == url
        assert started.workspace.production == production.url
        assert _notes(url) == [(1, "production row")]  # copied again: the stale table is gone
        with connect(url, read_only=True) as conn:
            assert conn.execute("SELECT to_regclass('stale')").fetchone() == (None,)
        assert _notes(production.url) == [(1, "production row")]
    finally:
        production.cluster.drop_database(workspace)


def test_a_workbook_refuses_production_as_its_workspace(tmp_path: Path, production: PgDatabase,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = _project(tmp_path / "app", production.url, production.url)
    with pytest.raises(WorkspaceError, match="^DATABASE_URL names production") as caught:
        steps.open_workbook(root, backend="postgres")
    assert "\n" not in str(caught.value)
    assert _notes(production.url) == [(1, "production row")]  # nothing dropped, nothing copied


def test_a_workbook_refuses_a_workspace_outside_the_private_cluster(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = _project(tmp_path / "app", "postgresql://someone@db.example.invalid/app", None)
    with pytest.raises(NotPrivate, match="only databases of its own private cluster"):
        steps.open_workbook(root, backend="postgres")


def test_a_postgres_workbook_needs_postgres_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = _project(tmp_path / "app", str(tmp_path / "dev.db"), None)
    with pytest.raises(ProjectError, match="DATABASE_URL"):
        steps.open_workbook(root, backend="postgres")
    with pytest.raises(ProjectError, match="postgres:// URL"):
        steps.open_workbook(root, tmp_path / "production.db", backend="postgres")
    with pytest.raises(ProjectError, match="Unknown workbook backend"):
        steps.open_workbook(root, backend="mysql")
