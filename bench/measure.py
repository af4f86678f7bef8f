"""How a benchmark measures: whole processes, alternating with their peer, pair by pair.

A *contender* is one way of doing the work: a command run as a process (lightnb's CLI, or the
peer tool), or a library call made in this process. :func:`alternate` runs the contenders of a
row in turns, A B A B …, rotating who goes first each round so that a warm cache or a noisy
neighbour is shared fairly, and keeps the rounds' samples side by side so that a ratio is taken
within each round (pair by pair) and then the median of those ratios is reported.

Peak memory is that of the measured process alone: the command runs under GNU ``time``, a small
C program, so the figure is the child's own high-water mark. (A child forked straight from this
Python process inherits its address space until ``exec``, and the kernel folds that into the
child's ``ru_maxrss``: ``/bin/true`` would then "use" as much memory as the benchmark itself.)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Sample:
    """One measurement: wall seconds and, for a process, its own peak resident memory (MiB)."""

    seconds: float
    peak_mib: float | None = None


@dataclass(frozen=True)
class Contender:
    """One way of doing a row's work.

    :param name: how the table names it (``lightnb diff``, ``sqldiff``, ``row_diff()``).
    :param argv: the command, for a process contender.
    :param call: the function, for an in-process (library) contender.
    :param prepare: run before each measurement, untimed (e.g. copy a fresh database into place).
    """

    name: str
    argv: Sequence[str] | None = None
    call: Callable[[], object] | None = None
    prepare: Callable[[], object] | None = None
    cwd: Path | None = None
    env: dict[str, str] | None = None
    stdin: Path | None = None

    def measure(self) -> Sample:
        if self.prepare is not None:
            self.prepare()
        if self.argv is not None:
            return run_process(self.argv, cwd=self.cwd, env=self.env, stdin=self.stdin)
        assert self.call is not None, f"contender {self.name} has neither argv nor call"
        start = time.perf_counter()
        self.call()
        return Sample(time.perf_counter() - start)


@dataclass
class Series:
    """Every sample of one contender in a row, in round order."""

    contender: Contender
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_mib(self) -> float | None:
        peaks = [s.peak_mib for s in self.samples if s.peak_mib is not None]
        return max(peaks) if peaks else None


def alternate(contenders: Sequence[Contender], rounds: int) -> list[Series]:
    """Run every contender once per round, rotating the order each round (A B, then B A, …).

    :returns: one :class:`Series` per contender, in the order given.
    """
    series = [Series(c) for c in contenders]
    for round_number in range(max(1, rounds)):
        shift = round_number % len(series)
        for one in series[shift:] + series[:shift]:
            one.samples.append(one.contender.measure())
    return series


def paired_ratio(ours: Series, peer: Series) -> float:
    """Median over rounds of ours/peer, each ratio taken within one round."""
    ratios = [a.seconds / b.seconds for a, b in zip(ours.samples, peer.samples) if b.seconds > 0]
    return statistics.median(ratios) if ratios else float("nan")


def run_process(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                stdin: Path | None = None) -> Sample:
    """Run a command to completion; return its wall time and its own peak memory.

    :raises RuntimeError: when the command exits non-zero (with the end of its stderr).
    """
    measured = list(argv)
    report = None
    if os.access(GNU_TIME, os.X_OK):
        handle, name = tempfile.mkstemp(prefix="lightnb-bench-time-")
        os.close(handle)
        report = Path(name)
        measured = [GNU_TIME, "-f", "%M", "-o", str(report), *measured]
    stdin_handle = open(stdin, "rb") if stdin is not None else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        done = subprocess.run(measured, cwd=cwd, env=env, stdin=stdin_handle, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
    finally:
        if stdin is not None:
            stdin_handle.close()
    peak = None
    if report is not None:
        lines = [line for line in report.read_text().splitlines() if line.strip()]
        report.unlink(missing_ok=True)
        if lines and lines[-1].strip().isdigit():
            peak = int(lines[-1]) / 1024
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-600:]
        raise RuntimeError(f"{' '.join(map(str, argv[:3]))} … exited {done.returncode}: {tail}")
    return Sample(seconds, peak)


def have(command: str) -> str | None:
    """Return the path of a command-line tool, or None."""
    return shutil.which(command)
