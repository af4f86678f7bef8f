"""The static record a panel leaves in the saved notebook: what it did, as HTML and Markdown.

A widget view is empty wherever no widget JavaScript runs (a pull request, GitHub's or GitLab's
notebook viewer, nbviewer, nbconvert without the widget manager), and where widget state was
saved, nbconvert prefers the view to any other format of the same output. So every panel shows
two outputs: the widget view, and beside it a plain display output (``text/html``,
``text/markdown``, ``text/plain``) with a display id, replaced on every click
(``update_display``), so the saved notebook always holds the current record.

Both outputs carry ``metadata["lightnb"]`` (``{"panel": title}`` and ``{"record": title}``), which is
how :mod:`lightnb.report` pairs them. Where the live panel is drawn (JupyterLab, or a page whose
widget JavaScript loaded), a style rule hides the record of that output area, so the same facts
are not shown twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

META_KEY = "lightnb"
RECORD_VERSION = 1


def now() -> str:
    """Return the local time with its UTC offset, to the second (``2026-11-24 14:03:12+01:00``)."""
    return datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")


def panel_metadata(title: str) -> dict[str, Any]:
    """Return the output metadata marking a panel's widget view."""
    return {META_KEY: {"panel": title}}


class Record:
    """One panel's static record: built on demand from the panel, shown once, replaced on every change.

    :param title: the panel's title (``Run``, ``Sign-off`` …), stored in the output metadata.
    :param build: returns ``(html, markdown, text)`` describing what the panel did, now.
    """

    def __init__(self, title: str, build: Callable[[], tuple[str, str, str]]) -> None:
        self.title = title
        self.build = build
        self.display_id = f"lightnb-record-{uuid.uuid4().hex[:16]}"
        self.shown = False

    def bundle(self) -> tuple[dict[str, str], dict[str, Any]]:
        """Return the display data and metadata of the record as it is now."""
        html_text, markdown_text, plain = self.build()
        data = {"text/html": html_text, "text/markdown": markdown_text, "text/plain": plain}
        return data, {META_KEY: {"record": self.title, "version": RECORD_VERSION}}

    def show(self) -> None:
        """Display the record (in the cell being executed) under its display id."""
        from IPython.display import display

        data, metadata = self.bundle()
        display(data, raw=True, metadata=metadata, display_id=self.display_id)
        self.shown = True

    def update(self) -> None:
        """Replace every displayed copy of the record with its current content (nothing when never shown)."""
        if not self.shown:
            return
        from IPython.display import update_display

        data, metadata = self.bundle()
        update_display(data, raw=True, metadata=metadata, display_id=self.display_id)
