"""``check`` on PostgreSQL: prove each pending migration up → down → up on rehearsal clones.

For each pending migration, oldest first, starting from ``progress`` (a clone in the state after the
earlier migrations' ups):

1. clone ``progress`` → the proof's clone; run up.sql on it, statement by statement, measuring locks,
   rewrites and durations (:mod:`~lightnb.backends.postgres.locks`);
2. clone the proof's clone → the state after up, kept for the next migration and for the redo check;
3. run down.sql on the proof's clone; compare its shape (catalogue) and rows (hashed in the server,
   keyed by primary key, columns by name) with ``progress``: what down.sql does not give back;
4. run up.sql again; compare with the state after up: what a redo changes.

The state after up becomes ``progress``: each proof starts from exactly the state after the earlier
ups, whatever the down.sql before it did. Verdicts are the SQLite check's (``safe``, ``needs
attention``, ``unsafe``, ``irreversible``), built into the same :class:`~lightnb.checks.CheckResult`.

Only clones are ever written: every step takes a :class:`~lightnb.backends.postgres.clone.Clone`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from pglast.parser import ParseError, parse_sql_json

from lightnb.backends.postgres.clone import Clone, drop_clone, make_clone, sweep_stale
from lightnb.backends.postgres.cluster import Cluster, ClusterError
from lightnb.backends.postgres.connect import time_limited, transaction
from lightnb.backends.postgres.guard import refuse_escapes
from lightnb.backends.postgres.locks import StatementEffect, UpRun, run_measured, server_message
from lightnb.backends.postgres.rowhash import TableRows, common_columns, compare_table, summaries_side_by_side
from lightnb.backends.postgres.shape import Shape, compare_shapes, qualified, read_shape
from lightnb.checks import MigrationCheck, _verdict
from lightnb.errors import LightnbError
from lightnb.inspect.redact import mask_message
from lightnb.lint.finding import Finding
from lightnb.markers import IRREVERSIBLE, declared_irreversible, marker_without_reason
from lightnb.migrations import Migration
from lightnb.runner import TRACKING_TABLE

_DELETE_VERSION = f"DELETE FROM {TRACKING_TABLE} WHERE version = %s"
_APPLIED = f"SELECT version FROM {TRACKING_TABLE}"
LOCK_RULE = "pg-lock"


@dataclass
class Proof:
    """One migration's proof on PostgreSQL, with the measured run of its up.sql."""

    check: MigrationCheck
    up: UpRun | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def applied_versions(clone: Clone) -> set[str]:
    """Return the versions recorded in the clone's ``__diesel_schema_migrations`` (empty when it has none)."""
    with clone.connect() as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TRACKING_TABLE,)).fetchone()
        if exists != (True,):
            return set()
        return {row[0] for row in conn.execute(_APPLIED)}


def pending(clone: Clone, migrations: Sequence[Migration]) -> list[Migration]:
    """Return the migrations not applied on the clone, oldest first."""
    done = applied_versions(clone)
    return [m for m in migrations if m.version not in done]


def run_down(clone: Clone, migration: Migration) -> None:
    """Revert one migration on a clone as diesel does: down.sql and the DELETE of its version, in one
    transaction unless ``run_in_transaction = false``.

    :raises LightnbError: when down.sql is missing or the server rejects it.
    """
    from lightnb.errors import MigrationError, SqlError
    if migration.down_path is None:
        raise MigrationError(f"{migration.name} has no down.sql", path=migration.up_path, version=migration.version)
    script = migration.down_sql()
    refuse_escapes(migration, script, "down.sql")
    with clone.connect() as conn, time_limited(conn, f"{migration.name}'s down.sql"):
        with transaction(conn) if migration.run_in_transaction else contextlib.nullcontext():
            if script.strip():
                try:
                    conn.execute(script.encode("utf-8"), prepare=False)
                except psycopg.Error as error:
                    reason = server_message(error)
                    raise SqlError(f"Failed to revert {migration.name} with: {reason} ({migration.name}/down.sql)",
                                   path=migration.down_path, version=migration.version) from error
            conn.execute(_DELETE_VERSION, (migration.version,))


def run_up(clone: Clone, migration: Migration) -> None:
    """Apply one migration on a clone with diesel's semantics (no measuring)."""
    from lightnb.backends.postgres.migrate import ensure_tracking_table, run_migration
    with clone.connect() as conn, time_limited(conn, f"{migration.name}'s up.sql"):
        ensure_tracking_table(conn)
        run_migration(conn, migration)


def _shape(clone: Clone) -> Shape:
    with clone.connect() as conn:
        return read_shape(conn)


def compare_rows(before: Clone, before_shape: Shape, after: Clone, after_shape: Shape) -> list[TableRows]:
    """Return the tables present on both sides whose rows differ (columns by name, keyed by primary key)."""
    differing = []
    pairs = [(table, after_shape.tables[name]) for name, table in before_shape.tables.items()
             if name in after_shape.tables]
    with before.connect() as left, after.connect() as right:
        old, new = summaries_side_by_side(left, [(a.name, common_columns(a, b)) for a, b in pairs],
                                          right, [(b.name, common_columns(a, b)) for a, b in pairs])
        for (table, other), one, two in zip(pairs, old, new):
            if one == two:
                continue
            rows = compare_table(left, table, right, other, (one, two))
            if not rows.equal:
                differing.append(rows)
    return differing


def dropped_tables(script: str) -> set[str]:
    """Return the tables a script drops on purpose (``DROP TABLE``), as :func:`qualified` names."""
    try:
        tree = json.loads(parse_sql_json(script))
    except ParseError:
        return set()
    names: set[str] = set()
    for stmt in tree.get("stmts", []):
        drop = stmt.get("stmt", {}).get("DropStmt")
        if not drop or drop.get("removeType") != "OBJECT_TABLE":
            continue
        for item in drop.get("objects", []):
            parts = [p.get("String", {}).get("sval", "") for p in item.get("List", {}).get("items", [])]
            if parts:
                names.add(qualified(parts[-2], parts[-1]) if len(parts) >= 2 else parts[-1])
    return names


def lock_findings(migration: Migration, run: UpRun) -> list[Finding]:
    """One finding per table a statement locked beyond plain reads and writes, or rewrote.

    A rewrite of a table holding rows under ACCESS EXCLUSIVE is a warning (every query on the table
    waits for it on production); other locks are information with their measured cost.
    """
    found = []
    for statement in run.statements:
        for lock, line in zip(_reported(statement), statement.lines()):
            severity: Literal["warning", "info"] = "warning" if (
                lock.rewritten and lock.mode == "AccessExclusiveLock" and (lock.rows or 0) > 0) else "info"
            found.append(Finding(LOCK_RULE, severity, migration.name, "up.sql", statement.line, line))
    return found


def _reported(statement: StatementEffect) -> list[Any]:
    from lightnb.backends.postgres.locks import _STRENGTH
    return [lock for lock in statement.locks
            if lock.rewritten or _STRENGTH.get(lock.mode, 0) > _STRENGTH["RowExclusiveLock"]]


# judges the migration on its states before and after up (the team's rules, read from the catalogue)
Judge = Callable[[Migration, Clone, Clone], Sequence[Finding]]


def prove(progress: Clone, migration: Migration, findings: Sequence[Finding] = (),
          on_clone: Callable[[Clone], None] | None = None, *, judge: Judge | None = None
          ) -> tuple[Proof, Clone | None]:
    """Prove one migration starting from ``progress`` (left untouched).

    :param judge: adds findings read from the state before up (``progress``) and after it.

    :returns: the proof, and a clone in the state after up (None when up.sql failed); the caller
        owns (and drops) that clone.
    """
    cluster = progress.cluster
    reasons: list[str] = []
    steps: list[str] = []
    schema_diffs: tuple[str, ...] = ()
    row_diffs: tuple[str, ...] = ()
    redo_diffs: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    down_sql = migration.down_sql() if migration.down_path is not None else None
    declared = declared_irreversible(down_sql)
    if declared is None and marker_without_reason(down_sql):
        reasons.append(f"down.sql has the `-- {IRREVERSIBLE}` marker without a reason, so it declares nothing: "
                       f"write `-- {IRREVERSIBLE}: <why>`")
    before = _shape(progress)
    work = make_clone(cluster, progress.name)
    after_up: Clone | None = None
    run: UpRun | None = None
    findings = list(findings)
    try:
        try:
            run = run_measured(work, migration)
            steps.append("up")
        except LightnbError as error:
            reasons.append(f"cannot run up: {mask_message(str(error))}")
        if run is not None:
            findings += lock_findings(migration, run)
            after_up = make_clone(cluster, work.name)
            if judge is not None:
                findings += judge(migration, progress, after_up)
            if on_clone is not None:
                on_clone(after_up)
            up_shape = _shape(after_up)
            if down_sql is None:
                reasons.append("cannot prove the revert: down.sql is missing")
            elif declared is not None and not _has_statements(down_sql):
                reasons.append(f"down.sql declares the migration irreversible ({declared}); not run")
            elif _step(lambda: run_down(work, migration), "down", reasons, steps):
                down_shape = _shape(work)
                differences = compare_shapes(before, down_shape)
                schema_diffs, order = differences.real, differences.order
                destroyed = dropped_tables(migration.up_sql())
                rows = compare_rows(progress, before, work, down_shape)
                row_diffs = tuple(r.describe() for r in rows if r.table not in destroyed)
                expected = [r.describe() for r in rows if r.table in destroyed]
                if schema_diffs:
                    reasons.append("down.sql does not restore the schema: " + "; ".join(schema_diffs))
                if row_diffs:
                    reasons.append("down.sql does not restore the rows: " + "; ".join(row_diffs))
                    keys = [f"{r.table} ({'; '.join(r.sample_keys)})" for r in rows if r.sample_keys]
                    if keys:
                        reasons.append("keys of rows that differ from before up: " + ", ".join(keys))
                if order and not schema_diffs:
                    reasons.append("down.sql restores every column and value, but not the column order: "
                                   + "; ".join(order))
                elif order:
                    reasons.append("down.sql does not restore the column order either: " + "; ".join(order))
                reasons += [f"data destroyed on purpose (acknowledged): {d}" for d in expected]
                if _step(lambda: run_up(work, migration), "up again", reasons, steps):
                    again = _shape(work)
                    redo = compare_shapes(up_shape, again)
                    redo_rows = [r.describe() for r in compare_rows(after_up, up_shape, work, again)]
                    redo_diffs = tuple(list(redo.real) + list(redo.order) + redo_rows)
                    if redo.real or redo.order:
                        reasons.append("running up.sql again gives another schema: "
                                       + "; ".join(list(redo.real) + list(redo.order)))
                    if redo_rows:
                        reasons.append("running up.sql again gives other rows: " + "; ".join(redo_rows))
    except BaseException:
        if after_up is not None:
            drop_clone(after_up)
        raise
    finally:
        drop_clone(work)
    if declared is not None:
        from lightnb.checks import _as_declared
        findings = [_as_declared(f, declared) for f in findings]
    verdict = _verdict(findings, reasons, schema_diffs, row_diffs, redo_diffs, order, steps, declared,
                       down_sql is not None and _has_statements(down_sql))
    reasons = [f"{f.severity} {f.rule} ({f.file}:{f.line}): {f.message}" for f in findings
               if f.severity != "info"] + reasons
    check = MigrationCheck(migration.name, migration.version, verdict, tuple(reasons), tuple(findings),
                           schema_diffs, row_diffs, redo_diffs, tuple(steps), order, declared)
    return Proof(check, run), after_up


def _has_statements(script: str) -> bool:
    from lightnb.backends.postgres.split import is_comment_only
    return not is_comment_only(script)


def _step(action: Callable[[], None], name: str, reasons: list[str], steps: list[str]) -> bool:
    try:
        action()
    except LightnbError as error:
        reasons.append(f"cannot run {name}: {mask_message(str(error))}")
        return False
    steps.append(name)
    return True


def _not_rehearsed(migration: Migration, blocker: str, findings: Sequence[Finding]) -> MigrationCheck:
    reason = (f"not rehearsed: {blocker}, pending before it, does not run on the copy, so the state this "
              f"migration starts from cannot be reached (diesel would stop there too); fix {blocker} first")
    reasons = tuple(f"{f.severity} {f.rule} ({f.file}:{f.line}): {f.message}" for f in findings
                    if f.severity != "info") + (reason,)
    return MigrationCheck(migration.name, migration.version, "unsafe", reasons, tuple(findings))


@contextlib.contextmanager
def _owned(clone: Clone) -> Iterator[list[Clone]]:
    """Hold the current progress clone; drop whichever clone is current at the end."""
    holder = [clone]
    try:
        yield holder
    finally:
        drop_clone(holder[0])


def prove_pending(cluster: Cluster, base: str, migrations: Sequence[Migration], *,
                  lint: Callable[[Migration], Sequence[Finding]] | None = None,
                  at_end: Callable[[Clone], None] | None = None, judge: Judge | None = None) -> list[Proof]:
    """Prove every migration of ``migrations`` not applied on ``base``, oldest first; ``base`` is never written.

    :param lint: returns the lint findings of one migration (shown with its proof).
    :param judge: returns findings read from the states before and after its up (shown with its proof).
    :param at_end: called with the clone in the final rehearsed state (every up applied) before it is
        dropped: the project's tests run against it.
    """
    with contextlib.suppress(ClusterError, LightnbError, psycopg.Error):
        sweep_stale(cluster)
    proofs: list[Proof] = []
    with _owned(make_clone(cluster, base)) as progress:
        blocker: str | None = None
        for migration in pending(progress[0], migrations):
            found = list(lint(migration)) if lint is not None else []
            if blocker is not None:
                proofs.append(Proof(_not_rehearsed(migration, blocker, found)))
                continue
            proof, after_up = prove(progress[0], migration, found, judge=judge)
            proofs.append(proof)
            if after_up is None:
                blocker = migration.name
                continue
            previous, progress[0] = progress[0], after_up
            drop_clone(previous)
        if at_end is not None:
            at_end(progress[0])
    return proofs


def prove_applied(cluster: Cluster, base: str, migrations: Sequence[Migration], number: int, *,
                  lint: Callable[[Migration], Sequence[Finding]] | None = None,
                  at_end: Callable[[Clone], None] | None = None, judge: Judge | None = None) -> list[Proof]:
    """Prove the latest ``number`` migrations applied on ``base`` (``check --applied N``); ``base`` is never
    written.

    On a clone of ``base`` they are reverted newest first, as ``migration revert`` would; then each is
    proven like a pending one (:func:`prove_pending`), oldest first; at the end the clone with every one
    re-applied must equal ``base`` as it was (schema, and rows by primary key), or the last proof is unsafe.
    A revert that fails makes one unsafe check for that migration, saying why.
    """
    from lightnb.backends.postgres.migrate import applied_versions as recorded
    from lightnb.errors import MigrationError
    with contextlib.suppress(ClusterError, LightnbError, psycopg.Error):
        sweep_stale(cluster)
    by_version = {m.version: m for m in migrations}
    start = make_clone(cluster, base)
    try:
        start_shape = _shape(start)
        with start.connect() as conn:
            ensure = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TRACKING_TABLE,)).fetchone()
            versions = recorded(conn)[:number] if ensure == (True,) else []
        reverted = make_clone(cluster, start.name)
        try:
            done: list[Migration] = []
            for version in versions:
                try:
                    migration = by_version.get(version)
                    if migration is None:
                        raise MigrationError(f"no migration folder has version {version}")
                    run_down(reverted, migration)
                except LightnbError as error:
                    reason = f"cannot revert it on the copy: {mask_message(str(error))}"
                    name = by_version[version].name if version in by_version else version
                    return [Proof(MigrationCheck(name, version, "unsafe", (reason,), steps=("up",)))]
                done.append(migration)
            ended: list[str] = []

            def compare_with_start(final: Clone) -> None:
                final_shape = _shape(final)
                differences = compare_shapes(start_shape, final_shape)
                rows = [r.describe() for r in compare_rows(start, start_shape, final, final_shape)]
                ended.extend(list(differences.real) + list(differences.order) + rows)
                if at_end is not None:
                    at_end(final)

            proofs = prove_pending(cluster, reverted.name, list(reversed(done)), lint=lint, at_end=compare_with_start,
                                   judge=judge)
        finally:
            drop_clone(reverted)
    finally:
        drop_clone(start)
    if ended and proofs:
        last = proofs[-1].check
        reason = "reverting then re-applying does not give back the database as it was: " + "; ".join(ended)
        proofs[-1].check = MigrationCheck(last.migration, last.version, "unsafe", last.reasons + (reason,),
                                          last.findings, last.schema_differences, last.row_differences,
                                          last.redo_differences + tuple(ended), last.steps, last.column_order,
                                          last.declared, last.impact)
    return proofs
