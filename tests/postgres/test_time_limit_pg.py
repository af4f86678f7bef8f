"""On PostgreSQL too, migration SQL lightnb runs by itself on a clone (the proof's up and down, the measurement)
stops after the time limit (:mod:`lightnb.time_limit`), cancelled in the server, and the proof says so: a
statement that never ends no longer hangs ``lightnb check``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lightnb import time_limit
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.proof import prove_pending
from lightnb.migrations import discover
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import fingerprint, make_production
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.timeout(240)  # a broken limit fails the test instead of hanging the suite

# endless in the server: a recursive CTE without a bound, and sleeps that outlast the limit
FOREVER = ("CREATE TABLE t AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
           "SELECT count(*) AS n FROM c;")
SLEEPS = "SELECT pg_sleep(0.2) FROM generate_series(1, 1000);"


@pytest.fixture
def production(pg_database: PgDatabase) -> PgDatabase:
    make_production(pg_database, users=30, posts=60)
    return pg_database


@pytest.mark.parametrize("step, up, down", [("up", FOREVER, "DROP TABLE t;"),
                                            ("down", "CREATE TABLE t (id int);", "DROP TABLE t; " + SLEEPS)],
                         ids=["up never ends", "down never ends"])
def test_a_proof_step_that_never_ends_is_cancelled_and_named(production: PgDatabase, tmp_path: Path, step: str,
                                                             up: str, down: str) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_loop", up, down)
            .migration("2_after", "ALTER TABLE users ADD COLUMN age int;", "ALTER TABLE users DROP COLUMN age;")
            .build())
    before = fingerprint(production)
    started = time.monotonic()
    with time_limit.limited(1.0):
        proofs = {p.check.migration: p.check for p in prove_pending(production.cluster, production.name,
                                                                     discover(root / "migrations"))}
    assert time.monotonic() - started < 120
    loop = proofs["1_loop"]
    assert loop.verdict == "unsafe"
    assert any(r.startswith(f"cannot run {step}: 1_loop's {step}.sql ran over the time limit (1 s) on a copy, so "
                            "lightnb stopped it and kept nothing of it") for r in loop.reasons), loop.reasons
    assert fingerprint(production) == before
    with connect(production.cluster.url()) as conn:  # nothing still runs in the server, no clone is left
        running = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep%%' "
                               "AND pid <> pg_backend_pid()").fetchone()[0]
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'lightnb_clone_%%'").fetchone()[0]
    assert (running, left) == (0, 0)


def test_a_step_within_the_limit_is_proven_as_before(production: PgDatabase, tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("1_pause", "SELECT pg_sleep(0.3); CREATE TABLE t (id int);",
                                              "DROP TABLE t;").build()
    with time_limit.limited(30):
        proofs = prove_pending(production.cluster, production.name, discover(root / "migrations"))
    assert [p.check.verdict for p in proofs] == ["safe"]
