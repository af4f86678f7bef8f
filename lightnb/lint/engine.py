"""Run the registered rules over one migration, a piece of SQL, or a whole project."""

from __future__ import annotations

import contextlib
import difflib
import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from lightnb.backends import sqlite
from lightnb.catalog import Catalog
from lightnb.errors import MigrationError
from lightnb.lint.finding import Finding, sort_findings
from lightnb.lint.fixes import checked_fix
from lightnb.lint.history import replay, timeline
from lightnb.lint.options import LintConfig
from lightnb.lint.registry import RULES, Hit, MigrationContext, ProjectContext, Rule
from lightnb.lint.rehearsal import Rehearsal, applied_versions
from lightnb.lint.source import Source, source_from_text, source_of
from lightnb.migrations import Migration, discover


def rule_modules() -> tuple[str, ...]:
    """Return the rule families: every module of :mod:`lightnb.lint.rules`, by name."""
    from lightnb.lint import rules
    return tuple(sorted(m.name for m in pkgutil.iter_modules(rules.__path__) if not m.name.startswith("_")))


def load_rules() -> dict[str, Rule]:
    """Import every rule family (every module of :mod:`lightnb.lint.rules`) so its rules register;
    return the registry."""
    for module in rule_modules():
        importlib.import_module(f"lightnb.lint.rules.{module}")
    return RULES


def lint_source(source: Source, *, history: Iterable[str] = (), config: LintConfig | None = None,
                conn: sqlite.Connection | None = None,
                later: Sequence[tuple[str, Catalog]] = (), unreached: str | None = None) -> list[Finding]:
    """Lint one migration given as :class:`Source`.

    :param history: the up.sql texts of every earlier migration, in order.
    :param conn: a workspace connection in the state just before this migration (for impact).
    :param later: the schema after each later migration (:func:`later_states`), for rules that
        judge by the final state of the history.
    :param unreached: why there is no ``conn`` although a database was given (said where a measurement is missing).
    """
    config = config or LintConfig()
    context = MigrationContext(source, replay(history, source.up, source.down), config, conn, tuple(later),
                               unreached)
    findings: list[Finding] = []
    for rule in load_rules().values():
        if rule.scope == "migration" and config.enabled(rule.id):
            findings.extend(_findings(rule, rule.check(context), source.name, config, context.replay.image))
    return sort_findings(findings)


def lint_sql(up: str, down: str | None = None, *, history: Iterable[str] = (),
             config: LintConfig | None = None, name: str = "migration",
             run_in_transaction: bool = True) -> list[Finding]:
    """Lint SQL text as if it were a migration called ``name`` (the editor's as-you-type check)."""
    source = source_from_text(up, down, name=name, run_in_transaction=run_in_transaction)
    return lint_source(source, history=history, config=config)


def lint_migrations(migrations: Sequence[Migration], *, versions: Iterable[str] | None = None,
                    config: LintConfig | None = None, conn: sqlite.Connection | None = None,
                    migrations_dir: Path | None = None, database: str | Path | None = None,
                    pending_only: bool = False) -> list[Finding]:
    """Lint ``migrations`` (all, or only ``versions``), each against the history before it.

    Project-wide rules (hygiene) run too when ``migrations_dir`` is given; they read ``conn``.

    :param database: a database file to measure against; it is only read. The project rules read
        it, and each pending migration's destructive statements are measured on a throwaway copy
        brought to the state just before that migration (earlier pending ones applied on the copy).
    :param pending_only: lint only the migrations the database has not applied (all of them when
        there is no database); applied ones are still checked by the project rules (checksums).
    :raises MigrationError: when a version in ``versions`` names no migration.
    """
    config = config or LintConfig()
    wanted = set(versions) if versions is not None else None
    if wanted:
        _require_versions(migrations, wanted)
    with contextlib.ExitStack() as stack:
        rehearsal = None
        if database is not None:
            rehearsal = stack.enter_context(Rehearsal.open(database, migrations))
            conn = conn or rehearsal.reader
        if pending_only and wanted is None:
            wanted = {m.version for m in pending_migrations(migrations, conn)}
        findings: list[Finding] = []
        if migrations_dir is not None:
            findings += _project_findings(ProjectContext(migrations_dir, tuple(migrations), config, conn))
        history: list[str] = []
        # With a database, the statement replay starts from its schema (rehearsal.Baseline).
        baseline = rehearsal.baseline if rehearsal is not None else None
        states = [] if wanted is not None and not wanted else \
            baseline.later_states(migrations, versions=wanted) if baseline is not None else later_states(migrations)
        for position, migration in enumerate(migrations):
            if wanted is None or migration.version in wanted:
                before = rehearsal.before(migration) if rehearsal is not None else None
                earlier = baseline.history(migrations, position) if baseline is not None else history
                findings += lint_source(source_of(migration), history=earlier, config=config,
                                        later=states[position + 1:], conn=before,
                                        unreached=rehearsal.unreached if rehearsal is not None and before is None
                                        else None)
            history.append(migration.up_sql())
    return sort_findings(findings)


def pending_migrations(migrations: Sequence[Migration], conn: sqlite.Connection | None) -> list[Migration]:
    """Return the migrations ``conn``'s database has not applied (all of them without a database)."""
    if conn is None:
        return list(migrations)
    done = set(applied_versions(conn))
    return [m for m in migrations if m.version not in done]


def _require_versions(migrations: Sequence[Migration], wanted: set[str]) -> None:
    known = {m.version for m in migrations}
    for version in sorted(wanted - known):
        names = [m.name for m in migrations]
        close = difflib.get_close_matches(version, names + sorted(known), n=3, cutoff=0)
        close = [next((m.name for m in migrations if m.version == c), c) for c in close]
        hint = f"closest: {', '.join(dict.fromkeys(close))}" if close else \
            "see `lightnb migration list`" if migrations else "there are no migrations yet"
        raise MigrationError(f"No migration with version {version!r} to lint; {hint}.", version=version)


def later_states(migrations: Sequence[Migration]) -> list[tuple[str, Catalog]]:
    """Return (migration name, schema after it) for every migration, replayed in order in memory."""
    return timeline([(m.name, m.up_sql()) for m in migrations])


def lint_project(migrations_dir: str | Path, *, versions: Iterable[str] | None = None,
                 config: LintConfig | None = None, conn: sqlite.Connection | None = None,
                 database: str | Path | None = None, pending_only: bool = False) -> list[Finding]:
    """Lint every migration of a folder (or only ``versions``) plus the project-wide rules.

    :param database: the database the migrations run on (e.g. the workspace); only read. With it,
        the project rules see what ran (checksum-changed, version-out-of-order) and destructive
        statements carry their impact measured on a throwaway copy (:func:`lint_migrations`).
    :param pending_only: lint only what ``database`` has not applied (see :func:`lint_migrations`).
    :raises MigrationError: when the folder cannot be read for a reason no rule reports, or a
        version names no migration.
    :raises DatabaseError: when ``database`` is missing or not a SQLite database.
    """
    folder = Path(migrations_dir)
    config = config or LintConfig()
    try:
        migrations = discover(folder)
    except MigrationError:
        with contextlib.ExitStack() as stack:
            if database is not None and conn is None:
                conn = stack.enter_context(contextlib.closing(sqlite.open_readonly(database)))
            found = _project_findings(ProjectContext(folder, (), config, conn))
        if not found:
            raise
        return sort_findings(found)  # e.g. duplicate versions: nothing else can be ordered
    return lint_migrations(migrations, versions=versions, config=config, conn=conn, migrations_dir=folder,
                           database=database, pending_only=pending_only)


def _project_findings(context: ProjectContext) -> list[Finding]:
    findings: list[Finding] = []
    for rule in load_rules().values():
        if rule.scope == "project" and context.config.enabled(rule.id):
            findings.extend(_findings(rule, rule.check(context), "", context.config))
    return findings


def _findings(rule: Rule, hits: Iterable[Hit], migration: str, config: LintConfig,
              image: bytes | None = None) -> list[Finding]:
    """Turn hits into findings; a fix whose SQL does not run on the copy (``image``) is not offered."""
    severity = config.severity(rule.id, rule.severity)
    return [Finding(rule.id, hit.severity or severity, hit.migration if hit.migration is not None else migration,
                    hit.file, hit.line, hit.message, checked_fix(image, hit.fix, hit.patch)) for hit in hits]


def lint_scope(migrations_dir: str | Path, database: str | Path | None, *, all: bool = False,
               config: LintConfig | None = None) -> str:
    """Say which migrations a lint covers and which SQLite it checks against (the CLI's first lines)."""
    from lightnb.lint.options import format_version
    from lightnb.lint.rules.sqliteversion import running_version
    minimum = format_version((config or LintConfig()).sqlite_min_version)
    versions = (f"\nSQLite: lightnb runs {running_version()}; SQL newer than {minimum} is flagged "
                f"([lint] sqlite_min_version, the oldest SQLite your app runs on)")
    return _scope(migrations_dir, database, all=all) + versions


def _scope(migrations_dir: str | Path, database: str | Path | None, *, all: bool = False) -> str:
    try:
        migrations = discover(Path(migrations_dir))
    except MigrationError:
        return "lint: the migrations folder cannot be listed"
    if all:
        return f"lint: all {len(migrations)} migration(s) of the history"
    if database is None:
        return (f"lint: {len(migrations)} pending migration(s) (no database: none counts as applied; "
                f"`--all` lints the whole history)")
    with contextlib.closing(sqlite.open_readonly(database)) as conn:
        pending = pending_migrations(migrations, conn)
    applied = len(migrations) - len(pending)
    return (f"lint: {len(pending)} pending migration(s); {applied} applied, checked for changes since they ran "
            f"(`--all` lints the whole history)")
