"""The base of every result shown through :mod:`lightnb.render` (``str()``, HTML and Markdown in notebooks)."""

from __future__ import annotations

import importlib


class Rendered:
    """Shows a result through :mod:`lightnb.render`: ``str()`` as text, HTML and Markdown in notebooks.

    The format's renderer module is looked up by name when a result is shown, so this module imports
    no renderer (render imports the results it dispatches on; an import back would be a circle).
    """

    __slots__ = ()

    def __str__(self) -> str:
        return _rendered(self, "text")

    def _repr_html_(self) -> str:
        return _rendered(self, "html")

    def _repr_markdown_(self) -> str:
        return _rendered(self, "markdown")


def _rendered(result: Rendered, form: str) -> str:
    renderer = importlib.import_module(f"lightnb.render.{form}")
    shown: str = renderer.wrap(renderer.render(result)) if form == "html" else renderer.render(result)
    return shown
