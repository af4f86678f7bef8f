"""Apply, revert and redo migrations with diesel's semantics and bookkeeping.

Each migration runs in one transaction, statement by statement (never ``executescript``,
which commits: diesel_spec.md §8). The ``__diesel_schema_migrations`` table and its version
strings are exactly diesel's (§2.2), so diesel_cli and lightnb can take turns on one database.
The runner never prints: it reports progress to an optional ``on_step`` observer.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lightnb import sqlscript, statement_log
from lightnb.errors import DatabaseBusyError, DatabaseError, MigrationError, SqlError, with_advice
from lightnb.migrations import Migration, find
from lightnb.project import SqliteLocation

TRACKING_TABLE = "__diesel_schema_migrations"
# Byte-exact text diesel executes (diesel_spec.md §2.2), 7-space indentation included.
CREATE_TRACKING_TABLE = (
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\n"
    "       version VARCHAR(50) PRIMARY KEY NOT NULL,\n"
    "       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
    ");\n"
)
INITIAL_SETUP_VERSION = "00000000000000"
BOOKKEEPING_PREFIX = "__lightnb_"  # lightnb's own sidecar tables (e.g. migration checksums)
BUSY_TIMEOUT_SECONDS = 2.0

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class StepEvent:
    """What the runner is doing now, for progress displays and logs.

    :param kind: ``"migration"`` when a migration starts, ``"statement"`` before each statement,
        ``"done"`` after a migration committed.
    """

    kind: Literal["migration", "statement", "done"]
    migration: Migration
    direction: Direction
    statement: sqlscript.Statement | None = None
    total: int = 0
    connection: sqlite3.Connection | None = None  # lets an observer install a progress handler


StepObserver = Callable[[StepEvent], None]
AppliedHook = Callable[[sqlite3.Connection, Migration, Direction], None]


def connect(path: str | Path | SqliteLocation, *, create: bool = True) -> sqlite3.Connection:
    """Open a SQLite database the way diesel does, in autocommit mode.

    Registers ``diesel_manage_updated_at`` (diesel_spec.md §0). A :class:`SqliteLocation` keeps its
    URI parameters (``file:app.db?mode=ro`` opens read-only) and may be in memory, as in diesel.

    :param create: create the file if missing (diesel's behaviour); False raises instead.
    :raises DatabaseError: when the file is missing (and ``create`` is False), a folder, or not SQLite.
    """
    location = path if isinstance(path, SqliteLocation) else None
    target = Path(":memory:") if location is not None and location.path is None else \
        (location.path if location is not None and location.path is not None else Path(str(path)))
    opened, is_uri = location.open_target() if location is not None else (str(target), False)
    if str(target) != ":memory:":  # a FIFO, device or folder is refused before SQLite opens (and blocks on) it
        from lightnb.dbfile import check_database_path
        check_database_path(target, must_exist=False, header=False)
        if not create and not target.exists():
            raise DatabaseError(f"Database {target} does not exist; check the path or DATABASE_URL.", path=target)
    try:
        conn = sqlite3.connect(opened, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS,
                               factory=DieselConnection, uri=is_uri)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise translate(error, target) from error
    _register_functions(conn)
    statement_log.watch(conn)
    return conn


def translate(error: sqlite3.Error, path: str | Path | None = None, *, doing: str = "") -> Exception:
    """Turn a low-level SQLite error about a database file into a lightnb error."""
    text = str(error)
    where = f" {path}" if path is not None else ""
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(f"Database{where} is locked by another connection{doing}; close the other "
                                 f"program (or its open transaction) and retry.", path=path)
    if "not a database" in text or "malformed" in text or "disk image" in text:
        return DatabaseError(f"Database{where} is not a valid SQLite database ({text}); check that the path "
                             f"names a SQLite file — if it is a damaged copy, restore it from a backup or "
                             f"reset the workspace with `lightnb snapshot --reset`.", path=path)
    if "readonly" in text or "read-only" in text:
        return DatabaseError(f"Database{where} is read-only ({text}); make the file and its folder writable, "
                             f"or work on a workspace copy.", path=path)
    if "unable to open" in text:
        return DatabaseError(f"Cannot open database{where}{doing} ({text}); check that the path exists and "
                             f"that its folder is readable and writable (SQLite writes its journal there).",
                             path=path)
    if "full" in text:
        return DatabaseError(f"Database{where} is full ({text}); free disk space and retry.", path=path)
    return DatabaseError(f"SQLite error on{where or ' the database'}: {text}.", path=path)


class DieselConnection(sqlite3.Connection):
    """A connection that remembers diesel's per-connection state (savepoint depth, triggers to add)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.savepoint_depth = 0
        self.pending_updated_at: list[str] = []


def _register_functions(conn: sqlite3.Connection) -> None:
    """Register diesel's ``diesel_manage_updated_at(table)``.

    The function only records the table; the runner creates the trigger right after the
    statement that called it, in the same transaction (SQL cannot safely run from inside a
    Python callback on the same connection).
    """
    pending = getattr(conn, "pending_updated_at", None)
    if pending is None:
        return

    def manage_updated_at(table: object) -> None:
        pending.append(str(table))

    conn.create_function("diesel_manage_updated_at", 1, manage_updated_at)


# diesel's trigger text, byte for byte (diesel/src/sqlite/connection/diesel_manage_updated_at.sql),
# the table name pasted in unquoted as diesel's format! does, so the stored schema is diesel's.
UPDATED_AT_TRIGGER = (
    "CREATE TRIGGER __diesel_manage_updated_at_{table_name}\n"
    "AFTER UPDATE ON {table_name}\n"
    "FOR EACH ROW WHEN\n"
    "  old.updated_at IS NULL AND\n"
    "  new.updated_at IS NULL OR\n"
    "  old.updated_at == new.updated_at\n"
    "BEGIN\n"
    "  UPDATE {table_name}\n"
    "  SET updated_at = CURRENT_TIMESTAMP\n"
    "  WHERE ROWID = new.ROWID;\n"
    "END\n"
)


def _flush_updated_at_triggers(conn: sqlite3.Connection) -> None:
    pending = getattr(conn, "pending_updated_at", None)
    while pending:
        table = pending.pop(0)
        try:
            conn.execute(UPDATED_AT_TRIGGER.format(table_name=table))
        except sqlite3.Error as error:
            raise sqlite3.OperationalError(
                f"diesel_manage_updated_at('{table}') could not create its trigger: {error} (diesel pastes the "
                f"name unquoted, so it must be a plain table name)") from error


def is_bookkeeping(name: str) -> bool:
    """Tell whether a table is migration bookkeeping (diesel's tracking table, lightnb's ``__lightnb_*``
    sidecars) rather than the user's data; SQLite names are case-insensitive."""
    lowered = (name or "").lower()
    return lowered == TRACKING_TABLE or lowered.startswith(BOOKKEEPING_PREFIX)


def ensure_tracking_table(conn: sqlite3.Connection) -> None:
    """Create diesel's tracking table if it does not exist (exact diesel text)."""
    try:
        conn.execute(CREATE_TRACKING_TABLE)
    except sqlite3.Error as error:
        raise translate(error, _db_path(conn), doing=" while creating the migrations table") from error


def applied_versions(conn: sqlite3.Connection) -> list[str]:
    """Return applied versions, greatest first (string order, as diesel)."""
    ensure_tracking_table(conn)
    try:
        rows = conn.execute(f"SELECT version FROM {TRACKING_TABLE} ORDER BY version DESC").fetchall()
    except sqlite3.Error as error:
        raise translate(error, _db_path(conn)) from error
    return [row[0] for row in rows]


def pending(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> list[Migration]:
    """Return the migrations not yet applied, in version order."""
    done = set(applied_versions(conn))
    return [m for m in migrations if m.version not in done]


def run_pending(conn: sqlite3.Connection, migrations: Sequence[Migration], *,
                on_step: StepObserver | None = None, on_applied: AppliedHook | None = None,
                limit: int | None = None) -> list[Migration]:
    """Apply every pending migration in version order; stop at the first failure.

    Earlier migrations stay applied; the failing one is rolled back completely.

    :param limit: apply at most this many (None: all).
    :raises SqlError: naming the migration, the file, the line and the statement that failed.
    """
    todo = pending(conn, migrations)
    if limit is not None:
        todo = todo[:limit]
    for migration in todo:
        apply(conn, migration, "up", on_step=on_step, on_applied=on_applied)
    return list(todo)


def revert(conn: sqlite3.Connection, migrations: Sequence[Migration], *, number: int = 1,
           all: bool = False, on_step: StepObserver | None = None,
           on_applied: AppliedHook | None = None) -> list[Migration]:
    """Revert the latest ``number`` applied migrations (or all), newest first (§2.5).

    :raises MigrationError: when an applied version has no folder, or no down.sql.
    """
    done: list[Migration] = []
    steps = len(applied_versions(conn)) if all else number
    for _ in range(max(0, steps)):
        versions = applied_versions(conn)
        if not versions:
            break
        migration = _require(migrations, versions[0])
        apply(conn, migration, "down", on_step=on_step, on_applied=on_applied)
        done.append(migration)
    return done


def redo(conn: sqlite3.Connection, migrations: Sequence[Migration], *, number: int = 1,
         all: bool = False, on_step: StepObserver | None = None,
         on_applied: AppliedHook | None = None) -> list[Migration]:
    """Revert then re-apply the latest ``number`` migrations (or all), atomically (§2.6).

    :returns: the migrations re-applied, in version order.
    """
    versions = applied_versions(conn)
    chosen = versions if all else versions[: max(0, number)]
    if not chosen:
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
            migration = _require(migrations, version)
            apply(conn, migration, "down", on_step=on_step, on_applied=on_applied)
            targets.append(migration)
        again = sorted(targets, key=lambda m: m.version.encode("utf-8"))
        for migration in again:
            apply(conn, migration, "up", on_step=on_step, on_applied=on_applied)
        if outer:
            conn.execute("COMMIT")
    except BaseException:
        if outer and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return again


def apply(conn: sqlite3.Connection, migration: Migration, direction: Direction, *,
          on_step: StepObserver | None = None, on_applied: AppliedHook | None = None) -> None:
    """Run one migration's up.sql or down.sql and record it in diesel's table.

    In a transaction (a savepoint when one is already open) unless its metadata.toml says
    ``run_in_transaction = false``.

    :raises SqlError: when a statement fails; everything done by this migration is rolled back.
    """
    ensure_tracking_table(conn)
    if on_step:  # announced before the files are read, as diesel prints before it fails
        on_step(StepEvent("migration", migration, direction, connection=conn))
    sql = migration.up_sql() if direction == "up" else migration.down_sql()
    if sql == "":
        raise MigrationError(with_advice(f"Failed to run {migration.name} with: Attempted to run an empty "
                                         f"migration.", f"write SQL (or a comment) in its {direction}.sql"),
                             path=migration.path, version=migration.version)
    if "\x00" in sql:
        raise MigrationError(with_advice(f"Failed to run {migration.name} with: nul byte found in provided data",
                                         f"{direction}.sql contains a NUL byte; remove it"),
                             path=migration.path, version=migration.version)
    statements = sqlscript.split(sql)
    savepoint = None
    if migration.run_in_transaction:
        savepoint = _open(conn)
    refused: list[str] | None = None
    try:
        if savepoint is not None:
            refused = _forbid_transaction_control(conn)
        for statement in statements:
            if on_step:
                on_step(StepEvent("statement", migration, direction, statement, len(statements), conn))
            _execute(conn, migration, direction, statement, refused)
        if refused is not None:
            conn.set_authorizer(None)
            refused = None
        _record(conn, migration, direction)
        if on_applied:
            on_applied(conn, migration, direction)
        if savepoint is not None:
            _close(conn, savepoint)
    except BaseException:
        if refused is not None:
            conn.set_authorizer(None)
        if savepoint is not None:
            _rollback(conn, savepoint)
        raise
    if on_step:
        on_step(StepEvent("done", migration, direction, total=len(statements), connection=conn))


def _forbid_transaction_control(conn: sqlite3.Connection) -> list[str]:
    """Refuse transaction control and ATTACH in a migration's statements.

    A ``COMMIT`` in up.sql would end the migration's transaction early, so a later failure could no
    longer undo what ran before it; an ``ATTACH`` would let a rehearsal write files other than the
    database it runs on (production, say). SQLite's authorizer refuses such statements when they
    are prepared (setting it expires cached statements). Returns the list refusals are noted in.
    """
    refused: list[str] = []
    in_transaction = ("is not allowed in a migration that runs in a transaction", "remove it, or set "
                      "`run_in_transaction = false` in its metadata.toml")

    def authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_TRANSACTION:
            refused.append(f"{arg1 or 'transaction control'} {in_transaction[0]}|{in_transaction[1]}")
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_SAVEPOINT and arg1 != "BEGIN" and \
                (arg2 or "").lower().startswith("diesel_savepoint_"):
            refused.append(f"{arg1} SAVEPOINT {arg2} {in_transaction[0]}|{in_transaction[1]}")
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_ATTACH:
            refused.append("ATTACH is not allowed in a migration (it could write files other than the database "
                           "being migrated)|remove it; copy data in with a separate, reviewed step")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorize)
    return refused


def _execute(conn: sqlite3.Connection, migration: Migration, direction: Direction,
             statement: sqlscript.Statement, refused: list[str] | None = None) -> None:
    try:
        for _row in conn.execute(statement.text):
            pass  # step every row, as sqlite3_exec does: functions in a SELECT run for each of them
        _flush_updated_at_triggers(conn)
    except sqlite3.Error as error:
        text = str(error)
        if refused:
            problem, fix = refused[-1].split("|", 1)
            raise SqlError(
                f"Failed to run {migration.name} with: {text} (lightnb: {problem}, {direction}.sql line "
                f"{statement.line}; {fix} — nothing of this migration was applied)",
                path=migration.path / f"{direction}.sql", version=migration.version, line=statement.line,
                statement=statement.text) from error
        if any(word in text for word in ("locked", "busy", "not a database", "disk image", "readonly", "full",
                                         "unable to open")):
            translated = translate(error, _db_path(conn), doing=f" while running {migration.name}")
            translated.args = (with_advice(f"Failed to run {migration.name} with: {text}", str(translated)),)
            raise translated from error
        raise SqlError(with_advice(
            f"Failed to run {migration.name} with: {text}",
            f"{direction}.sql line {statement.line}: {statement.first_line(60).rstrip(';')}; "
            f"{_what_remains(migration, statement)}"),
            path=migration.path / f"{direction}.sql", version=migration.version,
            line=statement.line, statement=statement.text) from error
    except sqlite3.Warning as error:  # e.g. "You can only execute one statement at a time."
        raise SqlError(with_advice(f"Failed to run {migration.name} with: {error}",
                                   f"{direction}.sql line {statement.line}; split the statement and run again"),
                       path=migration.path / f"{direction}.sql", version=migration.version,
                       line=statement.line, statement=statement.text) from error


def _what_remains(migration: Migration, statement: sqlscript.Statement) -> str:
    """Say honestly what a failure leaves behind, and what to do."""
    if migration.run_in_transaction:
        return "fix the statement and run again — nothing of this migration was applied."
    if statement.index == 0:
        return ("fix the statement and run again — it runs outside a transaction (metadata.toml), but "
                "nothing before it had run.")
    return (f"it runs outside a transaction (metadata.toml), so the {statement.index} statement(s) before "
            f"line {statement.line} were applied and stay, and it is not recorded as applied: reset the "
            f"workspace (`lightnb snapshot --reset`) or undo them by hand, then fix and run again.")


def _record(conn: sqlite3.Connection, migration: Migration, direction: Direction) -> None:
    try:
        if direction == "up":
            conn.execute(f"INSERT INTO {TRACKING_TABLE} (version) VALUES (?)", (migration.version,))
        else:
            conn.execute(f"DELETE FROM {TRACKING_TABLE} WHERE version = ?", (migration.version,))
    except sqlite3.IntegrityError as error:
        raise MigrationError(f"Migration {migration.name} is already recorded as applied; "
                             f"check `lightnb migration list`.", version=migration.version) from error
    except sqlite3.Error as error:
        raise translate(error, _db_path(conn), doing=f" while recording {migration.name}") from error


def _require(migrations: Sequence[Migration], version: str) -> Migration:
    migration = find(list(migrations), version)
    if migration is None:
        raise MigrationError(with_advice(
            f"Unable to find migration version {version} to revert in the migrations directory.",
            f"restore its folder, or remove the row from {TRACKING_TABLE} if it is gone for good"), version=version)
    return migration


def _begin(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("BEGIN")
    except sqlite3.Error as error:
        raise translate(error, _db_path(conn)) from error


def _open(conn: sqlite3.Connection) -> str | None:
    """Open a transaction, or a savepoint inside an open one (diesel's nesting)."""
    if not conn.in_transaction:
        _begin(conn)
        return ""
    depth = getattr(conn, "savepoint_depth", 0) + 1
    name = f"diesel_savepoint_{depth}"
    conn.execute(f"SAVEPOINT {name}")
    _set_depth(conn, depth)
    return name


def _set_depth(conn: sqlite3.Connection, depth: int) -> None:
    if hasattr(conn, "savepoint_depth"):
        conn.savepoint_depth = depth  # type: ignore[attr-defined]


def _close(conn: sqlite3.Connection, savepoint: str) -> None:
    try:
        if savepoint == "":
            conn.execute("COMMIT")
        else:
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            _set_depth(conn, getattr(conn, "savepoint_depth", 1) - 1)
    except sqlite3.Error as error:
        raise translate(error, _db_path(conn), doing=" while committing") from error


def _rollback(conn: sqlite3.Connection, savepoint: str) -> None:
    try:
        if savepoint == "":
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        else:
            conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            _set_depth(conn, getattr(conn, "savepoint_depth", 1) - 1)
    except sqlite3.Error:
        pass  # the connection already rolled back (e.g. SQLITE_FULL); nothing more to undo


def _db_path(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("PRAGMA database_list").fetchone()
        return row[2] if row and row[2] else None
    except sqlite3.Error:
        return None
