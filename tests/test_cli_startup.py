"""The ``lightnb`` command loads only what the verb it runs needs (issue 15): structural, not timed."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lightnb.cli._common import LazySubParsers

HEAVY = ("pandas", "numpy", "sqlglot", "tree_sitter", "tree_sitter_rust", "papermill", "nbformat", "psycopg",
         "pglast", "matplotlib", "ipywidgets", "IPython")

RUN = r"""
import sys
from lightnb.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:
    code = done.code
sys.stdout.flush()
loaded = sorted(sys.modules)  # before this script's own json
import json
print("\n" + json.dumps({"code": code, "modules": loaded}))
"""


def _loaded(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    return _run(args, cwd, env)[:2]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, set[str], str]:
    """Run the command in a fresh interpreter: its exit code, the modules it loaded, its stderr."""
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env=env)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), done.stderr


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    migration = tmp_path / "migrations" / "2024-01-01-000000-0000_create_things"
    migration.mkdir(parents=True)
    (migration / "up.sql").write_text("CREATE TABLE things (id INTEGER PRIMARY KEY);\n", encoding="utf-8")
    (migration / "down.sql").write_text("DROP TABLE things;\n", encoding="utf-8")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("verb", [["migration", "pending"], ["migration", "list"]])
def test_a_listing_imports_no_parser_nor_dataframe(project: Path, verb: list[str]) -> None:
    code, modules = _loaded([*verb, "--database-url", str(project / "app.db")], project)
    assert code == 0
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    # and no other verb's module: only the one the command line names is loaded
    commands = {m for m in modules if m.startswith("lightnb.cli.") and m != "lightnb.cli._common"}
    assert commands == {"lightnb.cli.migration"}, commands


def test_help_loads_no_verb_and_no_step(project: Path) -> None:
    code, modules = _loaded(["--help"], project)
    assert code == 0
    assert not {m for m in modules if m.startswith("lightnb.cli.") and m != "lightnb.cli._common"}
    assert "lightnb.steps" not in modules and not modules & set(HEAVY)
    # nor typing (with re, enum and the rest it loads, most of what the command would add to argparse's own
    # start-up): the modules on this path import its names for the type checker only
    assert "typing" not in modules


def test_a_verb_s_help_loads_only_that_verb(project: Path) -> None:
    code, modules = _loaded(["snapshot", "--help"], project)
    assert code == 0
    loaded = {m for m in modules if m.startswith("lightnb.cli.") and m != "lightnb.cli._common"}
    assert loaded == {"lightnb.cli.snapshot"}
    assert not modules & set(HEAVY)


def test_the_whole_command_tree_still_builds_for_completions() -> None:
    from lightnb.cli import VERBS, build_parser

    parser = build_parser()
    verbs = next(a for a in parser._actions if a.__class__.__name__ == "LazySubParsers")
    assert set(VERBS) <= set(verbs.choices)
    assert all(verbs.choices[name]._actions[1:] for name in VERBS), "every verb's arguments are added"


# What a listing needs: the project's settings and URL, the migrations folder, a read-only open of the
# database and the tracking-table query, the ledger and progress every command keeps, and the text of the result.
LISTING_MODULES = {
    "lightnb", "lightnb.lazy", "lightnb.errors",
    "lightnb.files", "lightnb.layout", "lightnb.settings", "lightnb.project",
    "lightnb.migrations", "lightnb.target", "lightnb.listing", "lightnb.rendered", "lightnb.steps",
    "lightnb.ledger", "lightnb.signals", "lightnb.statement_log", "lightnb.progress",
    "lightnb.records", "lightnb.backends", "lightnb.backends.sqlite", "lightnb.backends.sqlite.connection",
    "lightnb.backends.sqlite.files",
    "lightnb.cli", "lightnb.cli._common", "lightnb.cli.migration", "lightnb.envfile",
    "lightnb.render", "lightnb.render._dispatch", "lightnb.render.text",
}
# Loaded by the verbs that run or copy migrations, never by one that only reads the tracking table (nor the
# results of the other verbs: a listing's own lives in lightnb.listing). A listing of a rollback-journal
# database with no workspace writes no file and reads no state: no temporary files, no JSON.
NOT_FOR_A_LISTING = {"lightnb.results", "lightnb.catalog", "lightnb.backends.sqlite.guard",
                     "lightnb.backends.sqlite.script", "lightnb.backends.sqlite.catalog",
                     "lightnb.backends.sqlite.copies", "lightnb.backends.sqlite.interrupt", "hashlib", "_hashlib",
                     "tempfile", "random", "json", "lightnb.inspect.redact",
                     # it runs no migration and copies nothing: no runner (nor its writer lock), no workspace
                     # (with --database-url, or no workspace there), no scratch copies
                     "lightnb.runner", "lightnb.workspace", "lightnb.scratch", "fcntl",
                     # no script is split (a statement type), and no threads are started
                     "lightnb.backends.statement", "threading",
                     # the result, settings and project types are records: no dataclasses, hence no inspect
                     # (with ast, dis and tokenize), loaded for a listing
                     "dataclasses", "inspect", "ast", "dis", "tokenize"}


@pytest.mark.parametrize("verb", [["migration", "pending"], ["migration", "list"]])
def test_a_listing_imports_only_the_named_set(project: Path, verb: list[str]) -> None:
    database = project / "app.db"
    import sqlite3
    with sqlite3.connect(database) as conn:  # a tracking table to read, as after `migration run`
        conn.execute("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
                     "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        conn.execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')")
    conn.close()
    code, modules = _loaded([*verb, "--database-url", str(database)], project)
    assert code == 0
    ours = {m for m in modules if m == "lightnb" or m.startswith("lightnb.")}
    assert ours <= LISTING_MODULES, sorted(ours - LISTING_MODULES)
    assert not modules & NOT_FOR_A_LISTING, sorted(modules & NOT_FOR_A_LISTING)


def test_the_sqlite_backend_loads_its_parts_when_used() -> None:
    done = subprocess.run([sys.executable, "-c", r"""
import sys
from lightnb.backends import sqlite
before = {m for m in sys.modules if m.startswith("lightnb.backends.sqlite.")}
names = {name: getattr(sqlite, name) for name in sqlite.__all__}
try:
    sqlite.no_such_name
except AttributeError as error:
    refused = str(error)
print(sorted(before)); print(refused)
print(sqlite.split is names["split"], callable(sqlite.connect), sqlite.guard.__name__)
"""], capture_output=True, text=True, timeout=60)
    before, refused, found = done.stdout.splitlines()
    assert before == "[]", before  # importing the backend loads none of its parts
    assert "no_such_name" in refused
    assert found == "True True lightnb.backends.sqlite.guard"


# -- errors and diffs load no SQL parser ------------------------------------------------------------------------

PARSERS = {"sqlglot", "pandas", "numpy", "pglast"}


def _environment_without_url() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}


def test_an_error_line_loads_no_sql_parser(project: Path) -> None:
    """Every error line is masked for secrets; the masking needs no parser and no data frame."""
    code, modules, err = _run(["migration", "list"], project, env=_environment_without_url())
    assert code == 1 and "DATABASE_URL" in err, err
    assert not modules & PARSERS, sorted(modules & PARSERS)
    assert "lightnb.inspect.redact" in modules  # the line was masked


def test_a_database_error_loads_no_sql_parser(project: Path) -> None:
    database = project / "app.db"
    database.write_bytes(b"this is not a database, password=hunter2" * 200)
    code, modules, err = _run(["migration", "list", "--database-url", str(database)], project)
    assert code == 1 and "hunter2" not in err, err
    assert not modules & PARSERS, sorted(modules & PARSERS)


def _plain_pair(folder: Path, *, changed_definition: bool = False) -> tuple[Path, Path]:
    before, after = folder / "before.db", folder / "after.db"
    for path, extra in ((before, ""), (after, " CHECK (length(name) < 100)" if changed_definition else "")):
        with sqlite3.connect(path) as conn:
            conn.execute(f"CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL{extra})")
            conn.executemany("INSERT INTO things (id, name) VALUES (?, ?)", [(i, f"thing {i}") for i in range(50)])
            if path == after:
                conn.execute("UPDATE things SET name = 'renamed' WHERE id < 5")
        conn.close()
    return before, after


def test_a_row_diff_of_plain_tables_loads_no_parser_nor_other_verbs(project: Path) -> None:
    before, after = _plain_pair(project)
    code, modules, err = _run(["diff", str(before), str(after)], project)
    assert code == 0, err
    assert not modules & PARSERS, sorted(modules & PARSERS)
    assert not {m for m in modules if m.startswith(("lightnb.lint", "lightnb.checks", "lightnb.capture"))}


def test_a_row_diff_parses_a_changed_table_definition(project: Path) -> None:
    """The parser is still used where a definition changed: the diff says what changed."""
    before, after = _plain_pair(project, changed_definition=True)
    done = subprocess.run([sys.executable, "-m", "lightnb", "diff", str(before), str(after)], capture_output=True,
                          text=True, cwd=project, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "check" in done.stdout.lower(), done.stdout
    assert "5 changed" in done.stdout, done.stdout


def test_the_inspect_package_gives_every_public_name_and_keeps_functions_over_modules() -> None:
    """``from lightnb.inspect import X`` is X's own object for every public X, before and after its modules
    are imported: ``preview``, ``row_diff`` and ``schema_diff`` stay the functions (also modules' names)."""
    done = subprocess.run([sys.executable, "-c", r"""
import importlib, sys, types
import lightnb.inspect as package
print(sorted(m for m in sys.modules if m.startswith("lightnb.inspect.")))
import lightnb.inspect.preview, lightnb.inspect.row_diff, lightnb.inspect.schema_diff  # binds the modules
from lightnb.inspect import preview, row_diff, schema_diff
print(all(isinstance(f, types.FunctionType) for f in (preview, row_diff, schema_diff)))
home = {n: module for module, names in package._HOMES.items() for n in names}
wrong = [name for name in package.__all__
         if getattr(package, name) is not getattr(importlib.import_module(home[name]), name)]
print(wrong, set(package.__all__) <= set(dir(package)))
try:
    package.no_such_name
except AttributeError as error:
    print("refused" if "no_such_name" in str(error) else error)
"""], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True", "[] True", "refused"], done.stdout


def test_a_result_imported_after_a_first_render_still_finds_its_renderer() -> None:
    """The text renderer registers the types of the modules imported so far, and again when more are."""
    done = subprocess.run([sys.executable, "-c", r"""
from lightnb.render import text
print(text.render(3))  # no renderer: the loader runs with no core module imported
from lightnb.inspect.row_diff import TableDiff
diff = TableDiff("things", "things", "compared", ("id",), 1, 0, 0, 9)
print(text.render(diff) == diff.to_text(), text.render.knows(diff))
"""], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["3", "True True"], done.stdout


# -- only the verb on the command line gets a parser ------------------------------------------------------------


def _lazy_actions(parser: argparse.ArgumentParser) -> LazySubParsers:
    return next(a for a in parser._actions if isinstance(a, LazySubParsers))


def test_a_listing_creates_the_parser_of_its_verb_only() -> None:
    from lightnb.cli import VERBS, build_parser

    parser = build_parser(lazy=True)
    args = parser.parse_args(["migration", "list", "--database-url", "app.db"])
    assert args.database_url == "app.db" and args.func.__name__ == "call"
    verbs = _lazy_actions(parser)
    names = {n for name, verb in VERBS.items() for n in (name, *verb.aliases)}
    assert set(verbs.unbuilt) == names - {"migration"}
    sub = _lazy_actions(verbs.choices["migration"])
    assert set(sub.unbuilt) == {"generate", "run", "revert", "redo", "pending"}


def test_the_lazy_command_tree_reads_as_the_whole_one() -> None:
    """Help, usage errors and aliases read the same whether the parsers were created up front or not."""
    from lightnb.cli import build_parser

    whole = build_parser()
    for path in ([], ["migration"], ["db"], ["migration", "generate"], ["database", "setup"]):
        lazy = build_parser(lazy=True)
        shown = []
        for tree in (whole, lazy):
            node = tree
            for name in path:
                action = next(a for a in node._actions if isinstance(a, argparse._SubParsersAction))
                node = action.build(name) if isinstance(action, LazySubParsers) else action.choices[name]
                assert node is not None
            shown.append(node.format_help())
        assert shown[0] == shown[1], path
    database = _lazy_actions(build_parser(lazy=True)).build("db")  # an alias: the verb's own parser
    assert database is not None and database.prog == "lightnb database"


def test_a_mistyped_sub_verb_lists_every_choice(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "lightnb", "migration", "lst"], capture_output=True, text=True,
                          cwd=project, timeout=60)
    assert done.returncode == 2
    assert "invalid choice: 'lst' (choose from 'generate', 'run', 'revert', 'redo', 'list', 'pending')" in done.stderr


def test_a_listing_with_a_env_file_loads_no_env_library(project: Path) -> None:
    """diesel projects keep DATABASE_URL in .env: reading it costs no library import (python-dotenv, logging)."""
    database = project / "app.db"
    sqlite3.connect(database).close()
    (project / ".env").write_text(f"DATABASE_URL={database}\n", encoding="utf-8")
    code, modules, err = _run(["migration", "list"], project, env=_environment_without_url())
    assert code == 0, err
    assert not modules & {"dotenv", "logging", "shlex", "lightnb.results"}, sorted(modules & {"dotenv", "logging"})
    assert "lightnb.envfile" in modules


# What a snapshot needs beyond a listing's core: the copy of the database, the verb's own command, no renderer.
SNAPSHOT_MODULES = (LISTING_MODULES - {"lightnb.cli.migration", "lightnb.render", "lightnb.render._dispatch",
                                       "lightnb.render.text", "lightnb.envfile"}
                    | {"lightnb.cli.snapshot", "lightnb.backends.sqlite.copies", "lightnb.writer_lock",
                       "lightnb.workspace", "lightnb.scratch"})


def test_a_snapshot_imports_only_the_named_set(project: Path) -> None:
    production = project / "prod.db"
    with sqlite3.connect(production) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    conn.close()
    code, modules, err = _run(["snapshot", "--database-url", str(production)], project)
    assert code == 0, err
    assert (project / ".lightnb" / "workspace.db").is_file()
    ours = {m for m in modules if m == "lightnb" or m.startswith("lightnb.")}
    assert ours <= SNAPSHOT_MODULES, sorted(ours - SNAPSHOT_MODULES)
    # a copy takes the writer lock, not the runner; weak references belong to the reads that make private copies
    assert not modules & {"lightnb.runner", "weakref"}, sorted(modules & {"lightnb.runner", "weakref"})
    assert not modules & (set(HEAVY) | {"lightnb.results", "lightnb.catalog", "lightnb.inspect.redact"})
    assert "json" in modules  # it writes the workspace's state and the record of workspaces
    # the copy's and the state's temporary files are made without tempfile (and its shutil, compression, random)
    assert not modules & {"tempfile", "shutil", "random", "bz2", "lzma", "dataclasses"}, \
        sorted(modules & {"tempfile", "shutil", "random", "bz2", "lzma", "dataclasses"})


@pytest.mark.parametrize("columns", [None, "", "junk", "0", "-3", "57", "200"])
def test_help_is_as_wide_as_argparse_would_make_it(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parsers measure the terminal without shutil, and get the width argparse gets from it."""
    import shutil

    from lightnb.cli import build_parser
    from lightnb.cli._common import DieselArgumentParser, help_width

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("LINES", "40")
    assert help_width() == shutil.get_terminal_size().columns - 2
    ours = build_parser().format_help()
    monkeypatch.setattr(DieselArgumentParser, "_get_formatter", argparse.ArgumentParser._get_formatter)
    assert ours == build_parser().format_help()


def test_a_listing_loads_no_compression_module(project: Path) -> None:
    """shutil (with zlib, bz2 and lzma) is loaded by a command that copies or removes files, not by a listing."""
    code, modules, err = _run(["migration", "list", "--database-url", str(project / "app.db")], project)
    assert code == 0, err
    assert not modules & {"shutil", "bz2", "lzma"}, sorted(modules & {"shutil", "bz2", "lzma"})


def test_toml_is_read_only_where_there_is_a_file(project: Path) -> None:
    """A project with no diesel.toml, no lightnb.toml and no metadata.toml loads no TOML parser; one with a
    metadata.toml still honours it (a migration outside a transaction)."""
    (project / "diesel.toml").unlink()
    code, modules, err = _run(["migration", "list", "--database-url", str(project / "app.db")], project)
    assert code == 0, err
    assert "tomllib" not in modules
    (project / "diesel.toml").write_text("[migrations_directory]\ndir = \"migrations\"\n", encoding="utf-8")
    code, modules, err = _run(["migration", "list", "--database-url", str(project / "app.db")], project)
    assert code == 0 and "tomllib" in modules, err
    from lightnb.migrations import discover

    found = discover(project / "migrations")
    (found[0].path / "metadata.toml").write_text("run_in_transaction = false\n", encoding="utf-8")
    assert discover(project / "migrations")[0].run_in_transaction is False


def test_the_command_leaves_what_it_loaded_out_of_garbage_collection(project: Path) -> None:
    """As a process (the console script, ``python -m lightnb``), what was loaded before the verb ran is moved out
    of the collector's passes, and the collector is on while the verb runs; :func:`main` called in a process that
    goes on (a test, a notebook) freezes nothing."""
    done = subprocess.run([sys.executable, "-c", r"""
import gc, sys
from lightnb.cli import main, run
from lightnb import steps
seen, made = [], []
real = steps.list_migrations
def spy(*args, **kwargs):
    seen.append((gc.isenabled(), gc.get_freeze_count() > 0, "lightnb.steps" in sys.modules))
    made.append([[n] for n in range(100)])  # what a verb keeps (the modules it loads)
    return real(*args, **kwargs)
steps.list_migrations = spy
args = ["migration", "list", "--database-url", sys.argv[1]]
main(args)
sys.argv = ["lightnb", *args]
run()
collected = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
print(seen, gc.isenabled(), id(made[-1]) not in collected and id(made[-1][0]) not in collected)
""", str(project / "app.db")], capture_output=True, text=True, cwd=project, timeout=120)
    assert done.returncode == 0, done.stderr
    # and once the verb returned, what it made is left out of the collector's passes on the way out too
    assert done.stdout.splitlines()[-1] == "[(True, False, True), (True, True, True)] True True", done.stdout


def test_the_console_script_and_python_m_run_the_process_entry() -> None:
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"]["lightnb"] == "lightnb.cli:run"
    assert "sys.exit(run())" in (Path(__file__).parents[1] / "lightnb" / "__main__.py").read_text(encoding="utf-8")


def test_signals_know_the_main_thread_without_loading_threading() -> None:
    done = subprocess.run([sys.executable, "-c", r"""
import sys
from lightnb import signals
print(signals.in_main_thread(), "threading" in sys.modules)
import threading
found = []
thread = threading.Thread(target=lambda: found.append(signals.in_main_thread()))
thread.start(); thread.join()
print(signals.in_main_thread(), found)
"""], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True False", "True [False]"], done.stdout


def test_a_listing_on_the_workspace_loads_the_workspace_but_not_the_runner(project: Path) -> None:
    production = project / "prod.db"
    with sqlite3.connect(production) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    conn.close()
    made = subprocess.run([sys.executable, "-m", "lightnb", "snapshot", "--database-url", str(production)],
                          capture_output=True, text=True, cwd=project, timeout=120)
    assert made.returncode == 0, made.stderr
    code, modules, err = _run(["migration", "list"], project, env=_environment_without_url())
    assert code == 0 and "working on workspace" in err, err
    assert "lightnb.workspace" in modules
    assert not modules & {"lightnb.runner", "lightnb.scratch", "fcntl", "dataclasses"}, \
        sorted(modules & {"lightnb.runner", "lightnb.scratch", "fcntl", "dataclasses"})


def test_the_runner_keeps_its_ledger_names() -> None:
    from lightnb import ledger, runner

    assert runner.Ledger is ledger.Ledger and runner.recording is ledger.recording
    with runner.recording() as recorded:
        assert ledger.CURRENT.get() is recorded and recorded.state().startswith("no migration")
    assert ledger.CURRENT.get() is None


def test_a_check_of_a_sqlite_project_loads_no_postgresql_driver(project: Path) -> None:
    database = project / "app.db"
    with contextlib.closing(sqlite3.connect(database)) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    code, modules, err = _run(["check", "--no-tests", "--database-url", str(database)], project)
    assert code == 0, err
    assert "lightnb.checks" in modules
    loaded = {m for m in modules if m.split(".")[0] in ("psycopg", "psycopg_binary", "pglast")
              or m.startswith("lightnb.backends.postgres")}
    assert not loaded, sorted(loaded)
