"""Production's SHA-256 and mtime are unchanged after every workflow path of the CLI.

Every verb is run the way a team would (production named by DATABASE_URL, the workspace made by
``lightnb snapshot``); the ``guarded`` fixture compares production's bytes, mtime and size, and
checks no journal or WAL appeared beside it, after the test.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from reliability_support import REPO, db_state, write_migration

from lightnb.cli import main

NEW = "2024-02-01-000000-0000_add_tags"


def _has_verb(verb: str) -> bool:
    return importlib.util.find_spec(f"lightnb.cli.{verb.replace('-', '_')}") is not None


@pytest.fixture
def team(guarded, monkeypatch):
    """The guarded project as cwd, DATABASE_URL naming production, a schema file configured."""
    monkeypatch.chdir(guarded.root)
    monkeypatch.setenv("DATABASE_URL", str(guarded.production))
    monkeypatch.delenv("MIGRATION_DIRECTORY", raising=False)
    monkeypatch.delenv("DIESEL_CONFIG_FILE", raising=False)
    (guarded.root / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n\n'
                                              '[migrations_directory]\ndir = "migrations"\n', encoding="utf-8")
    (guarded.root / "src").mkdir()
    write_migration(guarded.migrations, NEW, "CREATE TABLE tags (id INTEGER PRIMARY KEY NOT NULL, name TEXT);\n"
                    "INSERT INTO tags (name) VALUES ('red');\n", "DROP TABLE tags;\n")
    return guarded


def _cli(capsys, *argv: str) -> int:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code


def test_rehearsal_on_the_workspace_never_touches_production(team, capsys):
    assert _cli(capsys, "snapshot") == 0
    workspace = team.root / ".lightnb" / "workspace.db"
    assert db_state(workspace) == db_state(team.production)
    for argv in (["migration", "list"], ["migration", "pending"], ["migration", "run"],
                 ["migration", "redo"], ["migration", "revert"], ["migration", "run"],
                 ["migration", "redo", "--all"], ["migration", "revert", "--all"], ["snapshot", "--status"],
                 ["snapshot", "--reset"], ["migration", "run", "--no-schema"]):
        assert _cli(capsys, *argv) == 0, argv
        team.assert_production_untouched()
    assert "tags" in db_state(workspace)[1]
    assert _cli(capsys, "snapshot", "--discard") == 0


def test_read_only_verbs_on_production_never_write_it(team, capsys):
    production = str(team.production)
    commands = [["inspect", production], ["inspect", production, "--table", "accounts"],
                ["inspect", production, "--table", "SELECT * FROM posts", "--format", "json"],
                ["diff", production, production], ["print-schema"], ["lint"], ["check", "--no-tests"],
                ["models", "check"]]
    ran = 0
    for argv in commands:
        if not _has_verb(argv[0]):
            continue
        _cli(capsys, *argv)  # exit codes vary (lint findings, drift); only production matters here
        team.assert_production_untouched()
        ran += 1
    assert ran >= 3


def test_failed_rehearsal_and_faults_leave_production_alone_in_a_real_process(team):
    write_migration(team.migrations, "2024-03-01-000000-0000_broken", "CREATE TABLE x (id INTEGER);\nCREAT oops;\n")
    env = {"PYTHONPATH": str(REPO), "DATABASE_URL": str(team.production), "PATH": "/usr/bin:/bin"}
    for argv in (["snapshot"], ["migration", "run"], ["migration", "revert", "--all"], ["snapshot", "--reset"]):
        result = subprocess.run([sys.executable, "-m", "lightnb", *argv], cwd=team.root, env=env,
                                capture_output=True, text=True, timeout=120)
        assert "Traceback" not in result.stderr
        team.assert_production_untouched()
