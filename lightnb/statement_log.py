"""Log the SQL statements lightnb executes on a database, like diesel's ``DIESEL_LOG``.

Off by default. ``lightnb --verbose`` (or ``-v``), or the environment variable ``DIESEL_LOG`` (or
``LIGHTNB_LOG``) naming the ``debug`` or ``trace`` level, switch it on: every statement run on a
connection lightnb opens for migrating (``backends.sqlite.connect``) is written to stderr as one line,
``lightnb: SQL: <statement>``, before SQLite runs it (so the last line names the statement that
failed). stdout stays exactly diesel's output.

Statements are migration SQL, which lives in the repository; the values in them may not be
(a token in an ``INSERT``, a bound parameter that SQLite expands into the text). So every string
and blob literal is masked as ``'…'`` before it is logged: a log never carries a value, only the
shape of the statement.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import logging

LOGGER_NAME = "lightnb.sql"
_logger: logging.Logger | None = None  # made when logging is first switched on, or logging is in use
ENVIRONMENT_SWITCHES = ("DIESEL_LOG", "LIGHTNB_LOG")
_LEVELS = ("debug", "trace")
# A string literal ('it''s'), a blob literal (X'00ff'), case-insensitive prefix.
_LITERAL = re.compile(r"(?:[xX])?'(?:[^']|'')*'?")


def wanted(verbose: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Tell whether statements are logged: ``--verbose``, or a debug/trace ``DIESEL_LOG``/``LIGHTNB_LOG``."""
    env = os.environ if environ is None else environ
    if verbose:
        return True
    for name in ENVIRONMENT_SWITCHES:
        directives = env.get(name, "").lower()
        if any(level in directives for level in _LEVELS):
            return True
    return False


def configure(verbose: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Switch statement logging on or off for this process; return whether it is on."""
    on = wanted(verbose, environ)
    if not on and _logger is None and "logging" not in sys.modules:
        return False  # never switched on, and nothing else configures logging: nothing to undo or set
    import logging
    logger = _the_logger()
    for handler in list(logger.handlers):
        if getattr(handler, "lightnb_statement_log", False):
            logger.removeHandler(handler)
    if on:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("lightnb: SQL: %(message)s"))
        handler.lightnb_statement_log = True  # type: ignore[attr-defined]  # a marker that finds lightnb's own handler again
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    else:
        logger.setLevel(logging.WARNING)
    return on


def mask_literals(sql: str) -> str:
    """Return ``sql`` with every string and blob literal replaced by ``'…'``."""
    return _LITERAL.sub("'…'", sql)


def _the_logger() -> logging.Logger:
    """Return the ``lightnb.sql`` logger (``logging`` is imported only when statements may be logged)."""
    global _logger
    if _logger is None:
        import logging
        _logger = logging.getLogger(LOGGER_NAME)
    return _logger


def _log(statement: str) -> None:
    _the_logger().debug("%s", " ".join(mask_literals(statement).split()))


class Traceable(Protocol):
    """A connection that can report each statement it runs (``sqlite3.Connection`` can)."""

    def set_trace_callback(self, callback: Callable[[str], object] | None, /) -> None: ...


def watch(conn: Traceable) -> None:
    """Log every statement ``conn`` executes, when logging is on (see the module docstring)."""
    if _logger is None and "logging" not in sys.modules:
        return  # logging was never switched on nor configured by anyone in this process
    import logging
    if _the_logger().isEnabledFor(logging.DEBUG):
        conn.set_trace_callback(_log)
