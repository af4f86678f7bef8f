"""Progress of long steps (copying a database, a check's proof, a rehearsal), and a terminal bar for it.

Core code says how far a step has come through :func:`task`; whoever wants to know installs a
reporter for the duration of a command with :func:`reporting` (the CLI installs a
:class:`TerminalBar` on stderr when it is a terminal; a panel may install its own). Without a
reporter, a task costs one context-variable lookup and nothing is printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from lightnb.records import record

ENV = "LIGHTNB_PROGRESS"  # auto (a bar when stderr is a terminal), always, never


@record(frozen=True)
class Progress:
    """How far one step has come: ``done`` of ``total`` ``unit`` (bytes or steps), after ``elapsed`` seconds."""

    label: str
    done: float
    total: float
    unit: str
    elapsed: float
    finished: bool = False
    name: str = ""  # the label the step started with (``label`` may say which part of it runs now)

    @property
    def title(self) -> str:
        """What the step as a whole is: the label it started with."""
        return self.name or self.label

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far (None before anything is done)."""
        if self.done <= 0 or self.total <= 0:
            return None
        return max(0.0, self.elapsed * (self.total - self.done) / self.done)

    def amounts(self) -> str:
        """How much of how much: ``512.0 MiB/2.0 GiB`` for bytes, ``2/3`` for steps."""
        if self.unit == "bytes":
            return f"{_size(self.done)}/{_size(self.total)}"
        return f"{self.done:g}/{self.total:g}"

    def eta_text(self) -> str:
        """``ETA 9s`` at the pace so far, ``ETA --`` before anything is done."""
        eta = self.eta
        return f"ETA {_duration(eta)}" if eta is not None else "ETA --"

    def summary(self) -> str:
        """One line for a finished step, to keep where no bar is drawn: ``copying prod.db: 1.2 GiB in 3.1 s``.

        The time is written ``N.N s``, a form a notebook's output checks can mask (it changes every run).
        """
        done = _size(self.done) if self.unit == "bytes" else f"{self.done:g} of {self.total:g} steps"
        return f"{self.title}: {done} in {self.elapsed:.1f} s"


Reporter = Callable[[Progress], None]
_REPORTER: ContextVar[Reporter | None] = ContextVar("lightnb_progress", default=None)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the progress of the steps run inside the block to ``reporter`` (None: to no one)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


@contextmanager
def kept(into: list[Progress]) -> Iterator[None]:
    """Append the steps finished inside the block to ``into``; they are reported as before too."""
    shown = _REPORTER.get()

    def keep(report: Progress) -> None:
        if report.finished:
            into.append(report)
        if shown is not None:
            shown(report)

    with reporting(keep):
        yield


def replay(finished: Sequence[Mapping[str, Any]]) -> None:
    """Report steps finished elsewhere, beforehand (their :class:`Progress` fields), to whoever follows progress now:
    a copy made before a step ran is said as the step itself would say it."""
    reporter = _REPORTER.get()
    if reporter is not None:
        for done in finished:
            reporter(Progress(**{**done, "finished": True}))


def wanted() -> bool:
    """Tell whether someone follows progress now (a step may then report more finely)."""
    return _REPORTER.get() is not None


class Task:
    """One long step being reported: call :meth:`advance` (or :meth:`update`) as it goes."""

    def __init__(self, label: str, total: float, unit: str, reporter: Reporter | None) -> None:
        self.label, self.total, self.unit, self.done = label, float(total), unit, 0.0
        self.name = label
        self._reporter = reporter
        self._start = time.monotonic()

    def advance(self, amount: float = 1) -> None:
        self.update(self.done + amount)

    def update(self, done: float, *, label: str | None = None) -> None:
        self.done = done
        if label is not None:
            self.label = label
        if self._reporter is not None:
            self._reporter(Progress(self.label, self.done, self.total, self.unit, time.monotonic() - self._start,
                                    name=self.name))

    def finish(self) -> None:
        if self._reporter is not None:
            self._reporter(Progress(self.label, self.done, self.total, self.unit, time.monotonic() - self._start,
                                    finished=True, name=self.name))


@contextmanager
def task(label: str, total: float, unit: str = "steps") -> Iterator[Task]:
    """Report a step of ``total`` ``unit`` (``bytes`` or ``steps``) under ``label`` while the block runs."""
    current = Task(label, total, unit, _REPORTER.get())
    try:
        yield current
    finally:
        current.finish()


def terminal_bar(stream: TextIO, environ: Mapping[str, str] | None = None) -> TerminalBar | None:
    """A bar on ``stream`` when it is a terminal; ``LIGHTNB_PROGRESS=always`` draws one anyway (every step
    and every report, however short and close together: for logs), ``never`` none."""
    choice = (environ if environ is not None else os.environ).get(ENV, "auto").strip().lower()
    if choice in ("always", "1", "yes"):
        return TerminalBar(stream, delay=0.0, interval=0.0)
    if choice in ("never", "0", "no"):
        return None
    isatty = getattr(stream, "isatty", None)
    return TerminalBar(stream) if isatty is not None and isatty() else None


class TerminalBar:
    """Draw progress as one line on a terminal, rewritten in place: ``label [####----] 42% 1.2/2.9 GiB ETA 3s``.

    :param delay: draw nothing for a step that finishes sooner (short steps do not flicker).
    :param interval: redraw at most this often.
    """

    WIDTH = 24

    def __init__(self, stream: TextIO, *, delay: float = 0.5, interval: float = 0.1) -> None:
        self.stream, self.delay, self.interval = stream, delay, interval
        self._drawn = 0.0
        self._shown = False
        self._width = 0

    def __call__(self, progress: Progress) -> None:
        if progress.finished:
            if self._shown:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            self._shown = False
            self._width = 0
            return
        now = time.monotonic()
        if progress.elapsed < self.delay or (self._shown and now - self._drawn < self.interval):
            return
        line = render(progress, self.WIDTH)
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self.stream.flush()
        self._drawn, self._shown, self._width = now, True, len(line)


def render(progress: Progress, width: int = 24) -> str:
    """One line for ``progress``: label, bar, percentage, amounts, ETA."""
    filled = int(progress.fraction * width)
    bar = "#" * filled + "-" * (width - filled)
    return f"{progress.label} [{bar}] {progress.fraction:4.0%} {progress.amounts()} {progress.eta_text()}"


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"  # pragma: no cover - the loop returns


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
