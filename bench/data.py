"""The data the benchmarks run on, built once per scratch folder (kept with ``--scratch``)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

# A pending migration added to the sample backend for the rehearse/check rows: a column with a
# default, a backfill of a third of the rows, and its exact undo.
SAMPLE_MIGRATION = "2025-04-01-000000-0000_add_theme_to_user_settings"
SAMPLE_UP = """ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';
UPDATE user_settings SET theme = 'dark' WHERE user_id % 3 = 0;
"""
SAMPLE_DOWN = "ALTER TABLE user_settings DROP COLUMN theme;\n"

REBUILD_UP = """-- Rebuild orders with a NOT NULL currency and a CHECK (SQLite cannot ALTER these in place).
CREATE TABLE orders_new (
  id INTEGER PRIMARY KEY NOT NULL,
  customer TEXT NOT NULL,
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  currency TEXT NOT NULL DEFAULT 'EUR',
  created_at INTEGER NOT NULL,
  note BLOB NOT NULL
);
INSERT INTO orders_new (id, customer, total_cents, currency, created_at, note)
  SELECT id, customer, total_cents, 'EUR', created_at, note FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_customer ON orders (customer);
"""
UPDATE_UP = "UPDATE orders SET total_cents = total_cents + 1;\n"

TRACKING_DDL = ("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
                "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")


def fill(conn: sqlite3.Connection, sql: str) -> None:
    """Run one bulk statement in its own transaction."""
    conn.execute("BEGIN")
    conn.execute(sql)
    conn.execute("COMMIT")


def series(count: int) -> str:
    """A recursive CTE yielding ``i`` from 1 to ``count`` (prefix it to a SELECT … FROM n)."""
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "


def blob_database(path: Path, mib: int) -> Path:
    """A database of about ``mib`` MiB: one table of 1 KB rows."""
    if path.exists() and path.stat().st_size >= mib * (1 << 20) * 0.9:
        return path
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB NOT NULL)")
    fill(conn, f"INSERT INTO events (kind, payload) {series(mib * 1024 * 1024 // 1100)}"
               f"SELECT 'kind-' || (i % 17), randomblob(1000) FROM n")
    conn.close()
    return path


def orders_database(path: Path, mib: int) -> Path:
    """A database of about ``mib`` MiB: ``orders`` with 1 KB rows (1 GiB ≈ 1M rows), migrations tracked."""
    rows = max(1, mib * 1024 * 1024 // 1100)
    if path.exists():
        return path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, customer TEXT NOT NULL, "
                 "total_cents INTEGER NOT NULL, created_at INTEGER NOT NULL, note BLOB NOT NULL)")
    conn.execute(TRACKING_DDL)
    fill(conn, f"INSERT INTO orders {series(rows)}SELECT i, 'customer-' || (i % 5000), i * 7 % 100000, "
               f"1700000000 + i, randomblob(1000) FROM n")
    conn.close()
    return path


def diff_pair(scratch: Path, rows: int) -> tuple[Path, Path]:
    """Two databases of ``rows`` items, the second with 1% of the rows changed."""
    before = scratch / f"diff-before-{rows}.db"
    after = scratch / f"diff-after-{rows}.db"
    if before.exists() and after.exists():
        return before, after
    for path in (before, after):
        path.unlink(missing_ok=True)
    conn = sqlite3.connect(before, isolation_level=None)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, "
                 "qty INTEGER NOT NULL, price REAL NOT NULL)")
    fill(conn, f"INSERT INTO items {series(rows)}SELECT i, 'SKU-' || i, 'item number ' || i, i % 100, "
               f"(i % 1000) / 10.0 FROM n")
    conn.close()
    shutil.copyfile(before, after)
    conn = sqlite3.connect(after, isolation_level=None)
    fill(conn, "UPDATE items SET qty = qty + 1, price = price * 1.1 WHERE id % 100 = 0")
    conn.close()
    return before, after


def project(root: Path, migrations: dict[str, tuple[str, str]]) -> Path:
    """A minimal Diesel project: an empty diesel.toml and the given migrations (name: (up, down))."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "migrations").mkdir(parents=True)
    (root / "diesel.toml").write_text("", encoding="utf-8")
    for name, (up, down) in migrations.items():
        folder = root / "migrations" / name
        folder.mkdir()
        (folder / "up.sql").write_text(up, encoding="utf-8")
        (folder / "down.sql").write_text(down, encoding="utf-8")
    return root


def sample(scratch: Path, users: int) -> tuple[Path, Path]:
    """The bundled sample with ``users`` users and one pending migration: (project, production)."""
    from lightnb import samples
    dest = scratch / f"sample-{users}"
    project_dir, production = dest / samples.PROJECT_DIRNAME, dest / samples.PRODUCTION_NAME
    if not production.exists():
        shutil.rmtree(dest, ignore_errors=True)
        samples.sample_workbook(dest, users=users, workspace=False)
    folder = project_dir / "migrations" / SAMPLE_MIGRATION
    folder.mkdir(exist_ok=True)
    (folder / "up.sql").write_text(SAMPLE_UP, encoding="utf-8")
    (folder / "down.sql").write_text(SAMPLE_DOWN, encoding="utf-8")
    return project_dir, production


def in_transactions(*scripts: str) -> str:
    """The scripts as a sqlite3 shell would run them by hand, each in its own transaction."""
    return "".join(f"BEGIN;\n{script}COMMIT;\n" for script in scripts)
