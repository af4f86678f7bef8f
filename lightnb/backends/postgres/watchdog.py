"""Stop a private PostgreSQL server when the lightnb process that started it is gone.

Run as a script (standard library only, so it starts fast):
``python watchdog.py OWNER_PID POSTMASTER_PID DATA_DIR``. It polls both processes; when the owner
died without stopping its server (SIGKILL, a crashed kernel), it asks the postmaster for a fast
shutdown (SIGINT), then an immediate one (SIGQUIT) if that takes too long. It exits as soon as the
server is gone, whoever stopped it.
"""

from __future__ import annotations

import os
import signal
import sys
import time

POLL_SECONDS = 0.25
FAST_SHUTDOWN_SECONDS = 30.0


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
            time.sleep(0.05)


def watch(owner: int, postmaster: int, data_dir: str) -> None:
    """Wait until the server stops, or stop it once its owner is gone."""
    while serving(postmaster, data_dir):
        if not alive(owner):
            stop(postmaster)
            return
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
