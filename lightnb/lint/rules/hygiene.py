"""Migration hygiene: files changed after they ran, versions out of order, duplicate versions.

Checksums live in lightnb's own sidecar table ``__lightnb_migration_checksums`` — never in diesel's
``__diesel_schema_migrations`` (diesel_cli must keep reading its table unchanged). The runner calls
:func:`record_checksums` after applying a migration and :func:`forget_checksums` after reverting it
(:func:`checksum_hook` has the runner's ``on_applied`` signature).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from lightnb.backends import sqlite
from lightnb.lint.registry import Hit, ProjectContext, rule
from lightnb.migrations import Migration, version_of

CHECKSUM_TABLE = "__lightnb_migration_checksums"
CREATE_CHECKSUM_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {CHECKSUM_TABLE} (\n"
    "    version TEXT PRIMARY KEY NOT NULL,\n"
    "    up_sha256 TEXT NOT NULL,\n"
    "    down_sha256 TEXT,\n"
    "    applied_at INTEGER NOT NULL\n"
    ")")


def file_sha256(path: Path | None) -> str | None:
    """Return the SHA-256 of a file's bytes, or None when there is no file."""
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_checksums(conn: sqlite.Connection, migration: Migration) -> None:
    """Remember the checksums of a migration's files as they are when it is applied."""
    conn.execute(CREATE_CHECKSUM_TABLE)
    conn.execute(f"INSERT OR REPLACE INTO {CHECKSUM_TABLE} (version, up_sha256, down_sha256, applied_at) "
                 f"VALUES (?, ?, ?, ?)", (migration.version, file_sha256(migration.up_path),
                                          file_sha256(migration.down_path), int(time.time())))


def forget_checksums(conn: sqlite.Connection, migration: Migration) -> None:
    """Forget a migration's checksums (after it is reverted); drop the table once it is empty.

    Dropping it keeps a fully reverted database as diesel leaves it: only its tracking table.
    """
    if _has_checksum_table(conn):
        conn.execute(f"DELETE FROM {CHECKSUM_TABLE} WHERE version = ?", (migration.version,))
        if conn.execute(f"SELECT 1 FROM {CHECKSUM_TABLE} LIMIT 1").fetchone() is None:
            conn.execute(f"DROP TABLE {CHECKSUM_TABLE}")


def checksum_hook(conn: sqlite.Connection, migration: Migration, direction: str) -> None:
    """Record or forget checksums; pass as the runner's ``on_applied`` hook."""
    if direction == "up":
        record_checksums(conn, migration)
    else:
        forget_checksums(conn, migration)


def _has_checksum_table(conn: sqlite.Connection) -> bool:
    return sqlite.has_table(conn, CHECKSUM_TABLE)


def _applied(conn: sqlite.Connection) -> list[str]:
    try:
        return [r[0] for r in conn.execute("SELECT version FROM __diesel_schema_migrations")]
    except sqlite.Error:
        return []


@rule("checksum-changed", severity="error", scope="project",
      summary="An applied migration's up.sql or down.sql changed since it ran.")
def checksum_changed(ctx: ProjectContext) -> Iterator[Hit]:
    """Flag applied migrations whose files differ from the checksums recorded when they ran."""
    if ctx.conn is None or not _has_checksum_table(ctx.conn):
        return
    recorded = {r[0]: r[1:] for r in ctx.conn.execute(
        f"SELECT version, up_sha256, down_sha256 FROM {CHECKSUM_TABLE}")}
    for migration in ctx.migrations:
        if migration.version not in recorded:
            continue
        up, down = recorded[migration.version]
        for file, old, new in (("up.sql", up, file_sha256(migration.up_path)),
                               ("down.sql", down, file_sha256(migration.down_path))):
            if old is not None and old != new:
                yield Hit(file, 0, f"{file} changed after this migration was applied; databases that "
                          f"already ran it keep the old version", "restore the file (git checkout) and put the "
                          "change in a new migration", migration=migration.name)


@rule("version-out-of-order", severity="warning", scope="project",
      summary="A pending migration is older than the newest applied one.")
def version_out_of_order(ctx: ProjectContext) -> Iterator[Hit]:
    """Flag pending migrations whose version sorts before an already applied version."""
    if ctx.conn is None:
        return
    applied = set(_applied(ctx.conn))
    newest = max(applied, default="", key=lambda v: v.encode("utf-8"))
    for migration in ctx.migrations:
        if migration.version not in applied and migration.version.encode() < newest.encode():
            yield Hit("", 0, f"pending migration is older than the newest applied one ({newest}); it "
                      f"will run after newer migrations", "regenerate it with a fresh version (`lightnb migration "
                      "generate`) and move the SQL over", migration=migration.name)


@rule("version-duplicate", severity="error", scope="project",
      summary="Two migration folders share one version.")
def version_duplicate(ctx: ProjectContext) -> Iterator[Hit]:
    """Flag migration folders that share a version (diesel refuses to run any of them)."""
    if not ctx.migrations_dir.is_dir():
        return
    by_version: dict[str, list[str]] = {}
    for entry in sorted(os.scandir(ctx.migrations_dir), key=lambda e: e.name):
        if entry.is_dir() and not entry.name.startswith(".") and (Path(entry.path) / "up.sql").is_file():
            by_version.setdefault(version_of(entry.name), []).append(entry.name)
    for version, names in by_version.items():
        for name in names[1:]:
            yield Hit("", 0, f"version {version} is also used by {names[0]}",
                      "regenerate one of them with a fresh version (`lightnb migration generate`)",
                      migration=name)


on_applied = checksum_hook  # the name lightnb.steps looks up
