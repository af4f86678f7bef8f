"""A PostgreSQL "production" for tests: a database with rows, a role that may only SELECT, and a
fingerprint of everything in it (catalogue and rows) to prove it was never written."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from lightnb.backends.postgres import url as pgurl
from tests.support.postgres import PgDatabase

READER = "lightnb_reader"
PASSWORD = "Sup3r-s3cret-pw"
SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, name text, created_at bigint NOT NULL DEFAULT 0);
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), title text NOT NULL);
CREATE TABLE audit (at bigint NOT NULL, what text);
INSERT INTO users (email, name, created_at) SELECT 'user' || g || '@example.com', 'Name ' || g, 1700000000 + g
  FROM generate_series(1, {users}) g;
INSERT INTO posts (user_id, title) SELECT 1 + g % {users}, 'post ' || g FROM generate_series(1, {posts}) g;
INSERT INTO audit VALUES (1, 'created'), (2, 'seeded');
"""


def make_production(db: PgDatabase, *, users: int = 200, posts: int = 500) -> None:
    """Fill ``db`` with tables and rows, their write counters already in the server's statistics.

    A session reports its counters when it goes idle, at most once a second, and when it ends (after the
    client has gone): forcing the report and asking once more makes the fingerprint's counters final.
    """
    with db.connect() as conn:
        conn.execute(SCHEMA.format(users=users, posts=posts).encode("utf-8"), prepare=False)
        if conn.info.server_version >= 150000:
            conn.execute("SELECT pg_stat_force_next_flush()")  # reported as the session goes idle after it
            conn.execute("SELECT 1")


def add_reader(db: PgDatabase) -> str:
    """Create (once per cluster) a role that may only connect and SELECT, and return its URL on ``db``.

    The URL carries a password (the test cluster trusts its socket, so any password is accepted):
    what lightnb prints must never show it.
    """
    with db.connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f'GRANT CONNECT ON DATABASE "{db.name}" TO {READER}')
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {READER}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
        conn.execute(f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {READER}")
    params = pgurl.parse(db.url)
    return (f"postgres://{READER}:{PASSWORD}@/{quote(db.name)}?host={quote(params['host'], safe='/')}"
            f"&port={params.get('port', '5432')}")


def fingerprint(db: PgDatabase) -> dict[str, Any]:
    """Return the catalogue and every row of the user tables, plus the write counters of the tables."""
    with db.connect() as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]
        columns = conn.execute("SELECT table_name, column_name, data_type, is_nullable, column_default "
                               "FROM information_schema.columns WHERE table_schema = 'public' "
                               "ORDER BY table_name, ordinal_position").fetchall()
        rows = {}
        for table in tables:
            data = conn.execute(f'SELECT * FROM "{table}" ORDER BY 1, 2').fetchall()
            rows[table] = hashlib.sha256(repr(data).encode()).hexdigest()
        counters = conn.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                                "ORDER BY relname").fetchall()
        sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1").fetchall()
    return {"tables": tables, "columns": columns, "rows": rows, "counters": counters, "sequences": sequences}
