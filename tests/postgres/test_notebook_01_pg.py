"""Notebook 01 with ``backend = "postgres"`` walks the same steps on a real server (papermill, headless): the run's
previews show the new column, the revert restores the rows, production is only read, and no server is left running."""

from __future__ import annotations

import glob
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from lightnb.backends.postgres.binaries import PostgresNotInstalled, find_binaries
from lightnb.backends.postgres.cluster import socket_dir_of, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.sample import CLUSTER_FOLDER, PRODUCTION_DATABASE, WORKSPACE_DATABASE
from lightnb.rehearse import notebooks_dir
from lightnb.report import export
from lightnb.samples import EXERCISE, TABLE_COLUMNS

pytestmark = pytest.mark.timeout(300)
NOTEBOOK = "01_guided_migration.ipynb"


def _made_folders() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "lightnb-workbook-*" / "sample_backend" / CLUSTER_FOLDER)))


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    with connect(url, read_only=True) as conn:
        return {table: [tuple(r) for r in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")]
                for table, columns in TABLE_COLUMNS.items()}


def test_notebook_01_walks_the_steps_on_postgres(tmp_path: Path) -> None:
    try:
        find_binaries()
    except PostgresNotInstalled as error:
        pytest.skip(str(error))
    stored = nbformat.read(notebooks_dir() / NOTEBOOK, as_version=4)
    assert "backend = 'sqlite'" in stored.cells[1].source  # stored outputs stay SQLite
    known = _made_folders()
    executed = tmp_path / NOTEBOOK
    papermill.execute_notebook(str(notebooks_dir() / NOTEBOOK), str(executed), cwd=str(tmp_path),
                               kernel_name="python3", progress_bar=False,
                               parameters={"backend": "postgres", "sample_users": 150})
    made = sorted(_made_folders() - known)
    assert len(made) == 1, made
    cluster_folder = Path(made[0])
    try:
        socket = socket_dir_of(cluster_folder) / ".s.PGSQL.5432"
        deadline = time.monotonic() + 15
        while socket.exists() and time.monotonic() < deadline:  # the kernel stops its cluster as it exits
            time.sleep(0.1)
        assert not socket.exists(), "the notebook's kernel left its PostgreSQL server running"

        nb = nbformat.read(executed, as_version=4)
        texts = [o.get("data", {}).get("text/plain", "") + o.get("text", "") for c in nb.cells
                 if c.cell_type == "code" for o in c.get("outputs", [])]
        joined = "\n".join(texts)
        assert "Workbook on sample_backend: workspace copy of sample_production" in joined
        for panel in ("<Run panel: applied 1 migration(s)>", f"<Inspect panel: inspected {EXERCISE.table}>",
                      "<Test panel: verdict: safe>", "<Revert panel: reverted 1 migration(s)>"):
            assert panel in texts, panel
        # the previews show the new column with its default on the workspace's real rows
        preview = next(t for t in texts if t.lstrip().startswith("user_id") or "timezone" in t and "theme" in t)
        assert EXERCISE.column in preview and "system" in preview
        assert "Traceback" not in joined and "Error" not in joined

        cluster = start_cluster(cluster_folder)
        try:
            # the revert restored every row: the workspace holds production's rows again, and production
            # was only read (the exercise never reached it)
            assert _rows(cluster.url(WORKSPACE_DATABASE)) == _rows(cluster.url(PRODUCTION_DATABASE))
            with connect(cluster.url(PRODUCTION_DATABASE), read_only=True) as conn:
                versions = [r[0] for r in conn.execute("SELECT version FROM __diesel_schema_migrations")]
                columns = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                                      "WHERE table_name = 'user_settings'")]
                clones = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'lightnb_clone_%'"
                                      ).fetchone()
            assert not any(EXERCISE.name in v for v in versions) and EXERCISE.column not in columns
            assert clones == (0,)  # every before copy was dropped when the kernel ended
            with connect(cluster.url(PRODUCTION_DATABASE), read_only=True) as conn:
                secrets = [r[0] for r in conn.execute("SELECT email FROM users UNION ALL SELECT password_hash "
                                                      "FROM users UNION ALL SELECT access_token_encrypted FROM "
                                                      "oauth_connections")]
            report = export(executed, tmp_path / "report")
            assert report.html is not None and report.markdown is not None and report.records >= 6
            shown = "\n".join((executed.read_text(encoding="utf-8"), report.html.read_text(encoding="utf-8"),
                               report.markdown.read_text(encoding="utf-8")))
            assert "[redacted]" in shown and not [s for s in secrets if s in shown]  # no secret leaves the copy
        finally:
            cluster.destroy()
    finally:
        shutil.rmtree(cluster_folder.parent.parent.parent, ignore_errors=True)
