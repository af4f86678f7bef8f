"""Benchmarks of lightnb against the tools a team would use instead (``python -m bench``).

Every row times lightnb as users run it — the ``lightnb`` command as a whole process — and, where
there is one, the library call behind it, against a named peer run as a process in the same
rounds, alternating A B A B (see :mod:`bench.measure`). The table shows medians, the ratio taken
pair by pair within each round, and each process's own peak memory. Sizes are configurable;
``--quick`` uses small ones. Benchmarks are not tests: they print, they do not assert.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Series, paired_ratio

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark's data is, and how many rounds each row runs."""

    snapshot_mib: int = 1024
    diff_rows: int = 1_000_000
    migration_mib: int = 1024
    sample_users: int = 1_000_000
    small_users: int = 10_000
    capture_mib: tuple[int, int] = (128, 1024)
    preview_small: int = 10_000
    preview_large: int = 10_000_000
    data_migration_mib: int = 50
    rounds: int = 3


FULL = Sizes()
QUICK = Sizes(snapshot_mib=16, diff_rows=20_000, migration_mib=16, sample_users=2_000, small_users=500,
              capture_mib=(8, 24), preview_small=1_000, preview_large=100_000, data_migration_mib=2, rounds=2)


@dataclass
class Row:
    """One line of the results table: lightnb (CLI process and/or library call) against a peer.

    :param limit: the target ratio (CLI, else library, over peer); None for a row without one.
    :param overhead_limit: a target on the difference instead (seconds over the peer), for rows
        where the fixed cost matters, not the ratio.
    """

    name: str
    peer: Series | None
    cli: Series | None = None
    library: Series | None = None
    target: str = ""
    limit: float | None = None
    overhead_limit: float | None = None
    notes: str = ""
    failed: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def cli_ratio(self) -> float | None:
        return paired_ratio(self.cli, self.peer) if self.cli and self.peer else None

    @property
    def library_ratio(self) -> float | None:
        return paired_ratio(self.library, self.peer) if self.library and self.peer else None

    @property
    def judged(self) -> Series | None:
        """The series the verdict is about: the CLI as users run it, else the library call."""
        return self.cli or self.library

    @property
    def verdict(self) -> str:
        if self.failed:
            return "failed"
        judged = self.judged
        if judged is None or self.peer is None:
            return "n/a"
        if self.overhead_limit is not None:
            return "ok" if judged.median - self.peer.median <= self.overhead_limit else "over"
        ratio = paired_ratio(judged, self.peer)
        return "ok" if self.limit is None or ratio <= self.limit else "over"


def lightnb_argv(*args: str) -> list[str]:
    """The ``lightnb`` command as a user runs it (the console script beside this Python)."""
    script = Path(sys.executable).with_name("lightnb")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "lightnb", *args]


def compile_bytecode() -> None:
    """Compile lightnb's modules once, as installing a package does (``pip``/``uv`` write its bytecode).

    An editable checkout is otherwise compiled by its first run, or by every run when the
    environment forbids writing bytecode (``PYTHONDONTWRITEBYTECODE``): each timed ``lightnb``
    process would then also compile ~60 modules (~0.2 s), which no installed copy does.
    """
    import compileall
    compileall.compile_dir(str(REPO / "lightnb"), quiet=1)


def python_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def machine() -> str:
    """Describe the machine: cores, CPU model, memory, OS, SQLite and Python versions, and its load."""
    model = "unknown CPU"
    memory = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        pass
    try:  # a shared machine's other work slows every contender: say how busy it was
        busy = f"; load average {os.getloadavg()[0]:.1f} when the run began"
    except OSError:
        busy = ""
    return (f"{os.cpu_count()} cores, {model}{memory}; {platform.system()} {platform.release()}; "
            f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}{busy}")


def format_table(rows: Sequence[Row]) -> str:
    """Render the results as one Markdown table."""
    lines = ["| benchmark | lightnb (CLI) | library call | peer | peer time | ratio CLI / library | "
             "peak memory lightnb / peer | target | verdict | notes |",
             "|---|---:|---:|---|---:|---:|---:|---|---|---|"]
    for row in rows:
        if row.failed:
            lines.append(f"| {row.name} | — | — | {_name(row.peer)} | — | — | — | {row.target} | failed "
                         f"| {row.failed} |")
            continue
        ratios = " / ".join(_ratio(r) for r in (row.cli_ratio, row.library_ratio))
        memory = f"{_mib(row.cli.peak_mib if row.cli else None)} / {_mib(row.peer.peak_mib if row.peer else None)}"
        lines.append(f"| {row.name} | {_median(row.cli)} | {_median(row.library)} | {_name(row.peer)} "
                     f"| {_median(row.peer)} | {ratios} | {memory} | {row.target} | {row.verdict} | {row.notes} |")
    return "\n".join(lines)


def _name(series: Series | None) -> str:
    return f"`{series.contender.name}`" if series is not None else "—"


def _median(series: Series | None) -> str:
    if series is None or not series.samples:
        return "—"
    value = series.median
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} MiB"
