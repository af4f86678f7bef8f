"""The rehearsal builds the project's redactor (its [redact] settings and their lineage through the migrations) in a
thread while the kernel starts and runs the notebook: every file it writes is still masked with all of it, and when
the redactor cannot be built nothing is written."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import nbformat
import pytest

from lightnb import rehearse as rehearse_module
from lightnb import samples, steps
from lightnb.cli import main
from lightnb.errors import ProjectError
from lightnb.inspect.redact import Redactor
from lightnb.project import Project
from lightnb.rehearse import NOTEBOOK, _Tools

pytestmark = pytest.mark.timeout(180)
CANARY = "Zelda Quokkafeather-7c1"


def _sample(tmp_path: Path) -> samples.SampleWorkbook:
    """A sample whose project masks users.display_name, with a pending migration renaming it to shown_name."""
    made = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    settings = made.project_dir / "lightnb.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "[redact]\n", '[redact]\ncolumns = ["users.display_name"]\n'), encoding="utf-8")
    conn = sqlite3.connect(made.production_db)
    with conn:
        conn.execute("UPDATE users SET display_name = ? WHERE id <= 3", (CANARY,))
    conn.close()
    project = Project.discover(made.project_dir)
    created = steps.generate(project, "rename_display_name").migration
    steps.save_sql(project, created.name, up="ALTER TABLE users RENAME COLUMN display_name TO shown_name;",
                   down="ALTER TABLE users RENAME COLUMN shown_name TO display_name;")
    return made


def _notebook_showing_the_renamed_column(folder: Path) -> Path:
    """A notebook 02 of the team's own that shows production's rows under the migration's new name, as a plain
    DataFrame and a print (no panel masks them), and prints a verdict."""
    folder.mkdir()
    parameters = nbformat.v4.new_code_cell('project_dir = ""\nproduction_db = ""\nworkspace_dir = ""\nlimit = None\n'
                                           'run_project_tests = False')
    parameters.metadata["tags"] = ["parameters"]
    shown = nbformat.v4.new_code_cell(
        "import sqlite3, pandas as pd\n"
        "rows = pd.read_sql('SELECT id, display_name AS shown_name FROM users ORDER BY id LIMIT 5', "
        "sqlite3.connect(f'file:{production_db}?mode=ro', uri=True))\n"
        "print(rows.to_string())\n"
        "rows")
    verdict = nbformat.v4.new_code_cell('"safe"')
    verdict.metadata["tags"] = ["lightnb-verdict"]
    nbformat.write(nbformat.v4.new_notebook(cells=[parameters, shown, verdict],
                                            metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                     "display_name": "Python 3"}}),
                   folder / NOTEBOOK)
    return folder


def test_the_redactor_is_built_in_the_tools_thread_and_what_stops_it_is_raised_where_it_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _sample(tmp_path)
    project = Project.discover(made.project_dir)
    monkeypatch.setattr(rehearse_module, "_warm_exporters", lambda: None)
    built_in: list[threading.Thread] = []
    original = rehearse_module._redactor

    def recording(of: Project) -> Redactor:
        built_in.append(threading.current_thread())
        return original(of)

    monkeypatch.setattr(rehearse_module, "_redactor", recording)
    redactor = _Tools.warm_up(project).redactor()
    assert built_in and built_in[0] is not threading.main_thread()
    # the lineage is there: the migration's new name is masked, which the settings alone do not say
    assert redactor.is_sensitive("shown_name", "users")
    assert not Redactor.from_settings(project.settings).is_sensitive("shown_name", "users")

    def failing(of: Project) -> Redactor:
        raise ProjectError("lightnb.toml: [redact] is unreadable")

    monkeypatch.setattr(rehearse_module, "_redactor", failing)
    tools = _Tools.warm_up(project)
    tools.wait_for_papermill()
    for _ in range(2):  # every use raises it
        with pytest.raises(ProjectError, match="unreadable"):
            tools.redactor()


def test_every_file_a_rehearsal_writes_masks_what_the_lineage_masks(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    made = _sample(tmp_path)
    monkeypatch.setenv("LIGHTNB_NOTEBOOKS", str(_notebook_showing_the_renamed_column(tmp_path / "notebooks")))
    out = tmp_path / "out"
    assert main(["rehearse", "--project", str(made.project_dir), "--database", str(made.production_db),
                 "--out", str(out)]) == 0
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in written} == {NOTEBOOK, "02_rehearse_on_production_copy.html",
                                         "02_rehearse_on_production_copy.md"}
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert CANARY not in text, f"{path.name} shows a column the lineage masks"
        assert "shown_name" in text  # the table is there, masked


def test_nothing_is_written_when_the_redactor_cannot_be_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    made = _sample(tmp_path)
    monkeypatch.setenv("LIGHTNB_NOTEBOOKS", str(_notebook_showing_the_renamed_column(tmp_path / "notebooks")))

    def failing(of: Project) -> Redactor:
        raise ProjectError("lightnb.toml: [redact] is unreadable; fix it")

    monkeypatch.setattr(rehearse_module, "_redactor", failing)
    out = tmp_path / "out"
    assert main(["rehearse", "--project", str(made.project_dir), "--database", str(made.production_db),
                 "--out", str(out)]) == 1
    assert "[redact] is unreadable" in capsys.readouterr().err
    assert not [p for p in out.rglob("*") if p.is_file()]
