"""Migrate a SQLite database: one pass of run, revert or redo, as the verbs and ``database setup`` do it.

A pass refuses the project's production database, checks that the schema files may be written
before any migration runs, lets :mod:`lightnb.runner` apply or revert the migrations (checksums
recorded only in lightnb's own workspaces), regenerates the schema files as diesel does
(diesel_spec.md §2.9), and, when asked, captures a copy and snapshots of the database before and
after for the inspect step. :mod:`lightnb.steps` offers it to the views; :mod:`lightnb.database`
uses it for ``setup`` and ``database setup|reset``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightnb import migrations as migration_files
from lightnb import runner
from lightnb.backends import sqlite
from lightnb.errors import FileWriteError, LightnbError, ProjectError
from lightnb.layout import STATE_FILE, WORKSPACE_DB
from lightnb.migrations import Migration
from lightnb.project import Project, SqliteLocation
from lightnb.results import Capture, RunResult
from lightnb.target import refuse_production

if TYPE_CHECKING:
    from lightnb.inspect.ahead import Measuring
    from lightnb.inspect.redact import Redactor
    from lightnb.inspect.snapshot import Snapshot
    from lightnb.runner import StepObserver

__all__ = ["NOT_DURABLE", "PROVED", "SCHEMA_STYLES", "migrate", "regenerate_schema_files", "run", "schema_style"]

# What a run on a copy whose commits did not wait for the disk says beside its time.
NOT_DURABLE = ("Timed on a throwaway copy whose commits do not wait for the disk; on production each commit "
               "also waits for its writes to reach the disk.")
# What a run that took the Test step's proved copy says (lightnb.proved_copy).
PROVED = ("Applied by the Test step's proof: its copy of the same state of production, after up, down and up again, "
          "held the schema and rows the first up gave, and became the workspace; the workspace as it was is the "
          "before copy. The time is that of the proof's last up.")


def run(project: Project, database: str | Path | SqliteLocation, *, limit: int | None = None,
        on_step: StepObserver | None = None, regenerate_schema: bool = True, locked_schema: bool = False,
        capture: Capture | None = None, style: str | None = None, durable: bool = True) -> RunResult:
    """Apply every pending migration (or the next ``limit``) to the SQLite ``database`` (see :func:`migrate`)."""
    return migrate(project, database, "up", lambda conn, found, hook, observe: runner.run_pending(
        conn, found, on_step=observe, on_applied=hook, limit=limit),
        regenerate_schema=regenerate_schema, locked_schema=locked_schema, capture=capture,
        on_step=on_step, style=style, durable=durable)


def migrate(project: Project, database: str | Path | SqliteLocation, direction: str,
            action: Callable[[Any, list[Migration], Any, StepObserver], list[Migration]], *,
            regenerate_schema: bool = True, locked_schema: bool = False, capture: Capture | None = None,
            on_step: StepObserver | None = None, style: str | None = None, durable: bool = True) -> RunResult:
    """Do one pass of ``action`` (the runner's run, revert or redo) on the SQLite ``database``.

    :param direction: ``up``, ``down`` or ``redo``, as the result names it.
    :param action: ``(conn, migrations found, checksum hook, observer) -> migrations done``.
    :param regenerate_schema: regenerate the schema files afterwards (checked writable before any
        migration runs); with ``locked_schema``, check them instead (``--locked-schema``).
    :param capture: take before/after snapshots (and a before copy) for the inspect step.
    :param durable: False for a copy no commit of which needs to survive a power cut (a rehearsal's workspace,
        in the private folder deleted when the rehearsal ends): its commits do not wait for the disk
        (``PRAGMA synchronous = OFF``, the connection's setting only; a crash of the process still leaves
        every commit whole). The result says so, as its time is then not what production's commits take.
    :raises SqlError: naming the migration, file, line and statement that failed; that migration is
        rolled back completely and the tracking table does not claim it.
    """
    found = migration_files.discover(project.migrations_dir)
    location = database if isinstance(database, SqliteLocation) else None
    if isinstance(database, SqliteLocation):
        path = database.path if database.path is not None else Path(":memory:")
    else:
        path = Path(database)
    if location is None or location.path is not None:
        refuse_production(project, path)
    conn = sqlite.connect(location if location is not None else path)
    if not durable:  # (production was refused above: never for it)
        conn.execute("PRAGMA synchronous = OFF")
    if regenerate_schema and not locked_schema:
        try:  # before any migration runs: a schema file that may not be written stops the step whole
            from lightnb.schema.sync import check_schema_targets
            check_schema_targets(project, conn, protected=[path])
        except BaseException:
            conn.close()
            raise
    started = time.perf_counter()
    per_migration: list[tuple[str, str, object]] = []
    # snapshots print fingerprints that leave out what the project masks (its [redact] settings and lineage)
    redactor = _project_redactor(project) if capture is not None and capture.snapshot else None

    if capture is not None and capture.proved is not None and capture.copy and capture.snapshot and direction == "up":
        try:
            taken, conn = _take_proved(project, conn, path, found, capture, redactor, durable=durable,
                                       regenerate_schema=regenerate_schema, locked_schema=locked_schema, style=style)
        except BaseException:
            with contextlib.suppress(sqlite.Error):
                conn.close()  # (closed already when the copy was taken)
            raise
        if taken is not None:
            return taken
        if not durable:
            conn.execute("PRAGMA synchronous = OFF")

    ahead: Measuring | None = None  # the inspect step's measurements, made beside the migrations (when asked)
    last: list[Any] = [None, None]  # the latest snapshot, and the state of the connection it was taken in
    ran: list[str] = []  # the SQL of each migration done, as it ran
    writes: sqlite.Writes | None = None  # what the statements since the latest snapshot may have written
    step_writes: set[Any] = set()  # ... and since the before snapshot (what the whole step may have written)

    def observe(event: runner.StepEvent) -> None:
        if event.kind == "migration" and ahead is not None:  # inspect's measurement of its SQL, on the before copy
            with contextlib.suppress(OSError, LightnbError):  # (a file it cannot read: the runner says so)
                ahead.measure(event.migration.down_sql() if event.direction == "down" else event.migration.up_sql())
        if event.kind == "done" and capture is not None and capture.snapshot:
            # schema and row counts after each migration (no row hashing; the tables the migration's
            # SQL cannot change keep the counts of the snapshot before it, and those it can only
            # update keep their row count)
            label = f"after {event.direction} {event.migration.name}"
            sql = event.migration.down_sql() if event.direction == "down" else event.migration.up_sql()
            ran.append(sql)
            alone = last[1] is not None and last[1][2] == _connection_state(conn)[2]  # no other writer since
            taken = _snapshot_of(conn, label, False, redactor=redactor,
                                 known=_known_since(conn, last[0], sql, writes) if alone else None)
            state = _connection_state(conn)
            if alone and state[2] != last[1][2]:  # another writer committed while it was taken: count again
                taken = _snapshot_of(conn, label, False, redactor=redactor)
                state = _connection_state(conn)
            if writes is not None:
                step_writes.update(writes.seen)
                writes.clear()
            per_migration.append((event.migration.name, event.direction, taken))
            last[:] = [taken, state]
        if on_step is not None:
            on_step(event)

    # the runner reads it: whether anyone follows each statement (else a migration may run as one call)
    observe.statements = on_step is not None and getattr(on_step, "statements", True)  # type: ignore[attr-defined]  # a function attribute the runner reads
    try:
        if capture is not None and capture.snapshot:
            writes = sqlite.watch_writes(conn)
        before, before_copy, exact = _capture_before(conn, path, direction, capture, redactor)
        last[:] = [before, _connection_state(conn) if before is not None else None]
        started_alone = last[1]  # no other writer since it: the before copy and the step's own writes tell all
        if writes is not None:
            writes.clear()
        # the inspect step's measurement of each migration's SQL, made on the before copy while the migration runs
        # here (only when asked: it costs about what the migrations cost, on the other core)
        wanted = before_copy is not None and capture is not None and capture.impact and direction in ("up", "down")
        from lightnb.inspect.ahead import measuring
        with measuring(before_copy, redactor or _project_redactor(project)) if wanted and before_copy is not None \
                else contextlib.nullcontext() as ahead:
            done = action(conn, found, _checksum_hook(path), observe)
            files: tuple[Path, ...] = ()
            if regenerate_schema:
                try:
                    files = regenerate_schema_files(project, conn, locked=locked_schema, style=style)
                except FileWriteError as error:
                    raise _schema_not_regenerated(error, done, direction, path) from error
            # nothing ran since the last migration's snapshot (the connection changed no row and no
            # definition, and no other connection wrote): its counts stand
            since = {t.name.lower(): t for t in last[0].tables} \
                if per_migration and last[1] == _connection_state(conn) else None
            settled = sqlite.committed_state(path) if capture and capture.snapshot else None
            after = (_snapshot_of(conn, f"after {direction}", _fingerprints(capture, before_copy),
                                  redactor=redactor, known=since)
                     if capture and capture.snapshot else None)
            if settled is not None and settled != sqlite.committed_state(path):
                settled = None  # a commit from elsewhere during the snapshot: its counts prove nothing later
            # the tables whose rows the step provably kept (only columns it added were filled): describing it
            # does not compare their rows
            alone = exact and writes is not None and started_alone is not None and after is not None and \
                settled is not None and _connection_state(conn)[2] == started_alone[2]
            if alone and writes is not None:
                step_writes.update(writes.seen)
            kept = _kept_rows(step_writes, before, after, ran) if alone else None
    finally:
        conn.close()
    result = RunResult(direction=direction, database=path, migrations=tuple(done),
                       seconds=time.perf_counter() - started, before=before, after=after,
                       before_copy=before_copy, schema_files=files, per_migration=tuple(per_migration),
                       reachable=_reachable(before, after, ran) if before is not None and after is not None else None,
                       before_copy_exact=exact, after_state=settled if after is not None else None,
                       notes=(NOT_DURABLE,) if not durable and done else ())
    if ahead is not None:
        from lightnb.inspect.ahead import keep_ahead
        keep_ahead(result, ahead.result)
    if kept:  # (the before copy's state once the measurement beside the step is done)
        from lightnb.inspect.kept_rows import keep_kept_rows, kept_for
        keep_kept_rows(result, kept_for(kept, before_copy, settled))
    return result


def _kept_rows(seen: set[Any], before: Snapshot | None, after: Snapshot | None, ran: list[str]) -> frozenset[str]:
    """The tables whose rows the statements that recorded ``seen`` provably kept (:mod:`lightnb.inspect.kept_rows`)."""
    if before is None or after is None:
        return frozenset()
    from lightnb.inspect.kept_rows import kept_rows
    return kept_rows(sqlite.Writes(seen=set(seen)), before.catalog, after.catalog, ran)


def _take_proved(project: Project, conn: Any, path: Path, found: list[Migration], capture: Capture,
                 redactor: Redactor | None, *, durable: bool, regenerate_schema: bool, locked_schema: bool,
                 style: str | None) -> tuple[RunResult | None, Any]:
    """Run every pending migration by taking the Test step's proved copy (``capture.proved``) as the database,
    the database as it was becoming the before copy; return the result and the connection to go on with.

    Only while the copy provably is what running the pending migrations on the database now would make
    (:meth:`lightnb.proved_copy.ProvedCopy.stands_for`); otherwise the copy is deleted, nothing is moved and the
    result is None: the caller runs the migrations itself, on ``conn``. The before snapshot is taken on the database
    before it is moved; what a run records beside the migrations in a workspace (their checksums), the schema
    files and the snapshots after are made on the copy, as a run makes them. The impact the inspect step shows is
    measured on the before copy meanwhile (``Capture.impact``).
    """
    from lightnb.writer_lock import writer_lock
    proved = capture.proved
    with writer_lock(path):
        pending = runner.pending(conn, found)
        # one migration: its snapshot after it is the snapshot after the run (the proof's copy holds no state between
        # two migrations)
        if conn.in_transaction or len(pending) != 1 or not proved.stands_for(path, pending):
            proved.discard()
            return None, conn
        before = _snapshot_of(conn, "before up", False, redactor=redactor)
        conn.close()
        before_copy = _before_copy_path(path, "up", capture)
        moved = proved.stands_for(path, pending) and proved.swap_in(path, before_copy)
        if not moved:
            proved.discard()
        # the proof measured the impact on the workspace in the state it had until this move (a rename): the
        # before copy now
        impact = proved.impact
        measured = impact.moved(before_copy) if moved and capture.impact and impact is not None \
            and impact.state == proved.workspace_state and impact.copy == proved.workspace else None
        conn = sqlite.connect(path)
        if not moved:
            return None, conn
    try:
        if not durable:
            conn.execute("PRAGMA synchronous = OFF")
        from lightnb.inspect.ahead import measuring
        wanted = capture.impact and measured is None
        with measuring(before_copy, redactor or _project_redactor(project)) if wanted \
                else contextlib.nullcontext() as ahead:
            if ahead is not None:
                for migration in pending:
                    with contextlib.suppress(OSError, LightnbError):
                        ahead.measure(migration.up_sql())
            hook = _checksum_hook(path)
            if hook is not None:  # what a run records in a workspace beside diesel's table, in one transaction
                conn.execute("BEGIN")
                try:
                    for migration in pending:
                        hook(conn, migration, "up")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            files: tuple[Path, ...] = ()
            if regenerate_schema:
                try:
                    files = regenerate_schema_files(project, conn, locked=locked_schema, style=style)
                except FileWriteError as error:
                    raise _schema_not_regenerated(error, pending, "up", path) from error
            per_migration = tuple((m.name, "up", _snapshot_of(conn, f"after up {m.name}", False, redactor=redactor))
                                  for m in pending[-1:])
            settled = sqlite.committed_state(path)
            last = per_migration[-1][2]
            after = _snapshot_of(conn, "after up", False, redactor=redactor,
                                 known={t.name.lower(): t for t in last.tables})
            if settled != sqlite.committed_state(path):
                settled = None
    finally:
        conn.close()
    ran = [m.up_sql() for m in pending]
    result = RunResult(direction="up", database=path, migrations=tuple(pending), seconds=proved.seconds,
                       before=before, after=after, before_copy=before_copy, schema_files=files,
                       per_migration=per_migration, reachable=_reachable(before, after, ran),
                       before_copy_exact=True, after_state=settled,
                       notes=(PROVED,) + ((NOT_DURABLE,) if not durable else ()))
    if ahead is not None or measured is not None:
        from lightnb.inspect.ahead import keep_ahead
        keep_ahead(result, ahead.result if ahead is not None else measured)
    if proved.kept_rows:  # the tables whose rows the proof's up again provably kept, on the state the workspace was in
        from lightnb.inspect.kept_rows import keep_kept_rows, kept_for
        keep_kept_rows(result, kept_for(proved.kept_rows, before_copy, settled))
    return result, None


def _capture_before(conn: Any, path: Path, direction: str, capture: Capture | None,
                    redactor: Redactor | None = None) -> tuple[Snapshot | None, Path | None, bool]:
    """Keep a before copy and take the before snapshot; also tell whether no commit came between them."""
    if capture is None:
        return None, None, False
    size = path.stat().st_size if path.exists() else 0
    folder = capture.folder or path.parent / "captures"
    keep = capture.copy if isinstance(capture.copy, bool) else _room_for(folder, size)
    copy = None
    state = sqlite.committed_state(path) if keep and capture.snapshot else None
    if keep:
        copy = sqlite.backup(conn, _before_copy_path(path, direction, capture))
    before = (_snapshot_of(conn, f"before {direction}", _fingerprints(capture, copy), redactor=redactor)
              if capture.snapshot else None)
    exact = copy is not None and state is not None and state == sqlite.committed_state(path)
    return before, copy, exact


def _before_copy_path(path: Path, direction: str, capture: Capture) -> Path:
    """Where a step keeps the database as it was before it: ``before-<direction>-<time>.db`` in the capture's folder."""
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}"
    return (capture.folder or path.parent / "captures") / f"before-{direction}-{stamp}.db"


def _schema_not_regenerated(error: FileWriteError, done: Sequence[Migration], direction: str,
                            path: Path) -> FileWriteError:
    """The error of a step whose migrations ran but whose schema file could not be written."""
    did = f"{len(done)} migration(s) {'reverted' if direction == 'down' else 'applied'}" \
        if done else "No migration changed"
    return FileWriteError(f"{did} on {path}, but the schema file was not regenerated: {error} Once fixed, "
                          f"regenerate it with `lightnb print-schema > {error.path}`.", path=error.path)


def _room_for(folder: Path, size: int) -> bool:
    """Tell whether the disk under ``folder`` (or its nearest existing parent) has room for ``size`` bytes."""
    import shutil
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free >= size * 1.1 + (64 << 20)
    except OSError:
        return True  # cannot tell: try the copy, whose failure says what is wrong


def _fingerprints(capture: Capture, before_copy: Path | None) -> bool:
    if isinstance(capture.fingerprint, bool):
        return capture.fingerprint
    return before_copy is None


def _snapshot_of(conn: Any, label: str, fingerprint: bool = True, *, redactor: Redactor | None = None,
                 known: dict[str, Any] | None = None) -> Snapshot:
    """A snapshot whose printed fingerprints leave out the columns ``redactor`` masks (the project's).

    :param known: tables known unchanged since an earlier snapshot (see ``take_snapshot``).
    """
    from lightnb.inspect import take_snapshot
    # the database this pass migrates through ``conn``: read mapped, as lightnb's own copies are
    return take_snapshot(conn, label=label, fingerprint=fingerprint, shown_fingerprints=redactor is not None,
                         redactor=redactor, known=known, own=True)


def _known_since(conn: Any, previous: Snapshot | None, sql: str,
                 writes: sqlite.Writes | None) -> dict[str, Any] | None:
    """The tables of ``previous`` whose rows (:func:`_untouched`), or only whose row count
    (:mod:`lightnb.inspect.kept_counts`), ``sql`` kept, by lower-case name."""
    untouched = _untouched(previous, sql)
    if previous is None or writes is None:
        return untouched
    from lightnb.inspect.kept_counts import kept_counts
    return {**kept_counts(conn, previous, writes, [sql]), **(untouched or {})}


def _untouched(previous: Snapshot | None, sql: str) -> dict[str, Any] | None:
    """The tables of ``previous`` that ``sql`` cannot change (:mod:`lightnb.inspect.touched`), by lower-case name."""
    if previous is None:
        return None
    from lightnb.catalog import is_bookkeeping
    from lightnb.inspect.touched import touched_in
    touched = touched_in(previous, [sql], always=[t.name for t in previous.tables if is_bookkeeping(t.name)])
    if touched is None:
        return None
    return {t.name.lower(): t for t in previous.tables if t.name not in touched}


def _reachable(before: Snapshot, after: Snapshot, ran: list[str]) -> tuple[str, ...] | None:
    """The lower-case names of the tables of either snapshot that the SQL which ran can have changed."""
    from lightnb.catalog import is_bookkeeping
    from lightnb.inspect.touched import touched_in
    touched = touched_in(before, ran, always=[t.name for t in before.tables if is_bookkeeping(t.name)])
    if touched is None:
        return None
    return tuple(sorted({t.name.lower() for t in (*before.tables, *after.tables) if t.name in touched}))


def _connection_state(conn: Any) -> tuple[int, int, int]:
    """Rows changed through ``conn`` so far, its schema version and its view of other connections' commits."""
    return (conn.total_changes, conn.execute("PRAGMA schema_version").fetchone()[0],
            conn.execute("PRAGMA data_version").fetchone()[0])


def _project_redactor(project: Project) -> Redactor:
    from lightnb.inspect.redact import Redactor
    return Redactor.for_project(project)


def _checksum_hook(database: Path) -> Callable[..., None] | None:
    """Return the hook that records migration checksums in lightnb's sidecar table.

    Only in lightnb's own workspaces: a database the user names explicitly is left exactly as
    diesel_cli would leave it (its tracking table and nothing else of ours).
    """
    if database.name != WORKSPACE_DB or not (database.parent / STATE_FILE).is_file():
        return None
    try:
        from lightnb.lint.rules import hygiene
    except ImportError:
        return None
    return getattr(hygiene, "on_applied", None)


SCHEMA_STYLES = ("auto", "2.1", "2.2", "2.3")


def schema_style(project: Project, style: str | None = None) -> str:
    """Return the diesel output style to print schema.rs in: ``style``, else lightnb.toml's
    ``[schema] style``, else ``auto`` (keep the style of the existing file).

    :raises ProjectError: for an unknown style.
    """
    chosen = style or project.settings.schema_style or "auto"
    if chosen not in SCHEMA_STYLES:
        raise ProjectError(f"Unknown schema style {chosen!r} (lightnb.toml [schema] style or --style); "
                           f"use one of {', '.join(SCHEMA_STYLES)}.")
    return chosen


def regenerate_schema_files(project: Project, conn: Any, *, locked: bool = False,
                            style: str | None = None) -> tuple[Path, ...]:
    """Regenerate every configured schema file as diesel does after run/revert/redo (§2.9).

    :param locked: check instead of writing; raise SchemaOutOfSync when a file would change.
    :param style: diesel output style (default: :func:`schema_style`).
    """
    style = schema_style(project, style)
    try:
        from lightnb import schema
    except ImportError as error:  # pragma: no cover - schema is part of the package
        raise ProjectError("print-schema is unavailable in this installation; reinstall lightnb.") from error
    if locked:
        report = schema.check_schema_sync(project, conn, style=style)
        if not report.in_sync:
            from lightnb.errors import SchemaOutOfSync
            paths = ", ".join(str(f.path) for f in report.files if not f.in_sync)
            raise SchemaOutOfSync(f"Command would result in changes to `{paths}`. Rerun the command "
                                  f"locally, and commit the changes.", diff=report.diff)
        return ()
    return tuple(schema.regenerate_schema_files(project, conn, style=style))
