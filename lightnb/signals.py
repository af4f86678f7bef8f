"""Ctrl-C, SIGTERM and SIGHUP while lightnb works: stop the running statement, roll back, clean up.

Python only runs its signal handlers between bytecodes, so a long SQLite statement would ignore
Ctrl-C until it ended, and SIGTERM (a CI job's timeout) would kill the process at once, leaving
its scratch copies behind. Two tools fix that:

* :func:`unwinding_on_termination` turns SIGTERM and SIGHUP into a :class:`Terminated` exception,
  so ``finally`` blocks (which remove scratch folders and roll back) run, as they do for Ctrl-C.
* a backend's ``interrupting`` (:func:`lightnb.backends.sqlite.interrupt.interrupting`) makes those
  signals, and Ctrl-C, interrupt a connection's running statement, recording them in a :class:`Stop`.

Handlers are only installed in the main thread, and never over a signal someone chose to ignore.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from lightnb.records import record

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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


def forget_handled_interrupt() -> None:
    """Let the process end with the status lightnb chose after it handled a Ctrl-C.

    CPython remembers a KeyboardInterrupt that left code run by ``exec`` of a *string* — the way
    ``dataclasses`` and ``namedtuple`` build their methods, so a Ctrl-C that lands while a module
    defining one is being imported — even when a caller catches it; run as ``python -m lightnb``,
    the interpreter then ends itself with SIGINT at exit instead of the chosen status (130, with
    lightnb's one line already printed). Each string run through ``exec`` clears that memory first.
    """
    exec("None")  # a constant string: clears the interpreter's "unhandled Ctrl-C" flag


def in_main_thread() -> bool:
    """Return whether this is the main thread (the only one Python delivers signals to)."""
    threading = sys.modules.get("threading")
    if threading is None:  # no thread was started through threading (a command's case): this is the only one
        return True
    return bool(threading.current_thread() is threading.main_thread())


# The stopping signals handled so far, in order. A database driver swallows an exception raised
# inside one of its Python callbacks (SQLite's authorizer, the SQL guard, a function) and fails the
# statement with its own error instead ("not authorized"); blocks compare this log to tell that such
# an error was a stop.
_ARRIVED: list[int] = []


def record_arrival(signum: int) -> None:
    """Log a stopping signal a handler outside this module handled (a backend's ``interrupting``)."""
    _ARRIVED.append(signum)


def _raise_terminated(signum: int, _frame: object) -> None:
    _ARRIVED.append(signum)
    raise Terminated(signum)


def _raise_interrupt(signum: int, _frame: object) -> None:
    _ARRIVED.append(signum)
    raise KeyboardInterrupt


def _arrived_since(mark: int) -> int | None:
    """The first stopping signal handled after the log held ``mark`` entries, or None."""
    return _ARRIVED[mark] if len(_ARRIVED) > mark else None


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
    if not in_main_thread():
        yield
        return
    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _raise_terminated)
    interrupt_handler = None
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # Ctrl-C as Python's, but logged
        interrupt_handler = signal.signal(signal.SIGINT, _raise_interrupt)
    mark = len(_ARRIVED)
    try:
        try:
            yield
        except Exception as error:
            swallowed = _arrived_since(mark)
            if swallowed is None:
                raise
            raise stop_for(swallowed) from error  # a driver's callback swallowed the stop: raise it
    except Terminated as stop:
        if not redeliver or stop.signum not in previous:
            raise
        signal.signal(stop.signum, signal.SIG_DFL)
        previous.pop(stop.signum)
        os.kill(os.getpid(), stop.signum)
        raise  # not reached: the default action ends the process
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if interrupt_handler is not None:
            signal.signal(signal.SIGINT, interrupt_handler)


@record
class Held:
    """Stopping signals held by :func:`hold`: the handlers to give back, the signals that arrived."""

    handlers: dict[int, Callable[[int, FrameType | None], Any]]
    arrived: list[int]


def hold() -> Held | None:
    """Hold the stopping signals for a few statements that must not be cut in two.

    The Python handlers are swapped for one that only records the signal; :func:`release` puts
    them back and calls the first recorded signal's handler, so nothing is lost. (A signal mask
    would not do: in a process with threads, a Jupyter kernel or a test runner, another thread
    takes the signal and Python runs the handler in the main thread anyway.) Returns None outside
    the main thread, where handlers cannot be set.
    """
    if not in_main_thread():
        return None
    held = Held({}, [])

    def record(signum: int, _frame: FrameType | None) -> None:
        held.arrived.append(signum)

    for signum in STOPPING_SIGNALS:
        current = signal.getsignal(signum)
        if callable(current):  # a Python handler (Ctrl-C's default one too); SIG_DFL/SIG_IGN stay
            held.handlers[signum] = current
            signal.signal(signum, record)
    return held


def release(held: Held | None) -> None:
    """Give back the handlers :func:`hold` replaced; a signal that arrived meanwhile is handled now."""
    if held is None:
        return
    for signum, handler in held.handlers.items():
        signal.signal(signum, handler)
    if held.arrived:
        signum = held.arrived[0]
        held.arrived.clear()
        held.handlers[signum](signum, None)  # raises as the signal would have


def _time_limit_exceeded(limit: float) -> BaseException:
    from lightnb.time_limit import TimeLimitExceeded  # loaded by the blocks that set a time limit
    return TimeLimitExceeded(limit)


@record
class Stop:
    """Which stopping signal arrived while a connection was interruptible (None: none).

    :param caused: the exceptions a stopped statement fails with (the driver's errors).
    :param deferred: while True, a signal only interrupts the running statement and is recorded;
        the code in the block raises it at a safe point (:meth:`check`), e.g. between a migration's
        statements, never between its COMMIT and the note that it committed.
    :param timed_out: the time limit (seconds) that stopped the block's migration SQL
        (:mod:`lightnb.time_limit`), raised as :class:`~lightnb.time_limit.TimeLimitExceeded` the same way
        (a signal first).
    :param untimed: the block runs the user's own run/revert/redo: no time limit inside it.
    """

    signum: int | None = None
    deferred: bool = False
    caused: tuple[type[BaseException], ...] = (Exception,)
    timed_out: float | None = None
    untimed: bool = False

    def check(self) -> None:
        """Raise the stop's exception if a stopping signal arrived (or the time limit passed)."""
        if self.signum is not None:
            raise stop_for(self.signum)
        if self.timed_out is not None:
            raise _time_limit_exceeded(self.timed_out)

    def raise_if_interrupted(self, error: BaseException) -> None:
        """Raise the stop's exception when a signal arrived and ``error`` is the database error it caused.

        Besides "interrupted", a signal handled inside one of the driver's Python callbacks (SQLite's
        authorizer, an aggregate) makes that callback fail, and so the statement, with another error.
        """
        if self.signum is not None and isinstance(error, self.caused):
            raise stop_for(self.signum) from None
        if self.timed_out is not None and isinstance(error, self.caused):
            raise _time_limit_exceeded(self.timed_out) from None

    @contextlib.contextmanager
    def deferring(self) -> Iterator[Stop]:
        """Record signals without raising them during the block (see ``deferred``)."""
        previous, self.deferred = self.deferred, True
        try:
            yield self
        finally:
            self.deferred = previous

