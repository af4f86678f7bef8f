"""Benchmarks of lightnb against the tools a team would use instead (``python -m bench``).

Every row times lightnb and a named baseline in the same run, on the same files, and prints
their ratio next to the target from the project's issue. Sizes are configurable; ``--quick``
uses small ones. Benchmarks are not tests: they print, they do not assert.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark's data is."""

    snapshot_mib: int = 1024
    diff_rows: int = 1_000_000
    rebuild_rows: int = 1_000_000
    preview_small: int = 10_000
    preview_large: int = 10_000_000
    data_migration_mib: int = 50
    repeats: int = 3


FULL = Sizes()
QUICK = Sizes(snapshot_mib=16, diff_rows=20_000, rebuild_rows=20_000, preview_small=1_000,
              preview_large=100_000, data_migration_mib=2, repeats=2)


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    name: str
    lightnb: float | None
    baseline_name: str
    baseline: float | None
    target: str
    limit: float | None = None
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.lightnb is None or not self.baseline:
            return None
        return self.lightnb / self.baseline

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "n/a"
        return "ok" if self.limit is None or self.ratio <= self.limit else "over"


def timed(func: Callable[[], object], repeats: int) -> float:
    """Return the best wall time of ``repeats`` calls."""
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def run_measured(argv: Sequence[str], *, stdin: str | None = None, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a process; return (wall seconds, peak RSS in MiB, stdout). Raises on failure."""
    start = time.perf_counter()
    stdin_handle = open(stdin, "rb") if stdin else subprocess.DEVNULL
    try:
        child = subprocess.Popen(list(argv), stdin=stdin_handle, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 cwd=cwd, env=env)
        out, err = _drain(child)
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        if stdin:
            stdin_handle.close()
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({child.returncode}): {err.decode(errors='replace')[-400:]}")
    return seconds, usage.ru_maxrss / 1024, out.decode(errors="replace")


def _drain(child: subprocess.Popen) -> tuple[bytes, bytes]:
    """Read a child's stdout and stderr to the end without reaping it (wait4 does that)."""
    import selectors
    selector = selectors.DefaultSelector()
    chunks: dict[int, list[bytes]] = {1: [], 2: []}
    selector.register(child.stdout, selectors.EVENT_READ, 1)
    selector.register(child.stderr, selectors.EVENT_READ, 2)
    open_streams = 2
    while open_streams:
        for key, _ in selector.select():
            data = os.read(key.fileobj.fileno(), 1 << 16)
            if data:
                chunks[key.data].append(data)
            else:
                selector.unregister(key.fileobj)
                open_streams -= 1
    return b"".join(chunks[1]), b"".join(chunks[2])


def python_env() -> dict[str, str]:
    """The environment for child Python processes: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def tool(name: str) -> str | None:
    """Return the path of a command-line tool, or None."""
    return shutil.which(name)


def fill(conn: sqlite3.Connection, sql: str) -> None:
    """Run one bulk statement in its own transaction."""
    conn.execute("BEGIN")
    conn.execute(sql)
    conn.execute("COMMIT")


def machine() -> str:
    """Describe the machine: cores, CPU model, memory, SQLite and Python versions."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {model}, {memory}; Python {sys.version.split()[0]}, "
            f"SQLite {sqlite3.sqlite_version}")


def format_table(rows: Sequence[Row]) -> str:
    """Render the results as one Markdown table."""
    header = "| benchmark | lightnb | baseline | baseline time | ratio | target | verdict | notes |"
    lines = [header, "|---|---:|---|---:|---:|---|---|---|"]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        lines.append(f"| {row.name} | {_seconds(row.lightnb)} | {row.baseline_name} | {_seconds(row.baseline)} "
                     f"| {ratio} | {row.target} | {row.verdict} | {row.notes} |")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    if value is None:
        return "not available"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
