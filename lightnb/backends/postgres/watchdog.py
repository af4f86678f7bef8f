"""Stop a private PostgreSQL server when the lightnb process that started it is gone.

Run as a script (standard library only, so it starts fast):
``python watchdog.py OWNER_PID POSTMASTER_PID DATA_DIR [DROP_COMMAND_JSON]``. It polls both processes;
when the owner is gone (it ended, or died without stopping its server: SIGKILL, a crashed kernel),
it asks the postmaster for a fast shutdown (SIGINT), then an immediate one (SIGQUIT) if that takes
too long. It exits as soon as the server is gone, whoever stopped it.

With ``DROP_COMMAND_JSON`` (a ``dropdb`` command line without the database's name), its standard
input is the owner's channel: a line ``drop NAME`` asks it to drop that database once the owner is
gone, before it stops the server (the owner does not wait for the drop), and the end of the input
(the owner closed it, or ended) means the owner is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time

POLL_SECONDS = 0.25
FAST_SHUTDOWN_SECONDS = 30.0
DROP_SECONDS = 600.0


def alive(pid: int) -> bool:
    """Return whether a process with this id exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def serving(postmaster: int, data_dir: str) -> bool:
    """Return whether the postmaster still runs and still owns the data folder."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid"), encoding="utf-8") as handle:
            first = handle.readline().strip()
    except OSError:
        return False
    return first == str(postmaster) and alive(postmaster)


def stop(postmaster: int) -> None:
    """Fast shutdown, then immediate shutdown if the server does not finish in time."""
    for sig, wait in ((signal.SIGINT, FAST_SHUTDOWN_SECONDS), (signal.SIGQUIT, FAST_SHUTDOWN_SECONDS)):
        try:
            os.kill(postmaster, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(postmaster):
                return
            time.sleep(0.01)


class Channel:
    """The owner's instructions on standard input: ``drop NAME`` lines, then the end of the input."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.pending = b""
        self.drops: list[str] = []
        self.closed = fd is None

    def wait(self, seconds: float) -> bool:
        """Read what the owner sent within ``seconds`` (sleep when there is no channel); False when nothing came."""
        if self.fd is None or self.closed:
            time.sleep(seconds)
            return False
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return False
        chunk = os.read(self.fd, 4096)
        if not chunk:
            self.closed = True
            return False
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            verb, _, name = line.decode("utf-8", errors="replace").partition(" ")
            if verb == "drop" and name and name not in self.drops:
                self.drops.append(name)
        return True


def drop(command: list[str], names: list[str], postmaster: int, data_dir: str) -> None:
    """Drop each database (``dropdb``), while the server still serves; a failure only skips that one."""
    for name in names:
        if not serving(postmaster, data_dir):
            return
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([*command, name], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=DROP_SECONDS, check=False)


def watch(owner: int, postmaster: int, data_dir: str, drop_command: list[str] | None = None) -> None:
    """Wait until the server stops, or stop it once its owner is gone (dropping what the owner asked first)."""
    channel = Channel(0 if drop_command is not None else None)
    while serving(postmaster, data_dir):
        if (channel.fd is not None and channel.closed) or not alive(owner):
            while channel.wait(0):  # what the owner sent just before it ended
                pass
            if drop_command is not None:
                drop(drop_command, channel.drops, postmaster, data_dir)
            stop(postmaster)
            return
        channel.wait(POLL_SECONDS)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]) if len(sys.argv) > 4 else None)
