"""StepPanel: the one shape every workbook step's widget has.

A panel is composition, not a widget subclass: named regions (title, controls, the action
button, a one-line status, an error banner, the result HTML) in a ``VBox``. Its click
handler collects the control values, calls one core function and renders the result with
:mod:`lightnb.render.html`. A :class:`~lightnb.errors.LightnbError` becomes the banner's one
line; nothing is printed, so the panel works (and is tested) without a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from lightnb.errors import LightnbError
from lightnb.inspect.redact import mask_message
from lightnb.render import html


class StepPanel:
    """One step of the workbook as a widget panel.

    :param title: the step's name, shown as the panel's heading.
    :param action: called with no argument when the button is clicked; returns a result.
    :param render: turns the action's result into an HTML fragment.
    :param controls: input widgets shown above the button.
    :param button: the button's label.
    :param intro: one escaped sentence under the title saying what the step does.
    :param extra: widgets shown between the button row and the result (e.g. a progress bar).
    """

    def __init__(self, title: str, action: Callable[[], Any], *, render: Callable[[Any], str] = html.render,
                 controls: Sequence[widgets.Widget] = (), button: str = "Run", intro: str = "",
                 extra: Sequence[widgets.Widget] = (), summary: Callable[[Any], str] | None = None) -> None:
        self.title = title
        self.action = action
        self.render = render
        self.summary = summary or _default_summary
        self.result: Any = None
        self.error: BaseException | None = None
        self.state = "ready"
        self.header = widgets.HTML(html.style() + html.heading(title, 3)
                                   + (f"<p>{html.escape(intro)}</p>" if intro else ""))
        self.controls = list(controls)
        self.button = widgets.Button(description=button, button_style="primary",
                                     layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML("")
        self.banner = widgets.HTML("", layout=widgets.Layout(width="100%"))
        self.result_html = widgets.HTML("", layout=widgets.Layout(width="100%"))
        self.button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox(
            [self.header, *self.controls, widgets.HBox([self.button, self.status]), *extra,
             self.banner, self.result_html],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px", margin="4px 0", max_width="100%"))
        self.widget.add_class("lightnb-panel")

    def run(self) -> Any:
        """Do the step once, as a click does; return its result (None when it failed)."""
        self.banner.value = ""
        self.button.disabled = True
        self.set_status("working…")
        try:
            result = self.action()
        except LightnbError as error:
            return self.fail(str(error), error)
        except Exception as error:  # noqa: BLE001 - a panel must never show a traceback wall
            return self.fail(f"Unexpected {type(error).__name__}: {error}", error)
        finally:
            self.button.disabled = False
        self.show(result)
        return result

    def show(self, result: Any) -> None:
        """Display ``result`` in the panel and remember it."""
        self.result, self.error = result, None
        self.result_html.value = html.wrap(self.render(result))
        self.set_status(self.summary(result))

    def fail(self, message: str, error: BaseException | None = None) -> None:
        """Show ``message`` in the error banner (one line) and keep the previous result."""
        self.error = error
        self.banner.value = html.style() + html.banner(mask_message(" ".join(message.split())), "error")
        self.set_status("failed")
        return None

    def set_status(self, text: str) -> None:
        """Set the one-line status next to the button."""
        self.state = text
        self.status.value = f'<span class="lightnb-status">{html.escape(text)}</span>'

    @property
    def error_message(self) -> str:
        """The one-line message the banner shows, or an empty string."""
        return mask_message(str(self.error)) if self.error is not None else ""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<{self.title} panel: {self.state}>"


def _default_summary(result: Any) -> str:
    return "done" if result is not None else "ready"
