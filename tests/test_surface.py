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


# ----------------------------------------------------------------------------- the door
# The workbook's steps (../shared/STYLE.md §8): each has its steps function, its CLI command and its
# panel (or, for the headless rehearsal, its notebook). ``steps`` names every function the step uses.
WORKBOOK_STEPS = {
    "generate": (("generate",), ("migration generate",), "generate"),
    "edit": (("save_sql", "lint_sql"), ("lint",), "edit"),
    "run": (("run", "run_on_workspace"), ("migration run",), "run"),
    "inspect": (("inspect",), ("inspect",), "inspect"),
    "regenerate models": (("regenerate", "apply_model_changes"), ("print-schema", "models check", "models generate"),
                          "models"),
    "test": (("test",), ("check",), "test"),
    "revert": (("revert", "revert_on_workspace"), ("migration revert", "migration redo"), "revert"),
    "verify": (("verify",), ("inspect",), "verify"),
    "rehearse": (("rehearse",), ("rehearse",), "02_rehearse_on_production_copy.ipynb"),
}

# steps functions a view calls to set itself up rather than to do a user's action.
VIEW_HELPERS = {"command", "stopped", "mask_message", "is_bookkeeping", "open_project", "open_workspace",
                "require_migrations_dir", "resolve_target", "workspace_folder", "check_fail_on", "models_fail_on",
                "preview_modes", "schema_option_choices", "completion_shells", "sample_defaults", "lint_rules",
                "name_advice", "find_migration", "read_sql", "lab_command"}
# steps functions of the library API that no view needs (the others call them, or a script does).
LIBRARY_ONLY = {"flag_groups", "lint", "lint_database", "production_path", "refuse_production",
                "regenerate_schema_files", "schema_style", "workspace_protects"}


def _cli_leaves() -> set[str]:
    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> set[str]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return {" ".join(prefix)}
        return {leaf for a in subs for name, sub in a.choices.items() for leaf in walk(sub, prefix + (name,))}
    return walk(build_parser(), ())


def _sources(folder: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "lightnb" / folder).glob("*.py")))


def test_every_workbook_step_has_a_steps_function_a_cli_command_and_a_panel_or_notebook() -> None:
    import lightnb.steps as steps_module

    leaves = _cli_leaves()
    cli, ui = _sources("cli"), _sources("ui")
    for step, (functions, commands, view) in WORKBOOK_STEPS.items():
        for name in functions:
            function = getattr(steps_module, name, None)
            assert callable(function) and function.__doc__, f"{step}: steps.{name} is missing or has no docstring"
            assert f"steps.{name}(" in cli + ui, f"{step}: no CLI verb or panel calls steps.{name}"
        for command in commands:
            assert command in leaves, f"{step}: no CLI command `lightnb {command}`"
        if view.endswith(".ipynb"):
            assert (REPO / "notebooks" / view).is_file(), f"{step}: notebook {view} is missing"
        else:
            panel = (REPO / "lightnb" / "ui" / f"{view}.py").read_text(encoding="utf-8")
            assert any(f"steps.{name}(" in panel for name in functions), f"{step}: panel ui.{view} calls no step"


def test_every_steps_function_is_a_view_s_door_or_named_as_library_only() -> None:
    """A new steps function is wired to a view (the CLI or a panel), or said to be for the library alone."""
    import inspect

    import lightnb.steps as steps_module

    views = _sources("cli") + _sources("ui")
    functions = {n for n in steps_module.__all__ if inspect.isfunction(getattr(steps_module, n))}
    unused = sorted(n for n in functions - LIBRARY_ONLY if f"steps.{n}(" not in views)
    assert not unused, f"steps functions no CLI verb or panel calls: {unused}"
    assert not (LIBRARY_ONLY | VIEW_HELPERS) - functions, "a name listed here is no longer a steps function"
    for name in functions:
        assert getattr(steps_module, name).__doc__, f"steps.{name} has no docstring (it doubles as help)"


def test_every_cli_command_is_a_steps_verb_s_view() -> None:
    """Each leaf command's handler calls into steps (the import contract keeps it from reaching past)."""
    from lightnb.cli import VERBS

    for leaf in _cli_leaves():
        verb = next(v for name, v in VERBS.items() if leaf.split()[0] in (name, *v.aliases))
        module = (REPO / "lightnb" / "cli" / f"{verb.module}.py").read_text(encoding="utf-8")
        assert "steps." in module, f"`lightnb {leaf}` does not go through steps"


def test_the_cli_and_the_panels_import_only_the_door() -> None:
    """The import contracts of pyproject.toml hold (the CLI and the panels import only steps, results,
    render, errors and extras; the core never imports them; no circles among them)."""
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
