"""Let Ctrl-C, SIGTERM and SIGHUP stop a SQLite statement that is running, then unwind cleanly.

Python runs its signal handlers only between bytecodes, so a long SQLite statement would ignore
Ctrl-C until it ended. While :func:`interrupting` is active, a stopping signal calls
``sqlite3_interrupt`` on the connection (a progress handler gives Python the chance to run the
handler mid-statement), the statement fails with SQLite's "interrupted", and the
:class:`lightnb.signals.Stop` turns that failure into the signal's exception at a safe point.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Iterator
from types import FrameType

from lightnb import time_limit
from lightnb.signals import STOPPING_SIGNALS, Stop, in_main_thread, record_arrival, stop_for
from lightnb.time_limit import TimeLimitExceeded

# SQLite calls the progress handler every this many virtual-machine instructions (well under a
# millisecond): often enough to stop a long statement at once, rare enough to cost nothing.
PROGRESS_INSTRUCTIONS = 10_000
_ACTIVE: dict[int, tuple[sqlite3.Connection, Stop]] = {}  # connections inside interrupting(), by id


@contextlib.contextmanager
def interrupting(conn: sqlite3.Connection, *, timed: bool = False, untimed: bool = False) -> Iterator[Stop]:
    """Let Ctrl-C, SIGTERM and SIGHUP interrupt ``conn``'s running statement during the block.

    :param timed: the block runs migration SQL lightnb runs by itself on a copy: it is also interrupted once
        :func:`lightnb.time_limit.seconds` have passed (see :func:`_time_limited`), unless an enclosing block is
        ``untimed``.
    :param untimed: the block runs the user's own run/revert/redo: the blocks inside it have no time limit.

    The handler records the signal and calls ``conn.interrupt()``. Mid-statement (the handler runs
    inside SQLite's progress callback) the statement then fails with SQLite's "interrupted" error,
    which :meth:`Stop.raise_if_interrupted` turns into the stop's exception; in Python code the
    exception is raised at once, as Python's own Ctrl-C would, unless the stop is
    :meth:`Stop.deferring`. Outside the main thread nothing is installed (the stop is never set).

    A stop is never lost: when code inside the block takes the interrupted statement's failure for an
    ordinary error and goes on, the block raises the stop as it ends, and a block opened meanwhile
    (another connection's) raises it as it starts. Inside a deferring block (a migration) both only
    stop statements and hand the stop to the deferring block, which raises it at its safe point.
    """
    active = _ACTIVE.get(id(conn))
    if active is not None and active[0] is conn:
        # already interruptible (a migration inside run/revert/redo, a proof's step inside the check)
        with _time_limited(conn, active[1], timed):
            yield active[1]
        return
    stop = Stop(caused=(sqlite3.Error,), untimed=untimed)
    if not in_main_thread():
        with _time_limited(conn, stop, timed):
            yield stop
        return
    enclosing = [outer for _conn, outer in _ACTIVE.values()]
    arrived = next((outer.signum for outer in enclosing if outer.signum is not None), None)
    if arrived is not None:  # a stop an enclosing block recorded and that no one raised yet
        if not any(outer.deferred for outer in enclosing):
            raise stop_for(arrived)
        stop.signum = arrived  # statements here stop at once; the enclosing block raises it at its safe point
    stop.deferred = any(outer.deferred for outer in enclosing)

    def keep_going() -> int:  # past the time limit, every long statement of the block stops too (a short one, such
        # as the ROLLBACK that undoes the block, runs fewer instructions than the handler waits for, and ends)
        return 0 if stop.signum is None and stop.timed_out is None else 1

    def handle(signum: int, frame: FrameType | None) -> None:
        record_arrival(signum)
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
        with _time_limited(conn, stop, timed):
            yield stop
    finally:
        _ACTIVE.pop(id(conn), None)
        try:
            conn.set_progress_handler(None, 0)
        except sqlite3.ProgrammingError:
            pass
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stop.signum is not None:
            for outer in enclosing:  # handed on, so a block still running raises it at its safe point
                if outer.signum is None:
                    outer.signum = stop.signum
    # The block ended without raising, yet a signal arrived: the statement it interrupted failed and
    # some code took that failure for an ordinary error and went on. Never lose a Ctrl-C or a SIGTERM.
    if stop.signum is not None and not any(outer.deferred for outer in enclosing):
        raise stop_for(stop.signum)


@contextlib.contextmanager
def _time_limited(conn: sqlite3.Connection, stop: Stop, timed: bool) -> Iterator[None]:
    """Interrupt ``conn``'s running statement once the time limit passed during the block, when ``timed`` (and
    no enclosing block is the user's own run): ``stop.timed_out`` says so, and the code running the statement
    raises :class:`TimeLimitExceeded` where it would raise a signal's stop (its failure, or its next safe point).

    The block raises it as it ends when its code took the interrupted statement's failure for an ordinary
    error and went on (never a wrong result from a half-run statement); the stop forgets it then, so an
    enclosing block (the check around a proof's step) goes on.
    """
    limit = time_limit.seconds() if timed and not stop.untimed else None
    if limit is None:
        yield
        return

    def stop_it() -> None:
        stop.timed_out = limit
        try:
            conn.interrupt()
        except sqlite3.ProgrammingError:  # closed
            pass

    fired: float | None = None
    try:
        with time_limit.deadline(limit, stop_it):  # no interrupt reaches what runs after the block
            yield
    except BaseException as error:
        fired, stop.timed_out = stop.timed_out, None
        if fired is not None and not isinstance(error, (TimeLimitExceeded, KeyboardInterrupt)):
            raise TimeLimitExceeded(fired) from error  # its code said "interrupted" as an ordinary failure
        raise
    fired, stop.timed_out = stop.timed_out, None
    if fired is not None:
        raise TimeLimitExceeded(fired)


__all__ = ["PROGRESS_INSTRUCTIONS", "interrupting"]
