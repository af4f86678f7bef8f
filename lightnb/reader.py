"""A reader thread: read-only SQLite work that runs beside the calling thread and stops when told to.

SQLite works without Python's lock, so two readers of the same committed state use both cores. The work
gets ``opened``, to call with every connection it opens: a progress handler then stops its statements as
soon as the reader is told to (the calling thread leaves the block with an error, Ctrl-C or SIGTERM), or
as soon as the reader whose thread started this one is (readers nest: a reader's work may start readers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from lightnb.backends import sqlite

_T = TypeVar("_T")

# SQLite calls a reader's progress handler every this many virtual-machine instructions (well under a
# millisecond): a reader told to stop stops at once.
READER_INSTRUCTIONS = 10_000

_running = threading.local()  # .reader: the Reader whose work runs in this thread


class Reader(Generic[_T]):
    """Read-only work that runs in a thread of its own while this thread reads the same committed state.

    Used as a context manager around what this thread does meanwhile: :meth:`result` waits for the work and
    returns what it returned, or raises what it raised; leaving the block otherwise (an error here, Ctrl-C,
    SIGTERM) stops the work and waits for its thread to end, so no thread outlives the block and nothing it
    writes appears after it. Whatever this thread raises wins over what the reader raised: the errors come
    as they would one after the other, this thread's first. Created inside another reader's work, it stops
    when that reader is told to stop as well.
    """

    NAME = "lightnb-reader"  # the thread's name

    def __init__(self, work: Callable[[Callable[[sqlite.Connection], None]], _T]) -> None:
        self._work = work
        self._stopped = threading.Event()
        # Waited for instead of the thread itself: a Thread.join that Ctrl-C interrupts may take a thread that
        # still runs for ended (CPython 3.11), an Event cannot be wrong.
        self._done = threading.Event()
        self._outcome: tuple[bool, Any] | None = None
        self._parent: Reader[Any] | None = getattr(_running, "reader", None)
        from lightnb import time_limit
        self._limits = time_limit.chosen()  # migration SQL it runs on a copy has the caller's time limit
        self._thread = threading.Thread(target=self._run, name=self.NAME, daemon=True)

    def __enter__(self) -> Reader[_T]:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        if kind is not None:
            self._stopped.set()
        self._wait()

    def result(self) -> _T:
        """Wait for the work (Ctrl-C and SIGTERM stop the wait) and return its result, or raise its error."""
        self._done.wait()
        assert self._outcome is not None
        ok, value = self._outcome
        if not ok:
            raise value
        return cast(_T, value)

    def _wait(self) -> None:
        """Wait until the thread has ended; a stop that arrives meanwhile stops the work, and is raised after."""
        stop: BaseException | None = None
        while True:
            try:
                self._done.wait()
                self._thread.join()  # the work is over: the thread only returns
                break
            except BaseException as arrived:  # noqa: BLE001 - Ctrl-C or SIGTERM while waiting: stop the work, raised after
                self._stopped.set()
                stop = stop or arrived
        if stop is not None:
            raise stop

    def _run(self) -> None:
        from lightnb import time_limit
        _running.reader = self
        try:
            with time_limit.carried(self._limits):
                self._outcome = (True, self._work(self._opened))
        except BaseException as error:  # noqa: BLE001 - handed to the thread that waits for it
            self._outcome = (False, error)
        finally:
            self._done.set()

    def _opened(self, conn: sqlite.Connection) -> None:
        conn.set_progress_handler(self._halt, READER_INSTRUCTIONS)

    def _halt(self) -> int:
        return 1 if self.stopping else 0

    @property
    def stopping(self) -> bool:
        """Whether this reader, or the reader that started it, was told to stop."""
        return self._stopped.is_set() or (self._parent is not None and self._parent.stopping)
