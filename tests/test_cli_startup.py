"""The ``lightnb`` command loads only what the verb it runs needs (issue 15): structural, not timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "numpy", "sqlglot", "tree_sitter", "tree_sitter_rust", "papermill", "nbformat", "psycopg",
         "pglast", "matplotlib", "ipywidgets", "IPython")

RUN = r"""
import json, sys
from lightnb.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:
    code = done.code
sys.stdout.flush()
print("\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _loaded(args: list[str], cwd: Path) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


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


def test_a_verb_s_help_loads_only_that_verb(project: Path) -> None:
    code, modules = _loaded(["snapshot", "--help"], project)
    assert code == 0
    loaded = {m for m in modules if m.startswith("lightnb.cli.") and m != "lightnb.cli._common"}
    assert loaded == {"lightnb.cli.snapshot"}
    assert not modules & set(HEAVY)


def test_the_whole_command_tree_still_builds_for_completions() -> None:
    from lightnb.cli import VERBS, build_parser

    parser = build_parser()
    verbs = next(a for a in parser._actions if a.__class__.__name__ == "_Verbs")
    assert set(VERBS) <= set(verbs.choices)
    assert all(verbs.choices[name]._actions[1:] for name in VERBS), "every verb's arguments are added"


# What a listing needs: the project's settings and URL, the migrations folder, a read-only open of the
# database and the tracking-table query, the ledger and progress every command keeps, and the text of the result.
LISTING_MODULES = {
    "lightnb", "lightnb.errors", "lightnb.files", "lightnb.layout", "lightnb.settings", "lightnb.project",
    "lightnb.migrations", "lightnb.target", "lightnb.workspace", "lightnb.results", "lightnb.steps",
    "lightnb.runner", "lightnb.scratch", "lightnb.signals", "lightnb.statement_log", "lightnb.progress",
    "lightnb.backends", "lightnb.backends.statement", "lightnb.backends.sqlite", "lightnb.backends.sqlite.connection",
    "lightnb.backends.sqlite.files",
    "lightnb.cli", "lightnb.cli._common", "lightnb.cli.migration",
    "lightnb.render", "lightnb.render._dispatch", "lightnb.render.text",
}
# Loaded by the verbs that run or copy migrations, never by one that only reads the tracking table.
NOT_FOR_A_LISTING = {"lightnb.catalog", "lightnb.backends.sqlite.guard", "lightnb.backends.sqlite.script",
                     "lightnb.backends.sqlite.catalog", "lightnb.backends.sqlite.copies",
                     "lightnb.backends.sqlite.interrupt", "hashlib", "_hashlib"}


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
