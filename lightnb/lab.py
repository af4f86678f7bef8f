"""The workbook's JupyterLab: the folder it opens (the sample and clean notebook copies) and the command
that starts it on 127.0.0.1, with widget state saved and kernels on a quiet transport."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from lightnb.errors import ProjectError
from lightnb.extras import require
from lightnb.files import write_text_atomic

NOTEBOOKS = ("01_guided_migration.ipynb", "02_rehearse_on_production_copy.ipynb",
             "03_document_a_data_change.ipynb")


def prepare(folder: Path, *, users: int = 2000) -> Path:
    """Build the sample in ``folder`` (once) and copy the notebooks there with outputs cleared.

    The notebooks keep their default parameters: each run builds a fresh sample copy in a
    temporary folder, because they write migrations; ``folder``'s sample is for the CLI.

    :returns: the path of notebook 01 in ``folder``.
    """
    nbformat = require("nbformat", "lightnb workbook")

    from lightnb import samples
    from lightnb.rehearse import notebooks_dir

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / samples.PRODUCTION_NAME).exists():
        samples.sample_workbook(folder, users=users)
    source = notebooks_dir()
    for name in NOTEBOOKS:
        target = folder / name
        if target.exists():
            continue  # keep the user's edits
        nb = nbformat.read(source / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        text = nbformat.writes(nb)
        write_text_atomic(target, text if text.endswith("\n") else text + "\n", what="notebook")
    return folder / NOTEBOOKS[0]


# Defaults for this JupyterLab only (the user's own settings still win): no "get notified about
# Jupyter news?" toast over the notebook on a first start, and widget state saved with the notebook
# (so a saved workbook reopens with its panels as they were).
LAB_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}


def lab_settings(folder: Path) -> Path:
    """Write the workbook's JupyterLab setting defaults (``overrides.json``) under ``folder``; return their folder.

    Overrides the installation already has are kept; the workbook's own come on top.
    """
    require("jupyterlab", "lightnb workbook")
    from jupyterlab.labapp import LabApp

    target = folder / ".jupyterlab-settings"
    target.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, Any] = {}
    installed = Path(LabApp().app_settings_dir) / "overrides.json"
    if installed.is_file():
        try:
            overrides = json.loads(installed.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            overrides = {}
    for plugin, values in LAB_OVERRIDES.items():
        overrides[plugin] = {**overrides.get(plugin, {}), **values}
    write_text_atomic(target / "overrides.json", json.dumps(overrides, indent=2) + "\n", what="settings file")
    return target


def lab_command(folder: Path, *, port: int, token: str, notebook: str = NOTEBOOKS[0],
                no_browser: bool = False) -> list[str]:
    """Return the command starting the workbook's JupyterLab on ``folder`` (127.0.0.1:``port``).

    Its settings (:func:`lab_settings`) save widget state with notebooks; its kernels use an encrypted
    or local transport (:mod:`lightnb.kernel`).
    """
    from lightnb.kernel import lab_options

    require("jupyterlab", "lightnb workbook")
    lab = shutil.which("jupyter-lab") or str(Path(sys.executable).parent / "jupyter-lab")
    if not Path(lab).exists():
        raise ProjectError("jupyter-lab is not installed; install the workbook extra: pip install "
                           "'lightnb[workbook]'.")
    cmd = [lab, f"--ServerApp.root_dir={folder}", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--LabApp.default_url=/lab/tree/{notebook}", f"--LabApp.app_settings_dir={lab_settings(folder)}",
           "--LabApp.news_url=None", *lab_options()]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd
