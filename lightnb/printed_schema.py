"""The results of print-schema: the printed schema.rs, and schema files checked against a database.

Their own module, so ``lightnb print-schema`` loads them without every other result
(:mod:`lightnb.results` names them too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lightnb.rendered import Rendered


@dataclass(frozen=True)
class PrintSchemaResult(Rendered):
    """schema.rs as diesel prints it from a database, every configuration one after the other.

    :param text: the printed schema (diesel's bytes).
    :param notes: what the reader should know (a missing database read as empty, a PostgreSQL
        type printed as a placeholder); not part of the schema.
    """

    text: str
    notes: tuple[str, ...] = ()
    target: Any = None  # the database read, a ``lightnb.steps.Target`` (None: a PostgreSQL URL)


@dataclass(frozen=True)
class SchemaCheckResult(Rendered):
    """Configured schema files compared with what the database prints now.

    :param text: the differences (one per line, then the unified diff), or that the files are in sync.
    :param in_sync: every configured file matches.
    :param configured: at least one schema file is configured (``file`` in ``[print_schema]``).
    """

    text: str
    in_sync: bool
    configured: bool = True
    notes: tuple[str, ...] = ()
    target: Any = None  # the database compared with, a ``lightnb.steps.Target`` (None: a fresh or PostgreSQL one)
