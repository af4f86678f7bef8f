"""Neutral renderers: result objects → escaped HTML, Markdown or terminal text (no IPython import)."""

from __future__ import annotations

from lightnb.render import html, markdown, text

__all__ = ["html", "markdown", "text"]
