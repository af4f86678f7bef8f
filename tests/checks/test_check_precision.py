"""Precision of the test step's reasons: tests not run, the workspace baseline, the given database's
schema as the replay's start, declared irreversible migrations, column order in `lightnb diff`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lightnb import steps
from lightnb.checks import check
from lightnb.cli import main
from lightnb.lint import lint_project
from lightnb.markers import comments, declared_irreversible, marker_without_reason
from lightnb.project import Project
from tests.support.builder import ProjectBuilder, make_database

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n"


def _project(root: Path, migrations: dict[str, tuple[str, str]]) -> Project:
    builder = ProjectBuilder(root)
    for name, (up, down) in migrations.items():
        builder.migration(name, up, down)
    return Project.discover(builder.build())


def _production(path: Path, applied: tuple[str, ...] = ("20240101000000",)) -> Path:
    tracking = ("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
                "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                + "".join(f"INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}');" for v in applied))
    return make_database(path, USERS + "INSERT INTO users (name) VALUES ('ann'), ('bob'), ('cy');" + tracking)


BASE = {"2024-01-01-000000_users": (USERS, "DROP TABLE users;\n")}
NICK = {"2024-01-02-000000_nick": ("ALTER TABLE users ADD COLUMN nick TEXT;\n",
                                   "ALTER TABLE users DROP COLUMN nick;\n")}


# -- point 9: no Cargo.toml is not a failing test ---------------------------------------------

def test_cargo_test_without_cargo_toml_is_not_run_and_not_unsafe(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", BASE | NICK)
    result = check(project, database=_production(tmp_path / "prod.db"))  # default command: cargo test
    assert result.tests is not None and result.tests.status == "not run"
    assert result.tests.summary == f"tests: not run (no Cargo.toml from {project.root.resolve()} upward)"
    assert result.verdict == "safe" and not result.fails("attention")
    assert result.tests.summary in result.to_text().splitlines()
    assert json.loads(json.dumps(result.to_dict(), default=str))["tests"]["summary"] == result.tests.summary


def test_a_cargo_toml_above_the_folder_counts(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\n', encoding="utf-8")
    project = _project(tmp_path / "backend", BASE | NICK)
    (project.root / "lightnb.toml").write_text('[test]\ncommand = "cargo-that-does-not-exist test"\n')
    result = check(Project.discover(project.root), database=_production(tmp_path / "prod.db"))
    assert result.tests.status == "skipped"  # a custom command is run as given (here: not installed)


# -- point 11: a workspace that is no longer a copy of production says so --------------------

def test_workspace_after_migration_run_says_it_differs_from_production(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path / "app", BASE | NICK)
    production = _production(tmp_path / "prod.db")
    untouched = (production.read_bytes(), production.stat().st_mtime_ns)
    workspace = steps.snapshot(project, database_url=production)
    fresh = check(project, database=workspace.path, run_tests=False)
    assert fresh.baseline is not None and not fresh.baseline.differs
    steps.run(project, workspace.path, regenerate_schema=False)
    with sqlite3.connect(workspace.path) as conn:
        conn.execute("UPDATE users SET nick = 'x' WHERE id = 1")
    result = check(project, database=workspace.path, run_tests=False)
    assert result.baseline is not None and result.baseline.differs
    assert result.baseline.applied_here_only == ("20240102000000",)
    from lightnb.render.html import check_result
    html = check_result(result)
    assert "differs from production" in html and "applied on the workspace only: 20240102000000" in html
    text = result.to_text()
    assert f"baseline: the workspace {workspace.path} differs from production {production.resolve()}" in text
    assert "  - schema: column added: users.nick (TEXT)" in text
    assert "  - rows: users: 0 row(s) added, 0 removed, 0 changed on the workspace" not in text  # nick is new
    assert main(["snapshot", "--status", "--project", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "differs from production" in out and "applied on the workspace only: 20240102000000" in out
    steps.revert(project, workspace.path, regenerate_schema=False)
    with sqlite3.connect(workspace.path) as conn:
        conn.execute("UPDATE users SET name = 'zed' WHERE id = 2")
    back = check(project, database=workspace.path, run_tests=False).baseline
    assert back is not None and back.lines() == ["rows: users: 0 row(s) added, 0 removed, 1 changed on the workspace"]
    assert (production.read_bytes(), production.stat().st_mtime_ns) == untouched  # only ever read


# -- point 8: the given database is the baseline of the statement replay ----------------------

def test_replay_starts_from_a_database_no_migration_created(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", {"2024-02-01-000000_nick": NICK["2024-01-02-000000_nick"]})
    legacy = make_database(tmp_path / "legacy.db", USERS + "INSERT INTO users (name) VALUES ('ann');")
    without = lint_project(project.migrations_dir)
    assert any(f.rule == "sql-error" and "no such table: users" in f.message for f in without)
    with_db = lint_project(project.migrations_dir, database=legacy)
    assert not any(f.rule == "sql-error" for f in with_db), [f.message for f in with_db]
    (only,) = check(project, database=legacy, run_tests=False).migrations
    assert only.verdict == "safe" and not any("no such table" in r for r in only.reasons)


def test_applied_migrations_replay_from_the_objects_they_did_not_create(tmp_path: Path) -> None:
    # users comes from the adopted database; 1_posts was applied on it; 2_tag is pending.
    project = _project(tmp_path / "app", {
        "2024-03-01-000000_posts": ("CREATE TABLE posts (id INTEGER PRIMARY KEY,"
                                    " user_id INTEGER REFERENCES users(id));\n",
                                    "DROP TABLE posts;\n"),
        "2024-03-02-000000_tag": ("ALTER TABLE users ADD COLUMN tag TEXT;\n", "ALTER TABLE users DROP COLUMN tag;\n")})
    db = _production(tmp_path / "prod.db", applied=("20240301000000",))
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id))")
    findings = lint_project(project.migrations_dir, database=db)
    assert not any(f.rule == "sql-error" for f in findings), [f.message for f in findings]


# -- point 10: irreversible by design ---------------------------------------------------------

def test_marker_is_read_from_comments_only() -> None:
    purged = "-- lightnb: irreversible: data purged by the provider\n"
    assert declared_irreversible(purged) == "data purged by the provider"
    assert declared_irreversible("/* lightnb: Irreversible: one-way conversion */") == "one-way conversion"
    assert declared_irreversible("SELECT '-- lightnb: irreversible: not a comment';") is None
    assert declared_irreversible("-- lightnb: irreversible\n") is None
    assert marker_without_reason("-- lightnb: irreversible")
    assert comments("SELECT 'a -- b', \"c /* d */\"; -- e\n/* f */") == [" e", " f "]


def test_declared_irreversible_lints_as_information(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", BASE | {"2024-01-02-000000_purge": (
        "-- lightnb: allow-destructive\nDELETE FROM users;\n", "-- lightnb: irreversible: GDPR purge\n")})
    found = [f for f in lint_project(project.migrations_dir) if f.rule in ("down-empty", "down-incomplete")]
    assert [(f.rule, f.severity) for f in found] == [("down-empty", "info")]
    assert "declares the migration irreversible: GDPR purge" in found[0].message


def test_declared_irreversible_verdict_with_measured_impact_and_cli(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path / "app", BASE | {"2024-01-02-000000_purge": (
        "-- lightnb: allow-destructive\nDELETE FROM users WHERE id > 1;\n", "-- lightnb: irreversible: GDPR purge\n")})
    production = _production(tmp_path / "prod.db")
    (only,) = check(project, database=production, run_tests=False).migrations
    assert (only.verdict, only.verdict_text, only.steps) == ("irreversible", "irreversible (declared: GDPR purge)",
                                                             ("up",))
    assert only.impact and only.impact[0].startswith("line 2: 2 row(s) of users deleted.")
    args = ["check", "--no-tests", "--project", str(project.root), "--database-url", str(production)]
    assert main(args) == 1  # needs attention: a reviewer reads the impact
    assert main([*args, "--fail-on", "unsafe"]) == 0
    assert "2024-01-02-000000_purge: irreversible (declared: GDPR purge)" in capsys.readouterr().out


# -- point 2: `lightnb diff` reports column order, rows compare by name ------------------------

def test_diff_compares_rows_by_name_and_names_the_column_order(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = make_database(tmp_path / "before.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
                                                   "INSERT INTO t VALUES (1, 'x', 'y'), (2, 'z', NULL);")
    after = make_database(tmp_path / "after.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, a TEXT);"
                                                 "INSERT INTO t VALUES (1, 'y', 'x'), (2, NULL, 'z');")
    assert main(["diff", str(before), str(after), "--project", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 row(s) added, 0 removed, 0 changed, 2 unchanged" in out
    assert "column order changed: t (was (id, a, b), now (id, b, a)" in out
    assert "Schema: no changes." not in out
