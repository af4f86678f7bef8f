"""The test step: reversibility proof on a copy, integrity, the project's tests, the verdict, `lightnb check`."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from lightnb.checks import check
from lightnb.cli import main
from lightnb.project import Project

USERS_UP = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n"


def project(tmp_path: Path, migrations: dict[str, tuple[str, str]], settings: str = "") -> Project:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n', encoding="utf-8")
    (tmp_path / "lightnb.toml").write_text(settings, encoding="utf-8")
    for name, (up, down) in migrations.items():
        folder = tmp_path / "migrations" / name
        folder.mkdir(parents=True)
        (folder / "up.sql").write_text(up, encoding="utf-8")
        (folder / "down.sql").write_text(down, encoding="utf-8")
    return Project.discover(tmp_path)


def production(tmp_path: Path) -> Path:
    """A production database with users applied and three rows."""
    path = tmp_path / "prod.db"
    conn = sqlite3.connect(path)
    conn.executescript(USERS_UP + "INSERT INTO users (name) VALUES ('ann'), ('bob'), ('cy');"
                       "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
                       "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                       "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');")
    conn.commit()
    conn.close()
    return path


BASE = {"2024-01-01-000000_users": (USERS_UP, "DROP TABLE users;\n")}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_correct_migration_is_safe_and_production_untouched(tmp_path: Path) -> None:
    prod = production(tmp_path)
    before = sha(prod)
    proj = project(tmp_path, BASE | {"2024-01-02-000000_nick": (
        "ALTER TABLE users ADD COLUMN nick TEXT;\n", "ALTER TABLE users DROP COLUMN nick;\n")})
    result = check(proj, database=prod, run_tests=False)
    (only,) = result.migrations
    assert (only.migration, only.verdict, only.steps) == ("2024-01-02-000000_nick", "safe", ("up", "down", "up again"))
    assert result.ok and sha(prod) == before


def test_down_that_forgets_a_column_is_unsafe_with_the_exact_difference(tmp_path: Path) -> None:
    proj = project(tmp_path, BASE | {"2024-01-02-000000_nick": (
        "ALTER TABLE users ADD COLUMN nick TEXT;\n", "-- forgot the column\nSELECT 1;\n")})
    result = check(proj, database=production(tmp_path), run_tests=False)
    (only,) = result.migrations
    assert only.verdict == "unsafe"
    assert any("users.nick" in d for d in only.schema_differences)
    assert any(r.startswith("down.sql does not restore the schema") and "users.nick" in r for r in only.reasons)


def test_down_that_loses_rows_is_unsafe(tmp_path: Path) -> None:
    down = ("CREATE TABLE users_old (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n"
            "DROP TABLE users;\nALTER TABLE users_old RENAME TO users;\n")
    proj = project(tmp_path, BASE | {"2024-01-02-000000_nick": ("ALTER TABLE users ADD COLUMN nick TEXT;\n", down)})
    (only,) = check(proj, database=production(tmp_path), run_tests=False).migrations
    assert only.verdict == "unsafe" and only.schema_differences == ()
    assert only.row_differences == ("users: 3 row(s) before, 0 after — 0 row(s) added, 3 removed, 0 changed",)


def test_acknowledged_destruction_is_expected_not_a_failure(tmp_path: Path) -> None:
    up = "-- lightnb: allow-destructive\nDELETE FROM users WHERE name = 'bob';\n"
    down = "INSERT INTO users (name) VALUES ('bob');\n"
    proj = project(tmp_path, BASE | {"2024-01-02-000000_purge": (up, down)})
    (only,) = check(proj, database=production(tmp_path), run_tests=False).migrations
    assert only.verdict == "safe", only.reasons
    assert any("destroyed on purpose" in r and "users" in r for r in only.reasons)
    (finding,) = [f for f in only.findings if f.rule == "destructive"]
    assert finding.severity == "info" and "measured on the workspace copy: 1 row(s) of users deleted" in finding.message


def test_failing_up_leaves_the_later_migrations_not_rehearsed_but_judged(tmp_path: Path) -> None:
    proj = project(tmp_path, BASE | {
        "2024-01-02-000000_bad": ("ALTER TABLE users ADD COLUMN x TEXT NOT NULL;\n",
                                  "ALTER TABLE users DROP COLUMN x;\n"),
        "2024-01-03-000000_next": ("CREATE TABLE t (id INTEGER PRIMARY KEY);\n", "DROP TABLE t;\n")})
    result = check(proj, database=production(tmp_path), run_tests=False)
    bad, after = result.migrations
    assert (bad.migration, bad.verdict, bad.steps) == ("2024-01-02-000000_bad", "unsafe", ())
    assert (after.migration, after.verdict, after.steps) == ("2024-01-03-000000_next", "unsafe", ())
    assert after.reasons[-1].startswith("not rehearsed: 2024-01-02-000000_bad, pending before it, does not run")


def test_project_tests_stream_output_and_decide(tmp_path: Path) -> None:
    script = tmp_path / "suite.py"
    script.write_text("import os, sys\nprint('running on', os.path.basename(os.environ['DATABASE_URL']))\n"
                      "print('second line')\nsys.exit(int(sys.argv[1]))\n", encoding="utf-8")
    seen: list[str] = []
    for code, status in ((0, "passed"), (3, "failed")):
        settings = f'[test]\ncommand = ["{sys.executable}", "{script}", "{code}"]\n'
        proj = project(tmp_path / status, BASE, settings)
        result = check(proj, database=production(tmp_path / status), on_output=seen.append)
        assert result.tests is not None and result.tests.status == status
        assert result.ok == (code == 0)
    assert seen[:2] == ["running on workspace.db", "second line"]


def test_project_tests_time_limit_and_missing_tool(tmp_path: Path) -> None:
    proj = project(tmp_path / "slow", BASE, f'[test]\ncommand = ["{sys.executable}", "-c", '
                                            f'"import time; print(1, flush=True); time.sleep(30)"]\ntimeout = 0.5\n')
    result = check(proj, database=production(tmp_path / "slow"))
    assert result.tests.status == "timeout" and result.tests.seconds < 10
    proj = project(tmp_path / "none", BASE, '[test]\ncommand = "no-such-cargo-binary test"\n')
    result = check(proj, database=production(tmp_path / "none"))
    assert result.tests.status == "skipped" and "not found" in result.tests.message
    assert result.ok  # the other checks still ran and passed


def test_result_as_frame_and_text(tmp_path: Path) -> None:
    proj = project(tmp_path, BASE | {"2024-01-02-000000_nick": (
        "ALTER TABLE users ADD COLUMN nick TEXT;\n", "SELECT 1;\n")})
    result = check(proj, database=production(tmp_path), run_tests=False)
    frame = result.to_frame()
    assert list(frame["verdict"]) == ["unsafe"] and frame["errors"].iloc[0] >= 1
    assert "2024-01-02-000000_nick: UNSAFE" in result.to_text() and result.to_text().endswith("verdict: unsafe")


def test_cli_check_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = project(tmp_path / "good", BASE | {"2024-01-02-000000_nick": (
        "ALTER TABLE users ADD COLUMN nick TEXT;\n", "ALTER TABLE users DROP COLUMN nick;\n")})
    args = ["check", "--no-tests", "--project", str(good.root), "--database-url", str(production(tmp_path / "good"))]
    assert main(args) == 0
    bad = project(tmp_path / "bad", BASE | {"2024-01-02-000000_nick": (
        "ALTER TABLE users ADD COLUMN nick TEXT;\n", "SELECT 1;\n")})
    capsys.readouterr()
    args = ["check", "--no-tests", "--format", "json", "--project", str(bad.root),
            "--database-url", str(production(tmp_path / "bad"))]
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "unsafe" and data["migrations"][0]["verdict"] == "unsafe"


def test_cli_lint_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, BASE | {"2024-01-02-000000_seen": (
        "ALTER TABLE users ADD COLUMN seen_at TEXT;\n", "ALTER TABLE users DROP COLUMN seen_at;\n")})
    assert main(["lint", "--project", str(proj.root), "20240101000000"]) == 0
    capsys.readouterr()
    assert main(["lint", "--project", str(proj.root)]) == 1
    out = capsys.readouterr().out
    assert "error[timestamp-text] 2024-01-02-000000_seen/up.sql:1: users.seen_at" in out
    (tmp_path / "lightnb.toml").write_text('[lint]\ndisable = ["timestamp-text"]\n', encoding="utf-8")
    assert main(["lint", "--project", str(proj.root)]) == 0


@pytest.mark.parametrize("verdict, attention, unsafe", [
    ("safe", False, False), ("needs attention", True, False), ("unsafe", True, True)])
def test_fails_on_attention_or_only_on_unsafe(verdict, attention, unsafe):
    from lightnb.checks import CheckResult, MigrationCheck
    result = CheckResult("db", (MigrationCheck("m", "1", verdict),))
    assert (result.fails("attention"), result.fails("unsafe")) == (attention, unsafe)
    with pytest.raises(ValueError):
        result.fails("never")


def test_check_prints_every_line_of_a_multi_line_fix(tmp_path: Path) -> None:
    prod = production(tmp_path)
    proj = project(tmp_path, BASE | {"2024-01-02-000000_code": (
        "ALTER TABLE users ADD COLUMN code TEXT UNIQUE;\n", "ALTER TABLE users DROP COLUMN code;\n")})
    result = check(proj, database=prod, run_tests=False)
    fixes = [f.fix for m in result.migrations for f in m.findings if len(f.fix.splitlines()) > 5]
    assert fixes, "a table rebuild is offered as the fix"
    text = result.to_text()
    for fix in fixes:
        assert "\n".join(f"      {line}".rstrip() for line in fix.splitlines()) in text
