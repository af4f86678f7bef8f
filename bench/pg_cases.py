"""PostgreSQL benchmark rows: the copy of production and the rehearsal clone, each against its plain peer.

A "production" database with ``sizes.diff_rows`` users (and as many posts) is built in a private
cluster of the scratch folder; both rows then run against it, and every cluster is destroyed at the end.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench import Row, Sizes, data
from bench.measure import Contender, alternate

if TYPE_CHECKING:
    from lightnb.backends.postgres.clone import Clone
    from lightnb.backends.postgres.cluster import Cluster


def _drop_all(made: list[Clone]) -> None:
    from lightnb.backends.postgres.clone import drop_clone
    while made:
        drop_clone(made.pop())


def _production(scratch: Path, rows: int) -> tuple[Cluster, str]:
    from lightnb.backends.postgres.cluster import start_cluster
    from lightnb.backends.postgres.connect import connect
    cluster = start_cluster(scratch / "pg-production")
    cluster.drop_database("production")
    url = cluster.create_database("production")
    with connect(url) as conn:
        conn.execute(f"CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text, created_at bigint);"
                     f"INSERT INTO users SELECT g, 'user' || g || '@example.com', 'Name ' || g, 1700000000 + g "
                     f"FROM generate_series(1, {rows}) g;"
                     f"CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), "
                     f"title text NOT NULL); INSERT INTO posts SELECT g, g, 'post ' || g FROM generate_series(1, "
                     f"{rows}) g; CREATE INDEX posts_user ON posts (user_id)")
        conn.execute("VACUUM ANALYZE")
    return cluster, url


def _bin(name: str) -> str:
    from lightnb.backends.postgres.binaries import find_binaries
    return find_binaries().program(name)


def _sqlite_copy_of(scratch: Path, rows: int) -> Path:
    path = scratch / f"pg-peer-{rows}.db"
    if not path.exists():
        conn = sqlite3.connect(path)
        conn.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, created_at "
                           "INTEGER); CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title "
                           "TEXT NOT NULL); CREATE INDEX posts_user ON posts (user_id);")
        conn.execute(f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows}) "
                     f"INSERT INTO users SELECT n, 'user' || n || '@example.com', 'Name ' || n, 1700000000 + n FROM g")
        conn.execute("INSERT INTO posts SELECT id, id, 'post ' || id FROM users")
        conn.commit()
        conn.close()
    return path


def pg_rehearsal(scratch: Path, sizes: Sizes) -> list[Row]:
    """Snapshot (``lightnb snapshot`` vs ``pg_dump -Fc -Z0 | pg_restore``) and a rehearsal clone
    (``make_clone`` vs ``CREATE DATABASE … TEMPLATE`` in psql, and vs ``cp`` of a SQLite file of the same rows)."""
    from lightnb.backends.postgres.binaries import PostgresNotInstalled
    from lightnb.backends.postgres.clone import make_clone
    from lightnb.backends.postgres.cluster import start_cluster
    from lightnb.backends.postgres.dump import copy_database
    try:
        cluster, production = _production(scratch, sizes.diff_rows)
    except PostgresNotInstalled as error:
        return [Row("PostgreSQL rows", None, failed=str(error))]
    from lightnb.backends.postgres import url as pgurl
    params = pgurl.parse(production)
    project_dir = data.project(scratch / "pg-snapshot-project", {})
    target = start_cluster(scratch / "pg-target")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    restore = (f"{_bin('pg_dump')} -Fc -Z0 --dbname='{production}' | {_bin('pg_restore')} --no-owner --no-acl "
               f"--exit-on-error --single-transaction --dbname='{target.url('peer_copy')}'")
    workspace = project_dir / ".lightnb"
    rows = []
    try:
        from bench import lightnb_argv, python_env
        from lightnb.backends.postgres.base import BASE, cluster_folder
        from lightnb.backends.postgres.cluster import socket_dir_of

        def settled() -> None:
            """Wait, untimed, until the server a `lightnb snapshot` started is gone: it is stopped (and the
            previous copy dropped) after the command returns, and must not run during the next timing."""
            socket = socket_dir_of(cluster_folder(workspace)) / ".s.PGSQL.5432"
            while socket.exists():
                time.sleep(0.005)

        def drop_previous_copy() -> None:
            settled()
            if cluster_folder(workspace).exists():
                own = start_cluster(cluster_folder(workspace))
                own.drop_database(BASE)
                own.stop()
        snapshot_argv = lightnb_argv("snapshot", "--database-url", production, "--project", str(project_dir))
        # Both contenders start from no copy: the peer's previous copy is dropped untimed, and so is lightnb's
        # (the next row times replacing a copy, against the same replacement by hand).
        cli, library, peer = alternate([
            Contender("lightnb snapshot", argv=snapshot_argv, env=python_env(),
                      prepare=drop_previous_copy),
            Contender("copy_database()", call=lambda: copy_database(production, target, "lib_copy"),
                      prepare=lambda: (settled(), target.drop_database("lib_copy"))),
            Contender("pg_dump | pg_restore", argv=["bash", "-c", restore], env=env,
                      prepare=lambda: (settled(), target.drop_database("peer_copy"),
                                       target.create_database("peer_copy", template="template0"))),
        ], sizes.rounds)
        rows.append(Row(f"snapshot of a {sizes.diff_rows:,}-row PostgreSQL production (×2 tables)", peer, cli=cli,
                        library=library, target="≤ 1.2×", limit=1.2,
                        notes="read-only session, restore swapped in only when complete; both start with no copy "
                              "(each previous one dropped untimed), the peer into a fresh db"))
        replace = (f"{_bin('dropdb')} --if-exists --maintenance-db='{target.url('postgres')}' peer_copy && "
                   f"{_bin('createdb')} --template=template0 --maintenance-db='{target.url('postgres')}' peer_copy && "
                   f"{restore}")
        replace_cli, replace_peer = alternate([
            Contender("lightnb snapshot", argv=snapshot_argv, env=python_env(), prepare=settled),
            Contender("dropdb + createdb + pg_dump | pg_restore", argv=["bash", "-c", replace], env=env,
                      prepare=settled),
        ], sizes.rounds)
        rows.append(Row("snapshot replacing the previous copy (same production)", replace_peer, cli=replace_cli,
                        target="≤ 1.2×", limit=1.2,
                        notes="the previous copy swapped aside once the new one is complete, dropped after the "
                              "command returns, before its cluster stops (each contender starts once that is done); "
                              "the peer drops it first"))
        base = "production"
        made: list[Clone] = []
        clone_series, peer_series = alternate([
            Contender("make_clone()", call=lambda: made.append(make_clone(cluster, base)),
                      prepare=lambda: _drop_all(made)),
            Contender("psql CREATE DATABASE … TEMPLATE", argv=[
                _bin("psql"), "-q", "-X", "-h", params["host"], "-U", "postgres", "-d", "postgres", "-c",
                "CREATE DATABASE peer_clone TEMPLATE production STRATEGY FILE_COPY"], env=env,
                prepare=lambda: cluster.drop_database("peer_clone")),
        ], sizes.rounds * 2)
        _drop_all(made)
        rows.append(Row(f"rehearsal clone of that production (×2 tables, {sizes.diff_rows:,} rows each)",
                        peer_series, library=clone_series, target="≤ 1.2×", limit=1.2,
                        notes="CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY, scratch cluster (fsync off)"))
        sqlite_file = _sqlite_copy_of(scratch, sizes.diff_rows)
        copy = scratch / "pg-peer-copy.db"
        clone_again, cp = alternate([
            Contender("make_clone()", call=lambda: made.append(make_clone(cluster, base)),
                      prepare=lambda: _drop_all(made)),
            Contender("cp (SQLite file, same rows)", argv=["cp", str(sqlite_file), str(copy)],
                      prepare=lambda: copy.unlink(missing_ok=True)),
        ], sizes.rounds * 2)
        _drop_all(made)
        rows.append(Row("rehearsal clone vs a SQLite file copy of the same rows", cp, library=clone_again,
                        notes="what a rehearsal copy costs on each backend"))
    finally:
        target.destroy()
        cluster.destroy()
        if (workspace / "pg").exists():
            start_cluster(workspace / "pg").destroy()
        shutil.rmtree(project_dir, ignore_errors=True)
    return rows


_CHANGE = ("UPDATE users SET name = name || ' (renamed)' WHERE id % 100 = 0; DELETE FROM users WHERE id % 1000 = 1; "
           "INSERT INTO users SELECT g, 'new' || g || '@example.com', 'New', 1 "
           "FROM generate_series({n} + 1, {n} + {k}) g")
_UP = ("ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;\n"
       "UPDATE users SET score = id % 7;\n"
       "CREATE INDEX users_score ON users (score);\n")


def _psql(cluster: Cluster, database: str, *args: str) -> list[str]:
    return [_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(cluster.socket_dir), "-U", "postgres",
            "-d", database, *args]


def pg_review(scratch: Path, sizes: Sizes) -> list[Row]:
    """Row diff of a ≥1M-row table (lightnb's server-side hashes merged in key order vs one plain hash
    comparison query) and the measured migration run (vs psql running the same up.sql in one transaction)."""
    from lightnb.backends.postgres.binaries import PostgresNotInstalled
    from lightnb.backends.postgres.clone import make_clone
    from lightnb.backends.postgres.connect import connect
    from lightnb.backends.postgres.locks import run_measured
    from lightnb.backends.postgres.rowhash import compare_table
    from lightnb.backends.postgres.shape import read_shape
    from lightnb.migrations import discover
    from lightnb.runner import CREATE_TRACKING_TABLE
    try:
        cluster, production = _production(scratch, sizes.diff_rows)
    except PostgresNotInstalled as error:
        return [Row("PostgreSQL review rows", None, failed=str(error))]
    n, k = sizes.diff_rows, max(1, sizes.diff_rows // 1000)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    rows: list[Row] = []
    made: list[Clone] = []
    try:
        with connect(production) as conn:
            conn.execute(CREATE_TRACKING_TABLE)
        before = make_clone(cluster, "production")
        after = make_clone(cluster, "production")
        with after.connect() as conn:
            conn.execute("DELETE FROM posts WHERE user_id % 1000 = 1;" + _CHANGE.format(n=n, k=k))
            conn.execute("VACUUM ANALYZE users")  # the same physical state as the peer's tables
        # the peer's database holds both sides as two tables: PostgreSQL joins no two databases in one query
        cluster.drop_database("peer_diff")
        with connect(cluster.create_database("peer_diff")) as conn:
            conn.execute(f"CREATE TABLE users_before AS SELECT g AS id, 'user' || g || '@example.com' AS email, "
                         f"'Name ' || g AS name, 1700000000 + g AS created_at FROM generate_series(1, {n}) g;"
                         f"ALTER TABLE users_before ADD PRIMARY KEY (id);"
                         f"CREATE TABLE users AS TABLE users_before; ALTER TABLE users ADD PRIMARY KEY (id);"
                         + _CHANGE.format(n=n, k=k))
            conn.execute("VACUUM ANALYZE")
        counted: list[tuple[int, int, int]] = []

        def ours() -> None:
            with before.connect() as left, after.connect() as right:
                one, two = read_shape(left).tables["users"], read_shape(right).tables["users"]
                found = compare_table(left, one, right, two)
            counted.append((found.added, found.removed, found.changed))

        query = ("SELECT count(*) FILTER (WHERE a.id IS NULL), count(*) FILTER (WHERE b.id IS NULL), "
                 "count(*) FILTER (WHERE a.h <> b.h) FROM (SELECT id, hashtextextended(u::text, 0) AS h "
                 "FROM users_before u) b FULL JOIN (SELECT id, hashtextextended(u::text, 0) AS h FROM users u) a "
                 "ON a.id = b.id")
        library, peer = alternate([
            Contender("compare_table()", call=ours),
            Contender("psql: one FULL JOIN of row hashes", argv=_psql(cluster, "peer_diff", "-c", query),
                      env=env),
        ], sizes.rounds * 2)
        assert counted[-1] == (k, n // 1000, n // 100), counted[-1]  # both sides found the change
        rows.append(Row(f"row diff of {n:,} rows (1% changed, 0.1% removed, 0.1% added)", peer, library=library,
                        target="≤ 1.5×", limit=1.5,
                        notes="two databases, hashed in each server, merged in key order, with per-column counts; "
                              "peer: both tables in one database, one query, the same 64-bit hash"))
        migration_dir = scratch / "pg-review-migrations" / "2024-01-01-000000_score"
        migration_dir.mkdir(parents=True, exist_ok=True)
        (migration_dir / "up.sql").write_text(_UP, encoding="utf-8")
        (migration_dir / "down.sql").write_text("DROP INDEX users_score;\nALTER TABLE users DROP COLUMN score;\n",
                                                encoding="utf-8")
        (migration,) = discover(migration_dir.parent)

        def fresh() -> None:
            _drop_all(made)
            made.append(make_clone(cluster, "production"))

        def psql_argv() -> list[str]:
            return _psql(cluster, made[-1].name, "-1", "-f", str(migration.up_path), "-c",
                         f"INSERT INTO __diesel_schema_migrations (version) VALUES ('{migration.version}')")

        class _Psql(Contender):
            def measure(self):  # type: ignore[no-untyped-def]  # the clone's name is known only after prepare
                fresh()
                from bench.measure import run_process
                return run_process(psql_argv(), env=env)

        measured, plain = alternate([
            Contender("run_measured()", call=lambda: run_measured(made[-1], migration), prepare=fresh),
            _Psql("psql -1 -f up.sql"),
        ], sizes.rounds * 2)
        _drop_all(made)
        rows.append(Row(f"migration run on a clone of {n:,} rows (add column, fill it, index it)", plain,
                        library=measured, target="≤ 1.1×", limit=1.1,
                        notes="lightnb samples pg_locks and relfilenodes after each statement; same transaction, "
                              "same version row"))
    finally:
        _drop_all(made)
        cluster.destroy()
    return rows
