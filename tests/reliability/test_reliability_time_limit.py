"""Migration SQL that lightnb runs by itself on a copy — to prove it (check), replay it (lint) or measure it
(Inspect, lint's destructive rule) — stops after the time limit: a statement that never ends there no longer hangs
a command the user ran only to look at the migration. The user's own run has no limit (as with diesel)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_support import REPO, applied, write_migration

from lightnb import steps, time_limit
from lightnb.backends import sqlite
from lightnb.errors import LightnbError
from lightnb.project import Project
from lightnb.time_limit import TimeLimitExceeded

pytestmark = pytest.mark.timeout(180)  # a broken limit fails the test instead of hanging the suite

# endless on any database (the schema replay runs it on empty tables too)
FOREVER = ("CREATE TABLE t AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
           "SELECT count(*) AS n FROM c;\n")
# endless only where accounts has rows: instant in the schema replay, endless on a copy of production
FOREVER_ON_ROWS = ("CREATE TABLE kept (id INTEGER);\n"
                   "DELETE FROM posts WHERE id IN (WITH RECURSIVE c(x) AS (SELECT id FROM accounts "
                   "UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0);\n")
# a few tenths of a second: far over the tiny limits below, well under any real one
SLOW = ("CREATE TABLE t AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) "
        "SELECT count(*) AS n FROM c;\n")
NAME = "2024-02-01-000000-0000_loop"


def _project(guarded, up: str, down: str = "DROP TABLE IF EXISTS t;\nDROP TABLE IF EXISTS kept;\n") -> Project:
    write_migration(guarded.migrations, NAME, up, down)
    return Project.discover(guarded.root)


def test_the_limit_comes_from_the_option_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv(time_limit.ENV, raising=False)
    assert time_limit.seconds() == time_limit.DEFAULT_SECONDS == 600
    monkeypatch.setenv(time_limit.ENV, "1800")
    assert time_limit.seconds() == 1800
    monkeypatch.setenv(time_limit.ENV, "0")
    assert time_limit.seconds() is None
    with time_limit.limited(2.5):
        assert time_limit.seconds() == 2.5
    monkeypatch.setenv(time_limit.ENV, "soon")
    with pytest.raises(LightnbError, match=r"LIGHTNB_SQL_TIMEOUT must be a number of seconds .*not 'soon'"):
        time_limit.seconds()
    for wrong in ("-1", "nan", "inf", ""):
        with pytest.raises(LightnbError, match="must be a number of seconds"):
            time_limit.parse(wrong)


def test_a_projects_lightnb_toml_sets_the_limit_when_nothing_else_does(monkeypatch, guarded):
    monkeypatch.delenv(time_limit.ENV, raising=False)
    (guarded.root / "lightnb.toml").write_text("sql_timeout = 0.5\n", encoding="utf-8")
    project = _project(guarded, FOREVER_ON_ROWS)
    assert project.settings.sql_timeout == 0.5
    with time_limit.configured(project.settings.sql_timeout):
        assert time_limit.seconds() == 0.5
        monkeypatch.setenv(time_limit.ENV, "7")  # --sql-timeout or the environment win
        assert time_limit.seconds() == 7
        monkeypatch.delenv(time_limit.ENV)
        with time_limit.limited(3):
            assert time_limit.seconds() == 3
    with time_limit.configured(0.0):
        assert time_limit.seconds() is None  # 0: no limit
    assert time_limit.seconds() == 600
    result = steps.check(project, database_url=guarded.production, run_tests=False)  # the step reads the project's
    proof = next(m for m in result.migrations if m.migration == NAME)
    assert any("ran over the time limit (0.5 s)" in r for r in proof.reasons), proof.reasons
    guarded.assert_production_untouched()


@pytest.mark.parametrize("written", ["'soon'", "-1", "true", "[1]"])
def test_a_wrong_sql_timeout_in_lightnb_toml_is_one_line(guarded, written):
    (guarded.root / "lightnb.toml").write_text(f"sql_timeout = {written}\n", encoding="utf-8")
    with pytest.raises(LightnbError, match=r"`sql_timeout = .*` in lightnb.toml is not a number of seconds; write "
                                           r"e.g. sql_timeout = 1800 \(0: no limit\)"):
        steps.lint(Project.discover(guarded.root))


def test_check_stops_a_proof_that_never_ends_and_says_why(guarded):
    project = _project(guarded, FOREVER_ON_ROWS)
    started = time.monotonic()
    with time_limit.limited(0.5):
        result = steps.check(project, database_url=guarded.production, run_tests=False)
    assert time.monotonic() - started < 60
    proof = next(m for m in result.migrations if m.migration == NAME)
    assert proof.verdict == "unsafe"
    assert any(r.startswith(f"cannot run up: {NAME}'s up.sql ran over the time limit (0.5 s) on a copy, so "
                            "lightnb stopped it and kept nothing of it") for r in proof.reasons), proof.reasons
    guarded.assert_production_untouched()


def test_lint_stops_a_replay_that_never_ends_naming_the_line(guarded):
    project = _project(guarded, "CREATE TABLE kept (id INTEGER);\n" + FOREVER)
    with time_limit.limited(0.5), pytest.raises(TimeLimitExceeded) as raised:
        steps.lint(project)
    assert str(raised.value).startswith(f"Line 2 of {NAME}'s up.sql (replayed to read the schema) ran over the time "
                                        f"limit (0.5 s)")
    assert "\n" not in str(raised.value)


def test_lint_says_a_destructive_statement_was_not_measured_when_its_measurement_ran_over(guarded):
    project = _project(guarded, FOREVER_ON_ROWS)
    with time_limit.limited(0.5):
        findings = steps.lint(project, database=guarded.production)
    destructive = [f for f in findings if f.rule == "destructive"]
    assert destructive and all("not measured: its measurement on the workspace copy ran over the time limit (0.5 s)"
                               in f.message for f in destructive), [f.message for f in destructive]
    guarded.assert_production_untouched()


@pytest.mark.parametrize("in_thread", [False, True], ids=["main thread", "worker thread"])
def test_inspect_stops_a_measurement_whose_statements_never_end(guarded, tmp_path, in_thread):
    """The measurement first reads an example of the rows the DELETE removes (the same endless condition), and
    took that query's interruption for a failure: the DELETE then ran on with nothing left to stop it."""
    copy = Path(tmp_path / "copy.db")
    copy.write_bytes(guarded.production.read_bytes())
    outcome: list[BaseException | object] = []

    def measure() -> None:
        from lightnb.inspect.impact import measure_impact
        conn = sqlite.connect(copy)  # in the thread that measures
        safety_net = threading.Timer(60, conn.interrupt)  # the test fails instead of hanging
        safety_net.start()
        started = time.monotonic()
        try:
            with time_limit.limited(0.5):
                outcome.append(measure_impact(conn, FOREVER_ON_ROWS))
        except BaseException as error:  # noqa: BLE001 - the outcome is checked below
            outcome.append(error)
        finally:
            safety_net.cancel()
            outcome.append(conn.in_transaction)
            outcome.append(time.monotonic() - started)
            conn.close()

    if in_thread:
        worker = threading.Thread(target=measure)
        worker.start()
        worker.join()
    else:
        measure()
    assert isinstance(outcome[0], TimeLimitExceeded), outcome
    assert outcome[1] is False  # rolled back
    assert outcome[2] < 30  # stopped by the limit, not by the safety net
    conn = sqlite.connect(copy)
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 3  # nothing of it kept
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'kept'").fetchone()[0] == 0
    conn.close()


def test_the_users_own_run_has_no_time_limit(guarded, tmp_path):
    project = _project(guarded, SLOW)
    copy = Path(tmp_path / "copy.db")
    copy.write_bytes(guarded.production.read_bytes())
    with time_limit.limited(0.001):
        steps.run(project, copy)
    assert len(applied(copy)) == 3
    conn = sqlite.connect(copy)
    assert conn.execute("SELECT n FROM t").fetchone()[0] == 400000
    conn.close()


def test_the_limit_never_reaches_a_statement_after_the_block(tmp_path):
    from lightnb.backends.sqlite.interrupt import interrupting
    conn = sqlite.connect(tmp_path / "x.db")
    with time_limit.limited(0.2), pytest.raises(TimeLimitExceeded), interrupting(conn, timed=True) as stop:
        try:
            conn.execute(FOREVER.replace("CREATE TABLE t AS ", "")).fetchall()
        except sqlite.Error as error:
            stop.raise_if_interrupted(error)
    time.sleep(0.3)
    assert conn.execute(SLOW.replace("CREATE TABLE t AS ", "")).fetchone()[0] == 400000
    assert stop.timed_out is None
    conn.close()


def test_the_command_line_takes_the_limit_and_refuses_a_wrong_one(guarded):
    _project(guarded, FOREVER)
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    lint = [sys.executable, "-m", "lightnb", "lint", "--project", str(guarded.root)]
    done = subprocess.run([*lint, "--sql-timeout", "0.5"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Line 1 of {NAME}'s up.sql (replayed to read the schema) ran over the time limit (0.5 s) on a copy, so "
        f"lightnb stopped it and kept nothing of it; allow longer with --sql-timeout SECONDS or "
        f"LIGHTNB_SQL_TIMEOUT=SECONDS (0: no limit)"]
    done = subprocess.run([*lint, "--sql-timeout", "soon"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: argument --sql-timeout: --sql-timeout must be a number of seconds")
