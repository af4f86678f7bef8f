"""PostgreSQL benchmarks: the private cluster's start-up, and print-schema, against PostgreSQL's own tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from bench import REPO, Row, Sizes, timed
from lightnb.backends.postgres.binaries import Binaries, PostgresNotInstalled, find_binaries


def _binaries() -> Binaries | None:
    try:
        return find_binaries()
    except PostgresNotInstalled:
        return None


def cluster_start(scratch: Path, sizes: Sizes) -> Row:
    """lightnb's start of an existing private cluster vs ``pg_ctl start -w`` of the same cluster."""
    binaries = _binaries()
    if binaries is None:
        return Row("private cluster start", None, "pg_ctl start -w", None, "< 1 s", notes="PostgreSQL not installed")
    from lightnb.backends.postgres import cluster as pg

    folder = scratch / "pg-start"
    first = pg.start_cluster(folder)
    made = first.startup_seconds
    first.stop()
    user = pg._system_user()
    run_as: dict[str, Any] = {"user": user.uid, "group": user.gid, "extra_groups": []} if user is not None else {}
    ctl = [binaries.program("pg_ctl"), "-D", str(first.data_dir), "-l", str(first.log_file), "-s"]

    def ours() -> None:
        pg.start_cluster(folder).stop()

    def plain() -> None:
        subprocess.run([*ctl, "-w", "start"], check=True, cwd=first.data_dir.parent, env=pg._environment(), **run_as)
        subprocess.run([*ctl, "-w", "-m", "fast", "stop"], check=True, cwd=first.data_dir.parent,
                       env=pg._environment(), **run_as)

    try:
        mine = timed(ours, sizes.repeats * 3)
        base = timed(plain, sizes.repeats * 3)
    finally:
        pg.start_cluster(folder).destroy()
    return Row("private cluster start + stop", mine, "pg_ctl start -w + stop -w", base, "< 1 s", None,
               f"first start of a new folder (initdb included): {made:.2f} s")


def print_schema(scratch: Path, sizes: Sizes) -> Row:
    """lightnb print-schema of lightfriend-pg's last commit vs ``pg_dump --schema-only`` of the same database."""
    root = Path(os.environ.get("LIGHTNB_CONFORMANCE_DIR") or REPO.parent / "shared" / "conformance") / "lightfriend-pg"
    commits = sorted(p for p in root.glob("[0-9]*") if (p / "migrations").is_dir()) if root.is_dir() else []
    binaries = _binaries()
    if not commits or binaries is None:
        return Row("print-schema (PostgreSQL)", None, "pg_dump --schema-only", None, "≤ 2×",
                   notes="conformance corpus or PostgreSQL missing")
    from lightnb.backends.postgres.cluster import start_cluster
    from lightnb.backends.postgres.connect import connect
    from lightnb.backends.postgres.migrate import run_pending
    from lightnb.schema.postgres import print_schema_postgres

    cluster = start_cluster(scratch / "pg-print")
    try:
        url = cluster.create_database("replayed")
        with connect(url) as conn:
            run_pending(conn, commits[-1] / "migrations")
        dump = [binaries.program("pg_dump"), "--schema-only", "--dbname", url, "--file", os.devnull]
        mine = timed(lambda: print_schema_postgres(url), sizes.repeats * 3)
        base = timed(lambda: subprocess.run(dump, check=True), sizes.repeats * 3)
    finally:
        cluster.destroy()
    return Row(f"print-schema of {commits[-1].name} (PostgreSQL)", mine, "pg_dump --schema-only", base, "≤ 2×", 2.0,
               "in-process call vs a pg_dump process, same database")


CASES = {"pg_start": cluster_start, "pg_print_schema": print_schema}
