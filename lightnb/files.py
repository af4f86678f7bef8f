"""Writing files whole or not at all: a temporary file in the same folder, then one rename.

Every file lightnb writes (schema files, model files, migrations, settings, workspace state,
reports, notebooks) goes through :func:`write_text_atomic` / :func:`write_bytes_atomic` /
:func:`atomic_path`. A failure at any point (a full disk, a signal, a crash) leaves the previous
file exactly as it was and no temporary file behind; readers never see a half-written file.

A crash (``kill -9``, a power cut) between creating the temporary file and the rename can leave it
behind: ``.NAME.PID.XXXXXXXX.tmp`` beside NAME. The next write of NAME sweeps lightnb's own stale
temporaries of that name (:func:`sweep_stale_temporaries`): exactly that name pattern, a regular file
of this user, whose writer (the PID in its name) is no longer running and which has not changed for
:data:`STALE_AFTER_SECONDS` (a day for names without a PID, written by older versions). Nothing
else is ever deleted.

The helpers only ever write *regular* files: a target that is a folder, a FIFO, a device or a
socket is refused with one line before anything is opened. A symbolic link is written through
(its target is replaced, the link stays), as an editor would.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from lightnb.errors import FileWriteError

_CHUNK = 1 << 20
STALE_AFTER_SECONDS = 10 * 60
"""A temporary file whose writer is gone counts as stale once unchanged for this long."""
STALE_WITHOUT_PID_SECONDS = 24 * 60 * 60
"""A temporary file that names no writer (older versions) counts as stale once unchanged for this long."""
_RANDOM = "[a-z0-9_]{8}"  # what make_temporary (as tempfile.mkstemp) puts between prefix and suffix
_NAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_ATTEMPTS = 10000  # as tempfile's TMP_MAX


def make_temporary(folder: str | Path, *, prefix: str = "", suffix: str = "") -> tuple[int, Path]:
    """Create a new, empty file in ``folder`` only this user can read, as ``tempfile.mkstemp`` does; return its
    open descriptor and its path.

    The name is ``prefix`` + 8 random characters (``a-z``, ``0-9``, ``_``) + ``suffix``, created with
    ``O_EXCL`` and ``O_NOFOLLOW`` (never an existing file, never through a link), mode 0600, closed on exec.
    Without tempfile, whose imports (shutil with the compression modules, random) cost a command that
    copies a database more than the copy's bookkeeping itself.

    :raises OSError: when the folder cannot hold the file (FileExistsError after 10,000 taken names).
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(_ATTEMPTS):
        random = "".join(_NAME_CHARACTERS[byte % len(_NAME_CHARACTERS)] for byte in os.urandom(8))
        path = Path(folder, f"{prefix}{random}{suffix}")
        try:
            return os.open(path, flags, 0o600), path.absolute()
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found", str(folder))


def kind_of(mode: int) -> str:
    """Return what a ``st_mode`` names, in words: ``"a regular file"``, ``"a FIFO (named pipe)"``…"""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def real_target(path: str | Path) -> Path:
    """Return the file a write to ``path`` lands in: symbolic links followed, made absolute."""
    return Path(os.path.realpath(os.fspath(path)))


def existing_regular(path: str | Path, *, what: str = "file") -> os.stat_result | None:
    """Return the ``stat`` of ``path`` when it is an existing regular file, None when it does not exist.

    Never opens the path, so a FIFO or a device cannot block.

    :raises FileWriteError: when the path exists and is not a regular file.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise FileWriteError(f"Cannot check the {what} {path}: {error.strerror}; check the path and its "
                             f"permissions.", path=path) from error
    if not stat.S_ISREG(info.st_mode):
        raise FileWriteError(f"The {what} {path} is {kind_of(info.st_mode)}, not a regular file; lightnb reads "
                             f"and writes only regular files — fix the path.", path=path)
    return info


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8", newline: str | None = None,
                      what: str = "file", durable: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, fsync, rename).

    :param newline: None or ``"\\n"`` writes ``\\n`` as is; another value replaces each ``\\n``.
    :param what: how the file is named in an error message (``"schema file"``…).
    :param durable: fsync the file and its folder, so the rename survives a power cut.
    :returns: the path written (symbolic links followed).
    :raises FileWriteError: naming the file and the reason; the previous file is unchanged.
    """
    if newline not in (None, "", "\n"):
        text = text.replace("\n", newline)
    return write_bytes_atomic(path, text.encode(encoding), what=what, durable=durable)


def write_bytes_atomic(path: str | Path, data: bytes, *, what: str = "file", durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; see :func:`write_text_atomic`."""
    with atomic_path(path, what=what, durable=durable) as tmp:
        fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    return real_target(path)


def copy_file_atomic(source: str | Path, destination: str | Path, *, what: str = "file") -> Path:
    """Copy a regular file's bytes to ``destination`` atomically."""
    src = Path(source)
    info = existing_regular(src, what=what)
    if info is None:
        raise FileWriteError(f"Cannot copy {src}: it does not exist.", path=src)
    with atomic_path(destination, what=what) as tmp:
        with src.open("rb") as reader:
            fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                for block in iter(lambda: reader.read(_CHUNK), b""):
                    _write_all(fd, block)
                os.fsync(fd)
            finally:
                os.close(fd)
    return real_target(destination)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, what: str = "file", durable: bool = True,
                suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    For writers that need a path or a file object of their own (nbformat, papermill, a database
    copy): whatever they write there becomes ``path`` only if the block ends without an error.
    An existing file's permission bits (and owner, when allowed) are kept.

    :param suffix: the temporary file's name ending (for writers that check it, e.g. ``.ipynb``).
    :raises FileWriteError: when the target is not a regular file, or writing or renaming fails.
    """
    target = real_target(path)
    existing = existing_regular(target, what=what)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = make_temporary(folder, prefix=f".{_stem(target)}.{os.getpid()}.", suffix=suffix)
    except OSError as error:
        raise _write_error(error, path, what) from error
    sweep_stale_temporaries(target, suffix=suffix)
    try:
        try:
            _match_permissions(fd, existing)
        finally:
            os.close(fd)
        yield tmp
        if not tmp.exists():  # pragma: no cover - a writer that removed its own output
            raise FileWriteError(f"Writing the {what} {path} produced no file; nothing was changed.", path=path)
        existing_regular(target, what=what)  # refuse a FIFO or folder that appeared meanwhile
        os.replace(tmp, target)
        if durable:
            _fsync_folder(folder)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise _write_error(error, path, what) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _stem(target: Path) -> str:
    """The part of the target's name a temporary file carries (cut so the whole name stays valid)."""
    return target.name.encode("utf-8", "surrogateescape")[:96].decode("utf-8", "ignore")


def sweep_stale_temporaries(path: str | Path, *, suffix: str = ".tmp", now: float | None = None) -> list[Path]:
    """Remove lightnb's stale temporary files of ``path`` (left by a crash mid-write); return them.

    Only names ``.NAME.PID.XXXXXXXX<suffix>`` (or ``.NAME.XXXXXXXX<suffix>``) beside the target are
    considered, and only regular files of this user whose writer is not running (the PID in the name)
    and that have not changed for :data:`STALE_AFTER_SECONDS` (:data:`STALE_WITHOUT_PID_SECONDS` when
    the name holds no PID). Never raises: a sweep that cannot look or delete leaves things as they are.
    """
    target = Path(path)
    now = time.time() if now is None else now
    prefix = f".{_stem(target)}."
    removed: list[Path] = []
    try:
        names = [name for name in os.listdir(target.parent) if name.startswith(prefix) and name.endswith(suffix)]
    except OSError:
        return removed
    if not names:
        return removed  # nothing to look at: the pattern is not even compiled (every command writes a file)
    pattern = re.compile(rf"{re.escape(prefix)}(?:(\d+)\.)?{_RANDOM}{re.escape(suffix)}")
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        candidate = target.parent / name
        try:
            info = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            continue
        pid = int(match.group(1)) if match.group(1) else None
        if pid is not None and _running(pid):
            continue
        if now - info.st_mtime < (STALE_AFTER_SECONDS if pid is not None else STALE_WITHOUT_PID_SECONDS):
            continue
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def _running(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts as running)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:_CHUNK])
        view = view[written:]


def _match_permissions(fd: int, existing: os.stat_result | None) -> None:
    """Give the temporary file the mode (and owner) of the file it replaces, else the umask's default."""
    if existing is not None:
        os.fchmod(fd, stat.S_IMODE(existing.st_mode))
        if hasattr(os, "fchown") and (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(OSError):  # keep the owner when allowed (root); else ours
                os.fchown(fd, existing.st_uid, existing.st_gid)
        return
    umask = os.umask(0o022)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - some file systems cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - and some cannot fsync them
        pass
    finally:
        os.close(fd)


def _write_error(error: OSError, path: str | Path, what: str) -> FileWriteError:
    reason = error.strerror or str(error)
    hint = {errno.ENOSPC: "free disk space and retry", errno.EDQUOT: "free disk space (quota) and retry",
            errno.EROFS: "the file system is read-only; choose a writable location",
            errno.EACCES: "check the permissions of the file and its folder",
            errno.EPERM: "check the permissions of the file and its folder"}.get(
        error.errno or 0, "check the path and its folder")
    return FileWriteError(f"Cannot write the {what} {path}: {reason}; {hint}. The previous file, if any, "
                          f"is unchanged.", path=path)


__all__ = ["atomic_path", "copy_file_atomic", "existing_regular", "kind_of", "real_target",
           "sweep_stale_temporaries", "write_bytes_atomic", "write_text_atomic"]
