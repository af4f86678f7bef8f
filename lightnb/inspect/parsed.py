"""One SQLite statement parsed into sqlglot's tree, as the impact measurement and its helpers read it."""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp


def parse_statement(text: str) -> exp.Expr | None:
    """Parse one SQLite statement (None when sqlglot cannot read it; a trigger comes back as a Command)."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # triggers parse as Command with a warning; that is fine
    try:
        return sqlglot.parse_one(text, read="sqlite")
    except (sqlglot.errors.SqlglotError, RecursionError):  # nested past the parser: read as unparsed
        return None
    finally:
        logger.setLevel(level)
