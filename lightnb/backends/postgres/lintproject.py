"""``lightnb lint`` for a PostgreSQL project: the PostgreSQL rules, the rules that do not depend on the
database, each finding's cost measured on a clone, and each SQL fix run on a clone before it is offered.

Rules:

* the PostgreSQL rules of :mod:`~lightnb.backends.postgres.pglint` (locks, rewrites, 2038, …);
* the rules of :mod:`lightnb.lint` that read only the migration folders and files, never SQLite's view
  of the SQL: ``down-missing``, ``down-empty``, ``secret-literal`` (per migration), ``version-duplicate``
  and ``version-out-of-order`` (per project, the latter against the versions the database applied).
  The rules that replay the SQL in SQLite (``sql-error``, ``down-incomplete``, SQLite's ALTER limits …)
  do not apply: on PostgreSQL ``lightnb check`` runs down.sql for real and compares;
* the team's rules (``timestamp-text``, ``json-column``, ``secret-plaintext``) of
  :mod:`~lightnb.backends.postgres.teamrules`: on the clone's catalogue before and after each pending
  migration runs; read from up.sql's declarations for a migration that does not run on the copy (already
  applied, or after one that fails) and in the editor's as-you-type check.

The database lint reads is the one ``check`` rehearses on (``--database-url``, else the project's local
base, else its ``DATABASE_URL``, else an empty database), copied into a private cluster and only read.
On a clone of it, lint walks the history: before each pending migration it runs each finding's rewrite
on a clone of that state (as the rehearsal role, under the SQL guard) and offers the SQL as checked only
when every statement of it ran; then it applies the migration with
:func:`~lightnb.backends.postgres.locks.run_measured` and adds what each flagged statement did there
(rows, lock, rewrite, how long) to its finding. Nothing but clones is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg

from lightnb.backends.postgres.clone import Clone, drop_clone, make_clone, sweep_stale
from lightnb.backends.postgres.cluster import Cluster, ClusterError
from lightnb.backends.postgres.connect import time_limited
from lightnb.backends.postgres.guard import first_escape
from lightnb.backends.postgres.locks import (
    StatementEffect,
    UpRun,
    derived_mode,
    run_measured,
    server_message,
    sql_mode,
    stronger,
)
from lightnb.backends.postgres.pglint import lint_sql_rewrites
from lightnb.backends.postgres.rewrites import Rewrite
from lightnb.backends.postgres.split import split
from lightnb.backends.postgres.teamrules import TEAM_RULES, declared_findings, team_findings
from lightnb.catalog import Catalog
from lightnb.errors import LightnbError, MigrationError
from lightnb.lint.config import LintConfig
from lightnb.lint.finding import Finding, Severity, sort_findings
from lightnb.lint.fixes import Patch
from lightnb.lint.source import Source
from lightnb.migrations import Migration, discover

MIGRATION_RULES = ("down-missing", "down-empty", "secret-literal")
PROJECT_RULES = ("version-duplicate", "version-out-of-order")
_MEASURED = "measured on the copy"
# rules about the lock a statement takes: their finding says so even when the copy saw no heavy lock
_ABOUT_LOCKS = frozenset({"pg-index-not-concurrent", "pg-constraint-not-valid", "pg-set-not-null", "pg-type-change",
                          "pg-volatile-default", "pg-rename", "pg-lock-timeout"})


@dataclass(frozen=True, slots=True)
class Flagged:
    """A finding and the SQL of its fix (None when its fix is not SQL)."""

    finding: Finding
    rewrite: Rewrite | None = None


def static_findings(migration: Migration, config: LintConfig) -> list[Flagged]:
    """The findings of one migration read from its files alone (no database): PostgreSQL rules and the
    database-independent rules, with the project's severities; disabled rules left out."""
    flagged = [Flagged(replace(f, severity=config.severity(f.rule, f.severity)), r)
               for f, r in lint_sql_rewrites(migration.name, migration.up_sql(),
                                             run_in_transaction=migration.run_in_transaction)
               if config.enabled(f.rule)]
    return flagged + _common_rules(migration, config)


def static_sql(up: str, down: str | None, *, name: str, run_in_transaction: bool,
               config: LintConfig) -> list[Finding]:
    """Lint SQL being edited (the editor's as-you-type check): the same rules, no database."""
    from lightnb.lint.source import source_from_text
    flagged = [replace(f, severity=config.severity(f.rule, f.severity))
               for f, _r in lint_sql_rewrites(name, up, run_in_transaction=run_in_transaction)
               if config.enabled(f.rule)]
    source = source_from_text(up, down, name=name, run_in_transaction=run_in_transaction)
    team = declared_findings(name, up, config, _team_severities())
    return sort_findings(flagged + [f.finding for f in _rules_on(source, config)] + team)


def _common_rules(migration: Migration, config: LintConfig) -> list[Flagged]:
    from lightnb.lint.source import source_of
    return _rules_on(source_of(migration), config)


def _rules_on(source: Source, config: LintConfig) -> list[Flagged]:
    from lightnb.lint.engine import load_rules
    from lightnb.lint.history import replay
    from lightnb.lint.registry import MigrationContext
    context = MigrationContext(source, replay((), source.up, source.down), config)
    rules = load_rules()
    found = []
    for rule_id in MIGRATION_RULES:
        rule = rules[rule_id]
        if not config.enabled(rule_id):
            continue
        for hit in rule.check(context):
            severity = hit.severity or config.severity(rule_id, rule.severity)
            finding = Finding(rule_id, severity, hit.migration if hit.migration is not None else
                              source.name, hit.file, hit.line, hit.message, hit.fix)
            found.append(Flagged(finding, _as_rewrite(hit.patch)))
    return found


def _as_rewrite(patch: Patch | None) -> Rewrite | None:
    if patch is None:
        return None
    return Rewrite("\n".join(p for p in (patch.sql, patch.after) if p.strip()), patch.before)


def project_findings(migrations_dir: Path, migrations: Sequence[Migration], applied: Iterable[str] | None,
                     config: LintConfig) -> list[Finding]:
    """The project rules: folders sharing a version, pending migrations older than an applied one."""
    from lightnb.lint.engine import load_rules
    from lightnb.lint.registry import ProjectContext
    rules = load_rules()
    with contextlib.closing(_applied_table(applied)) as conn:
        context = ProjectContext(migrations_dir, tuple(migrations), config, conn if applied is not None else None)
        found = []
        for rule_id in PROJECT_RULES:
            if not config.enabled(rule_id):
                continue
            rule = rules[rule_id]
            for hit in rule.check(context):
                found.append(Finding(rule_id, hit.severity or config.severity(rule_id, rule.severity),
                                     hit.migration or "", hit.file, hit.line, hit.message, hit.fix))
    return found


def _applied_table(applied: Iterable[str] | None) -> Any:
    """The applied versions as the project rules read them: diesel's table, in an in-memory SQLite database."""
    from lightnb.backends import sqlite
    from lightnb.runner import TRACKING_TABLE
    conn = sqlite.memory_copy()
    conn.execute(f"CREATE TABLE {TRACKING_TABLE} (version TEXT PRIMARY KEY)")
    conn.executemany(f"INSERT INTO {TRACKING_TABLE} VALUES (?)", [(v,) for v in applied or ()])
    return conn


def check_rewrite(state: Clone, rewrite: Rewrite) -> str | None:
    """Run ``rewrite`` on a fresh clone of ``state`` (dropped afterwards); return None when every statement
    of it ran, else why not in one line (the server's message and the statement)."""
    for text in (*rewrite.before, rewrite.sql):
        escape = first_escape(text)
        if escape is not None:
            return f"refused to run it: {escape[1]}"
    clone = make_clone(state.cluster, state.name)
    try:
        with clone.connect() as conn, time_limited(conn, "lightnb's rewrite, tried on a clone"):
            for text in rewrite.before:
                with contextlib.suppress(psycopg.Error), conn.transaction():
                    conn.execute(text.encode("utf-8"), prepare=False)
            transaction = conn.transaction() if rewrite.in_transaction else contextlib.nullcontext()
            try:
                with transaction:
                    for statement in split(rewrite.sql):
                        try:
                            conn.execute(statement.text.encode("utf-8"), prepare=False)
                        except psycopg.Error as error:
                            return f"{server_message(error)} (at: {statement.first_line(60)})"
            except psycopg.Error as error:  # at commit (a deferred constraint)
                return server_message(error)
    finally:
        drop_clone(clone)
    return None


def offered(finding: Finding, rewrite: Rewrite | None, failed: str | None, *, untried: str | None = None) -> Finding:
    """The finding with its fix as offered: the SQL checked on the copy, or why it did not apply.

    :param failed: None when the rewrite ran on a clone of the copy, else why it did not (one line).
    :param untried: why it could not be tried at all (the SQL is shown, marked not checked).
    """
    if rewrite is None:
        return finding
    shown = rewrite.shown or rewrite.sql
    if untried is not None:
        fix = f"{finding.fix}\n{shown}\n(not checked: {untried})"
    elif failed is None:
        fix = f"{finding.fix}\n{shown}\n(checked: this SQL applies on a clone of the copy)"
    else:
        fix = f"{finding.fix}\n(lightnb's rewrite did not apply on a clone of the copy: {failed})"
    return replace(finding, fix=fix)


def measured(finding: Finding, run: UpRun | None) -> Finding:
    """Add what the flagged statement did on the copy (its line in up.sql) to the finding's message."""
    if run is None or finding.file != "up.sql" or not finding.line:
        return finding
    statement = next((s for s in run.statements if s.line == finding.line), None)
    if statement is None:
        return finding
    lines = statement.lines()
    if not lines and finding.rule not in _ABOUT_LOCKS:
        return finding
    if not lines:
        held = _held_before(run, statement)
        what = (f"{held[1]} was already under {sql_mode(held[2])} since line {held[0]} (held until the migration "
                f"commits)" if held is not None else "no lock beyond reads and writes of existing tables")
        return replace(finding, message=f"{finding.message} — {_MEASURED}: {statement.seconds:.3g} s; {what}")
    return replace(finding, message=f"{finding.message} — {_MEASURED}: {'; '.join(lines)}")


def _held_before(run: UpRun, statement: StatementEffect) -> tuple[int, str, str] | None:
    """``(line, table, mode)`` of the strongest lock an earlier statement took on this statement's table."""
    derived = derived_mode(statement.text)
    if derived is None or derived[1] is None:
        return None
    table = derived[1]
    held = [(s.line, lock.table, lock.mode) for s in run.statements if s.line < statement.line
            for lock in s.locks if lock.table == table]
    if not held:
        return None
    strongest = stronger(None, held[0][2])
    for _line, _table, mode in held:
        strongest = stronger(strongest, mode)
    return next(h for h in held if h[2] == strongest)


@dataclass
class PgLint:
    """What a PostgreSQL lint covered, and its findings."""

    findings: list[Finding]
    scope: str


@contextlib.contextmanager
def _progress(cluster: Cluster, base: str) -> Iterator[list[Clone]]:
    with contextlib.suppress(ClusterError, LightnbError, psycopg.Error):
        sweep_stale(cluster)
    holder = [make_clone(cluster, base)]
    try:
        yield holder
    finally:
        drop_clone(holder[0])


def lint_on_copy(cluster: Cluster, base: str, described: str, migrations_dir: Path, config: LintConfig, *,
                 versions: Iterable[str] | None = None, all: bool = False) -> PgLint:
    """Lint the project's migrations against ``base`` (a database of ``cluster``, only cloned).

    :param versions: lint only these (default: the pending ones, or every one with ``all``).
    :raises MigrationError: when a version names no migration.
    """
    from lightnb.backends.postgres.proof import applied_versions
    migrations = discover(migrations_dir)
    wanted = set(versions) if versions is not None else None
    if wanted:
        _require(migrations, wanted)
    findings: list[Finding] = []
    with _progress(cluster, base) as progress:
        applied = applied_versions(progress[0])
        findings += project_findings(migrations_dir, migrations, applied, config)
        pending = [m for m in migrations if m.version not in applied]
        chosen = [m for m in migrations if (wanted is not None and m.version in wanted) or
                  (wanted is None and (all or m.version not in applied))]
        blocker: str | None = None
        for migration in migrations:
            flagged = static_findings(migration, config) if migration in chosen else []
            if migration.version in applied:
                findings += [offered(f.finding, f.rewrite, None, untried="the state before this migration is not "
                                     "on the copy (it already ran there)") for f in flagged]
                findings += _declared(migration, config, chosen, "it already ran on the copy")
                continue
            if blocker is not None:
                why = f"{blocker}, pending before it, does not run on the copy"
                findings += [offered(f.finding, f.rewrite, None, untried=why) for f in flagged]
                findings += _declared(migration, config, chosen, why)
                continue
            checked = [offered(f.finding, f.rewrite, check_rewrite(progress[0], f.rewrite)
                               if f.rewrite is not None else None) for f in flagged]
            judged = migration in chosen and any(config.enabled(rule) for rule in TEAM_RULES)
            before = _catalog(progress[0]) if judged else None
            try:
                run: UpRun | None = run_measured(progress[0], migration)
                if before is not None:
                    findings += team_findings(migration.name, before, _catalog(progress[0]), migration.up_sql(),
                                              config, _team_severities())
            except LightnbError as error:
                run = None
                blocker = migration.name
                findings += _declared(migration, config, chosen, "up.sql fails on the copy")
                if migration in chosen and config.enabled("pg-run-fails"):
                    findings.append(Finding("pg-run-fails", config.severity("pg-run-fails", "error"),
                                            migration.name, "up.sql", getattr(error, "line", None) or 0,
                                            f"up.sql fails on the copy: {_one_line(error)}",
                                            "fix the statement; `lightnb check` shows the whole rehearsal"))
            findings += [measured(f, run) for f in checked]
    scope = _scope(len(migrations), len(pending), len(chosen), wanted is not None, all, described)
    return PgLint(sort_findings(findings), scope)


def _declared(migration: Migration, config: LintConfig, chosen: Sequence[Migration], why: str) -> list[Finding]:
    """The team rules read from up.sql's declarations, for a chosen migration that did not run on the copy."""
    if migration not in chosen or not any(config.enabled(rule) for rule in TEAM_RULES):
        return []
    return [replace(f, fix=f"{f.fix}\n(read from up.sql's declarations, not the catalogue: {why})")
            for f in declared_findings(migration.name, migration.up_sql(), config, _team_severities())]


def migration_findings(migration: Migration, config: LintConfig) -> list[Finding]:
    """The findings of one migration read from its files (PostgreSQL rules and the file-based rules), as
    ``check`` shows them beside its proof."""
    return [flagged.finding for flagged in static_findings(migration, config)]


def team_judge(config: LintConfig) -> Callable[[Migration, Clone, Clone], list[Finding]]:
    """The team's rules as ``check`` runs them: on the catalogue of the clone before up and of the one after."""
    severities = _team_severities()

    def judge(migration: Migration, before: Clone, after: Clone) -> list[Finding]:
        if not any(config.enabled(rule) for rule in TEAM_RULES):
            return []
        return team_findings(migration.name, _catalog(before), _catalog(after), migration.up_sql(), config,
                             severities)

    return judge


def _catalog(clone: Clone) -> Catalog:
    """The clone's catalogue as lightnb's records (read as the rehearsal role, in one transaction)."""
    from lightnb.backends.postgres.records import read_catalog
    with clone.connect() as conn, conn.transaction():
        return read_catalog(conn)


def _team_severities() -> dict[str, Severity]:
    """The team rules' default severities: the SQLite rules' own."""
    from lightnb.lint.engine import load_rules
    rules = load_rules()
    return {rule: rules[rule].severity for rule in TEAM_RULES}


def _one_line(error: BaseException) -> str:
    from lightnb.inspect.redact import mask_message
    return " ".join(mask_message(str(error)).split())


def _require(migrations: Sequence[Migration], wanted: set[str]) -> None:
    known = {m.version for m in migrations}
    for version in sorted(wanted - known):
        raise MigrationError(f"No migration with version {version!r} to lint; see `lightnb migration list`.",
                             version=version)


def _scope(total: int, pending: int, chosen: int, named: bool, all: bool, described: str) -> str:
    if named:
        head = f"lint: {chosen} named migration(s)"
    elif all:
        head = f"lint: all {total} migration(s) of the history"
    else:
        head = (f"lint: {pending} pending migration(s); {total - pending} applied (`--all` lints the whole "
                f"history)")
    return (f"{head}\nPostgreSQL: pending migrations measured and fixes checked on a clone of {described} "
            f"(only read)")


def lint_project(migrations_dir: Path, config: LintConfig, *, source_url: str | None, workspace: Path | None,
                 versions: Iterable[str] | None = None, all: bool = False, own_cluster: Path | None = None) -> PgLint:
    """Lint against the database ``check`` would rehearse on (see the module docstring); it is only read.

    :param own_cluster: the folder of the project's own private cluster: a database there is copied with
        ``CREATE DATABASE … TEMPLATE`` rather than pg_dump.
    """
    from lightnb.backends.postgres.rehearsal_base import rehearsal_base
    with rehearsal_base(source_url, workspace, own_cluster=own_cluster) as (cluster, base, described):
        return lint_on_copy(cluster, base, described, migrations_dir, config, versions=versions, all=all)
