"""``lightnb snapshot`` of a WAL production loads only what copying needs (issue 15): structural, not timed.

A snapshot is a copy at the speed of ``cp`` plus a fixed cost, most of it the interpreter starting and the
verb's imports; what it must not load is named here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

RUN = r"""
import sys
from lightnb.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
loaded = sorted(sys.modules)
import json
print("\n" + json.dumps({"code": code, "modules": loaded}))
"""

# What a snapshot needs: the project and its settings, the guard's record, the workspace and its writer lock,
# the SQLite backend's file checks and copies (the WAL fold among them), and what every command keeps.
SNAPSHOT_MODULES = {
    "lightnb", "lightnb.lazy", "lightnb.errors", "lightnb.files", "lightnb.layout", "lightnb.settings",
    "lightnb.project", "lightnb.target", "lightnb.records", "lightnb.steps", "lightnb.workspace", "lightnb.writer_lock",
    "lightnb.scratch", "lightnb.ledger", "lightnb.signals", "lightnb.statement_log", "lightnb.progress",
    "lightnb.backends", "lightnb.backends.sqlite", "lightnb.backends.sqlite.connection",
    "lightnb.backends.sqlite.files", "lightnb.backends.sqlite.copies", "lightnb.backends.sqlite.wal",
    "lightnb.cli", "lightnb.cli._common", "lightnb.cli.snapshot", "lightnb.envfile",
    # loaded by lightnb.steps for the verbs that list migrations
    "lightnb.migrations", "lightnb.listing", "lightnb.rendered",
}
# It runs no SQL of a migration (no guard, no script splitting, no catalog), inspects nothing, hashes no file
# (the guard's record names the file, it does not fingerprint it) and makes no temporary folder: the copy is
# written beside the workspace and renamed into place. It takes the writer lock, not the runner (its migrations
# and ledger hooks), and the weak references that clean up private read copies belong to reads, not to a copy.
NOT_FOR_A_SNAPSHOT = {"lightnb.runner", "weakref",
                      "pandas", "numpy", "sqlglot", "pglast", "papermill", "nbformat", "psycopg", "ipywidgets",
                      "IPython", "lightnb.results", "lightnb.catalog", "lightnb.backends.sqlite.guard",
                      "lightnb.backends.sqlite.script", "lightnb.backends.sqlite.catalog",
                      "lightnb.backends.sqlite.interrupt", "lightnb.backends.statement", "hashlib", "_hashlib",
                      "tempfile", "shutil", "random", "dataclasses", "inspect", "ast", "mmap"}


def test_a_snapshot_of_a_wal_production_in_use_loads_only_the_named_set(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    production = tmp_path / "data" / "production.db"
    production.parent.mkdir()
    app = sqlite3.connect(production, isolation_level=None)  # the application, still running
    try:
        app.execute("PRAGMA journal_mode = wal")
        app.execute("PRAGMA wal_autocheckpoint = 0")
        app.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        app.executemany("INSERT INTO users (name) VALUES (?)", [(f"user {i}",) for i in range(500)])
        assert os.path.getsize(f"{production}-wal") > 0
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
        done = subprocess.run([sys.executable, "-c", RUN, "snapshot", "--database-url", str(production)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    finally:
        app.close()
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    modules = set(report["modules"])
    ours = {m for m in modules if m == "lightnb" or m.startswith("lightnb.")}
    assert ours <= SNAPSHOT_MODULES, sorted(ours - SNAPSHOT_MODULES)
    assert not modules & NOT_FOR_A_SNAPSHOT, sorted(modules & NOT_FOR_A_SNAPSHOT)
    copy = sqlite3.connect(tmp_path / ".lightnb" / "workspace.db")
    assert copy.execute("SELECT count(*) FROM users").fetchone() == (500,)
    copy.close()
