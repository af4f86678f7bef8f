"""Apply, revert and redo migrations with diesel's semantics and bookkeeping.

Each migration runs in one transaction, statement by statement (never ``executescript``,
which commits: diesel_spec.md §8). The ``__diesel_schema_migrations`` table and its version
strings are exactly diesel's (§2.2), so diesel_cli and lightnb can take turns on one database.
The runner never prints: it reports progress to an optional ``on_step`` observer.

Every statement runs under :mod:`lightnb.backends.sqlite.guard` (no ATTACH of other files, no VACUUM INTO
outside the database's own copies), one writer at a time per database (a lock file beside it,
taken before the pending list is read), and Ctrl-C or SIGTERM interrupt a running statement,
which is then rolled back (:mod:`lightnb.signals`). What was committed, rolled back or left half
applied is kept in a :class:`Ledger` while one is :func:`recording`, so the CLI's last line about
the database is always true.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal

from lightnb import scratch
from lightnb.backends import sqlite
from lightnb.errors import MigrationError, SqlError, with_advice
from lightnb.layout import TRACKING_TABLE
from lightnb.ledger import CURRENT as _LEDGER
from lightnb.ledger import Ledger as Ledger  # the runner's names, kept
from lightnb.ledger import recording as recording
from lightnb.migrations import Migration, find
from lightnb.records import record
from lightnb.time_limit import TimeLimitExceeded
from lightnb.writer_lock import LOCK_SUFFIX as LOCK_SUFFIX  # the runner's names, kept
from lightnb.writer_lock import lock_path as lock_path
from lightnb.writer_lock import writer_lock

if TYPE_CHECKING:
    from lightnb import signals
    from lightnb.backends import Statement

# Byte-exact text diesel executes (diesel_spec.md §2.2), 7-space indentation included.
CREATE_TRACKING_TABLE = (
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\n"
    "       version VARCHAR(50) PRIMARY KEY NOT NULL,\n"
    "       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
    ");\n"
)
# The page cache a migration runs with (KiB), when the connection's is smaller. SQLite's default
# (2 MiB) fills after ~500 changed pages; each time it does, SQLite must flush the journal to the
# disk (twice, with the default synchronous) before it may write those pages into the database
# (a "cache spill"). Twice that cache halves the flushes of a large change (a 12-step rebuild of a
# 1 GiB table: 668 instead of 1,364) at no measurable cost in CPU. A larger cache flushes less but
# costs CPU on exactly those changes: every page streams through the cache once, and a cache that
# no longer fits the processor's own caches makes each page a trip to memory (64 MiB: ~50 flushes,
# but a 12-step rebuild of a 1 GiB table took 1.3x the CPU time). Same bytes, same durability
# (every flush SQLite's synchronous setting asks for still happens), same file. The cache only
# grows as pages are used, so small migrations cost nothing more.
MIGRATION_CACHE_KIB = 4 * 1024

Direction = Literal["up", "down"]


@record(frozen=True, slots=True)
class StepEvent:
    """What the runner is doing now, for progress displays and logs.

    :param kind: ``"migration"`` when a migration starts, ``"statement"`` before each statement,
        ``"done"`` after a migration committed.
    :param total: the number of statements (in a ``done`` event: 0 when the file ran as a whole).

    An observer that does not follow statements says so with an attribute ``statements = False``:
    the runner may then run a file in one call (faster for large data migrations) and send no
    ``statement`` events.
    """

    kind: Literal["migration", "statement", "done"]
    migration: Migration
    direction: Direction
    statement: Statement | None = None
    total: int = 0
    connection: sqlite.Connection | None = None  # lets an observer install a progress handler


StepObserver = Callable[[StepEvent], None]
AppliedHook = Callable[[sqlite.Connection, Migration, Direction], None]


def ensure_tracking_table(conn: sqlite.Connection) -> None:
    """Create diesel's tracking table if it does not exist (exact diesel text)."""
    try:
        conn.execute(CREATE_TRACKING_TABLE)
    except sqlite.Error as error:
        raise sqlite.translate(error, sqlite.database_file(conn),
                               doing=" while creating the migrations table") from error


def applied_versions(conn: sqlite.Connection) -> list[str]:
    """Return applied versions, greatest first (string order, as diesel)."""
    ensure_tracking_table(conn)
    try:
        rows = conn.execute(f"SELECT version FROM {TRACKING_TABLE} ORDER BY version DESC").fetchall()
    except sqlite.Error as error:
        raise sqlite.translate(error, sqlite.database_file(conn)) from error
    return [row[0] for row in rows]


def pending(conn: sqlite.Connection, migrations: Sequence[Migration]) -> list[Migration]:
    """Return the migrations not yet applied, in version order."""
    done = set(applied_versions(conn))
    return [m for m in migrations if m.version not in done]


def run_pending(conn: sqlite.Connection, migrations: Sequence[Migration], *,
                on_step: StepObserver | None = None, on_applied: AppliedHook | None = None,
                limit: int | None = None) -> list[Migration]:
    """Apply every pending migration in version order; stop at the first failure.

    Earlier migrations stay applied; the failing one is rolled back completely. The database's
    writer lock is taken before the pending list is read, so two runs never apply one migration twice.

    :param limit: apply at most this many (None: all).
    :raises SqlError: naming the migration, the file, the line and the statement that failed.
    :raises DatabaseBusyError: when another lightnb is migrating the same database.
    """
    with _migrating(conn) as stop:
        todo = pending(conn, migrations)
        if limit is not None:
            todo = todo[:limit]
        for migration in todo:
            stop.check()
            apply(conn, migration, "up", on_step=on_step, on_applied=on_applied)
    _finished()
    return list(todo)


def revert(conn: sqlite.Connection, migrations: Sequence[Migration], *, number: int = 1,
           all: bool = False, on_step: StepObserver | None = None,
           on_applied: AppliedHook | None = None) -> list[Migration]:
    """Revert the latest ``number`` applied migrations (or all), newest first (§2.5).

    :raises MigrationError: when an applied version has no folder, or no down.sql.
    :raises DatabaseBusyError: when another lightnb is migrating the same database.
    """
    done: list[Migration] = []
    with _migrating(conn) as stop:
        steps = len(applied_versions(conn)) if all else number
        for _ in range(max(0, steps)):
            stop.check()
            versions = applied_versions(conn)
            if not versions:
                break
            migration = _require(migrations, versions[0])
            apply(conn, migration, "down", on_step=on_step, on_applied=on_applied)
            done.append(migration)
    _finished()
    return done


def redo(conn: sqlite.Connection, migrations: Sequence[Migration], *, number: int = 1,
         all: bool = False, on_step: StepObserver | None = None,
         on_applied: AppliedHook | None = None) -> list[Migration]:
    """Revert then re-apply the latest ``number`` migrations (or all), atomically (§2.6).

    :returns: the migrations re-applied, in version order.
    :raises DatabaseBusyError: when another lightnb is migrating the same database.
    """
    with _migrating(conn) as stop:
        versions = applied_versions(conn)
        chosen = versions if all else versions[: max(0, number)]
        if not chosen:
            _finished()
            return []
        # diesel decides the transaction from the folders it finds (a missing one counts as
        # transactional), then reverts one by one, so a missing folder fails only when reached,
        # after the "Rolling back" lines of the ones before it (diesel_cli migrations/mod.rs, redo).
        found = [m for m in (find(list(migrations), v) for v in chosen) if m is not None]
        outer = builtins.all(m.run_in_transaction for m in found)
        if outer:
            _begin(conn)
        try:
            targets = []
            for version in chosen:
                stop.check()
                migration = _require(migrations, version)
                apply(conn, migration, "down", on_step=on_step, on_applied=on_applied)
                targets.append(migration)
            again = sorted(targets, key=lambda m: m.version.encode("utf-8"))
            for migration in again:
                stop.check()
                apply(conn, migration, "up", on_step=on_step, on_applied=on_applied)
            if outer:
                stop.check()
                _close(conn, "")
                if (ledger := _ledger_for(conn)) is not None:
                    ledger.outer_committed()
        except BaseException:
            if outer and conn.in_transaction:
                conn.execute("ROLLBACK")
                if (ledger := _ledger_for(conn)) is not None:
                    ledger.outer_rolled_back()
            raise
    _finished()
    return again


def apply(conn: sqlite.Connection, migration: Migration, direction: Direction, *,
          on_step: StepObserver | None = None, on_applied: AppliedHook | None = None) -> None:
    """Run one migration's up.sql or down.sql and record it in diesel's table.

    In a transaction (a savepoint when one is already open) unless its metadata.toml says
    ``run_in_transaction = false``. Every statement runs under :mod:`lightnb.backends.sqlite.guard`, whether
    in a transaction or not.

    :raises SqlError: when a statement fails or is refused; everything done by this migration is
        rolled back (when it runs in a transaction; the message says what stays when it does not).
    :raises KeyboardInterrupt: on Ctrl-C (:class:`lightnb.signals.Terminated` on SIGTERM), after
        the rollback.
    :raises TimeLimitExceeded: after the rollback, when it ran over the time limit of SQL lightnb runs by itself
        (:mod:`lightnb.time_limit`: a proof's or a replay's step; never inside the user's own run/revert/redo).
    """
    ensure_tracking_table(conn)
    try:
        _apply(conn, migration, direction, on_step, on_applied)
    except TimeLimitExceeded as error:  # a proof's, a replay's step on a copy (never the user's own run)
        raise error.naming(f"{migration.name}'s {direction}.sql") from None


def _apply(conn: sqlite.Connection, migration: Migration, direction: Direction, on_step: StepObserver | None,
           on_applied: AppliedHook | None) -> None:
    ledger = _ledger_for(conn)
    with _page_cache(conn), _interruptible(conn, timed=True) as stop:
        if ledger is not None:
            ledger.started(conn, migration, direction)
        savepoint: str | None = None
        done = 0
        try:
            if on_step:  # announced before the files are read, as diesel prints before it fails
                on_step(StepEvent("migration", migration, direction, connection=conn))
            sql = _sql_of(migration, direction)
            stop.check()
            total = 0
            ran_whole = False
            if _may_run_whole(conn, migration, on_step):
                savepoint = ""  # the transaction the file opens: rolled back below if anything stops it
                ran_whole = _run_whole(conn, sql, stop)
                if not ran_whole:
                    savepoint = None  # rolled back; run it again statement by statement to say where it fails
            if not ran_whole:
                statements = sqlite.split(sql)
                total = len(statements)
                savepoint = _open(conn) if migration.run_in_transaction else None
                guard = sqlite.guard.install(conn, transaction_control=savepoint is None)
                for statement in statements:
                    if on_step:
                        on_step(StepEvent("statement", migration, direction, statement, total, conn))
                    _execute(conn, migration, direction, statement, guard, stop)
                    done += 1
            stop.check()
            sqlite.guard.install(conn)
            _record(conn, migration, direction)
            if on_applied:
                on_applied(conn, migration, direction)
            if savepoint is not None:
                stop.check()
                _close(conn, savepoint)
        except BaseException:
            sqlite.guard.install(conn)
            if savepoint is not None:
                _rollback(conn, savepoint)
            if ledger is not None:
                ledger.failed(migration, direction, savepoint is not None, done)
            raise
        if ledger is not None:
            ledger.done(migration, direction, committed=savepoint in (None, ""))
    if on_step:
        on_step(StepEvent("done", migration, direction, total=total, connection=conn))




def _may_run_whole(conn: sqlite.Connection, migration: Migration, on_step: StepObserver | None) -> bool:
    """Tell whether the file can run in one call, as diesel's ``sqlite3_exec`` runs it.

    Only a migration that runs in its own transaction (a failure then leaves nothing behind, so it
    can be run again statement by statement to name the failing line), when no observer follows
    statements (``on_step.statements`` False). A large data migration then runs at the sqlite3 shell's
    speed. (A file that calls ``diesel_manage_updated_at`` is run again statement by statement too, see
    :func:`_run_whole`: its trigger must exist right after the call.)
    """
    return (migration.run_in_transaction and not conn.in_transaction
            and (on_step is None or getattr(on_step, "statements", True) is False))


def _run_whole(conn: sqlite.Connection, sql: str, stop: signals.Stop) -> bool:
    """Open a transaction and run every statement of ``sql`` in it (left open); True when all ran.

    The SQL guard applies as for one statement at a time (the file may not control the transaction
    itself). On a failure or a refusal everything is rolled back and False returned; so too at once when a
    statement calls ``diesel_manage_updated_at`` (diesel creates the trigger during the call, so the
    statements after it run with the trigger in place: run statement by statement, they do here too; see
    :class:`lightnb.backends.sqlite.connection.UpdatedAtCalls`).

    :raises KeyboardInterrupt: when a signal stopped it (the caller rolls back).
    """
    sqlite.guard.install(conn, transaction_control=False, begins=1)
    calls = getattr(conn, "pending_updated_at", None)  # (a connection lightnb opened: see sqlite.connect)
    calls = calls if hasattr(calls, "refused") else None
    if calls is not None:
        calls.refused = True
    try:
        conn.executescript("BEGIN;\n" + sql)  # executescript commits first: BEGIN must be in the script
    except sqlite.Error as error:
        sqlite.guard.install(conn)  # lightnb's own ROLLBACK is not the migration's
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        stop.raise_if_interrupted(error)
        return False
    finally:
        if calls is not None:
            calls.refused = False
    return True


def _sql_of(migration: Migration, direction: Direction) -> str:
    """Read the migration's file; refuse an empty file (as diesel) and NUL bytes."""
    sql = migration.up_sql() if direction == "up" else migration.down_sql()
    if sql == "":
        raise MigrationError(with_advice(f"Failed to run {migration.name} with: Attempted to run an empty "
                                         f"migration.", f"write SQL (or a comment) in its {direction}.sql"),
                             path=migration.path, version=migration.version)
    if "\x00" in sql:
        raise MigrationError(with_advice(f"Failed to run {migration.name} with: nul byte found in provided data",
                                         f"{direction}.sql contains a NUL byte; remove it"),
                             path=migration.path, version=migration.version)
    return sql


def _execute(conn: sqlite.Connection, migration: Migration, direction: Direction,
             statement: Statement, guard: sqlite.guard.Guard, stop: signals.Stop) -> None:
    try:
        for _row in conn.execute(statement.text):
            pass  # step every row, as sqlite3_exec does: functions in a SELECT run for each of them
        sqlite.flush_updated_at_triggers(conn)
    except sqlite.Error as error:
        stop.raise_if_interrupted(error)
        text = str(error)
        refusal = guard.take(statement.text) if sqlite.guard.is_refusal(error) else None
        if refusal is not None:
            raise SqlError(
                f"Failed to run {migration.name} with: {text} (lightnb: {refusal.problem}, {direction}.sql line "
                f"{statement.line}; {refusal.fix} — {_what_stays(migration, statement)})",
                path=migration.path / f"{direction}.sql", version=migration.version, line=statement.line,
                statement=statement.text) from error
        if any(word in text for word in ("locked", "busy", "not a database", "disk image", "readonly", "full",
                                         "unable to open")):
            translated = sqlite.translate(error, sqlite.database_file(conn), doing=f" while running {migration.name}")
            translated.args = (with_advice(f"Failed to run {migration.name} with: {text}", str(translated)),)
            raise translated from error
        raise SqlError(with_advice(
            f"Failed to run {migration.name} with: {text}",
            f"{direction}.sql line {statement.line}: {statement.first_line(60).rstrip(';')}; "
            f"{_what_remains(migration, statement)}"),
            path=migration.path / f"{direction}.sql", version=migration.version,
            line=statement.line, statement=statement.text) from error
    except sqlite.StatementWarning as error:  # e.g. "You can only execute one statement at a time."
        raise SqlError(with_advice(f"Failed to run {migration.name} with: {error}",
                                   f"{direction}.sql line {statement.line}; split the statement and run again"),
                       path=migration.path / f"{direction}.sql", version=migration.version,
                       line=statement.line, statement=statement.text) from error


def _what_remains(migration: Migration, statement: Statement) -> str:
    """Say honestly what a failure leaves behind, and what to do."""
    if migration.run_in_transaction:
        return "fix the statement and run again — nothing of this migration was applied."
    if statement.index == 0:
        return ("fix the statement and run again — it runs outside a transaction (metadata.toml), but "
                "nothing before it had run.")
    return (f"it runs outside a transaction (metadata.toml), so the {statement.index} statement(s) before "
            f"line {statement.line} were applied and stay, and it is not recorded as applied: reset the "
            f"workspace (`lightnb snapshot --reset`) or undo them by hand, then fix and run again.")


def _what_stays(migration: Migration, statement: Statement) -> str:
    """Say what a refused statement leaves behind."""
    if migration.run_in_transaction:
        return "nothing of this migration was applied."
    if statement.index == 0:
        return "nothing of this migration had run (it runs outside a transaction)."
    return (f"it runs outside a transaction (metadata.toml), so the {statement.index} statement(s) before "
            f"line {statement.line} were applied and stay, and it is not recorded as applied: reset the "
            f"workspace (`lightnb snapshot --reset`) or undo them by hand.")


@contextlib.contextmanager
def _migrating(conn: sqlite.Connection) -> Iterator[signals.Stop]:
    """The frame of run/revert/redo: the writer lock, then Ctrl-C and SIGTERM made interruptible."""
    with writer_lock(conn), _page_cache(conn), _interruptible(conn, untimed=True) as stop:
        yield stop


@contextlib.contextmanager
def _page_cache(conn: sqlite.Connection) -> Iterator[None]:
    """Give ``conn`` a page cache of at least :data:`MIGRATION_CACHE_KIB` for the block, then put its own back.

    Only the cache's size changes (never ``synchronous``, the journal mode or anything stored in
    the file): a large change spills the cache, and so flushes the journal, far less often.
    """
    try:
        size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    except sqlite.Error:
        yield  # a connection that cannot say (closed, say): the statements' own errors tell
        return
    kib = -size if size < 0 else size * page // 1024
    if kib >= MIGRATION_CACHE_KIB:
        yield
        return
    conn.execute(f"PRAGMA cache_size = -{MIGRATION_CACHE_KIB}")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite.Error):
            conn.execute(f"PRAGMA cache_size = {size}")


@contextlib.contextmanager
def _interruptible(conn: sqlite.Connection, *, timed: bool = False, untimed: bool = False
                   ) -> Iterator[signals.Stop]:
    """Signals stop the running statement and are raised at safe points (``stop.check()``), so a
    migration is either committed and noted, or rolled back; never something in between. ``timed``: so does the
    time limit of SQL lightnb runs by itself (not inside the user's own run/revert/redo, ``untimed``)."""
    with sqlite.interrupting(conn, timed=timed, untimed=untimed) as stop, stop.deferring():
        try:
            yield stop
        except sqlite.Error as error:  # e.g. an observer's query, interrupted
            stop.raise_if_interrupted(error)
            raise
        stop.check()


# --- one writer at a time: lightnb.writer_lock (its names kept here) ------------------------------------


# --- what happened to the database, for messages that are true: the command's ledger (lightnb.ledger) ---


def _ledger_for(conn: sqlite.Connection) -> Ledger | None:
    """Return the ledger recording ``conn``'s changes (None: not recording, or a throwaway copy)."""
    ledger = _LEDGER.get()
    if ledger is None:
        return None
    path = sqlite.database_file(conn)
    if not path or scratch.holding(path) is not None:
        return None
    return ledger


def _finished() -> None:
    ledger = _LEDGER.get()
    if ledger is not None:
        ledger.finished = True


def _record(conn: sqlite.Connection, migration: Migration, direction: Direction) -> None:
    try:
        if direction == "up":
            conn.execute(f"INSERT INTO {TRACKING_TABLE} (version) VALUES (?)", (migration.version,))
        else:
            conn.execute(f"DELETE FROM {TRACKING_TABLE} WHERE version = ?", (migration.version,))
    except sqlite.IntegrityError as error:
        raise MigrationError(f"Migration {migration.name} is already recorded as applied; "
                             f"check `lightnb migration list`.", version=migration.version) from error
    except sqlite.Error as error:
        raise sqlite.translate(error, sqlite.database_file(conn), doing=f" while recording {migration.name}") from error


def _require(migrations: Sequence[Migration], version: str) -> Migration:
    migration = find(list(migrations), version)
    if migration is None:
        raise MigrationError(with_advice(
            f"Unable to find migration version {version} to revert in the migrations directory.",
            f"restore its folder, or remove the row from {TRACKING_TABLE} if it is gone for good"), version=version)
    return migration


def _begin(conn: sqlite.Connection) -> None:
    try:
        conn.execute("BEGIN")
    except sqlite.Error as error:
        raise sqlite.translate(error, sqlite.database_file(conn)) from error


def _open(conn: sqlite.Connection) -> str | None:
    """Open a transaction, or a savepoint inside an open one (diesel's nesting)."""
    if not conn.in_transaction:
        _begin(conn)
        return ""
    depth = getattr(conn, "savepoint_depth", 0) + 1
    name = f"diesel_savepoint_{depth}"
    conn.execute(f"SAVEPOINT {name}")
    _set_depth(conn, depth)
    return name


def _set_depth(conn: sqlite.Connection, depth: int) -> None:
    if hasattr(conn, "savepoint_depth"):
        conn.savepoint_depth = depth


def _close(conn: sqlite.Connection, savepoint: str) -> None:
    try:
        if savepoint == "":
            conn.execute("COMMIT")
        else:
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            _set_depth(conn, getattr(conn, "savepoint_depth", 1) - 1)
    except sqlite.Error as error:
        raise sqlite.translate(error, sqlite.database_file(conn), doing=" while committing") from error


def _rollback(conn: sqlite.Connection, savepoint: str) -> None:
    try:
        if savepoint == "":
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        else:
            conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            _set_depth(conn, getattr(conn, "savepoint_depth", 1) - 1)
    except sqlite.Error:
        pass  # the connection already rolled back (e.g. SQLITE_FULL); nothing more to undo
