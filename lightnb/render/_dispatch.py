"""Pick a renderer by the result's class name, so render/ never imports the modules it renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Renderer = Callable[[Any], str]


class Registry:
    """A table of renderers keyed by class name, looked up along the result's MRO."""

    def __init__(self, fallback: Renderer) -> None:
        self._by_name: dict[str, Renderer] = {}
        self._fallback = fallback

    def register(self, *names: str) -> Callable[[Renderer], Renderer]:
        """Register the decorated function for results whose class is called one of ``names``."""
        def decorate(func: Renderer) -> Renderer:
            for name in names:
                self._by_name[name] = func
            return func
        return decorate

    def __call__(self, result: Any) -> str:
        """Render ``result`` with the renderer registered for its class (or the fallback)."""
        for cls in type(result).__mro__:
            func = self._by_name.get(cls.__name__)
            if func is not None:
                return func(result)
        return self._fallback(result)

    def knows(self, result: Any) -> bool:
        """Tell whether a specific renderer exists for ``result``."""
        return any(cls.__name__ in self._by_name for cls in type(result).__mro__)
