"""One statement of a script, as both backends' splitters return it (a module of its own, below them)."""

from __future__ import annotations

from typing import NamedTuple


class Statement(NamedTuple):
    """One statement of a script (immutable; a tuple, which a 50 MB script makes by the hundred thousand).

    Both backends' splitters return these.

    :param text: the statement from its first significant character to its ``;`` (if any).
    :param line: 1-based line where the statement starts.
    :param end_line: 1-based line where it ends.
    :param index: 0-based position among the script's statements.
    :param start: offset of ``text`` in the script (``script[start:end] == text``).
    :param end: offset just after ``text``.
    """

    text: str
    line: int
    end_line: int
    # The field shadows tuple.index(); statements are never searched by value, so the method is not needed.
    index: int  # type: ignore[assignment]
    start: int = 0
    end: int = 0

    def first_line(self, width: int = 80) -> str:
        """Return the statement squeezed onto one line, shortened to ``width`` characters."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"
