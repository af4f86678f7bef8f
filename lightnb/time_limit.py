"""How long migration SQL that lightnb runs by itself, on a copy, may run before lightnb stops it.

``lightnb check``'s proof, lint's replay of the history and its measurement, Inspect's measured impact
(and the Run panel's measurement ahead) run a migration's up.sql and down.sql on throwaway copies,
on the user's behalf: a statement that never ends there (a recursive CTE without a bound, a runaway
trigger) would hang a command the user ran only to look at the migration. Each such run — one
migration's up.sql or down.sql in a proof or a replay, one measurement — stops after
:func:`seconds` (600 by default), rolls back, and fails with :class:`TimeLimitExceeded`, one line
that says how to allow more. The user's own ``migration run``/``revert``/``redo`` (and the Run and
Revert panels) have no limit, as with diesel: Ctrl-C stops them.

SQLite interrupts the statement (:func:`lightnb.backends.sqlite.interrupt.interrupting` with ``timed``);
PostgreSQL cancels it in the server (:func:`lightnb.backends.postgres.connect.time_limited`, on a clone).

The limit comes from, first to last: :func:`limited` (in this thread), the ``LIGHTNB_SQL_TIMEOUT``
environment variable (which ``--sql-timeout`` sets, so a rehearsal's kernel sees it too), the project's
``sql_timeout`` in lightnb.toml (:func:`configured`, while a step of that project runs), the default.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from lightnb.errors import LightnbError

DEFAULT_SECONDS = 600.0
ENV = "LIGHTNB_SQL_TIMEOUT"
_UNSET = -1.0
_LIMIT: ContextVar[float | None] = ContextVar("lightnb_sql_time_limit", default=_UNSET)
_CONFIGURED: ContextVar[float | None] = ContextVar("lightnb_sql_time_limit_configured", default=None)


class TimeLimitExceeded(LightnbError):
    """Migration SQL lightnb ran by itself on a copy ran over the time limit; it was stopped and rolled back."""

    def __init__(self, limit: float, what: str = "Migration SQL") -> None:
        super().__init__(f"{what} ran over the time limit ({limit:g} s) on a copy, so lightnb stopped it and kept "
                         f"nothing of it; allow longer with --sql-timeout SECONDS or {ENV}=SECONDS (0: no limit)")
        self.limit = limit

    def naming(self, what: str) -> TimeLimitExceeded:
        """The same error, saying what ran over (``2024-…_add_x's up.sql``)."""
        return TimeLimitExceeded(self.limit, what)


def seconds() -> float | None:
    """The time limit in seconds, None for none.

    :raises LightnbError: when ``LIGHTNB_SQL_TIMEOUT`` is not a number of seconds.
    """
    chosen = _LIMIT.get()
    if chosen != _UNSET:
        return chosen
    written = os.environ.get(ENV, "").strip()
    if written:
        return parse(written, what=ENV)
    configured = _CONFIGURED.get()
    if configured is not None:
        return configured or None
    return DEFAULT_SECONDS


def parse(text: str, *, what: str = "--sql-timeout") -> float | None:
    """Read a time limit as written (``600``, ``2.5``; ``0`` for none).

    :raises LightnbError: when it is not a number of seconds, or is negative.
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise LightnbError(f"{what} must be a number of seconds (0 for no limit), not {text!r}; e.g. {what}=1800")
    return value or None


@contextlib.contextmanager
def limited(limit: float | None) -> Iterator[None]:
    """Use ``limit`` seconds (None: no limit) for the SQL lightnb runs by itself during the block (this thread's)."""
    token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _LIMIT.reset(token)


@contextlib.contextmanager
def configured(limit: float | None) -> Iterator[None]:
    """Use ``limit`` (a project's ``sql_timeout``: seconds, ``0`` for none; None: not set) during the block, unless
    :func:`limited` or ``LIGHTNB_SQL_TIMEOUT`` chose one."""
    token = _CONFIGURED.set(limit)
    try:
        yield
    finally:
        _CONFIGURED.reset(token)


def chosen() -> tuple[float | None, float | None]:
    """This thread's choice of limit (:func:`limited`, :func:`configured`), to carry into a thread that works for it
    (:func:`carried`): a new thread starts with none."""
    return _LIMIT.get(), _CONFIGURED.get()


@contextlib.contextmanager
def carried(choice: tuple[float | None, float | None]) -> Iterator[None]:
    """Use ``choice`` (:func:`chosen` in the thread this one works for) during the block."""
    limit, configured_limit = choice
    tokens = _LIMIT.set(limit), _CONFIGURED.set(configured_limit)
    try:
        yield
    finally:
        _CONFIGURED.reset(tokens[1])
        _LIMIT.reset(tokens[0])


class Deadline:
    """One armed deadline of :func:`deadline` (``fired`` once its action ran)."""

    __slots__ = ("at", "action", "state")

    def __init__(self, at: float, action: Callable[[], None]) -> None:
        self.at = at
        self.action = action
        self.state = "armed"  # then "firing" and "fired", or "disarmed"

    @property
    def fired(self) -> bool:
        return self.state == "fired"


class _Watchdog:
    """One thread for every armed deadline of the process (a thread per block would cost a tenth of a millisecond
    per migration step); it starts with the first deadline and waits, idle, for the next."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> Deadline:
        armed = Deadline(time.monotonic() + seconds, action)
        with self._changed:
            heapq.heappush(self._heap, (armed.at, next(self._order), armed))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lightnb-sql-time-limit", daemon=True)
                self._thread.start()
            self._changed.notify()
        return armed

    def disarm(self, armed: Deadline) -> None:
        """Take ``armed`` back; once this returns its action does not run, or has run to its end."""
        with self._changed:
            while armed.state == "firing":
                self._changed.wait()
            if armed.state == "armed":
                armed.state = "disarmed"  # left in the heap, skipped when its time comes

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._heap and self._heap[0][2].state != "armed":
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._changed.wait()
                    continue
                due = self._heap[0][0] - time.monotonic()
                if due > 0:
                    self._changed.wait(due)
                    continue
                armed = heapq.heappop(self._heap)[2]
                armed.state = "firing"
            try:
                armed.action()
            except Exception:  # noqa: BLE001 - an action that fails (a closed connection) has nothing left to stop
                pass
            finally:
                with self._changed:
                    armed.state = "fired"
                    self._changed.notify_all()


_WATCHDOG = _Watchdog()


@contextlib.contextmanager
def deadline(seconds: float, action: Callable[[], None]) -> Iterator[Deadline]:
    """Run ``action`` (quick: it only stops something) once ``seconds`` passed during the block, in lightnb's watchdog
    thread; when the block ends, it has run to its end or never runs. The block reads ``fired``."""
    armed = _WATCHDOG.arm(seconds, action)
    try:
        yield armed
    finally:
        _WATCHDOG.disarm(armed)


__all__ = ["DEFAULT_SECONDS", "ENV", "Deadline", "TimeLimitExceeded", "carried", "chosen", "configured", "deadline",
           "limited", "parse", "seconds"]
