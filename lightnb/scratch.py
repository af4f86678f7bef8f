"""Private scratch folders for the full, unredacted copies that check, lint and impact work on.

Every such folder lives under one per-user root in the temporary folder (``lightnb-<uid>``, mode
0700, refused when another user owns it), is itself 0700, and records its owner process. It is
removed when the work ends, also on Ctrl-C and SIGTERM (a CI job's timeout): the termination
signals are turned into an exception for the duration, so ``finally`` blocks run. A process killed
outright (``kill -9``) cannot clean up: the next lightnb that makes a scratch folder sweeps every
folder whose owner process is gone.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from lightnb.errors import WorkspaceError

OWNER_FILE = ".lightnb-owner"
ROOT_ENV = "LIGHTNB_SCRATCH_DIR"
# A folder without an owner file yet may be one being created right now by another process.
UNOWNED_GRACE_SECONDS = 60.0


def root() -> Path:
    """Return the per-user root of scratch folders, creating it (0700) when missing.

    ``$LIGHTNB_SCRATCH_DIR`` replaces the default ``<temporary folder>/lightnb-<uid>``.

    :raises WorkspaceError: when the root exists but is not a private folder of this user.
    """
    base = _base()
    configured = os.environ.get(ROOT_ENV)
    try:
        base.mkdir(mode=0o700, parents=bool(configured))
    except FileExistsError:
        pass
    except OSError as error:
        raise WorkspaceError(f"Cannot create the scratch folder {base}: {error.strerror}; set {ROOT_ENV} to a "
                             f"writable folder.", path=base) from error
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise WorkspaceError(f"The scratch folder {base} is not a folder of this user (a symlink, or another "
                             f"user's); remove it or set {ROOT_ENV} to a private folder.", path=base)
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(base, 0o700)  # it holds copies of production: nobody else may list or read it
    return base


def _base() -> Path:
    configured = os.environ.get(ROOT_ENV)
    if configured:
        return Path(configured)
    import tempfile

    return Path(tempfile.gettempdir()) / f"lightnb-{os.getuid()}"


@contextlib.contextmanager
def folder(purpose: str) -> Iterator[Path]:
    """A new private folder (0700) for copies of a database, removed when the block ends.

    Removed on success, on error, on Ctrl-C and on SIGTERM/SIGHUP; the next call sweeps folders
    left behind by processes that were killed.

    :param purpose: a short word in the folder's name (``check``, ``lint``, ``impact`` …).
    """
    import shutil
    import tempfile

    from lightnb import signals

    base = root()
    sweep(base)
    with signals.unwinding_on_termination():  # SIGTERM: remove the copy, then end as asked
        # A signal between mkdir and the ``try`` would leave the folder behind: the stopping
        # signals are held until the folder is owned; one that arrived meanwhile is raised inside
        # the ``try``, so the folder is removed.
        held = signals.hold()
        path: Path | None = None
        try:
            path = Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=base))  # mkdtemp makes it 0700
            (path / OWNER_FILE).write_text(_owner_line(), encoding="utf-8")
            owned, held = held, None  # a held signal is raised by release: from here on, the folder is removed
            signals.release(owned)
            yield path
        finally:
            signals.release(held)
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)


def sweep(base: Path | None = None) -> list[Path]:
    """Remove scratch folders whose owner process is gone; return the folders removed."""
    base = base or root()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if _owner_is_gone(Path(entry.path)):
            import shutil

            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def holding(path: str | Path) -> Path | None:
    """Return the scratch folder that holds ``path`` (a file in it or in a folder under it), or None."""
    try:
        target = Path(os.path.realpath(path))
        base = Path(os.path.realpath(_base()))
    except OSError:
        return None
    for folder in target.parents:
        if folder.parent == base:
            return folder if (folder / OWNER_FILE).is_file() else None
    return None


def _owner_line() -> str:
    return f"{os.getpid()} {_start_time(os.getpid())}\n"


def _owner_is_gone(path: Path) -> bool:
    try:
        pid_text, _, started = (path / OWNER_FILE).read_text(encoding="utf-8").strip().partition(" ")
        pid = int(pid_text)
    except FileNotFoundError:
        try:
            return time.time() - path.stat().st_mtime > UNOWNED_GRACE_SECONDS
        except OSError:
            return False
    except (OSError, ValueError):
        return True  # an owner file that cannot be read names no live process
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's process: not ours to judge
    return bool(started) and started != _start_time(pid)  # the pid was reused by another process


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid; '' elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return ""
