"""Ctrl-C or SIGTERM landing while a migration's command still runs (sent, not yet waited for): the command is
cancelled in the server and the connection closed, the transaction is rolled back by the server, and nothing is
logged about a rollback tried on a busy connection."""

from __future__ import annotations

import logging
import time

import pytest

from lightnb.backends.postgres.connect import connect, settle, transaction
from tests.support.postgres import PgDatabase


def test_an_interruption_while_a_command_runs_cancels_it_and_leaves_nothing(
        pg_database: PgDatabase, caplog: pytest.LogCaptureFixture) -> None:
    conn = connect(pg_database.url)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="psycopg"), pytest.raises(KeyboardInterrupt):
        with transaction(conn):
            conn.execute("CREATE TABLE half (id INTEGER)")
            conn.pgconn.send_query(b"SELECT pg_sleep(30)")  # sent: the connection is busy with it
            raise KeyboardInterrupt  # Ctrl-C before anything waits for it
    assert time.monotonic() - started < 10  # cancelled, not waited for
    assert conn.closed
    assert not [r for r in caplog.records if "rollback" in r.getMessage()]
    with connect(pg_database.url) as check:
        assert check.execute("SELECT to_regclass('half')").fetchone() == (None,)  # rolled back
        # the sleep does not go on in the server (its backend ends well before the 30 s it asked for)
        deadline = time.monotonic() + 10
        while check.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
                            "AND pid <> pg_backend_pid()").fetchone() != (0,):
            assert time.monotonic() < deadline, "the cancelled command still runs"
            time.sleep(0.05)


def test_an_interruption_between_commands_rolls_back_as_before(pg_database: PgDatabase) -> None:
    conn = connect(pg_database.url)
    with pytest.raises(KeyboardInterrupt):
        with transaction(conn):
            conn.execute("CREATE TABLE half (id INTEGER)")
            raise KeyboardInterrupt
    assert not conn.closed  # idle: rolled back on the same connection
    assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
    conn.close()


class _Server:
    """A command the server goes on running after the first cancel request (which landed before it began it)."""

    def __init__(self) -> None:
        import socket
        self.ours, self.theirs = socket.socketpair()
        self.cancels = 0
        self.socket = self.ours.fileno()

    def cancel_safe(self, timeout: float) -> None:
        self.cancels += 1
        if self.cancels == 2:  # this one is heard: the command ends, its error comes back
            self.theirs.send(b"E")

    @property
    def pgconn(self) -> _Server:
        return self

    def consume_input(self) -> None:
        self.ours.recv(16)

    def is_busy(self) -> bool:
        return self.cancels < 2

    closed = False

    @property
    def transaction_status(self) -> object:
        import psycopg
        return psycopg.pq.TransactionStatus.ACTIVE

    def close(self) -> None:
        self.closed = True


def test_a_cancel_the_server_did_not_hear_is_sent_again_until_the_command_ended() -> None:
    # the server ignores a cancel request that lands while it still reads the command it was sent: the command
    # then ran on to its end (30 s of pg_sleep here, a migration's statement with its locks in real use) after
    # lightnb had closed the connection
    server = _Server()
    started = time.monotonic()
    settle(server)  # type: ignore[arg-type]
    assert server.cancels == 2 and server.closed
    assert time.monotonic() - started < 2.0  # at once once heard


@pytest.mark.parametrize("attempt", range(10))
def test_an_interruption_right_after_a_command_was_sent_cancels_it(
        attempt: int, pg_database: PgDatabase, caplog: pytest.LogCaptureFixture) -> None:
    test_an_interruption_while_a_command_runs_cancels_it_and_leaves_nothing(pg_database, caplog)
