"""Neutral renderers: result objects → terminal text, escaped HTML, Markdown or JSON (no IPython import).

One module per format (:mod:`~lightnb.render.text`, :mod:`~lightnb.render.html`,
:mod:`~lightnb.render.markdown`, :mod:`~lightnb.render.json`), each with a ``render(result)`` that
picks the renderer by the result's type. Import the one you need: ``from lightnb.render import text``.
"""
