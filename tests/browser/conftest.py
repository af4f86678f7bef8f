"""JupyterLab on loopback and Debian's Chromium driven by Playwright (no browser download).

The server runs in isolated Jupyter folders on a free port, serves a copy of the notebooks with
outputs stripped, and is stopped through its REST API (then the process group is signalled). It
starts with the settings and kernel transport ``lightnb workbook`` gives its JupyterLab (widget
state saved with notebooks; no unencrypted kernel transport).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("LIGHTNB_CHROMIUM", "/usr/bin/chromium")
# Every request that leaves the machine goes to a proxy that is not there, so it fails at once (a CDN
# lookup can neither hang nor succeed); loopback and file: URLs never use a proxy. Routing requests
# through Playwright instead (page.route) stalls JupyterLab's save: its PUT never reaches the server.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--proxy-server=http://127.0.0.1:9"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def _stop(proc: subprocess.Popen, shutdown_url: str) -> None:
    if proc.poll() is None:
        try:
            urllib.request.urlopen(urllib.request.Request(shutdown_url, method="POST"), timeout=5)
            proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - fall back to signals below
            pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; skips cleanly when it is not installed (`make test` installs it)."""
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"chromium not found at {CHROMIUM}; run scripts/install-system-deps.sh")
    pytest.importorskip("playwright.sync_api")
    return CHROMIUM


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Start JupyterLab serving ``tmp_path/nbs``; yield ``(base_url, notebook_dir)``."""
    nbdir, iso = tmp_path / "nbs", tmp_path / "jupyter"
    nbdir.mkdir()
    settings = iso / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(iso / "config"), "JUPYTER_RUNTIME_DIR": str(iso / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(iso / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(iso / "workspaces")}
    from lightnb.kernel import lab_options
    from lightnb.lab import lab_settings

    port = _free_port()
    cmd = [str(BIN / "jupyter-lab"), "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
           "--ServerApp.disable_check_xsrf=True", "--ServerApp.port_retries=0", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", f"--LabApp.app_settings_dir={lab_settings(iso)}",
           *lab_options()]
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=nbdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_http(f"{base}/api/status", proc)
            yield base, nbdir
        finally:
            _stop(proc, f"{base}/api/shutdown")


@pytest.fixture
def server_log(lab: tuple[str, Path]) -> Path:
    """The JupyterLab server's log (kernels' messages land there too)."""
    return lab[1].parent / "server.log"


@pytest.fixture
def page(chromium_path: str) -> Iterator[object]:
    """A Chromium page that may only reach loopback (any CDN request fails at once)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()
