"""`lightnb workbook --prepare-only` builds the sample and clean notebook copies; the renderers escape."""

from __future__ import annotations

from pathlib import Path

import nbformat

from lightnb.cli import main
from lightnb.render import html, markdown, text


def test_workbook_prepares_sample_and_clean_notebooks(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "wb"
    assert main(["workbook", "--dir", str(folder), "--prepare-only", "--users", "50"]) == 0
    assert "Prepared" in capsys.readouterr().out
    assert (folder / "production.db").is_file() and (folder / "sample_backend" / "diesel.toml").is_file()
    nb = nbformat.read(folder / "01_guided_migration.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert "widgets" not in nb.metadata
    (folder / "01_guided_migration.ipynb").write_text("edited", encoding="utf-8")
    assert main(["workbook", "--dir", str(folder), "--prepare-only"]) == 0  # rerun keeps user edits
    assert (folder / "01_guided_migration.ipynb").read_text(encoding="utf-8") == "edited"


def test_renderers_escape_values() -> None:
    import pandas as pd

    frame = pd.DataFrame({"name": ["<script>alert(1)</script>"], "n": [1]})
    assert "<script>" not in html.frame(frame) and "&lt;script&gt;" in html.frame(frame)
    assert "<script>" not in html.banner("<script>x</script>")
    assert "<script" not in markdown.frame(frame) and "\\|" in markdown.cell("a|b")
    assert text.table(("a", "b"), [(1, None)]).splitlines() == ["a  b", "1"]


def test_workbook_lab_saves_widget_state_and_quiets_kernel_transport(tmp_path: Path) -> None:
    import json

    from lightnb.lab import lab_command

    command = lab_command(tmp_path, port=8899, token="t0k", no_browser=True)
    settings_dir = next(a.split("=", 1)[1] for a in command if a.startswith("--LabApp.app_settings_dir="))
    overrides = json.loads((Path(settings_dir) / "overrides.json").read_text())
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}
    assert "--no-browser" in command and "--ServerApp.port_retries=0" in command
    transport = [a for a in command if a.startswith("--KernelManager.")]
    assert transport in (["--KernelManager.transport_encryption=auto"], ["--KernelManager.transport=ipc"])
