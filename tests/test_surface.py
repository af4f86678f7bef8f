"""The product's surface: the core works without Jupyter, every verb has help, no stray tracebacks."""

import argparse
import subprocess
import sys
from pathlib import Path

from lightnb.cli import build_parser

REPO = Path(__file__).resolve().parents[1]

CORE_WITHOUT_JUPYTER = r"""
import sys
for name in ("IPython", "ipywidgets", "ipykernel", "ipylab", "jupyterlab", "nbformat", "papermill"):
    sys.modules[name] = None  # any import of these now fails
import lightnb, lightnb.steps, lightnb.inspect, lightnb.schema, lightnb.lint, lightnb.models, lightnb.cli
from lightnb.cli import build_parser
build_parser()
import tempfile, pathlib
tmp = pathlib.Path(tempfile.mkdtemp())
(tmp / "migrations" / "1_a").mkdir(parents=True)
(tmp / "migrations" / "1_a" / "up.sql").write_text("CREATE TABLE a (id INTEGER PRIMARY KEY);")
(tmp / "migrations" / "1_a" / "down.sql").write_text("DROP TABLE a;")
project = lightnb.Project.discover(tmp)
result = lightnb.run(project, tmp / "db.sqlite", capture=lightnb.Capture())
assert result.names == ["1_a"], result.names
print("ok")
"""


def test_core_imports_and_runs_without_jupyter() -> None:
    done = subprocess.run([sys.executable, "-c", CORE_WITHOUT_JUPYTER], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def _verbs(parser, prefix=()):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _verbs(sub, prefix + (name,))
                yield prefix + (name,), sub


def test_every_cli_verb_has_help() -> None:
    verbs = list(_verbs(build_parser()))
    names = {" ".join(v) for v, _ in verbs}
    for needed in ("migration generate", "migration run", "migration revert", "migration redo",
                   "migration list", "migration pending", "snapshot", "print-schema", "diff"):
        assert needed in names, f"missing CLI verb {needed}"
    for verb, parser in verbs:
        assert parser.format_help().strip(), f"{verb} has no help"
