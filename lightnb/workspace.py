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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from lightnb import runner
from lightnb.dbfile import SQLITE_HEADER  # noqa: F401 - re-exported: where it always was
from lightnb.dbfile import check_database_path, consistent_copy, is_lightnb_copy, open_untouched, uses_wal
from lightnb.errors import DatabaseError, WorkspaceError
from lightnb.files import write_text_atomic
WORKSPACE_DB = "workspace.db"
STATE_FILE = "workspace.json"
DEFAULT_DIRNAME = ".lightnb"
# A snapshot is a one-off read of production: wait longer than interactive steps for a busy writer
# (with a rollback journal, a writer committing back to back can hold readers off for seconds).
PRODUCTION_BUSY_TIMEOUT_SECONDS = 15.0


def open_readonly(path: str | Path, *, timeout: float | None = None) -> sqlite3.Connection:
    """Open a database read-only; nothing is written through it, nor created or changed beside it.

    A database in WAL mode is read from a private consistent copy (see :mod:`lightnb.dbfile`), so
    no ``-wal``/``-shm`` file ever appears beside it.

    :param timeout: seconds to wait for a writer's lock (default: the runner's busy timeout).
    :raises DatabaseError: when the file is missing, not a regular file, or not a SQLite database.
    """
    target = check_database_file(path)
    wait = runner.BUSY_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        conn = open_untouched(target, timeout=wait)
    except sqlite3.Error as error:
        raise runner.translate(error, target) from error
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        conn.close()
        journal = Path(f"{target}-journal")
        if "readonly" in str(error) and journal.is_file() and journal.stat().st_size > 0:
            raise DatabaseError(
                f"Database {target} has an unfinished transaction (hot journal {journal.name}) left by a "
                f"program that stopped mid-write; open it once with that program or `sqlite3` so SQLite "
                f"rolls it back, then retry (lightnb never writes to it).", path=target) from error
        raise runner.translate(error, target) from error
    return conn


def check_database_file(path: str | Path, *, allow_empty: bool = True) -> Path:
    """Return ``path`` if it is an existing regular SQLite database file (never opened before ``stat``).

    :param allow_empty: accept an empty file (a new database); production must not be empty.
    :raises DatabaseError: naming what is wrong (missing, folder, FIFO/device/socket, empty, not SQLite).
    """
    return check_database_path(path, allow_empty=allow_empty)


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


def _quick_check(copy: Path, source: sqlite3.Connection, *, name: str | None = None) -> None:
    conn = sqlite3.connect(f"file:{quote(str(copy))}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    finally:
        conn.close()
    if problems != ["ok"]:
        if name is None:
            source_file = getattr(source, "source", None)  # a private copy stands for this file
            row = source.execute("PRAGMA database_list").fetchone()
            name = str(source_file) if source_file else row[2] if row and row[2] else "the source database"
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
               verify: bool = False, protect: Iterable[str | Path] = ()) -> Workspace:
        """Copy ``production`` into a new workspace (an empty database when None).

        The folder must not be, or contain, production or any path in ``protect`` (a project folder):
        discarding the workspace later must never be able to reach them.

        :param scratch_dir: where to keep the workspace; a new temporary folder when None.
        :param verify: check the copy with SQLite's quick_check (a pass over all pages, seconds per
            GiB) and refuse a production whose inner pages are corrupt.
        :param protect: folders or files the workspace folder may not be, nor hold (the project…).
        :raises DatabaseError: when production is missing, not SQLite, locked, or corrupt.
        :raises WorkspaceError: when the folder is unsuitable (see above), or holds a workspace.db
            that lightnb did not make.
        """
        prod = Path(production).resolve() if production is not None else None
        made = scratch_dir is None or not os.path.lexists(scratch_dir)
        folder = Path(scratch_dir) if scratch_dir is not None else Path(tempfile.mkdtemp(prefix="lightnb-"))
        folder = folder.resolve()
        if prod is not None and (folder / WORKSPACE_DB).resolve() == prod:
            raise WorkspaceError(f"The workspace would overwrite production {prod}; choose another folder.")
        _refuse_folder(folder, [p for p in (prod, *map(Path, protect)) if p is not None])
        _refuse_foreign_database(folder)
        previous = _read_state(folder, missing_ok=True)
        if previous.get("made_folder") and _same_identity(folder, previous):
            made = True  # a workspace lightnb made, copied again: the folder is still lightnb's
        _ensure_writable(folder)
        workspace = cls(folder=folder, production=prod)
        workspace.reset(verify=verify, made_folder=made)
        return workspace

    @classmethod
    def open(cls, folder: str | Path) -> Workspace:
        """Open an existing workspace folder.

        :raises WorkspaceError: when the folder holds no workspace.
        """
        root = Path(folder).resolve()
        data = _read_state(root)
        prod = data.get("production")
        return cls(folder=root, production=Path(prod) if prod else None)

    def reset(self, *, verify: bool = False, made_folder: bool | None = None) -> Path:
        """Throw away the workspace and copy production again; return the workspace path.

        :param verify: check the copy with SQLite's quick_check and refuse a corrupt production.
        :param made_folder: whether lightnb created the folder (recorded, so that discard removes
            it); None keeps what the state already says.
        """
        _ensure_writable(self.folder)
        # one writer at a time: never replace the database under a running migration (and the reverse)
        with runner.writer_lock(self.path):
            self._copy_production(verify, made_folder)
        return self.path

    def _copy_production(self, verify: bool, made_folder: bool | None) -> None:
        if made_folder is None:
            made_folder = bool(_read_state(self.folder, missing_ok=True).get("made_folder"))
        if self.production is None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            runner.connect(self.path).close()
        else:
            check_database_file(self.production, allow_empty=False)
            for suffix in ("-journal", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            if uses_wal(self.production) and not is_lightnb_copy(self.production):
                copy_wal_database(self.production, self.path, verify=verify)
            else:
                source = open_readonly(self.production, timeout=PRODUCTION_BUSY_TIMEOUT_SECONDS)
                try:
                    backup(source, self.path, verify=verify)
                finally:
                    source.close()
        self._write_state(made_folder)

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

    def _write_state(self, made_folder: bool) -> None:
        info = os.stat(self.folder)
        identity = _file_identity(self.production) if self.production else (0, 0)
        state = {"production": str(self.production) if self.production else None,
                 "production_device": identity[0], "production_inode": identity[1],
                 "created_at": int(time.time()), "made_by": "lightnb", "made_folder": made_folder,
                 "folder_device": info.st_dev, "folder_inode": info.st_ino}
        write_text_atomic(self.folder / STATE_FILE, json.dumps(state, indent=2) + "\n", what="workspace state")

    def discard(self, *, protect: Iterable[str | Path] = ()) -> Discarded:
        """Delete what lightnb made in the workspace folder, and the folder if lightnb made it.

        Only lightnb's files go: the workspace database and its journals, its state, the before
        copies it captured, temporary files of its own — never production nor a file in
        ``protect``, whatever their names. Anything else stays, and so does the folder then; the
        folder itself goes only when lightnb created it and it is empty (so never one holding
        production or a project).
        """
        keep = [p for p in (self.production, *map(Path, protect)) if p is not None]
        state = _read_state(self.folder, missing_ok=True)
        removed: list[Path] = []
        with runner.writer_lock(self.path):  # never under a running migration; released before the folder goes
            for suffix in ("", "-journal", "-wal", "-shm"):
                removed += _unlink(Path(f"{self.path}{suffix}"), keep)
            for leftover in self.folder.glob(".copy-*.db*"):
                removed += _unlink(leftover, keep)
            for leftover in self.folder.glob(f".{STATE_FILE}.*.tmp"):
                removed += _unlink(leftover, keep)
            removed += _discard_captures(self.folder / CAPTURES_DIR, keep)
            removed += _unlink(self.folder / STATE_FILE, keep)
        folder_removed = False
        if state.get("made_folder") and _same_identity(self.folder, state) and not any(self.folder.iterdir()):
            self.folder.rmdir()
            folder_removed = True
        kept = sorted(p.name for p in self.folder.iterdir()) if not folder_removed else []
        return Discarded(self.folder, tuple(removed), folder_removed, tuple(kept))


@dataclass(frozen=True)
class Discarded:
    """What :meth:`Workspace.discard` removed.

    :param folder: the workspace folder.
    :param removed: the files removed.
    :param folder_removed: whether the folder itself was removed (only when lightnb made it).
    :param kept: names left in the folder (files lightnb did not make).
    """

    folder: Path
    removed: tuple[Path, ...]
    folder_removed: bool
    kept: tuple[str, ...]

    def __str__(self) -> str:
        if self.folder_removed:
            return f"Discarded workspace {self.folder}"
        kept = f"; kept the folder ({', '.join(self.kept[:5])}{'…' if len(self.kept) > 5 else ''} " \
               f"not made by lightnb)" if self.kept else "; kept the folder (lightnb did not create it)"
        return f"Discarded workspace {self.folder}{kept}"


CAPTURES_DIR = "captures"


def _discard_captures(folder: Path, keep: list[Path]) -> list[Path]:
    """Remove the before copies lightnb captured (``before-*.db`` and journals), and emptied folders."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    removed: list[Path] = []
    for current, dirs, files in os.walk(folder, topdown=False):
        here = Path(current)
        for name in files:
            if name.startswith(("before-", ".copy-")) and ".db" in name:
                removed += _unlink(here / name, keep)
        for name in dirs:
            sub = here / name
            if not sub.is_symlink() and sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
    return removed


def _unlink(path: Path, keep: list[Path]) -> list[Path]:
    """Remove one file lightnb made (a symbolic link itself, never its target); never one of ``keep``."""
    if not os.path.lexists(path) or (path.is_dir() and not path.is_symlink()):
        return []
    if not path.is_symlink() and any(_same_path(path, k) for k in keep):
        return []
    path.unlink()
    return [path]


def _same_path(a: Path, b: Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b) or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _file_identity(path: Path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return 0, 0
    return info.st_dev, info.st_ino


def _same_identity(folder: Path, state: dict) -> bool:
    info = os.stat(folder)
    return (info.st_dev, info.st_ino) == (state.get("folder_device"), state.get("folder_inode"))


def _read_state(folder: Path, *, missing_ok: bool = False) -> dict:
    state = folder / STATE_FILE
    if not (folder / WORKSPACE_DB).is_file() or not state.is_file():
        if missing_ok:
            return {}
        raise WorkspaceError(f"No workspace in {folder}; create one with `lightnb snapshot --database-url "
                             f"PROD.db` (or Workspace.create).", path=folder)
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("production"), (str, type(None))):
            raise ValueError("not a workspace state")
    except (OSError, ValueError) as error:
        if missing_ok:
            return {}
        raise WorkspaceError(f"Workspace state {state} is unreadable; recreate the workspace with "
                             f"`lightnb snapshot --database-url PROD.db`.", path=state) from error
    return data


def _inside(path: Path, folder: Path) -> bool:
    """Return whether ``path`` is ``folder`` or lies below it (both resolved)."""
    return path == folder or folder in path.parents


def _refuse_folder(folder: Path, protected: list[Path], *, doing: str = "use") -> None:
    """Refuse a workspace folder that is, or holds, one of ``protected`` (production, the project)."""
    here = Path(os.path.realpath(folder))
    for path in protected:
        target = Path(os.path.realpath(path))
        if _inside(target, here):
            relation = "is" if target == here else "holds"
            raise WorkspaceError(f"Will not {doing} {folder} as a workspace folder: it {relation} {target}, which "
                                 f"lightnb must never delete or write; choose a folder of its own (the default is "
                                 f".lightnb/ beside diesel.toml).", path=folder)


def _refuse_foreign_database(folder: Path) -> None:
    """Refuse to copy over a ``workspace.db`` that is not a workspace lightnb made."""
    db = folder / WORKSPACE_DB
    if not os.path.lexists(db):
        return
    if db.is_symlink() or not db.is_file() or not (folder / STATE_FILE).is_file():
        raise WorkspaceError(f"{db} exists and is not a workspace lightnb made; lightnb will not write over "
                             f"it — choose another workspace folder, or move that file away.", path=db)


def copy_wal_database(source: Path, destination: Path, *, verify: bool = False) -> Path:
    """Copy a WAL database into ``destination`` without opening it in place (nothing created beside it).

    :raises DatabaseError: when it cannot be read, keeps changing, or (``verify``) is corrupt.
    """
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".copy-", suffix=".db", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        consistent_copy(source, tmp)
        if verify:
            reader = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                _quick_check(tmp, reader, name=str(source))
            finally:
                reader.close()
        os.replace(tmp, dest)
    except OSError as error:
        raise WorkspaceError(f"Cannot write the copy {dest}: {error.strerror}; free disk space or choose a "
                             f"writable workspace folder.", path=dest) from error
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return dest


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WorkspaceError(f"Cannot create workspace folder {folder}: {error.strerror}; choose a writable "
                             f"folder.", path=folder) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WorkspaceError(f"Workspace folder {folder} is not writable; fix its permissions or choose "
                             f"another folder.", path=folder)
