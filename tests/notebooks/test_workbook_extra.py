"""`pip install lightnb` gives the library and CLI without JupyterLab; the workbook extra adds the rest.

The CLI runs in a child Python where every package of the workbook extra (and what only they bring:
IPython, the kernel, the Jupyter server and client) fails to import, as on a machine without it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from lightnb import samples

REPO = Path(__file__).resolve().parents[2]
WORKBOOK_ONLY = ("ipywidgets", "jupyterlab", "ipylab", "papermill", "nbconvert", "nbformat", "nbclient", "matplotlib",
                 "jinja2", "IPython", "ipykernel", "jupyter_client", "jupyter_server", "zmq", "mistune")

BLOCKED_CLI = r"""
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
if sys.argv[2] == "import-ui":
    try:
        import lightnb.ui
    except ImportError as error:
        print(error)
        sys.exit(1)
    sys.exit(0)
from lightnb.cli import main
sys.exit(main(sys.argv[2:]))
"""


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKED_CLI, ",".join(WORKBOOK_ONLY), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_core_dependencies_leave_jupyter_to_the_workbook_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in project["dependencies"]}
    extra = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower()
             for d in project["optional-dependencies"]["workbook"]}
    assert not core & {"ipywidgets", "jupyterlab", "ipylab", "papermill", "nbconvert", "nbformat", "nbclient",
                       "matplotlib", "jinja2"}
    assert {"ipywidgets", "jupyterlab", "ipylab", "papermill", "nbconvert", "nbclient", "matplotlib"} <= extra


def test_the_cli_works_without_the_workbook_extra(tmp_path: Path) -> None:
    project_dir, production = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    assert cli("--help").returncode == 0
    listed = cli("migration", "list", "--database-url", str(production), cwd=project_dir)
    assert listed.returncode == 0, listed.stderr
    assert "[X]" in listed.stdout and "create_users" in listed.stdout
    snapshot = cli("snapshot", cwd=project_dir)
    assert snapshot.returncode == 0, snapshot.stderr
    generated = cli("migration", "generate", "add_theme", cwd=project_dir)
    assert generated.returncode == 0, generated.stderr
    ran = cli("migration", "run", cwd=project_dir)
    assert ran.returncode == 0, ran.stderr
    assert "Running migration" in ran.stdout


@pytest.mark.parametrize("args", [("report", "{nb}"), ("rehearse", "--database", "{db}", "--out", "{out}"),
                                  ("workbook", "--dir", "{out}", "--prepare-only")])
def test_workbook_verbs_say_in_one_line_what_to_install(tmp_path: Path, args: tuple[str, ...]) -> None:
    project_dir, production = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    notebook = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    filled = [a.format(nb=notebook, db=production, out=tmp_path / "out") for a in args]
    done = cli(*filled, cwd=project_dir)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"lightnb {args[0]} needs " in done.stderr and "pip install 'lightnb[workbook]'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_importing_the_panels_without_the_extra_says_what_to_install() -> None:
    done = cli("import-ui")
    assert done.returncode == 1
    assert done.stdout.strip() == ("the workbook's panels (lightnb.ui) needs ipywidgets, which is not installed; "
                                   "install the workbook extra: pip install 'lightnb[workbook]'")


def test_rehearse_loads_papermill_without_the_iri_grammar() -> None:
    """jsonschema compiles a whole IRI grammar at import when rfc3987_syntax is there; a rehearsal never
    needs it (notebook validation checks no string format), so it is kept out of the process."""
    import subprocess
    import sys

    code = ("import sys\nfrom lightnb import rehearse\nrehearse._skip_costly_imports()\nimport nbformat, jsonschema\n"
            "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
