"""The five benchmarks: each builds its data in a scratch folder and returns one :class:`Row`."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from pathlib import Path

from bench import REPO, Row, Sizes, fill, python_env, run_measured, timed, tool

ROW_DIFF_CHILD = """
import sys, time
from lightnb.inspect.row_diff import row_diff
start = time.perf_counter()
result = row_diff(sys.argv[1], sys.argv[2])
print(time.perf_counter() - start)
print(result.summary)
"""


def snapshot(scratch: Path, sizes: Sizes) -> Row:
    """Workspace.create of a production database vs ``cp`` of the same file."""
    from lightnb.workspace import Workspace
    production = scratch / "snapshot-production.db"
    if not production.exists() or production.stat().st_size < sizes.snapshot_mib * (1 << 20) * 0.9:
        production.unlink(missing_ok=True)
        conn = sqlite3.connect(production, isolation_level=None)
        rows = sizes.snapshot_mib * 1024 * 1024 // 1100
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB NOT NULL)")
        fill(conn, f"INSERT INTO events (kind, payload) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                   f"FROM n WHERE i < {rows}) SELECT 'kind-' || (i % 17), randomblob(1000) FROM n")
        conn.close()
    copy = scratch / "snapshot-cp.db"
    cp = timed(lambda: run_measured(["cp", str(production), str(copy)]), sizes.repeats)
    folder = scratch / "snapshot-ws"
    ours = timed(lambda: Workspace.create(production, folder), sizes.repeats)
    size = production.stat().st_size / (1 << 20)
    copy.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    return Row(f"snapshot of {size:,.0f} MiB production (Workspace.create)", ours, "cp", cp, "≤ 1.2×", 1.2,
               "read-only source; byte copy under a read lock (backup API for WAL); atomic rename")


def _diff_pair(scratch: Path, rows: int) -> tuple[Path, Path]:
    before = scratch / f"diff-before-{rows}.db"
    after = scratch / f"diff-after-{rows}.db"
    if before.exists() and after.exists():
        return before, after
    for path in (before, after):
        path.unlink(missing_ok=True)
    conn = sqlite3.connect(before, isolation_level=None)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, "
                 "qty INTEGER NOT NULL, price REAL NOT NULL)")
    fill(conn, f"INSERT INTO items WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
               f"SELECT i, 'SKU-' || i, 'item number ' || i, i % 100, (i % 1000) / 10.0 FROM n")
    conn.close()
    shutil.copyfile(before, after)
    conn = sqlite3.connect(after, isolation_level=None)
    step = 100  # 1% of rows changed
    fill(conn, f"UPDATE items SET qty = qty + 1, price = price * 1.1 WHERE id % {step} = 0")
    conn.close()
    return before, after


def row_diff(scratch: Path, sizes: Sizes) -> Row:
    """lightnb's row diff vs ``sqldiff``, with peak memory of each process."""
    before, after = _diff_pair(scratch, sizes.diff_rows)
    try:
        import lightnb.inspect.row_diff  # noqa: F401
    except ImportError:
        return Row(f"row diff, {sizes.diff_rows:,} rows, 1% changed", None, "sqldiff", None, "≤ 1.0×, ≤ 256 MiB",
                   notes="lightnb.inspect.row_diff not available")
    best, peak = float("inf"), 0.0
    for _ in range(sizes.repeats):
        _, rss, out = run_measured([sys.executable, "-c", ROW_DIFF_CHILD, str(before), str(after)], env=python_env())
        best, peak = min(best, float(out.splitlines()[0])), max(peak, rss)
    sqldiff = tool("sqldiff")
    base, base_peak = None, None
    if sqldiff:
        base, base_peak = float("inf"), 0.0
        for _ in range(sizes.repeats):
            seconds, rss, _ = run_measured([sqldiff, str(before), str(after)])
            base, base_peak = min(base, seconds), max(base_peak, rss)
    notes = f"peak RSS lightnb {peak:.0f} MiB (process), sqldiff {base_peak:.0f} MiB" if sqldiff else \
        "sqldiff not installed (Debian: sqlite3-tools)"
    return Row(f"row diff, {sizes.diff_rows:,} rows, 1% changed", best, "sqldiff", base, "≤ 1.0×, ≤ 256 MiB",
               1.0, notes + ("" if peak <= 256 else " — over 256 MiB"))


REBUILD_UP = """-- Rebuild orders with a NOT NULL currency and a CHECK (SQLite cannot ALTER these in place).
CREATE TABLE orders_new (
  id INTEGER PRIMARY KEY NOT NULL,
  customer TEXT NOT NULL,
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  currency TEXT NOT NULL DEFAULT 'EUR',
  created_at TEXT NOT NULL
);
INSERT INTO orders_new (id, customer, total_cents, currency, created_at)
  SELECT id, customer, total_cents, 'EUR', created_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_customer ON orders (customer);
"""


def _rebuild_project(scratch: Path, rows: int) -> tuple[Path, Path]:
    root = scratch / "rebuild-project"
    seed = scratch / f"rebuild-seed-{rows}.db"
    if not seed.exists():
        conn = sqlite3.connect(seed, isolation_level=None)
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, customer TEXT NOT NULL, "
                     "total_cents INTEGER NOT NULL, created_at TEXT NOT NULL)")
        fill(conn, f"INSERT INTO orders WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                   f"WHERE i < {rows}) SELECT i, 'customer-' || (i % 5000), i * 7 % 100000, "
                   f"'2024-01-01 00:00:' || (i % 60) FROM n")
        conn.close()
    shutil.rmtree(root, ignore_errors=True)
    migration = root / "migrations" / "2024-06-01-000000-0000_rebuild_orders"
    migration.mkdir(parents=True)
    (root / "diesel.toml").write_text("", encoding="utf-8")
    (migration / "up.sql").write_text(REBUILD_UP, encoding="utf-8")
    (migration / "down.sql").write_text("SELECT 1;\n", encoding="utf-8")
    return root, seed


def heavy_migration(scratch: Path, sizes: Sizes) -> Row:
    """A table rebuild of N rows via lightnb.steps with before/after capture vs the sqlite3 shell."""
    from lightnb import steps
    from lightnb.project import Project
    root, seed = _rebuild_project(scratch, sizes.rebuild_rows)
    project = Project.discover(root)
    db = scratch / "rebuild.db"
    ours = float("inf")
    for _ in range(sizes.repeats):
        shutil.copyfile(seed, db)
        shutil.rmtree(scratch / "captures", ignore_errors=True)
        start = time.perf_counter()
        steps.run(project, db, regenerate_schema=False, capture=steps.Capture(folder=scratch / "captures"))
        ours = min(ours, time.perf_counter() - start)
    shell = tool("sqlite3")
    base = None
    if shell:
        script = scratch / "rebuild-shell.sql"
        script.write_text("BEGIN;\n" + REBUILD_UP + "INSERT INTO __diesel_schema_migrations (version) "
                          "VALUES ('202406010000000000');\nCOMMIT;\n", encoding="utf-8")
        base = float("inf")
        for _ in range(sizes.repeats):
            shutil.copyfile(seed, db)
            conn = sqlite3.connect(db)
            conn.execute("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
                         "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
            conn.close()
            seconds, _, _ = run_measured([shell, "-bail", str(db)], stdin=str(script))
            base = min(base, seconds)
    db.unlink(missing_ok=True)
    shutil.rmtree(scratch / "captures", ignore_errors=True)
    return Row(f"table rebuild of {sizes.rebuild_rows:,} rows (steps.run + capture)", ours, "sqlite3 shell", base,
               "≤ 1.10×", 1.10, "capture = before/after snapshots + before copy" if shell else "sqlite3 not installed")


def replay(scratch: Path, sizes: Sizes) -> Row:
    """All ups then all downs of lightfriend's last commit, lightnb vs plain Python sqlite3."""
    corpus = _lightfriend_last()
    if corpus is None:
        return Row("lightfriend replay (ups then downs)", None, "python sqlite3", None, "≤ 2×",
                   notes="conformance corpus not found (set LIGHTNB_CONFORMANCE_DIR)")
    from lightnb import migrations as migration_files
    from lightnb import runner, sqlscript
    found = migration_files.discover(corpus / "migrations")
    db = scratch / "replay.db"
    reps = sizes.repeats * 3

    from lightnb.errors import MigrationError
    reverted = {}

    def ours() -> None:
        db.unlink(missing_ok=True)
        conn = runner.connect(db)
        runner.run_pending(conn, found)
        count = 0
        while runner.applied_versions(conn):
            try:
                runner.revert(conn, found, number=1)
            except MigrationError:  # the history's own down.sql fails here: stop, as the baseline does
                break
            count += 1
        reverted["lightnb"] = count
        conn.close()

    texts = [(m.version, [s.text for s in sqlscript.split(m.up_sql())],
              [s.text for s in sqlscript.split(m.down_sql())] if m.down_path else []) for m in found]

    def plain() -> None:
        db.unlink(missing_ok=True)
        conn = sqlite3.connect(db, isolation_level=None)
        conn.create_function("diesel_manage_updated_at", 1, lambda table: None)
        conn.execute("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY "
                     "NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        for version, ups, _ in texts:
            conn.execute("BEGIN")
            for text in ups:
                conn.execute(text)
            conn.execute("INSERT INTO __diesel_schema_migrations (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        count = 0
        for version, _, downs in reversed(texts):
            conn.execute("BEGIN")
            try:
                for text in downs:
                    conn.execute(text)
            except sqlite3.Error:
                conn.execute("ROLLBACK")
                break
            conn.execute("DELETE FROM __diesel_schema_migrations WHERE version = ?", (version,))
            conn.execute("COMMIT")
            count += 1
        reverted["plain"] = count
        conn.close()

    base = timed(plain, reps)
    mine = timed(ours, reps)
    db.unlink(missing_ok=True)
    same = "" if reverted["lightnb"] == reverted["plain"] else " — MISMATCH between the two runs"
    return Row(f"lightfriend replay, {len(found)} ups then downs", mine, "python sqlite3", base, "≤ 2×", 2.0,
               f"{corpus.name}; {reverted['lightnb']} downs run before the history's own down.sql fails"
               f"{same}; statements pre-split for the baseline")


def _lightfriend_last() -> Path | None:
    import os
    root = Path(os.environ.get("LIGHTNB_CONFORMANCE_DIR") or REPO.parent / "shared" / "conformance") / "lightfriend"
    commits = sorted(p for p in root.glob("[0-9]*") if (p / "migrations").is_dir()) if root.is_dir() else []
    return commits[-1] if commits else None


def preview(scratch: Path, sizes: Sizes) -> Row:
    """Preview latency (head, tail and sample of 20 rows) on a large table vs a small one."""
    try:
        from lightnb.inspect.preview import preview as show
    except ImportError:
        return Row("preview latency", None, "same preview, small table", None, "≤ 2×",
                   notes="lightnb.inspect.preview not available")
    paths = {}
    for rows in (sizes.preview_small, sizes.preview_large):
        path = scratch / f"preview-{rows}.db"
        if not path.exists():
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, value REAL)")
            fill(conn, f"INSERT INTO readings (sensor, value) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                       f"SELECT i + 1 FROM n WHERE i < {rows}) SELECT 'sensor-' || (i % 97), i * 0.5 FROM n")
            conn.close()
        paths[rows] = path
    results = {}
    for rows, path in paths.items():
        conn = sqlite3.connect(path, isolation_level=None)
        show(conn, "readings", n=20)  # warm the page cache: the ratio is about the query, not the disk
        results[rows] = {mode: timed(lambda m=mode: show(conn, "readings", mode=m, n=20), sizes.repeats * 3)
                         for mode in ("head", "tail", "sample")}
        conn.close()
    small, large = results[sizes.preview_small], results[sizes.preview_large]
    worst = max(("head", "tail", "sample"), key=lambda m: large[m] / small[m])
    detail = ", ".join(f"{m} {large[m] * 1000:.1f}/{small[m] * 1000:.1f} ms" for m in ("head", "tail", "sample"))
    return Row(f"preview of {sizes.preview_large:,} vs {sizes.preview_small:,} rows (worst mode: {worst})",
               large[worst], f"same preview on {sizes.preview_small:,} rows", small[worst], "≤ 2×", 2.0, detail)


def _data_migration_sql(mib: int) -> str:
    """A data migration: a table, then INSERTs (with ';' inside literals) up to ``mib`` MiB."""
    parts = ["CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, note TEXT, amount REAL);\n"]
    size, i = len(parts[0]), 0
    while size < mib * (1 << 20):
        i += 1
        line = (f"INSERT INTO events (kind, note, amount) VALUES ('kind-{i % 17}', 'note; number {i}', "
                f"{i * 0.25});\n")
        parts.append(line)
        size += len(line)
    return "".join(parts)


def data_migration(scratch: Path, sizes: Sizes) -> Row:
    """An up.sql of N MiB of INSERTs through ``lightnb migration run`` vs the sqlite3 shell, and the split alone."""
    from lightnb import sqlscript
    root = scratch / "data-migration-project"
    shutil.rmtree(root, ignore_errors=True)
    migration = root / "migrations" / "2024-06-02-000000-0000_load_events"
    migration.mkdir(parents=True)
    (root / "diesel.toml").write_text("", encoding="utf-8")
    sql = _data_migration_sql(sizes.data_migration_mib)
    (migration / "up.sql").write_text(sql, encoding="utf-8")
    (migration / "down.sql").write_text("DROP TABLE events;\n", encoding="utf-8")
    db = scratch / "data-migration.db"

    def ours() -> None:
        db.unlink(missing_ok=True)
        run_measured([sys.executable, "-m", "lightnb", "migration", "run", "--no-schema", "--database-url", str(db)],
                     cwd=root, env=python_env())

    mine = timed(ours, sizes.repeats)
    split = timed(lambda: sqlscript.split(sql), sizes.repeats)
    literal = "INSERT INTO t VALUES ('" + ";".join(f"v{i}" for i in range(1 << 17)) + "');\n"
    split_literal = timed(lambda: sqlscript.split(literal), sizes.repeats)
    shell = tool("sqlite3")
    base = None
    if shell:
        script = scratch / "data-migration-shell.sql"
        script.write_text("BEGIN;\n" + sql + "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) "
                          "PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
                          "INSERT INTO __diesel_schema_migrations (version) VALUES ('202406020000000000');\n"
                          "COMMIT;\n", encoding="utf-8")

        def theirs() -> None:
            db.unlink(missing_ok=True)
            run_measured([shell, "-bail", str(db)], stdin=str(script))

        base = timed(theirs, sizes.repeats)
        script.unlink()
    db.unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    statements = sql.count("\n")
    return Row(f"data migration, {sizes.data_migration_mib} MiB of INSERTs ({statements:,} statements; "
               f"`lightnb migration run`, process)", mine, "sqlite3 shell", base, "≤ 1.2×", 1.2,
               f"the file runs in one call as sqlite3_exec does; splitting it (when a statement fails, or a "
               f"panel follows statements) takes {split:.2f} s; a {len(literal) / (1 << 20):.1f} MiB literal "
               f"holding {literal.count(';') - 1:,} ';' splits in {split_literal * 1000:.1f} ms"
               + ("" if shell else "; sqlite3 not installed"))


CASES = {"snapshot": snapshot, "row_diff": row_diff, "migration": heavy_migration, "replay": replay,
         "preview": preview, "data_migration": data_migration}
