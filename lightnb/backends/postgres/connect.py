"""Open psycopg connections, turning every connection failure into one line that says what to do."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from lightnb.backends.postgres import url as pgurl
from lightnb.errors import DatabaseError

CONNECT_TIMEOUT_SECONDS = 10  # libpq waits forever by default; lightnb never hangs on a dead host
APPLICATION_NAME = "lightnb"


class ConnectError(DatabaseError):
    """A PostgreSQL server could not be reached or refused the connection."""


def connect(url: str, *, autocommit: bool = True, read_only: bool = False) -> psycopg.Connection[Any]:
    """Connect to the database a ``postgres://`` URL (or libpq connection string) names.

    :param autocommit: each statement commits by itself (diesel's own connections do the same);
        transactions are then explicit (``with conn.transaction():``).
    :param read_only: every transaction of the session is read-only (the server refuses writes).
    :raises ProjectError: for a URL libpq cannot parse.
    :raises ConnectError: server down, wrong password, missing database or role, timeout.
    """
    params = pgurl.parse(url)
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if "application_name" not in params:
        extra["application_name"] = APPLICATION_NAME
    if read_only:
        extra["options"] = (params.get("options", "") + " -c default_transaction_read_only=on").strip()
    try:
        return psycopg.connect(url.strip(), autocommit=autocommit, **extra)
    except psycopg.OperationalError as error:
        raise ConnectError(explain(error, params)) from error


@contextlib.contextmanager
def transaction(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """``conn.transaction()`` for migration SQL: Ctrl-C or SIGTERM may land while a command still runs.

    psycopg cancels a command it was waiting for when Ctrl-C arrives; one that lands elsewhere (after the query was
    sent, before the wait) leaves the connection busy, and the transaction's rollback then fails on it (psycopg
    says so on stderr). Here such a command is cancelled in the server and the connection closed instead: the
    server rolls the transaction back, and the interruption goes on as the one line lightnb prints.
    """
    with conn.transaction():
        try:
            yield
        except BaseException:
            settle(conn)
            raise


def settle(conn: psycopg.Connection[Any]) -> None:
    """After an interruption: when ``conn`` still runs a command, cancel it in the server and close the connection
    (whatever its transaction did is rolled back by the server); otherwise leave it as it is."""
    try:
        busy = not conn.closed and conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.ACTIVE
    except Exception:  # noqa: BLE001 - a connection that cannot say: leave it to its own exit
        return
    if not busy:
        return
    with contextlib.suppress(Exception):
        _cancel(conn)
    with contextlib.suppress(Exception):
        conn.close()


CANCEL_TIMEOUT = 5.0  # seconds to get a running command cancelled before the connection is closed anyway
CANCEL_AGAIN = 0.2  # seconds to wait for a cancelled command to end before asking again


def _cancel(conn: psycopg.Connection[Any]) -> None:
    """Cancel the command ``conn`` is running, asking again until it ended: the server ignores a cancel request that
    lands before it has begun the command it was sent (it is still reading it), and the command would then run on
    to its end after the connection is closed, holding its locks."""
    import select
    import time

    pgconn = conn.pgconn
    deadline = time.monotonic() + CANCEL_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        conn.cancel_safe(timeout=left)
        ready, _, _ = select.select([pgconn.socket], [], [], min(CANCEL_AGAIN, max(left, 0.0)))
        if ready:
            pgconn.consume_input()
            if not pgconn.is_busy():
                return  # it ended (cancelled, or done): its result is read or dropped with the connection


@contextlib.contextmanager
def time_limited(conn: psycopg.Connection[Any], what: str) -> Iterator[None]:
    """Cancel the command ``conn`` runs in the server once the time limit of migration SQL lightnb runs by itself on a
    copy passed during the block (:mod:`lightnb.time_limit`); the block then fails with
    :class:`~lightnb.time_limit.TimeLimitExceeded`, naming ``what`` (``2024-…_add_x's up.sql``).

    Past the limit, a cancel request goes every :data:`CANCEL_AGAIN` seconds until the block ends: the server ignores
    one that lands before it began the command, and a block that took a cancelled statement for an ordinary failure
    and went on has its next one cancelled too. Only for a clone's connections (a throwaway copy): the user's own
    run has no limit.
    """
    from lightnb import time_limit
    from lightnb.time_limit import TimeLimitExceeded

    limit = time_limit.seconds()
    if limit is None:
        yield
        return
    ended = threading.Event()
    cancelling: list[threading.Thread] = []

    def cancel_until_ended() -> None:
        while not ended.is_set():
            with contextlib.suppress(Exception):  # closed, or the server did not answer in time: ask again
                conn.cancel_safe(timeout=CANCEL_TIMEOUT)
            ended.wait(CANCEL_AGAIN)

    def start_cancelling() -> None:  # in the watchdog's thread: quick, the cancels go on in a thread of their own
        cancelling.append(threading.Thread(target=cancel_until_ended, name="lightnb-sql-cancel", daemon=True))
        cancelling[0].start()

    def stop_cancelling() -> None:
        ended.set()
        for thread in cancelling:
            thread.join()

    try:
        with time_limit.deadline(limit, start_cancelling) as armed:
            try:
                yield
            finally:
                stop_cancelling()
    except BaseException as error:
        if armed.fired and not isinstance(error, KeyboardInterrupt):
            raise TimeLimitExceeded(limit, what) from error  # the server's "canceling statement due to user request"
        raise
    if armed.fired:
        raise TimeLimitExceeded(limit, what)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    # libpq prefixes each attempt with 'connection to server at … failed:'; keep the reason.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    if "failed:" in reason:
        reason = reason.rsplit("failed:", 1)[1].strip() or reason
    return reason


def explain(error: psycopg.OperationalError, params: dict[str, str]) -> str:
    """Return the one-line message for a failed connection attempt."""
    where = pgurl.where(params)
    user = pgurl.user_of(params)
    database = pgurl.database_of(params)
    text = str(error)
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate == "3D000" or f'database "{database}" does not exist' in text:
        return (f"Database `{database}` does not exist on {where}; create it (`lightnb database setup` "
                f"or `createdb {database}`) or fix the database name in the URL.")
    if sqlstate == "28P01" or "password authentication failed" in text:
        return (f"PostgreSQL on {where} rejected the password of user `{user}`; fix the password in the "
                f"database URL (or DATABASE_URL in .env).")
    if "no password supplied" in text:
        return (f"PostgreSQL on {where} asks for the password of user `{user}`; put it in the URL "
                f"(postgres://{user}:PASSWORD@host/{database}) or in PGPASSWORD.")
    if f'role "{user}" does not exist' in text:
        return (f"PostgreSQL on {where} has no role `{user}`; fix the user name in the URL, or create "
                f"the role (`createuser {user}`).")
    if "timeout expired" in text:
        seconds = params.get("connect_timeout") or CONNECT_TIMEOUT_SECONDS
        return (f"PostgreSQL on {where} did not answer within {seconds} s; check the host and the network, "
                f"or raise connect_timeout in the URL.")
    if "could not translate host name" in text:
        return f"Cannot find the host of {where}; fix the host name in the database URL."
    if ("Connection refused" in text or "No such file or directory" in text
            or "could not connect to server" in text):
        return (f"No PostgreSQL server is running on {where}; start it (or the project's cluster), or "
                f"fix the host and port in the database URL.")
    if sqlstate == "57P03":
        return f"PostgreSQL on {where} is starting up or shutting down; try again in a moment."
    return f"Cannot connect to PostgreSQL on {where}: {_first_line(error)}; check the database URL."
