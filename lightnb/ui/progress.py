"""Progress bars in the panels.

* :class:`Progress` follows run/revert statement by statement (the runner's step events, and
  SQLite's progress handler during one long statement), with the elapsed time.
* :class:`LongSteps` follows the long steps a panel's action reports through :mod:`lightnb.progress`
  (a copy of the database, a check's proof): a bar with the percentage, the amounts and an ETA,
  updated while the step runs; each finished step leaves one line (``copying prod.db: 1.2 GiB in
  3.1 s``) that the panel keeps in its record, readable where no widget runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.render import html
from lightnb.render import markdown as md

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


class LongSteps:
    """A bar with an ETA for the long steps run inside :meth:`following`, and a line for each finished one.

    It is a progress reporter (:data:`lightnb.progress.Reporter`): the steps run inside
    :meth:`following` report to it. The bar is hidden until a step reports, redrawn at most every
    ``interval`` seconds (a copy reports every 64 MiB), and shows the step running now (a copy
    inside a proof, then the proof again). :attr:`lines` holds one summary per finished step, in order.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, interval: float = REFRESH_SECONDS) -> None:
        self.clock = clock
        self.interval = interval
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="", bar_style="info",
                                         layout=widgets.Layout(width="40%"))
        self.label = widgets.HTML("")
        self.widget = widgets.HBox([self.bar, self.label])
        self.widget.add_class("lightnb-long-steps")
        self.widget.layout.display = "none"
        self.lines: list[str] = []
        self._drawn: float | None = None

    def start(self) -> None:
        """Forget earlier steps and hide the bar (a new click)."""
        self.lines = []
        self._drawn = None
        self.bar.value, self.bar.bar_style = 0.0, "info"
        self.label.value = ""
        self.widget.layout.display = "none"

    def following(self) -> Any:
        """A context manager: the long steps run inside it draw this bar."""
        return steps.following_progress(self)

    def __call__(self, report: Any) -> None:
        """Follow one report (a :class:`lightnb.progress.Progress`)."""
        if report.finished:
            line = report.summary()
            self.lines.append(line)
            self.bar.value = 1.0
            self._show(line)
            return
        now = self.clock()
        if self._drawn is not None and now - self._drawn < self.interval:
            return
        self._drawn = now
        self.bar.value = report.fraction
        self._show(f"{report.label} — {report.fraction:.0%}, {report.amounts()}, {report.eta_text()}")

    def finish(self, ok: bool) -> None:
        """Colour the bar for success or failure (it stays hidden when no step reported)."""
        self.bar.bar_style = "success" if ok else "danger"
        if not ok and self.widget.layout.display != "none":
            self._show("stopped" + (f" (last finished: {self.lines[-1]})" if self.lines else ""))

    def _show(self, text: str) -> None:
        self.widget.layout.display = "flex"
        self.label.value = f"<span>{html.escape(text)}</span>"


class ShownSteps:
    """Long steps done outside a panel (the copy of production when a workbook opens), drawn in the cell.

    A reporter like :class:`LongSteps`: at the first report it shows the bar in the cell being run
    (inside an IPython kernel only; elsewhere it only keeps the lines), and :meth:`close` then shows
    the static record of what was done (``Workspace copy: copying production.db: 1.7 MiB in 0.2 s``),
    which a saved notebook keeps where no widget runs. Nothing is shown when no step reported.
    """

    def __init__(self, title: str, *, display: bool | None = None) -> None:
        self.title = title
        self.steps = LongSteps()
        self.steps.widget.add_class("lightnb-panel")  # a live view hides its record (see lightnb.ui.record)
        self.display = _in_kernel() if display is None else display
        self.shown = False
        self.ok = True
        from lightnb.ui.record import Record
        self.record = Record(title, self._record)

    def following(self) -> Any:
        """A context manager: the long steps run inside it report here."""
        return steps.following_progress(self)

    def __call__(self, report: Any) -> None:
        if not self.shown and self.display:
            from IPython.display import display

            from lightnb.ui.record import panel_metadata
            bundle = self.steps.widget._repr_mimebundle_()
            bundle["text/plain"] = f"<{self.title}: progress bar>"
            display(bundle, raw=True, metadata=panel_metadata(self.title))
        self.shown = True
        self.steps(report)

    def close(self, ok: bool) -> None:
        """Say how the steps ended: colour the bar, and show the record once (when a step was shown)."""
        self.ok = ok
        self.steps.finish(ok)
        if self.shown and self.display:
            self.record.show()

    @property
    def lines(self) -> list[str]:
        """One line per finished step."""
        return self.steps.lines

    def _record(self) -> tuple[str, str, str]:
        said = "; ".join(self.lines) if self.lines else "nothing finished"
        line = f"{self.title}: {said}" + ("" if self.ok else " (stopped)")
        body = html.wrap(f'<div class="lightnb-record" data-panel="{html.escape(self.title)}">'
                         f'<p class="lightnb-record-meta">{html.escape(line)}</p></div>')
        return body, md.text(line), line


def _in_kernel() -> bool:
    """Tell whether this code runs inside an IPython kernel (a notebook), where a bar can be drawn."""
    import sys
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
