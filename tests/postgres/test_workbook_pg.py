"""Opening a workbook on a PostgreSQL project: a fresh workspace database copied from production, never production."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lightnb import steps
from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.clone import ROLE
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.private import NotPrivate
from lightnb.errors import LightnbError, ProjectError, WorkspaceError
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
        assert isinstance(started.workspace, PostgresWorkspace)
        assert pgurl.user_of(pgurl.parse(started.workspace.path)) == ROLE  # the steps act as the rehearsal role
        assert pgurl.database_of(pgurl.parse(started.workspace.path)) == workspace
        assert started.workspace.production == production.url
        assert _notes(started.workspace.url) == [(1, "production row")]  # copied again: the stale table is gone
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


def test_migration_sql_on_the_workspace_has_no_server_rights(tmp_path: Path, production: PgDatabase,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """SQL built at run time slips past the static guard; on the workspace it meets the rehearsal role's rights."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    workspace = f"{production.name}_workspace"
    url = production.cluster.create_database(workspace)
    marker = Path("/tmp") / f"lightnb-program-ran-{workspace}"
    marker.unlink(missing_ok=True)
    try:
        root = _project(tmp_path / "app", url, production.url)
        shutil.rmtree(root / "migrations" / CREATE)  # production has its table already
        hostile = root / "migrations" / "2024-02-01-000000_hostile"
        hostile.mkdir()
        (hostile / "up.sql").write_text(
            "DO $$ BEGIN EXECUTE 'CO' || 'PY (SELECT 1) TO PRO' || 'GRAM ' || "
            f"quote_literal('touch {marker}'); END $$;\n", encoding="utf-8")
        (hostile / "down.sql").write_text("SELECT 1;\n", encoding="utf-8")
        started = steps.open_workbook(root, backend="postgres")
        assert isinstance(started.workspace, PostgresWorkspace)
        with pytest.raises(LightnbError, match="pg_execute_server_program|permission denied"):
            steps.run_on_workspace(started.project, started.workspace)
        assert not marker.exists()
        listing = steps.list_migrations(started.project, started.workspace.path)
        assert [m.applied for m in listing.migrations] == [False]
        with connect(started.workspace.url, read_only=True) as conn:
            with pytest.raises(Exception, match="permission denied"):
                conn.execute("SELECT pg_read_file('PG_VERSION')")
    finally:
        marker.unlink(missing_ok=True)
        production.cluster.drop_database(workspace)
