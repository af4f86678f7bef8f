"""``lightnb sample --backend postgres``: the sample on a private cluster of the project, then the guided steps."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightnb.backends.postgres.binaries import PostgresNotInstalled, find_binaries
from lightnb.backends.postgres.cluster import socket_dir_of, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.sample import CLUSTER_FOLDER
from lightnb.cli import main
from lightnb.project import Project

USERS = 60
THEME = "2025-04-01-000000-0000_add_theme_to_user_settings"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _server_running(cluster_dir: Path, seconds: float = 30.0) -> bool:
    """Whether the server still runs ``seconds`` after the command ended (its stop is not waited for)."""
    socket = socket_dir_of(cluster_dir) / ".s.PGSQL.5432"
    deadline = time.monotonic() + seconds
    while socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return socket.exists()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``lightnb sample --backend postgres`` run once, in its own process (as a user runs it)."""
    try:
        find_binaries()
    except PostgresNotInstalled as error:
        pytest.skip(str(error))
    dest = tmp_path_factory.mktemp("pgsample") / "workbook"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    done = subprocess.run([sys.executable, "-m", "lightnb", "sample", "--backend", "postgres", "--users", str(USERS),
                           str(dest)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    project = dest / "sample_backend"
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines[:4]] == ["project", "cluster", "production", "workspace"]
    assert f"({USERS} users," in lines[2] and "now stopped" in lines[1]
    assert not _server_running(project / CLUSTER_FOLDER)  # the command left no server running
    yield project
    cluster = start_cluster(project / CLUSTER_FOLDER)
    cluster.destroy()


@pytest.fixture
def project(made: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(made)
    yield made
    cluster = start_cluster(made / CLUSTER_FOLDER)  # the one a command of this test started, if any
    if cluster.owned:
        cluster.stop()


def test_a_command_starts_the_cluster_and_leaves_it_stopped(made: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    done = subprocess.run([sys.executable, "-m", "lightnb", "migration", "list"], cwd=made, capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Migrations:\n  [X] 00000000000000_diesel_initial_setup\n")
    assert "[ ]" not in done.stdout
    assert not _server_running(made / CLUSTER_FOLDER)


def test_the_guided_steps_on_the_workspace_copy_never_on_production(capsys, project: Path) -> None:
    settings = Project.discover(project).settings
    production = settings["production"]
    assert "sample_production" in production and settings["postgres"] == {"cluster": CLUSTER_FOLDER}
    code, out, err = cli(capsys, "migration", "generate", "add_theme_to_user_settings",
                         "--version", "2025-04-01-000000-0000")
    assert code == 0, err
    folder = project / "migrations" / THEME
    (folder / "up.sql").write_text("ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'system';\n",
                                   encoding="utf-8")
    (folder / "down.sql").write_text("ALTER TABLE user_settings DROP COLUMN theme;\n", encoding="utf-8")
    try:
        assert cli(capsys, "migration", "run") == (0, f"Running migration {THEME}\n", "")
        schema = (project / "src" / "schema.rs").read_text(encoding="utf-8")
        assert "        theme -> Text,\n" in schema
        with connect(production) as conn:
            settings_rows = conn.execute("SELECT count(*) FROM user_settings").fetchone()[0]
        with connect(Project.discover(project).database_url or "") as conn:
            assert conn.execute("SELECT count(*), min(theme), max(theme) FROM user_settings").fetchone() == (
                settings_rows, "system", "system")
        assert settings_rows > USERS // 2
        with connect(production) as conn:  # production has no theme: only the copy was migrated
            assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                                "'user_settings' AND column_name = 'theme'").fetchone() == (0,)
        code, out, err = cli(capsys, "migration", "run", f"--database-url={production}")
        assert code == 1 and "production database" in err and err.count("\n") == 1
        assert cli(capsys, "models", "generate", "--apply")[0] == 0
        assert cli(capsys, "models", "check")[0] == 0
        assert cli(capsys, "migration", "revert") == (0, f"Rolling back migration {THEME}\n", "")
        assert "theme" not in (project / "src" / "schema.rs").read_text(encoding="utf-8")
    finally:
        for path in sorted(folder.iterdir()):
            path.unlink()
        folder.rmdir()


def test_check_on_the_sample_starts_its_cluster_and_proves_on_a_clone(made: Path, tmp_path: Path) -> None:
    """Production lives in the project's own cluster: check starts it, proves a new migration, stops it."""
    import shutil
    migrations = tmp_path / "migrations"
    shutil.copytree(made / "migrations", migrations)  # the sample's history plus one new migration
    folder = migrations / "2030-01-01-000000-0000_drop_preview"
    folder.mkdir()
    (folder / "up.sql").write_text("ALTER TABLE message_log DROP COLUMN body_preview;\n", encoding="utf-8")
    (folder / "down.sql").write_text("ALTER TABLE message_log ADD COLUMN body_preview TEXT;\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    done = subprocess.run([sys.executable, "-m", "lightnb", "check", "--no-tests", "--migration-dir", str(migrations)],
                          cwd=made, capture_output=True, text=True, env=env, timeout=300)
    assert "verdict: unsafe" in done.stdout, done.stderr
    assert "down.sql does not restore the rows: message_log" in done.stdout
    assert not _server_running(made / CLUSTER_FOLDER)


def test_commands_act_on_the_workspace_as_the_rehearsal_role(capsys, project: Path, tmp_path: Path) -> None:
    """SQL built at run time, which no static check can read, meets a role without superuser or program rights."""
    from lightnb.backends.postgres import url as pgurl
    from lightnb.backends.postgres.clone import ROLE
    url = Project.discover(project).database_url or ""
    assert pgurl.parse(url).get("user") == ROLE
    marker = tmp_path / "ran"
    code, _, err = cli(capsys, "migration", "generate", "built_at_run_time", "--version", "2030-02-02-000000-0000")
    assert code == 0, err
    folder = project / "migrations" / "2030-02-02-000000-0000_built_at_run_time"
    (folder / "up.sql").write_text(
        "DO $$ BEGIN EXECUTE 'CO' || 'PY (SELECT 1) TO PRO' || 'GRAM ' || quote_literal('touch "
        f"{marker}'); END $$;\n", encoding="utf-8")
    (folder / "down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    try:
        code, out, err = cli(capsys, "migration", "run")
        assert code == 1 and err.count("\n") == 1 and "pg_execute_server_program" in err, err
        assert not marker.exists()
        with connect(url) as conn:  # nothing half-applied: the version was not recorded
            assert conn.execute("SELECT count(*) FROM __diesel_schema_migrations "
                                "WHERE version = '20300202000000'").fetchone() == (0,)
    finally:
        for path in sorted(folder.iterdir()):
            path.unlink()
        folder.rmdir()


def test_database_reset_works_on_the_workspace_owned_by_the_rehearsal_role(capsys, project: Path) -> None:
    code, out, err = cli(capsys, "database", "reset")
    assert code == 0, err
    assert "Creating database: sample_workspace" in out
    url = Project.discover(project).database_url or ""
    with connect(url) as conn:  # recreated, owned by the role, and the history applied as that role
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database "
                             "WHERE datname = current_database()").fetchone()
        assert owner == ("lightnb_rehearsal",)
        assert conn.execute("SELECT count(*) FROM __diesel_schema_migrations").fetchone()[0] > 1
