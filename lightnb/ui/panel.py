"""StepPanel: the one shape every workbook step's widget has.

A panel is composition, not a widget subclass: named regions (title, controls, the action
button, a one-line status, an error banner, a notice, the result HTML) in a ``VBox``. Its click
handler collects the control values, calls one core function and renders the result with
:mod:`lightnb.render.html`. A :class:`~lightnb.errors.LightnbError` becomes the banner's one
line; nothing is printed, so the panel works (and is tested) without a kernel.

Only the current outcome is shown: a failure clears the earlier result, and when another panel
changes what a result describes (a revert after a run), the panel says so above it. Displayed in
a notebook, a panel also leaves its static record (:mod:`lightnb.ui.record`) beside the widget,
replaced after every click, so the saved notebook reads the same without widget JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from lightnb import steps
from lightnb.errors import LightnbError
from lightnb.render import html
from lightnb.render import markdown as md
from lightnb.ui.progress import LongSteps
from lightnb.ui.record import Record, now, panel_metadata

if TYPE_CHECKING:
    from lightnb.ui.workbook import Workbook

HISTORY_LIMIT = 20


class NeedsConfirmation(LightnbError):
    """Raised by a panel's action that will not act before the user confirms (the message says what)."""
Fragments = tuple[str, str]  # (HTML, Markdown)


class Recorded:
    """Something displayed as a widget view plus its static record (see :mod:`lightnb.ui.record`)."""

    title: str
    widget: widgets.Widget
    record: Record

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True, metadata=panel_metadata(self.title))
        self.record.show()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


class StepPanel(Recorded):
    """One step of the workbook as a widget panel.

    :param title: the step's name, shown as the panel's heading.
    :param action: called with no argument when the button is clicked; returns a result.
    :param render: turns the action's result into an HTML fragment.
    :param markdown: turns the action's result into Markdown (for the static record).
    :param controls: input widgets shown above the button.
    :param button: the button's label.
    :param intro: one escaped sentence under the title saying what the step does.
    :param extra: widgets shown between the button row and the result (e.g. a progress bar).
    :param summary: the one-line status for a result.
    :param workbook: the workbook whose results this panel records (``records``) or watches.
    :param records: record each result in the workbook, so other panels follow it.
    :param stale_on: class names of results other panels record that make this panel's result out
        of date; the panel then says so above it (``stale_hint`` tells what to do).
    :param inputs: returns ``(html, markdown)`` describing the panel's inputs for the record.
    :param no_op: returns a message when a result did nothing; then an earlier result stays shown,
        under that message, instead of being replaced by "nothing", and nothing is recorded.
    :param after: called after every click, whatever its outcome (e.g. to re-read a pending list).
    """

    def __init__(self, title: str, action: Callable[[], Any], *, render: Callable[[Any], str] = html.render,
                 markdown: Callable[[Any], str] = md.render, controls: Sequence[widgets.Widget] = (),
                 button: str = "Run", intro: str = "", extra: Sequence[widgets.Widget] = (),
                 summary: Callable[[Any], str] | None = None, workbook: Workbook | None = None,
                 records: bool = False, stale_on: Sequence[str] = (), stale_hint: str = "",
                 inputs: Callable[[], Fragments] | None = None,
                 no_op: Callable[[Any], str | None] | None = None,
                 after: Callable[[], None] | None = None) -> None:
        self.title = title
        self.action = action
        self.render = render
        self.markdown = markdown
        self.summary = summary or _default_summary
        self.workbook = workbook
        self.records = records
        self.stale_on = tuple(stale_on)
        self.stale_hint = stale_hint
        self.inputs = inputs
        self.no_op = no_op
        self.after = after
        self.result: Any = None
        self._cache: tuple[Any, str, str] | None = None
        self.error: BaseException | None = None
        self.stale = ""
        self.failure = ""  # the error banner's line, while the current outcome is a failure
        self.warning = ""  # the warning banner's line (a click that did nothing)
        self.state = "ready"
        self.history: list[tuple[str, str]] = []
        self.header = widgets.HTML(html.style() + html.heading(title, 3)
                                   + (f"<p>{html.escape(intro)}</p>" if intro else ""))
        self.controls = list(controls)
        self.button = widgets.Button(description=button, button_style="primary",
                                     layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML("")
        self.banner = widgets.HTML("", layout=widgets.Layout(width="100%"))
        self.notice = widgets.HTML("", layout=widgets.Layout(width="100%"))
        self.result_html = widgets.HTML("", layout=widgets.Layout(width="100%"))
        # long steps of the action (a copy, a proof): a bar with an ETA while they run, a line each in the record
        self.long_steps = LongSteps()
        self.button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox(
            [self.header, *self.controls, widgets.HBox([self.button, self.status]), *extra,
             self.long_steps.widget, self.banner, self.notice, self.result_html],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px", margin="4px 0", max_width="100%"))
        self.widget.add_class("lightnb-panel")
        self.record = Record(title, self._record)
        if workbook is not None and self.stale_on:
            workbook.on_change(self._follow)

    def expose(self, **parts: Any) -> None:
        """Name the panel's own widgets and helpers as its attributes (``panel.up``, ``panel.progress`` …), for
        the notebook cells and tests that drive the panel."""
        vars(self).update(parts)

    def run(self) -> Any:
        """Do the step once, as a click does; return its result (None when it failed)."""
        self.banner.value, self.failure, self.warning = "", "", ""
        self.button.disabled = True
        self.set_status("working…")
        self.long_steps.start()
        ok = False
        try:
            with self.long_steps.following():
                result = self.action()
            ok = True
        except NeedsConfirmation as question:
            self.ask(str(question))
            return self._done(None)
        except LightnbError as error:
            self.fail(str(error), error)
            return self._done(None)
        except Exception as error:  # noqa: BLE001 - a panel must never show a traceback wall
            self.fail(f"Unexpected {type(error).__name__}: {error}", error)
            return self._done(None)
        finally:
            self.button.disabled = False
            self.long_steps.finish(ok)
        message = self.no_op(result) if self.no_op is not None else None
        if message and self.result is not None:
            self.keep(message, result)
        else:
            self.show(result)
        if self.records and self.workbook is not None and not message:
            self.workbook.record(result, by=self, title=self.title, summary=self.summary(result))
        return self._done(result)

    def _done(self, result: Any) -> Any:
        if self.after is not None:
            self.after()
        return result

    def show(self, result: Any) -> None:
        """Display ``result`` as the panel's current outcome and remember it."""
        self.result, self.error, self.stale = result, None, ""
        self.notice.value = ""
        self.result_html.value = html.wrap(self._rendered(result)[0])
        self.set_status(self.summary(result))
        self.log(self.state)

    def keep(self, message: str, result: Any) -> None:
        """Say that a click did nothing (``message``) and keep showing the earlier result below it."""
        summary = self.summary(result)
        self.error, self.failure = None, ""
        self.warning = f"{message} The result below is from before."
        self.banner.value = html.style() + html.banner(self.warning, "warn")
        self.set_status(summary)
        self.log(summary)

    def ask(self, message: str) -> None:
        """Show ``message`` (a question the panel's own buttons answer); nothing was done, the result stays."""
        self.error, self.failure = None, ""
        self.warning = " ".join(message.split())
        self.banner.value = html.style() + html.banner(self.warning, "warn")
        self.set_status("waiting for confirmation")
        self.log(f"asked: {self.warning}")

    def fail(self, message: str, error: BaseException | None = None, *, keep_result: bool = False) -> None:
        """Show ``message`` in the error banner (one line) as the current outcome.

        :param keep_result: keep the earlier result on show (for a side action, like Apply, whose
            failure leaves that result true); by default it is cleared, so only the failure shows.
        """
        line = steps.mask_message(" ".join(message.split()))
        self.error, self.failure, self.warning = error, line, ""
        self.banner.value = html.style() + html.banner(line, "error")
        if not keep_result:
            self.result, self.stale = None, ""
            self.result_html.value = ""
            self.notice.value = ""
        self.set_status("failed")
        self.log(f"failed: {line}")

    def mark_stale(self, text: str) -> None:
        """Say above the result that it no longer describes the workspace as it is now."""
        self.stale = text
        self.notice.value = html.style() + html.banner(text, "warn")
        self.record.update()

    def set_status(self, text: str) -> None:
        """Set the one-line status next to the button."""
        self.state = text
        self.status.value = f'<span class="lightnb-status">{html.escape(text)}</span>'

    def log(self, text: str) -> None:
        """Add one line to the panel's history (kept in its record) and refresh the record."""
        self.history.append((now(), text))
        del self.history[:-HISTORY_LIMIT]
        self.record.update()

    @property
    def error_message(self) -> str:
        """The one-line message the banner shows, or an empty string."""
        return steps.mask_message(str(self.error)) if self.error is not None else ""

    def _follow(self, result: Any) -> None:
        """Mark the result out of date when another panel records a result this one depends on."""
        event = self.workbook.events[-1] if self.workbook is not None and self.workbook.events else None
        if self.result is None or event is None or event.by is self or type(result).__name__ not in self.stale_on:
            return
        by = f"the {event.title} panel" if event.title else "another step"
        self.mark_stale(f"Out of date: since this result, {by} {event.summary} ({event.at})."
                        + (f" {self.stale_hint}" if self.stale_hint else ""))

    def _record(self) -> tuple[str, str, str]:
        """Return this panel's record now: ``(html, markdown, text)``."""
        try:
            inputs_html, inputs_md = self.inputs() if self.inputs is not None else ("", "")
        except Exception as problem:  # noqa: BLE001 - the record must never break the click that updates it
            line = " ".join(str(problem).split())
            inputs_html, inputs_md = html.banner(line, "warn"), md.banner(line, "warn")
        error = self.failure
        parts_html = [html.heading(self.title, 3),
                      f'<p class="lightnb-record-meta">Status: <b>{html.escape(self.state)}</b></p>', inputs_html]
        parts_md = [md.heading(self.title, 3), f"Status: **{md.text(self.state)}**", inputs_md]
        if self.long_steps.lines:  # how long the copies and proofs took: the bar's last word, kept
            parts_html.append(f'<p class="lightnb-record-meta">Timed steps: '
                              f'{html.escape("; ".join(self.long_steps.lines))}</p>')
            parts_md.append(f"Timed steps: {md.text('; '.join(self.long_steps.lines))}")
        if error:
            parts_html.append(html.banner(error, "error"))
            parts_md.append(md.banner(error, "error"))
        for note in (self.warning, self.stale):
            if note:
                parts_html.append(html.banner(note, "warn"))
                parts_md.append(md.banner(note, "warn"))
        if self.result is not None:
            result_html, result_md = self._rendered(self.result)
            parts_html.append(result_html)
            parts_md.append(result_md)
        if self.history:
            lines = [(at, line) for at, line in self.history]
            parts_html.append(f"<details><summary>History ({len(lines)})</summary>"
                              + html.items(f"{at} — {line}" for at, line in lines) + "</details>")
            parts_md.append(md.join("History:", md.items(f"{at} — {line}" for at, line in lines)))
        body = html.wrap(f'<div class="lightnb-record" data-panel="{html.escape(self.title)}">'
                         + "".join(parts_html) + "</div>")
        plain = f"{self.title}: {self.state}" + (f"\n{error}" if error else "") \
            + "".join(f"\n{line}" for line in self.long_steps.lines)
        return body, md.join(*parts_md), plain

    def _rendered(self, result: Any) -> Fragments:
        """Return ``result`` as (HTML, Markdown), rendered once per result (a record is rebuilt often)."""
        if self._cache is None or self._cache[0] is not result:
            self._cache = (result, self.render(result), self.markdown(result))
        return self._cache[1], self._cache[2]

    def __repr__(self) -> str:
        return f"<{self.title} panel: {self.state}>"


def _default_summary(result: Any) -> str:
    return "done" if result is not None else "ready"
