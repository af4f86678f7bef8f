"""Pick a renderer by the result's type (:func:`functools.singledispatch`).

The result types of :mod:`lightnb.results` are registered where each renderer module defines its
functions (the text renderer registers them, as the core modules' own types, by its loader). The
result types that core modules define (a check's verdict, a row diff, a snapshot …) are registered
by a loader when a result finds no renderer; the text and JSON renderers' loaders register the
types of the modules already imported only, so importing a renderer (the CLI's text, say), or
showing one result, loads no module the command does not need.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import singledispatch
from types import ModuleType
from typing import Any

Renderer = Callable[..., str]
Registrar = Callable[[type, Renderer], None]


class ByType:
    """A table of renderers keyed by result class, looked up along the result's MRO.

    :param fallback: renders a result no renderer is registered for.
    :param load: registers the renderers of the core modules' result types: called when a result finds no
        renderer, again only after more modules were imported; it may register only the types of modules
        already imported (see :func:`loaded`), since a result's module is always imported before it is shown.
    """

    def __init__(self, fallback: Renderer, load: Callable[[Registrar], None] | None = None) -> None:
        self._fallback = fallback
        self._dispatch = singledispatch(fallback)
        self._load = load
        self._loaded_with = -1  # how many modules were imported when the loader last ran

    def register(self, cls: type) -> Callable[[Renderer], Renderer]:
        """Register the decorated function as the renderer of ``cls`` (and its subclasses)."""
        def decorate(func: Renderer) -> Renderer:
            self._dispatch.register(cls, func)
            return func
        return decorate

    def _register(self, cls: type, func: Renderer) -> None:
        self._dispatch.register(cls, func)

    def renderer(self, result: Any) -> Renderer:
        """Return the renderer of ``result``'s type (the fallback when there is none)."""
        func: Renderer = self._dispatch.dispatch(type(result))
        if func is self._fallback and self._load is not None and self._loaded_with != len(sys.modules):
            self._loaded_with = len(sys.modules)
            self._load(self._register)
            func = self._dispatch.dispatch(type(result))
        return func

    def __call__(self, result: Any, **options: Any) -> str:
        """Render ``result`` with the renderer registered for its type (``options`` are passed on)."""
        return self.renderer(result)(result, **options)

    def knows(self, result: Any) -> bool:
        """Tell whether a specific renderer exists for ``result``."""
        return self.renderer(result) is not self._fallback


def loaded(name: str) -> ModuleType | None:
    """Return the module ``name`` when it is already imported, else None (a loader imports nothing)."""
    return sys.modules.get(name)
