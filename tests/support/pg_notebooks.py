"""Running a workbook notebook on the sample's PostgreSQL variant (papermill, headless), and what a test checks
after it: the kernel stopped its server, production holds the same rows, no secret reached the outputs."""

from __future__ import annotations

import glob
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest

from lightnb.backends.postgres.binaries import PostgresNotInstalled, find_binaries
from lightnb.backends.postgres.cluster import Cluster, socket_dir_of, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.sample import CLUSTER_FOLDER, PRODUCTION_DATABASE
from lightnb.rehearse import notebooks_dir


def _made_folders(tmp: Path) -> list[str]:
    return sorted(glob.glob(str(tmp / "lightnb-workbook-*" / "sample_backend" / CLUSTER_FOLDER)))


def require_postgres() -> None:
    """Skip, saying why, when PostgreSQL's programs are missing."""
    try:
        find_binaries()
    except PostgresNotInstalled as error:
        pytest.skip(str(error))


@dataclass
class Executed:
    """A notebook executed on the PostgreSQL sample.

    :param path: the executed notebook.
    :param texts: every code cell's text outputs (``text/plain`` and streams), one item per output.
    :param cluster: the sample's cluster, started again by the test to read it (destroyed afterwards).
    """

    path: Path
    texts: list[str]
    cluster: Cluster

    @property
    def joined(self) -> str:
        """All text outputs in one string."""
        return "\n".join(self.texts)


def text_outputs(path: Path) -> list[str]:
    """Return the text of every code cell output of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            plain = output.get("data", {}).get("text/plain", "")
            stream = output.get("text", "")
            texts.append(("".join(plain) if isinstance(plain, list) else plain)
                         + ("".join(stream) if isinstance(stream, list) else stream))
    return texts


def assert_server_stopped(cluster_folder: Path, timeout: float = 15.0) -> None:
    """Assert that no server listens on the cluster of ``cluster_folder`` (the kernel stops it as it exits)."""
    socket = socket_dir_of(cluster_folder) / ".s.PGSQL.5432"
    deadline = time.monotonic() + timeout
    while socket.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not socket.exists(), "the notebook's kernel left its PostgreSQL server running"


@contextmanager
def executed_on_postgres(notebook: str, out_dir: Path, monkeypatch: pytest.MonkeyPatch,
                         **parameters: Any) -> Iterator[Executed]:
    """Execute ``notebook`` with ``backend = "postgres"`` on the sample; yield it with its cluster started again.

    The kernel builds the sample in a temporary folder of its own (``TMPDIR`` points it at one made for this
    test, short enough for a unix socket, so tests running side by side never mistake each other's sample).
    Asserts that the stored notebook's parameters stay SQLite and that the kernel left no server running; the
    sample's folder is removed afterwards.
    """
    import os
    import shutil
    require_postgres()
    stored = nbformat.read(notebooks_dir() / notebook, as_version=4)
    assert "backend = 'sqlite'" in stored.cells[1].source  # stored outputs stay SQLite
    tmp = Path(tempfile.mkdtemp(prefix="lnb-nb-", dir="/tmp"))
    os.chmod(tmp, 0o711)  # PostgreSQL's system user (when tests run as root) passes through to its folders
    monkeypatch.setenv("TMPDIR", str(tmp))  # the kernel's temporary folder
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # and this process's, to find the cluster's socket
    try:
        executed = out_dir / notebook
        papermill.execute_notebook(str(notebooks_dir() / notebook), str(executed), cwd=str(out_dir),
                                   kernel_name="python3", progress_bar=False,
                                   parameters={"backend": "postgres", **parameters})
        made = _made_folders(tmp)
        assert len(made) == 1, made
        folder = Path(made[0])
        assert_server_stopped(folder)
        cluster = start_cluster(folder)
        try:
            yield Executed(executed, text_outputs(executed), cluster)
        finally:
            cluster.destroy()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def production_secrets(cluster: Cluster) -> list[str]:
    """Return the sample production's secret values (e-mails, password hashes, tokens)."""
    with connect(cluster.url(PRODUCTION_DATABASE), read_only=True) as conn:
        return [r[0] for r in conn.execute("SELECT email FROM users UNION ALL SELECT password_hash FROM users "
                                           "UNION ALL SELECT access_token_encrypted FROM oauth_connections")]


def clones_left(cluster: Cluster) -> int:
    """Return how many before copies (``lightnb_clone_*``) are left in the cluster."""
    with connect(cluster.url(), read_only=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'lightnb_clone_%'").fetchone()
    return int(row[0]) if row else 0
