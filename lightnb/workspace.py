"""The workspace: a private copy of the production database that every step works on.

Production is only ever opened read-only (URI ``mode=ro``) and copied with SQLite's online
backup API, which gives a consistent point-in-time copy even while another process writes to
it. This is the only module that writes database files other than the workspace's own
connections.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from lightnb import runner
from lightnb.errors import DatabaseError, WorkspaceError

SQLITE_HEADER = b"SQLite format 3\x00"
WORKSPACE_DB = "workspace.db"
STATE_FILE = "workspace.json"
DEFAULT_DIRNAME = ".lightnb"
# A snapshot is a one-off read of production: wait longer than interactive steps for a busy writer
# (with a rollback journal, a writer committing back to back can hold readers off for seconds).
PRODUCTION_BUSY_TIMEOUT_SECONDS = 15.0


def open_readonly(path: str | Path, *, timeout: float | None = None) -> sqlite3.Connection:
    """Open a database read-only (``mode=ro``); it is never written through this connection.

    :param timeout: seconds to wait for a writer's lock (default: the runner's busy timeout).
    :raises DatabaseError: when the file is missing, a folder, or not a SQLite database.
    """
    target = check_database_file(path)
    uri = f"file:{quote(str(target.resolve()))}?mode=ro"
    wait = runner.BUSY_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=wait)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        journal = Path(f"{target}-journal")
        if "readonly" in str(error) and journal.is_file() and journal.stat().st_size > 0:
            raise DatabaseError(
                f"Database {target} has an unfinished transaction (hot journal {journal.name}) left by a "
                f"program that stopped mid-write; open it once with that program or `sqlite3` so SQLite "
                f"rolls it back, then retry (lightnb never writes to it).", path=target) from error
        raise runner.translate(error, target) from error
    return conn


def check_database_file(path: str | Path) -> Path:
    """Return ``path`` if it is an existing SQLite database file.

    :raises DatabaseError: naming what is wrong (missing, folder, not SQLite).
    """
    target = Path(path)
    if not target.exists():
        raise DatabaseError(f"Database {target} does not exist; check the path (or DATABASE_URL).", path=target)
    if target.is_dir():
        raise DatabaseError(f"{target} is a folder, not a SQLite database file; give the .db file's path.",
                            path=target)
    try:
        with target.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise DatabaseError(f"Cannot read database {target}: {error.strerror}; check its permissions.",
                            path=target) from error
    if header and header != SQLITE_HEADER:
        raise DatabaseError(f"{target} is not a SQLite database (wrong file header); give the path of the "
                            f"SQLite file.", path=target)
    return target


def backup(source: sqlite3.Connection, destination: str | Path, *, verify: bool = False) -> Path:
    """Copy an open database into ``destination`` consistently and atomically.

    The copy is written beside the destination and renamed into place, so a failure never
    leaves a half-written file.

    :param verify: run SQLite's ``quick_check`` on the copy before it replaces anything (a full
        pass over the data: seconds per GiB) and refuse a corrupt one.
    :raises DatabaseError: when ``verify`` finds the copy corrupt.
    """
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".copy-", suffix=".db", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if not _copy_file_under_read_lock(source, tmp):
            target = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                target.execute("PRAGMA synchronous=OFF")
                source.backup(target)  # one step: a single read transaction, so one point in time
            finally:
                target.close()
        if verify:
            _quick_check(tmp, source)
        os.replace(tmp, dest)
    except sqlite3.Error as error:
        tmp.unlink(missing_ok=True)
        raise runner.translate(error, dest, doing=" while copying") from error
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"Cannot write the copy {dest}: {error.strerror}; free disk space or choose a "
                             f"writable workspace folder.", path=dest) from error
    return dest


def _quick_check(copy: Path, source: sqlite3.Connection) -> None:
    conn = sqlite3.connect(f"file:{quote(str(copy))}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    finally:
        conn.close()
    if problems != ["ok"]:
        row = source.execute("PRAGMA database_list").fetchone()
        name = row[2] if row and row[2] else "the source database"
        raise DatabaseError(f"{name} is corrupt (quick_check: {problems[0]}); recover it with sqlite3's "
                            f".recover or restore a backup — nothing was copied.", path=name)


def _copy_file_under_read_lock(source: sqlite3.Connection, target: Path) -> bool:
    """Copy the database file byte for byte while holding a read transaction on it.

    In rollback-journal modes a writer must take an EXCLUSIVE lock to change the main file, which
    it cannot get while this connection holds its SHARED lock, so the bytes copied are one
    consistent, committed point in time, at the speed of ``cp``. WAL databases (whose committed
    pages may live in the -wal file), in-memory databases and connections with uncommitted
    changes return False: the caller uses the backup API instead.
    """
    if source.in_transaction:
        return False
    row = source.execute("PRAGMA database_list").fetchone()
    path = Path(row[2]) if row and row[2] else None
    mode = str(source.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if path is None or mode == "wal" or not path.is_file():
        return False
    source.execute("BEGIN")
    try:
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the SHARED lock
        shutil.copyfile(path, target)
    finally:
        source.execute("COMMIT")
    return True


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Workspace:
    """A working copy of a production database in a scratch folder.

    :param folder: the scratch folder holding ``workspace.db`` and ``workspace.json``.
    :param production: the original database (read-only), or None for a workspace made empty.
    """

    folder: Path
    production: Path | None

    @property
    def path(self) -> Path:
        """The workspace database file."""
        return self.folder / WORKSPACE_DB

    @classmethod
    def create(cls, production: str | Path | None, scratch_dir: str | Path | None = None, *,
               verify: bool = False) -> Workspace:
        """Copy ``production`` into a new workspace (an empty database when None).

        :param scratch_dir: where to keep the workspace; a new temporary folder when None.
        :param verify: check the copy with SQLite's quick_check (a pass over all pages, seconds per
            GiB) and refuse a production whose inner pages are corrupt.
        :raises DatabaseError: when production is missing, not SQLite, locked, or corrupt.
        """
        prod = Path(production).resolve() if production is not None else None
        folder = Path(scratch_dir) if scratch_dir is not None else Path(tempfile.mkdtemp(prefix="lightnb-"))
        folder = folder.resolve()
        if prod is not None and (folder / WORKSPACE_DB).resolve() == prod:
            raise WorkspaceError(f"The workspace would overwrite production {prod}; choose another folder.")
        _ensure_writable(folder)
        workspace = cls(folder=folder, production=prod)
        workspace.reset(verify=verify)
        return workspace

    @classmethod
    def open(cls, folder: str | Path) -> Workspace:
        """Open an existing workspace folder.

        :raises WorkspaceError: when the folder holds no workspace.
        """
        root = Path(folder).resolve()
        state = root / STATE_FILE
        if not (root / WORKSPACE_DB).is_file() or not state.is_file():
            raise WorkspaceError(f"No workspace in {root}; create one with `lightnb snapshot --database-url "
                                 f"PROD.db` (or Workspace.create).", path=root)
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("production"), (str, type(None))):
                raise ValueError("not a workspace state")
        except (OSError, ValueError) as error:
            raise WorkspaceError(f"Workspace state {state} is unreadable; recreate the workspace with "
                                 f"`lightnb snapshot --database-url PROD.db`.", path=state) from error
        prod = data.get("production")
        return cls(folder=root, production=Path(prod) if prod else None)

    def reset(self, *, verify: bool = False) -> Path:
        """Throw away the workspace and copy production again; return the workspace path.

        :param verify: check the copy with SQLite's quick_check and refuse a corrupt production.
        """
        _ensure_writable(self.folder)
        if self.production is None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            runner.connect(self.path).close()
        else:
            source = open_readonly(self.production, timeout=PRODUCTION_BUSY_TIMEOUT_SECONDS)
            try:
                for suffix in ("-journal", "-wal", "-shm"):
                    Path(str(self.path) + suffix).unlink(missing_ok=True)
                backup(source, self.path, verify=verify)
            finally:
                source.close()
        self._write_state()
        return self.path

    def connect(self) -> sqlite3.Connection:
        """Open the workspace for writing (autocommit; diesel's functions registered)."""
        if not self.path.is_file():
            raise WorkspaceError(f"Workspace database {self.path} is missing; run `lightnb snapshot --reset`.",
                                 path=self.path)
        check_database_file(self.path)
        return runner.connect(self.path, create=False)

    def copy_to(self, destination: str | Path) -> Path:
        """Write a consistent copy of the workspace as it is now."""
        source = open_readonly(self.path)
        try:
            return backup(source, destination)
        finally:
            source.close()

    def _write_state(self) -> None:
        state = {"production": str(self.production) if self.production else None,
                 "created_at": int(time.time())}
        (self.folder / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def discard(self) -> None:
        """Delete the workspace folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WorkspaceError(f"Cannot create workspace folder {folder}: {error.strerror}; choose a writable "
                             f"folder.", path=folder) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WorkspaceError(f"Workspace folder {folder} is not writable; fix its permissions or choose "
                             f"another folder.", path=folder)
