"""A Ctrl-C or SIGTERM that interrupted a statement is never lost, even when code took the statement's failure for
an ordinary error and went on: the interruptible block raises it as it ends, and a block opened meanwhile on
another connection raises it as it starts (a lint replay used to run an endless statement after the stop had
been swallowed, and the command never ended)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from reliability_support import REPO

PRELUDE = """\
import os, signal, sqlite3, sys, threading
from lightnb.backends.sqlite.interrupt import interrupting
FOREVER = ("SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
           "SELECT x FROM c)")
a, b = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
timers = [threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))]
timers += [threading.Timer(8, conn.interrupt) for conn in (a, b)]  # a safety net: the test fails, never hangs
for timer in timers:
    timer.daemon = True
    timer.start()

def swallowed(conn):
    try:
        conn.execute(FOREVER).fetchall()
    except sqlite3.Error as error:
        print("swallowed:", error)
"""


def _run(body: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout.split("\n")[:-1]


def test_a_swallowed_stop_is_raised_when_its_block_ends():
    assert _run("""
        try:
            with interrupting(a):
                swallowed(a)
                print("went on")
            print("after the block")
        except KeyboardInterrupt:
            print("stopped")
    """) == ["swallowed: interrupted", "went on", "stopped"]


def test_a_swallowed_stop_is_raised_when_another_connection_becomes_interruptible():
    assert _run("""
        try:
            with interrupting(a):
                swallowed(a)
                with interrupting(b):
                    print("inner block entered")
                    b.execute(FOREVER).fetchall()
        except KeyboardInterrupt:
            print("stopped")
    """) == ["swallowed: interrupted", "stopped"]


def test_inside_a_deferring_block_the_stop_waits_for_its_safe_point():
    assert _run("""
        try:
            with interrupting(a) as outer, outer.deferring():
                with interrupting(b):
                    swallowed(b)
                print("inner block ended; outer stop:", outer.signum == signal.SIGINT)
                with interrupting(b):
                    swallowed(b)  # stopped at once: the stop is already known
                print("safe point")
                outer.check()
        except KeyboardInterrupt:
            print("stopped")
    """) == ["swallowed: interrupted", "inner block ended; outer stop: True", "swallowed: interrupted",
             "safe point", "stopped"]
