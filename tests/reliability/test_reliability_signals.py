"""Signals and concurrent writers, with real processes and real signals.

* Ctrl-C (SIGINT) or SIGTERM during a statement that would never end stops it at once: the
  migration is rolled back, the process exits 130 (143 for SIGTERM) with one line saying what
  state the database is in (as before, or exactly which statements of a migration outside a
  transaction stay).
* SIGTERM or SIGINT during ``check`` or ``lint`` removes their scratch copies (full copies of
  production); after ``kill -9`` the next lightnb sweeps them.
* Two ``migration run`` at once never apply a statement twice: the second is refused in one line.

Processes announce readiness through files they create (the scratch folder, "Running migration"
on stdout); the tests poll for those instead of sleeping fixed times.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_support import REPO, applied, db_state, file_mark, make_project, write_migration

from lightnb import scratch
from lightnb.backends import sqlite
from lightnb.workspace import Workspace

NEW = "2024-04-01-000000-0000_long"
VERSION = "202404010000000000"
NOTICE = "lightnb: working on workspace"
# A statement SQLite would run forever (an unbounded recursive CTE, streamed: constant memory).
FOREVER = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c);"
DOUBLE = "UPDATE accounts SET balance = balance * 2;"


@pytest.fixture
def app(tmp_path: Path, monkeypatch) -> Path:
    root, production = make_project(tmp_path / "app")
    Workspace.create(production, root / ".lightnb")
    (tmp_path / "scratch").mkdir(mode=0o700)
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(tmp_path / "scratch"))
    return root


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY",
                                                             "DIESEL_CONFIG_FILE")}
    env["PYTHONPATH"] = str(REPO)
    env["LIGHTNB_SCRATCH_DIR"] = str(root.parent / "scratch")
    return env


def _start(root: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lightnb", *argv], cwd=root, env=_env(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(process: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no line starting with {prefix!r}; stderr: {process.stderr.read()}")


def _wait_for(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _scratch_copies(root: Path) -> list[Path]:
    return sorted(p for p in (root.parent / "scratch").iterdir())


def _finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip() and not line.startswith(NOTICE)]


# --- Ctrl-C and SIGTERM during a migration --------------------------------------------------------------


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"])
def test_a_signal_stops_a_long_statement_and_rolls_the_migration_back(app, signum, status):
    write_migration(app / "migrations", NEW, f"{DOUBLE}\n{FOREVER}\n", "SELECT 1;\n")
    workspace = app / ".lightnb" / "workspace.db"
    before = db_state(workspace)
    process = _start(app, "migration", "run", "--no-schema")
    _wait_for_line(process, f"Running migration {NEW}")
    # The UPDATE wrote to the rollback journal: the statement that never ends is running.
    _wait_for(lambda: Path(f"{workspace}-journal").exists(), "the migration's first write")

    process.send_signal(signum)

    code, _, err = _finish(process)
    assert code == status
    (line,) = _error_lines(err)
    assert "Traceback" not in err
    assert ("interrupted (Ctrl-C)" if signum == signal.SIGINT else "terminated (SIGTERM)") in line
    assert f"rolled back (nothing of it stays): {NEW}" in line and "is as it was before" in line, line
    assert db_state(workspace) == before and VERSION not in applied(workspace)
    assert not Path(f"{workspace}.lightnb-lock").exists()


DRIVER = """\
import contextlib, sys
from lightnb import cli, steps

command = steps.command

@contextlib.contextmanager
def stopped_while_importing(**options):
    with command(**options) as ledger:
        # Ctrl-C landing while a module defining a dataclass is imported: the interrupt leaves
        # code that dataclasses run through exec() of a string.
        exec("raise KeyboardInterrupt")
        yield ledger

steps.command = stopped_while_importing
sys.exit(cli.main(["migration", "list"]))
"""


def test_ctrl_c_inside_code_built_by_exec_still_ends_with_status_130(app, tmp_path):
    # Run as `python -m`, CPython used to end such a process with SIGINT at exit (status -2 for
    # the caller) after lightnb had already printed its line and chosen 130.
    (tmp_path / "drive_ctrl_c.py").write_text(DRIVER, encoding="utf-8")
    env = _env(app) | {"PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"}
    result = subprocess.run([sys.executable, "-m", "drive_ctrl_c"], cwd=app, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 130, result.stderr
    (line,) = _error_lines(result.stderr)
    assert line.startswith("error: interrupted (Ctrl-C)"), line


def test_ctrl_c_outside_a_transaction_says_which_statements_stay(app):
    write_migration(app / "migrations", NEW, f"{DOUBLE}\n{FOREVER}\n", "SELECT 1;\n",
                    metadata="run_in_transaction = false\n")
    workspace = app / ".lightnb" / "workspace.db"
    balances = _balances(workspace)
    process = _start(app, "migration", "run", "--no-schema")
    _wait_for_line(process, f"Running migration {NEW}")
    _wait_for(lambda: _balances(workspace) != balances, "the UPDATE to commit")

    process.send_signal(signal.SIGINT)

    code, _, err = _finish(process)
    assert code == 130
    (line,) = _error_lines(err)
    assert f"{NEW} runs outside a transaction" in line and "first 1 statement(s) stay applied" in line, line
    assert _balances(workspace) == {owner: 2 * value for owner, value in balances.items()}
    assert VERSION not in applied(workspace)


def _balances(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return dict(conn.execute("SELECT owner, balance FROM accounts").fetchall())
    finally:
        conn.close()


# --- scratch copies of production -----------------------------------------------------------------------


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"])
@pytest.mark.parametrize("verb", ["check", "lint"])
def test_a_signal_during_check_or_lint_removes_the_scratch_copies(app, verb, signum, status):
    write_migration(app / "migrations", NEW, f"{FOREVER}\n", "SELECT 1;\n")
    write_migration(app / "migrations", "2024-04-02-000000-0000_prune", "DELETE FROM posts;\n", "SELECT 1;\n")
    production = app / "production.db"
    mark = file_mark(production)
    argv = ["check", "--no-tests", "--database-url", str(production)] if verb == "check" else ["lint"]
    process = _start(app, *argv)
    # Ready when the private copy exists (check copies production; lint makes its folder first).
    _wait_for(lambda: any(p.is_dir() for p in _scratch_copies(app)), "the scratch folder")
    folder = _scratch_copies(app)[0]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    if verb == "check":
        _wait_for(lambda: (folder / "workspace.db").is_file(), "the copy of production")

    process.send_signal(signum)

    code, out, err = _finish(process)
    assert code == status, err
    assert "Traceback" not in err
    assert len(_error_lines(err)) == 1, err
    assert _scratch_copies(app) == []
    assert file_mark(production) == mark


def test_copies_left_by_a_killed_check_are_swept_by_the_next_run(app):
    write_migration(app / "migrations", NEW, f"{FOREVER}\n", "SELECT 1;\n")
    production = app / "production.db"
    process = _start(app, "check", "--no-tests", "--database-url", str(production))
    _wait_for(lambda: any((p / "workspace.db").is_file() for p in _scratch_copies(app)), "the copy")
    left = _scratch_copies(app)

    process.kill()
    process.communicate(timeout=60)

    assert _scratch_copies(app) == left  # kill -9: no chance to clean up
    (app / "migrations" / NEW / "up.sql").write_text("SELECT 1;\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "lightnb", "check", "--no-tests", "--database-url",
                             str(production)], cwd=app, env=_env(app), capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    assert _scratch_copies(app) == []


def test_scratch_folders_are_private_and_a_live_owner_keeps_its_folder(app):
    root = scratch.root()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    with scratch.folder("test") as folder:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert scratch.holding(folder / "copy.db") == folder
        assert scratch.sweep() == []  # its owner (this process) is alive
    assert not folder.exists()
    os.chmod(root, 0o755)
    assert stat.S_IMODE(scratch.root().stat().st_mode) == 0o700


def test_a_scratch_root_owned_by_a_symlink_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(tmp_path / "link"))
    from lightnb.errors import WorkspaceError
    with pytest.raises(WorkspaceError, match="not a folder of this user"):
        scratch.root()


# --- one writer at a time -------------------------------------------------------------------------------


def test_a_second_run_is_refused_while_the_first_one_migrates(app):
    migration = write_migration(app / "migrations", NEW, f"{FOREVER}\n{DOUBLE}\n", "SELECT 1;\n",
                                metadata="run_in_transaction = false\n")
    workspace = app / ".lightnb" / "workspace.db"
    balances = _balances(workspace)
    first = _start(app, "migration", "run", "--no-schema")
    _wait_for_line(first, f"Running migration {NEW}")

    second = subprocess.run([sys.executable, "-m", "lightnb", "migration", "run", "--no-schema"], cwd=app,
                            env=_env(app), capture_output=True, text=True, timeout=120)

    assert second.returncode == 1
    (line,) = _error_lines(second.stderr)
    assert "is being migrated by another lightnb" in line and f"process {first.pid}" in line, line
    assert "changed nothing" in line
    first.send_signal(signal.SIGINT)
    assert _finish(first)[0] == 130
    (migration / "up.sql").write_text(f"{DOUBLE}\n", encoding="utf-8")
    again = subprocess.run([sys.executable, "-m", "lightnb", "migration", "run", "--no-schema"], cwd=app,
                           env=_env(app), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert _balances(workspace) == {owner: 2 * value for owner, value in balances.items()}
    assert VERSION in applied(workspace)


@pytest.mark.parametrize("attempt", range(3))
def test_two_runs_started_together_apply_an_update_once(app, attempt):
    # A slow first statement widens the window in which both would read the same pending list.
    slow = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) " \
           "SELECT x FROM c);"
    write_migration(app / "migrations", NEW, f"{slow}\n{DOUBLE}\n", "SELECT 1;\n",
                    metadata="run_in_transaction = false\n")
    workspace = app / ".lightnb" / "workspace.db"
    balances = _balances(workspace)

    runs = [_start(app, "migration", "run", "--no-schema") for _ in range(2)]
    results = [_finish(run, timeout=120) for run in runs]

    assert _balances(workspace) == {owner: 2 * value for owner, value in balances.items()}
    assert applied(workspace).count(VERSION) == 1
    assert sorted(code for code, _, _ in results) in ([0, 0], [0, 1])
    for code, _, err in results:
        assert "Traceback" not in err and "already recorded" not in err
        if code == 1:
            (line,) = _error_lines(err)
            assert "is being migrated by another lightnb" in line


@pytest.mark.parametrize("verb", [("--reset",), ("--discard",)])
def test_snapshot_reset_and_discard_wait_for_a_running_migration(app, verb):
    """Replacing or deleting the workspace under a running migration is refused, in the same one line."""
    write_migration(app / "migrations", NEW, f"{FOREVER}\n", "SELECT 1;\n")
    workspace = app / ".lightnb" / "workspace.db"
    before = (os.stat(workspace).st_ino, sorted(p.name for p in workspace.parent.iterdir()))
    first = _start(app, "migration", "run", "--no-schema")
    try:
        _wait_for_line(first, f"Running migration {NEW}")

        second = subprocess.run([sys.executable, "-m", "lightnb", "snapshot", *verb], cwd=app, env=_env(app),
                                capture_output=True, text=True, timeout=120)

        assert second.returncode == 1, second.stdout
        (line,) = _error_lines(second.stderr)
        assert "is being migrated by another lightnb" in line and f"process {first.pid}" in line, line
        assert "changed nothing" in line
        assert (os.stat(workspace).st_ino, sorted(p.name for p in workspace.parent.iterdir()
                                                  if not p.name.endswith(".lightnb-lock"))) == before
        first.send_signal(signal.SIGINT)
        assert _finish(first)[0] == 130
    finally:
        if first.poll() is None:  # a failed assertion must not leave the endless migration running
            first.kill()
            first.communicate()
    again = subprocess.run([sys.executable, "-m", "lightnb", "snapshot", *verb], cwd=app, env=_env(app),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert not Path(f"{workspace}.lightnb-lock").exists()


def test_the_writer_lock_is_one_per_database_and_leaves_no_file(tmp_path):
    from lightnb import runner
    from lightnb.errors import DatabaseBusyError
    database = tmp_path / "app.db"
    conn = sqlite.connect(database)
    try:
        with runner.writer_lock(conn):
            assert Path(f"{database}.lightnb-lock").read_text().strip() == str(os.getpid())
            with pytest.raises(DatabaseBusyError, match="being migrated by another lightnb"):
                with runner.writer_lock(database):  # by path too, and even from this same process
                    pass
            with runner.writer_lock(tmp_path / "other.db"):
                pass
        assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]
    finally:
        conn.close()


def test_sigterm_to_a_python_program_using_the_api_cleans_up_then_ends_it(app):
    """Outside the CLI (a script, a notebook kernel) SIGTERM removes the copies, then ends the process."""
    write_migration(app / "migrations", NEW, f"{FOREVER}\n", "SELECT 1;\n")
    program = ("import sys\nfrom lightnb import steps\nfrom lightnb.project import Project\n"
               "steps.test(Project.discover('.'), sys.argv[1], run_tests=False)\n")
    process = subprocess.Popen([sys.executable, "-c", program, str(app / "production.db")], cwd=app,
                               env=_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: any((p / "workspace.db").is_file() for p in _scratch_copies(app)), "the copy")

    process.send_signal(signal.SIGTERM)

    code, _, err = _finish(process)
    assert code == -signal.SIGTERM, err  # ended by the signal, as asked, not by an exception
    assert _scratch_copies(app) == []


def test_a_signal_while_a_scratch_folder_is_made_is_held_until_the_folder_can_be_removed(tmp_path, monkeypatch,
                                                                                       python_ctrl_c):
    """Ctrl-C between mkdir and the block that removes the folder would leave a copy behind."""
    import tempfile

    from lightnb import scratch

    monkeypatch.setenv(scratch.ROOT_ENV, str(tmp_path / "scratch"))
    made = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp_then_ctrl_c(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        # arrives right after the folder exists; sent to the main thread, which holds it (a thread an earlier
        # test left alive, e.g. IPython's history saver, does not block it and would take a process-wide kill)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp_then_ctrl_c)  # scratch imports tempfile when it makes one
    with pytest.raises(KeyboardInterrupt):
        with scratch.folder("lint"):
            pass
    assert made and not os.path.exists(made[0])


@pytest.mark.parametrize("signum, stop", [(signal.SIGTERM, "Terminated"), (signal.SIGINT, "KeyboardInterrupt")])
def test_a_signal_swallowed_by_a_sqlite_callback_still_stops_the_work(tmp_path, monkeypatch, signum, stop,
                                                                      python_ctrl_c):
    """A signal handled inside SQLite's authorizer becomes "not authorized"; the block still raises the stop."""
    from lightnb import signals

    monkeypatch.setenv(scratch.ROOT_ENV, str(tmp_path / "scratch"))
    conn = sqlite3.connect(":memory:")

    def authorizer(*_args):
        os.kill(os.getpid(), signum)  # handled inside the callback: SQLite only sees a failed callback
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorizer)
    with pytest.raises(KeyboardInterrupt) as raised:
        with signals.unwinding_on_termination(redeliver=False):
            conn.execute("PRAGMA synchronous = OFF")
    assert type(raised.value).__name__ == stop
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)



@pytest.fixture
def python_ctrl_c():
    """Ctrl-C raises KeyboardInterrupt as in a plain Python program (a test runner's worker may differ)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM at its default action, which lightnb takes over (a C-level handler another library left
    # in this process would otherwise get it).
    previous_term = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGINT, previous)
    signal.signal(signal.SIGTERM, previous_term if previous_term is not None else signal.SIG_DFL)
