"""A progress bar fed by the runner's step events and SQLite's progress handler, with elapsed time."""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets

from lightnb.render import html

# SQLite calls the handler every this many virtual-machine instructions (~ms on this hardware).
HANDLER_INSTRUCTIONS = 20_000
REFRESH_SECONDS = 0.2


class Progress:
    """Statement-by-statement progress of run/revert, and elapsed time during long statements.

    Pass :meth:`on_step` as the runner's ``on_step`` observer. When a step event carries the
    connection, :meth:`attach` installs :meth:`tick` as its SQLite progress handler, so the
    elapsed time also moves while one long statement runs.
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="", bar_style="info",
                                       layout=widgets.Layout(width="40%"))
        self.label = widgets.HTML("")
        self.widget = widgets.HBox([self.bar, self.label])
        self.widget.layout.display = "none"
        self.started = 0.0
        self.current = ""
        self._last_refresh = 0.0
        self._attached: Any = None  # the database connection the step runs on

    def start(self) -> None:
        """Show the bar and start the clock."""
        self.started = self._last_refresh = self.clock()
        self.bar.value, self.bar.max, self.bar.bar_style = 0, 1, "info"
        self.widget.layout.display = "flex"
        self._show("starting")

    def on_step(self, event: Any) -> None:
        """Follow one runner event (``migration``, ``statement`` or ``done``)."""
        connection = getattr(event, "connection", None)
        if connection is not None and connection is not self._attached:
            self.attach(connection)
        verb = "reverting" if event.direction == "down" else "running"
        if event.kind == "migration":
            self.bar.max, self.bar.value = max(event.total, 1), 0
            self.current = f"{verb} {event.migration.name}"
            self._show(f"{self.current}: {event.total} statement(s)")
        elif event.kind == "statement":
            self.bar.value = min(self.bar.value + 1, self.bar.max)
            line = f", line {event.statement.line}" if event.statement is not None else ""
            self._show(f"{self.current}: statement {self.bar.value}/{event.total}{line}")
        elif event.kind == "done":
            self.bar.value = self.bar.max
            self._show(f"{self.current}: done")

    def attach(self, connection: Any) -> None:
        """Install :meth:`tick` as ``connection``'s SQLite progress handler."""
        connection.set_progress_handler(self.tick, HANDLER_INSTRUCTIONS)
        self._attached = connection

    def tick(self) -> int:
        """SQLite progress handler: refresh the elapsed time; return 0 to let SQLite continue."""
        now = self.clock()
        if now - self._last_refresh >= REFRESH_SECONDS:
            self._last_refresh = now
            self._show(f"{self.current}: working")
        return 0

    def finish(self, ok: bool) -> None:
        """Colour the bar for success or failure and detach from the connection."""
        self.bar.bar_style = "success" if ok else "danger"
        self._show("finished" if ok else "stopped; nothing half-done was kept")
        if self._attached is not None:
            try:
                self._attached.set_progress_handler(None, 0)
            except Exception:  # noqa: BLE001 - the step already closed it: nothing left to detach
                pass
            self._attached = None

    @property
    def elapsed(self) -> float:
        """Seconds since :meth:`start`."""
        return self.clock() - self.started

    def _show(self, text: str) -> None:
        self.label.value = f"<span>{html.escape(text)} — {self.elapsed:.1f} s</span>"
