"""Lint rules register themselves here with a decorator; the engine runs what is registered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lightnb.backends import sqlite
from lightnb.lint.finding import Severity
from lightnb.lint.options import LintConfig

if TYPE_CHECKING:
    from lightnb.catalog import Catalog
    from lightnb.lint.fixes import Patch
    from lightnb.lint.history import Replay
    from lightnb.lint.source import Source
    from lightnb.migrations import Migration

Scope = Literal["migration", "project"]


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports; the engine adds the rule id, the migration and the severity."""

    file: str
    line: int
    message: str
    fix: str = ""
    severity: Severity | None = None  # overrides the rule's severity (e.g. an acknowledged drop)
    migration: str | None = None  # project rules name the migration themselves
    patch: Patch | None = None  # the SQL of ``fix``, tried on a copy before the fix is shown


@dataclass(frozen=True, slots=True)
class MigrationContext:
    """Everything a migration rule may read.

    :param replay: the schema at each point of this migration, replayed in memory.
    :param conn: a workspace connection in the state just before this migration, or None.
    :param later: (migration name, schema after it) for each later migration of the history, in order.
    :param unreached: why there is no ``conn`` although a database was given (an earlier pending migration does
        not run on the workspace copy), or None.
    """

    source: Source
    replay: Replay
    config: LintConfig
    conn: sqlite.Connection | None = None
    later: tuple[tuple[str, Catalog], ...] = ()
    unreached: str | None = None


@dataclass(frozen=True, slots=True)
class ProjectContext:
    """Everything a project rule may read: the folder, the migrations, a database connection."""

    migrations_dir: Path
    migrations: tuple[Migration, ...]
    config: LintConfig
    conn: sqlite.Connection | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule: id, family (its module), default severity, one-line summary."""

    id: str
    family: str
    severity: Severity
    summary: str
    scope: Scope
    check: Callable[..., Iterable[Hit]]


RULES: dict[str, Rule] = {}


def rule(id: str, *, severity: Severity, summary: str, scope: Scope = "migration"
         ) -> Callable[[Callable[..., Iterable[Hit]]], Callable[..., Iterable[Hit]]]:
    """Register the decorated generator as lint rule ``id``."""

    def register(check: Callable[..., Iterable[Hit]]) -> Callable[..., Iterable[Hit]]:
        if id in RULES:
            raise ValueError(f"lint rule {id!r} is registered twice")
        family = check.__module__.rsplit(".", 1)[-1]
        RULES[id] = Rule(id, family, severity, summary, scope, check)
        return check

    return register
