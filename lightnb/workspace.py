"""The workspace: a private copy of the production database that every step works on.

Production is only ever read: its backend copies it as one consistent point in time, even while
another process writes to it (:mod:`lightnb.backends.sqlite.copies`). This is the only module that
replaces database files other than through the workspace's own connections.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lightnb.backends import sqlite
from lightnb.errors import WorkspaceError
from lightnb.files import write_text_atomic
from lightnb.layout import CAPTURES_DIR, SIDECARS, STATE_FILE, WORKSPACE_DB
from lightnb.records import record

# A snapshot is a one-off read of production: wait longer than interactive steps for a busy writer
# (with a rollback journal, a writer committing back to back can hold readers off for seconds).
PRODUCTION_BUSY_TIMEOUT_SECONDS = 15.0


def check_database_file(path: str | Path, *, allow_empty: bool = True) -> Path:
    """Return ``path`` if it is an existing regular SQLite database file (never opened before ``stat``).

    :param allow_empty: accept an empty file (a new database); production must not be empty.
    :raises DatabaseError: naming what is wrong (missing, folder, FIFO/device/socket, empty, not SQLite).
    """
    return sqlite.check_database_path(path, allow_empty=allow_empty)


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    import hashlib  # loaded when a file is hashed, not by every command that finds a workspace
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@record
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
               verify: bool = False, protect: Iterable[str | Path] = (),
               recorder: Callable[[Workspace], None] | None = None) -> Workspace:
        """Copy ``production`` into a new workspace (an empty database when None).

        The folder must not be, or contain, production or any path in ``protect`` (a project folder):
        discarding the workspace later must never be able to reach them.

        :param scratch_dir: where to keep the workspace; a new temporary folder when None.
        :param verify: check the copy with SQLite's quick_check (a pass over all pages, seconds per
            GiB) and refuse a production whose inner pages are corrupt.
        :param protect: folders or files the workspace folder may not be, nor hold (the project…).
        :param recorder: records the workspace once its folder is known to be suitable, beside the copy
            (see :meth:`reset`).
        :raises DatabaseError: when production is missing, not SQLite, locked, or corrupt.
        :raises WorkspaceError: when the folder is unsuitable (see above), or holds a workspace.db
            that lightnb did not make.
        """
        prod = Path(production).resolve() if production is not None else None
        made = scratch_dir is None or not os.path.lexists(scratch_dir)
        if scratch_dir is not None:
            folder = Path(scratch_dir).resolve()
        else:
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="lightnb-")).resolve()
        if prod is not None and (folder / WORKSPACE_DB).resolve() == prod:
            raise WorkspaceError(f"The workspace would overwrite production {prod}; choose another folder.")
        _refuse_folder(folder, [p for p in (prod, *map(Path, protect)) if p is not None])
        _refuse_foreign_database(folder)
        previous = _read_state(folder, missing_ok=True)
        if previous.get("made_folder") and _same_identity(folder, previous):
            made = True  # a workspace lightnb made, copied again: the folder is still lightnb's
        _ensure_writable(folder)
        workspace = cls(folder=folder, production=prod)
        workspace.reset(verify=verify, made_folder=made, recorder=recorder)
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

    @classmethod
    def untouched(cls, folder: str | Path, production: str | Path, state: Iterable[int]) -> Workspace | None:
        """Return the workspace copy of ``production`` in ``folder`` while its file is still in the committed state
        ``state`` (:func:`~lightnb.backends.sqlite.committed_state`) it had once copied: the same file, size,
        times and change counter, so nothing wrote it since. None otherwise (then copy production again)."""
        if not (Path(folder) / WORKSPACE_DB).is_file():
            return None
        try:
            made = cls.open(folder)
        except WorkspaceError:
            return None
        if made.production is None or made.production.resolve() != Path(production).resolve():
            return None
        return made if sqlite.committed_state(made.path) == tuple(state) else None

    def reset(self, *, verify: bool = False, made_folder: bool | None = None,
              recorder: Callable[[Workspace], None] | None = None) -> Path:
        """Throw away the workspace and copy production again; return the workspace path.

        :param verify: check the copy with SQLite's quick_check and refuse a corrupt production.
        :param made_folder: whether lightnb created the folder (recorded, so that discard removes
            it); None keeps what the state already says.
        :param recorder: writes the project's record of production (and flushes it); it runs in a thread
            of its own from before the copy's first byte, beside the copy (which needs the disk, not the
            interpreter), and is finished before this returns or raises, also when the copy fails or is
            interrupted: production is recorded whatever happens to its copy. Its error is raised once
            the copy is in place (a failed copy's own error comes first).
        """
        _ensure_writable(self.folder)
        # one writer at a time: never replace the database under a running migration (and the reverse)
        from lightnb.writer_lock import writer_lock
        with writer_lock(self.path):
            recording = _Beside(recorder, self) if recorder is not None else None
            try:
                self._copy_production(verify, made_folder)
            except BaseException:
                if recording is not None:
                    recording.finish(quietly=True)
                raise
            if recording is not None:
                recording.finish()
        return self.path

    def _copy_production(self, verify: bool, made_folder: bool | None) -> None:
        if made_folder is None:
            made_folder = bool(_read_state(self.folder, missing_ok=True).get("made_folder"))
        if self.production is None:
            for suffix in ("", *SIDECARS):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            sqlite.connect(self.path).close()
        else:
            check_database_file(self.production, allow_empty=False)
            for suffix in SIDECARS:
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            sqlite.copy_database(self.production, self.path, verify=verify, timeout=PRODUCTION_BUSY_TIMEOUT_SECONDS)
        self._write_state(made_folder)

    def connect(self) -> sqlite.Connection:
        """Open the workspace for writing (autocommit; diesel's functions registered)."""
        if not self.path.is_file():
            raise WorkspaceError(f"Workspace database {self.path} is missing; run `lightnb snapshot --reset`.",
                                 path=self.path)
        check_database_file(self.path)
        return sqlite.connect(self.path, create=False)

    def copy_to(self, destination: str | Path) -> Path:
        """Write a consistent copy of the workspace as it is now."""
        return sqlite.copy_database(self.path, destination)

    def _write_state(self, made_folder: bool) -> None:
        info = os.stat(self.folder)
        identity = _file_identity(self.production) if self.production else (0, 0)
        state = {"production": str(self.production) if self.production else None,
                 "production_device": identity[0], "production_inode": identity[1],
                 "created_at": int(time.time()), "made_by": "lightnb", "made_folder": made_folder,
                 "folder_device": info.st_dev, "folder_inode": info.st_ino}
        # Atomic, not flushed: it describes a copy that is not flushed to the disk either (a scratch copy,
        # made again by `snapshot --reset`), so flushing it first would promise nothing after a power cut
        # and cost a journal commit after the copy's writes. The record that guards production is flushed.
        import json

        write_text_atomic(self.folder / STATE_FILE, json.dumps(state, indent=2) + "\n", what="workspace state",
                          durable=False)

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
        from lightnb.writer_lock import writer_lock
        with writer_lock(self.path):  # never under a running migration; released before the folder goes
            for suffix in ("", *SIDECARS):
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


class _Beside:
    """Run ``work(*args)`` in a thread of its own while the caller goes on (a record written during a copy)."""

    def __init__(self, work: Callable[..., None], *args: object) -> None:
        import threading  # only the commands that copy production load it

        self._error: BaseException | None = None
        context = contextvars.copy_context()  # the command's ledger and progress, as in the caller's thread
        self._thread = threading.Thread(target=self._run, args=(context, work, args), name="lightnb-record")
        self._thread.start()

    def _run(self, context: contextvars.Context, work: Callable[..., None], args: tuple[object, ...]) -> None:
        try:
            context.run(work, *args)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread by finish()
            self._error = error

    def finish(self, *, quietly: bool = False) -> None:
        """Wait for the work to end; raise its error (unless ``quietly``: the caller raises its own)."""
        self._thread.join()
        if self._error is not None and not quietly:
            error, self._error = self._error, None
            raise error


@record(frozen=True)
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
    import json

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


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WorkspaceError(f"Cannot create workspace folder {folder}: {error.strerror}; choose a writable "
                             f"folder.", path=folder) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WorkspaceError(f"Workspace folder {folder} is not writable; fix its permissions or choose "
                             f"another folder.", path=folder)


@record(frozen=True)
class FileState:
    """What proves a database file unchanged between two moments, without reading it whole.

    In SQLite's rollback-journal modes every commit increments the file change counter in the
    header (bytes 24-27), and any write through the file system moves its modification and
    status-change times (the latter cannot be set back); a file with the same size, inode, times and
    change counter holds the same bytes. In WAL mode the committed pages live in the ``-wal`` file
    and the header counter does not move on commit: then (and for a file that is not an SQLite
    database) the state also holds SHA-256 digests of the file and of its ``-wal``
    (:func:`file_sha256`), the slow exact proof.
    """

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    change_counter: bytes
    digests: tuple[str, ...] | None = None

    def same_as(self, other: FileState) -> bool:
        """Tell whether the file is provably unchanged from ``other`` (a state of the same path)."""
        return self == other


_WAL_HEADER = b"\x02\x02"  # header bytes 18-19 (file format write/read version) of a WAL database


def file_state(path: str | Path) -> FileState:
    """Return the :class:`FileState` of a database file (a hash of it only when its journal is a WAL)."""
    p = Path(path)
    with p.open("rb") as handle:
        info = os.fstat(handle.fileno())
        header = handle.read(100)
    wal = Path(f"{p}-wal")
    digests = None
    if not header.startswith(b"SQLite format 3\x00") or header[18:20] == _WAL_HEADER or wal.exists():
        digests = (file_sha256(p), file_sha256(wal) if wal.is_file() else "")
    return FileState(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, header[24:28],
                     digests)
