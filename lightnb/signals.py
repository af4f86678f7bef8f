"""Ctrl-C, SIGTERM and SIGHUP while lightnb works: stop the running statement, roll back, clean up.

Python only runs its signal handlers between bytecodes, so a long SQLite statement would ignore
Ctrl-C until it ended, and SIGTERM (a CI job's timeout) would kill the process at once, leaving
its scratch copies behind. Two tools fix that:

* :func:`unwinding_on_termination` turns SIGTERM and SIGHUP into a :class:`Terminated` exception,
  so ``finally`` blocks (which remove scratch folders and roll back) run, as they do for Ctrl-C.
* :func:`interrupting` makes those signals, and Ctrl-C, interrupt a connection's running statement
  (``sqlite3_interrupt``), with a progress handler so Python gets to run the handler mid-statement.

Handlers are only installed in the main thread, and never over a signal someone chose to ignore.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

# SQLite calls the progress handler every this many virtual-machine instructions (well under a
# millisecond): often enough to stop a long statement at once, rare enough to cost nothing.
PROGRESS_INSTRUCTIONS = 10_000
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_ACTIVE: dict[int, tuple[sqlite3.Connection, Stop]] = {}  # connections inside interrupting(), by id


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C (a KeyboardInterrupt), so cleanup runs.

    :param signum: the signal's number; the exit status is 128 + signum.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(stop: BaseException) -> int:
    """Return the shell's exit status for a stop: 130 for Ctrl-C, 128 + the signal for the others."""
    return 128 + (stop.signum if isinstance(stop, Terminated) else signal.SIGINT)


def describe(stop: BaseException) -> str:
    """Name a stop for people: ``interrupted (Ctrl-C)`` or ``terminated (SIGTERM)``."""
    if isinstance(stop, Terminated):
        return f"terminated ({signal.Signals(stop.signum).name})"
    return "interrupted (Ctrl-C)"


def stop_for(signum: int) -> KeyboardInterrupt:
    """Return the exception a stopping signal becomes."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def unwinding_on_termination(*, redeliver: bool = True) -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` for the duration of the block.

    Only signals left at their default action (which kills the process without cleanup) are
    taken over; a handler someone else installed, or an ignored signal, is left alone.

    :param redeliver: when the :class:`Terminated` this block raised leaves it (after the
        ``finally`` blocks inside it ran), send the signal again with its default action, so the
        process still ends as it was asked to (a notebook kernel, a script). The CLI passes False:
        it prints one line and exits with 128 + the signal itself.
    """
    if not _in_main_thread():
        yield
        return
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    except Terminated as stop:
        if not redeliver or stop.signum not in previous:
            raise
        signal.signal(stop.signum, signal.SIG_DFL)
        previous.pop(stop.signum)
        os.kill(os.getpid(), stop.signum)
        raise  # not reached: the default action ends the process
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def hold() -> set[signal.Signals] | None:
    """Hold the stopping signals for a few statements that must not be cut in two.

    A signal that arrives meanwhile stays pending until :func:`release` (its handler then runs at
    once), so nothing is lost. Returns the mask to give back to :func:`release`; None when nothing
    was held (not the main thread, or no ``pthread_sigmask`` on this system).
    """
    if not _in_main_thread() or not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)


def release(previous: set[signal.Signals] | None) -> None:
    """Give back the signal mask :func:`hold` returned; a held signal is handled right after."""
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclass
class Stop:
    """Which stopping signal arrived while :func:`interrupting` was active (None: none).

    :param deferred: while True, a signal only interrupts the running statement and is recorded;
        the code in the block raises it at a safe point (:meth:`check`), e.g. between a migration's
        statements, never between its COMMIT and the note that it committed.
    """

    signum: int | None = None
    deferred: bool = False

    def check(self) -> None:
        """Raise the stop's exception if a stopping signal arrived."""
        if self.signum is not None:
            raise stop_for(self.signum)

    def raise_if_interrupted(self, error: BaseException) -> None:
        """Raise the stop's exception when a signal arrived and ``error`` is the SQLite error it caused.

        Besides "interrupted", a signal handled inside one of SQLite's Python callbacks (the
        authorizer, an aggregate) makes that callback fail, and so the statement, with another error.
        """
        if self.signum is not None and isinstance(error, sqlite3.Error):
            raise stop_for(self.signum) from None

    @contextlib.contextmanager
    def deferring(self) -> Iterator[Stop]:
        """Record signals without raising them during the block (see ``deferred``)."""
        previous, self.deferred = self.deferred, True
        try:
            yield self
        finally:
            self.deferred = previous


@contextlib.contextmanager
def interrupting(conn: sqlite3.Connection) -> Iterator[Stop]:
    """Let Ctrl-C, SIGTERM and SIGHUP interrupt ``conn``'s running statement during the block.

    The handler records the signal and calls ``conn.interrupt()``. Mid-statement (the handler runs
    inside SQLite's progress callback) the statement then fails with SQLite's "interrupted" error,
    which :meth:`Stop.raise_if_interrupted` turns into the stop's exception; in Python code the
    exception is raised at once, as Python's own Ctrl-C would, unless the stop is
    :meth:`Stop.deferring`. Outside the main thread nothing is installed (the stop is never set).
    """
    active = _ACTIVE.get(id(conn))
    if active is not None and active[0] is conn:
        yield active[1]  # already interruptible (a migration inside run/revert/redo)
        return
    stop = Stop()
    if not _in_main_thread():
        yield stop
        return

    def keep_going() -> int:
        return 0 if stop.signum is None else 1

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.signum is None:
            stop.signum = signum
        try:
            conn.interrupt()
        except sqlite3.ProgrammingError:  # closed
            pass
        if stop.deferred or (frame is not None and frame.f_code is keep_going.__code__):
            return  # the statement stops; the code running it raises at a safe point
        raise stop_for(signum)

    previous = {}
    for signum in STOPPING_SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN or current is None:
            continue  # the user (nohup, a background job) chose to ignore it
        previous[signum] = signal.signal(signum, handle)
    # Any Python callback gives the interpreter a chance to run the handler mid-statement; an
    # observer (a progress bar) may replace this one with its own, which does the same.
    conn.set_progress_handler(keep_going, PROGRESS_INSTRUCTIONS)
    _ACTIVE[id(conn)] = (conn, stop)
    try:
        yield stop
    finally:
        _ACTIVE.pop(id(conn), None)
        try:
            conn.set_progress_handler(None, 0)
        except sqlite3.ProgrammingError:
            pass
        for signum, handler in previous.items():
            signal.signal(signum, handler)

