"""A stopping signal during ``migration run`` on PostgreSQL: the statement stops, nothing half-applied, one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

SLOW = "2020-01-05-000000_slow"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_migration_and_leaves_nothing(tmp_path: Path, pg_database: PgDatabase,
                                                          signum: int) -> None:
    root = (ProjectBuilder(tmp_path / "app")
            .migration(SLOW, "CREATE TABLE slow (id INTEGER);\nINSERT INTO slow VALUES (1);\nSELECT pg_sleep(60);\n",
                       "DROP TABLE slow;")
            .build())
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    process = subprocess.Popen([sys.executable, "-m", "lightnb", "migration", "run", "--no-schema",
                                f"--database-url={pg_database.url}"], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        with pg_database.connect() as conn:
            while time.monotonic() < deadline:  # wait until the server runs the sleep
                if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' "
                                "AND pid <> pg_backend_pid()").fetchone() != (0,):
                    break
                time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
        assert time.monotonic() - started < 15  # the sleeping statement did not hold the command
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    assert out == f"Running migration {SLOW}\n"
    assert "Traceback" not in err and err.count("\n") <= 1, err
    with pg_database.connect() as conn:
        deadline = time.monotonic() + 10
        while conn.execute(  # the statement was cancelled: the server does not sleep on for a minute
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' "
                "AND state = 'active' AND pid <> pg_backend_pid()").fetchone() != (0,):
            assert time.monotonic() < deadline, "the server still runs the migration's statement"
            time.sleep(0.05)
        assert conn.execute("SELECT to_regclass('slow')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM __diesel_schema_migrations").fetchone() == (0,)
