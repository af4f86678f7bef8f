"""Progress of long steps: a bar with an ETA on a terminal's stderr (never in JSON output, never when
stderr is not a terminal unless asked), fed by the copy and by check's proof."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from lightnb import progress
from lightnb.progress import Progress, TerminalBar, render


def test_a_line_says_how_far_and_how_long_is_left() -> None:
    line = render(Progress("copying prod.db", 512 << 20, 2048 << 20, "bytes", elapsed=3.0))
    assert line.startswith("copying prod.db [######------------------]  25% 512.0 MiB/2.0 GiB ETA 9s"), line
    assert render(Progress("proving", 0, 3, "steps", elapsed=1.0)).endswith("0/3 ETA --")
    assert render(Progress("proving", 2, 3, "steps", elapsed=200.0)).endswith("2/3 ETA 1m40s")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_waits_for_long_steps_redraws_in_place_and_clears() -> None:
    out = _Terminal()
    bar = TerminalBar(out, delay=0.5, interval=0.0)
    bar(Progress("copying", 1, 10, "bytes", elapsed=0.1))
    assert out.getvalue() == ""  # a step that ends soon draws nothing
    bar(Progress("copying", 5, 10, "bytes", elapsed=1.0))
    bar(Progress("copying", 9, 10, "bytes", elapsed=1.8))
    drawn = out.getvalue()
    assert drawn.count("\r") == 2 and "50%" in drawn and "90%" in drawn and "\n" not in drawn
    bar(Progress("copying", 10, 10, "bytes", elapsed=2.0, finished=True))
    assert out.getvalue().endswith("\r") and out.getvalue()[len(drawn):].strip() == ""


def test_a_bar_only_on_a_terminal_unless_asked() -> None:
    assert progress.terminal_bar(io.StringIO(), {}) is None
    assert progress.terminal_bar(_Terminal(), {}) is not None
    assert progress.terminal_bar(_Terminal(), {"LIGHTNB_PROGRESS": "never"}) is None
    assert progress.terminal_bar(io.StringIO(), {"LIGHTNB_PROGRESS": "always"}) is not None


def test_tasks_report_only_to_whoever_listens() -> None:
    seen: list[Progress] = []
    with progress.task("alone", 3) as unheard:
        unheard.advance()
    assert not progress.wanted()
    with progress.reporting(seen.append):
        assert progress.wanted()
        with progress.task("proving", 3) as step:
            step.advance()
            step.update(2, label="m: down")
    assert [(p.label, p.done, p.finished) for p in seen] == [("proving", 1, False), ("m: down", 2, False),
                                                            ("m: down", 2, True)]


def _project(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    migration = project / "migrations" / "2024-01-02-000000_nick"
    migration.mkdir(parents=True)
    (project / "diesel.toml").write_text("", encoding="utf-8")
    (migration / "up.sql").write_text("ALTER TABLE users ADD COLUMN nick TEXT;\n", encoding="utf-8")
    (migration / "down.sql").write_text("ALTER TABLE users DROP COLUMN nick;\n", encoding="utf-8")
    production = tmp_path / "prod.db"
    conn = sqlite3.connect(production)
    conn.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a');")
    conn.close()
    return project, production


def _lightnb(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != progress.ENV} | env
    done = subprocess.run([sys.executable, "-m", "lightnb", *args], capture_output=True, cwd=cwd, env=environ,
                          timeout=120)  # bytes: a carriage return stays one (text mode would make it a newline)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_the_command_shows_copy_and_proof_progress_on_stderr_when_asked(tmp_path: Path) -> None:
    project, production = _project(tmp_path)
    done = _lightnb(["snapshot", "--database-url", str(production)], project, LIGHTNB_PROGRESS="always")
    assert done.returncode == 0, done.stderr
    assert "\rcopying prod.db [" in done.stderr and "ETA" in done.stderr
    assert "ETA" not in done.stdout
    checked = _lightnb(["check", "--no-tests", "--database-url", str(production)], project, LIGHTNB_PROGRESS="always")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2024-01-02-000000_nick: up again [" in checked.stderr


def test_no_bar_off_a_terminal_nor_with_json_output(tmp_path: Path) -> None:
    project, production = _project(tmp_path)
    plain = _lightnb(["check", "--no-tests", "--database-url", str(production)], project)
    assert plain.returncode == 0 and "ETA" not in plain.stderr and "\r" not in plain.stderr
    as_json = _lightnb(["check", "--no-tests", "--format", "json", "--database-url", str(production)], project,
                       LIGHTNB_PROGRESS="always")
    assert as_json.returncode == 0, as_json.stderr
    assert "ETA" not in as_json.stderr and "\r" not in as_json.stderr + as_json.stdout
    json.loads(as_json.stdout)
