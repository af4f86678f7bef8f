"""check on PostgreSQL: up → down → up on clones, shape and rows compared, the SQLite check's verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.backends.postgres.clone import drop_clone, make_clone
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.proof import Proof, dropped_tables, prove_pending
from lightnb.backends.postgres.rowhash import compare_table
from lightnb.backends.postgres.shape import compare_shapes, read_shape
from lightnb.migrations import discover
from tests.support.builder import ProjectBuilder
from tests.support.pg_production import fingerprint, make_production
from tests.support.postgres import PgDatabase


def _prove(db: PgDatabase, root: Path, **options: object) -> dict[str, Proof]:
    proofs = prove_pending(db.cluster, db.name, discover(root / "migrations"), **options)  # type: ignore[arg-type]
    return {p.check.migration: p for p in proofs}


@pytest.fixture
def production(pg_database: PgDatabase) -> PgDatabase:
    make_production(pg_database, users=300, posts=600)
    return pg_database


def test_verdicts_match_what_happens_to_the_rows(production: PgDatabase, tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_add_age", "ALTER TABLE users ADD COLUMN age int;", "ALTER TABLE users DROP COLUMN age;")
            .migration("2_drop_name", "ALTER TABLE users DROP COLUMN name;", "ALTER TABLE users ADD COLUMN name text;")
            .migration("3_no_down", "CREATE TABLE tags (id int PRIMARY KEY);", None)
            .migration("4_declared", "DELETE FROM audit WHERE at = 1;",
                       "-- lightnb: irreversible: the audit row is gone for good\n")
            .migration("5_lost_rows", "UPDATE posts SET title = upper(title) WHERE id <= 10;", "SELECT 1;")
            .build())
    before = fingerprint(production)
    proofs = _prove(production, root)
    assert {name: p.check.verdict for name, p in proofs.items()} == {
        "1_add_age": "safe", "2_drop_name": "unsafe", "3_no_down": "unsafe", "4_declared": "irreversible",
        "5_lost_rows": "unsafe"}
    assert proofs["1_add_age"].check.restores_exactly
    drop = proofs["2_drop_name"].check
    assert drop.row_differences == ("users: same row count, different content — 0 row(s) added, 0 removed, "
                                    "300 changed (name 300)",)
    assert drop.column_order == ("users: columns were (id, email, name, created_at, age), now "
                                 "(id, email, created_at, age, name)",)
    assert not drop.schema_differences and not drop.restores_exactly
    assert "cannot prove the revert: down.sql is missing" in proofs["3_no_down"].check.reasons
    assert proofs["4_declared"].check.declared == "the audit row is gone for good"
    lost = proofs["5_lost_rows"].check
    assert lost.row_differences == ("posts: same row count, different content — 0 row(s) added, 0 removed, "
                                    "10 changed (title 10)",)
    assert any("keys of rows that differ from before up: posts ('1'; '2'; '3')" in r for r in lost.reasons)
    assert fingerprint(production) == before  # the base is only ever cloned
    with connect(production.cluster.url()) as conn:
        left = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'lightnb_clone_%'")]
    assert left == []


def test_each_proof_starts_from_the_state_after_the_earlier_ups(production: PgDatabase, tmp_path: Path) -> None:
    """A down.sql that wrecks the copy does not spoil the proofs after it, nor the final state."""
    root = (ProjectBuilder(tmp_path)
            .migration("1_wrecking_down", "CREATE TABLE notes (id int PRIMARY KEY);",
                       "DROP TABLE notes; DELETE FROM posts; DELETE FROM users;")
            .migration("2_count_users", "CREATE TABLE counts AS SELECT count(*) AS n FROM users; "
                                        "ALTER TABLE counts ADD PRIMARY KEY (n);", "DROP TABLE counts;")
            .build())
    final: list[int] = []

    def at_end(clone: object) -> None:
        with clone.connect() as conn:  # type: ignore[attr-defined]
            final.append(conn.execute("SELECT n FROM counts").fetchone()[0])
            final.append(conn.execute("SELECT count(*) FROM notes").fetchone()[0])

    proofs = _prove(production, root, at_end=at_end)
    assert proofs["1_wrecking_down"].check.verdict == "unsafe"
    assert "users: 300 row(s) before, 0 after" in proofs["1_wrecking_down"].check.reasons[0]
    assert proofs["2_count_users"].check.verdict == "safe"
    assert final == [300, 0]


def test_a_failing_up_blocks_the_migrations_after_it(production: PgDatabase, tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_broken", "ALTER TABLE users ADD COLUMN x int;\nSELECT * FROM nowhere;", "SELECT 1;")
            .migration("2_after", "CREATE TABLE t (id int PRIMARY KEY);", "DROP TABLE t;")
            .build())
    proofs = _prove(production, root)
    broken = proofs["1_broken"].check
    assert broken.verdict == "unsafe" and broken.steps == ()
    assert broken.reasons[-1].startswith('cannot run up: Failed to run 1_broken with: relation "nowhere" does not '
                                         'exist (1_broken/up.sql line 2)')
    assert proofs["2_after"].check.verdict == "unsafe"
    assert proofs["2_after"].check.reasons[-1].startswith("not rehearsed: 1_broken")


def test_a_redo_that_differs_needs_attention(production: PgDatabase, tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_counter", "CREATE TABLE IF NOT EXISTS runs (id serial PRIMARY KEY, n int); "
                                    "INSERT INTO runs (n) VALUES (1);", "DELETE FROM runs;")
            .build())
    check = _prove(production, root)["1_counter"].check
    # down leaves an empty `runs` behind (a schema difference), the redo adds a second row
    assert check.verdict == "unsafe"
    assert "table runs was added" in check.schema_differences
    assert any(r.startswith("running up.sql again gives other rows: runs: 1 row(s) before, 1 after") or
               "runs:" in r for r in check.reasons if r.startswith("running up.sql again"))


def test_rows_compare_by_column_name_keyed_by_primary_key(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TABLE t (id int PRIMARY KEY, a text, b int); "
                        "INSERT INTO t SELECT g, 'v' || g, g FROM generate_series(1, 1000) g;"
                        "CREATE TABLE bag (x int); INSERT INTO bag VALUES (1), (1), (2);")
    cluster = pg_database.cluster
    other = make_clone(cluster, pg_database.name)
    try:
        with other.connect() as conn:  # same values, `a` now last; then real changes
            conn.execute("ALTER TABLE t RENAME COLUMN a TO a_old; ALTER TABLE t ADD COLUMN a text; "
                         "UPDATE t SET a = a_old; ALTER TABLE t DROP COLUMN a_old;")
        with pg_database.connect() as left, other.connect() as right:
            before, after = read_shape(left), read_shape(right)
            assert compare_table(left, before.tables["t"], right, after.tables["t"]).equal
            assert compare_shapes(before, after).order == ("t: columns were (id, a, b), now (id, b, a)",)
            right.execute("UPDATE t SET b = -b WHERE id IN (5, 500); DELETE FROM t WHERE id = 7; "
                          "INSERT INTO t VALUES (2000, 2000, 'x'); DELETE FROM bag WHERE ctid = "
                          "(SELECT min(ctid) FROM bag WHERE x = 1)")
            rows = compare_table(left, before.tables["t"], right, read_shape(right).tables["t"])
            assert (rows.added, rows.removed, rows.changed, rows.changed_columns) == (1, 1, 2, {"b": 2})
            bag = compare_table(left, before.tables["bag"], right, read_shape(right).tables["bag"])
            assert (bag.keyed, bag.added, bag.removed) == (False, 0, 1)
    finally:
        drop_clone(other)


def test_shape_sees_constraints_indexes_defaults_and_types(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (id int PRIMARY KEY, "
                        "m mood DEFAULT 'ok', n int CHECK (n > 0)); CREATE INDEX t_n ON t (n);")
    with pg_database.connect() as conn:
        before = read_shape(conn)
        conn.execute("ALTER TABLE t ALTER COLUMN m DROP DEFAULT; DROP INDEX t_n; "
                     "ALTER TYPE mood ADD VALUE 'happy'; ALTER TABLE t ALTER COLUMN n TYPE bigint")
        after = read_shape(conn)
    real = compare_shapes(before, after).real
    assert "t: column m changed from m mood DEFAULT 'ok'::mood to m mood" in real
    assert "t: column n changed from n integer to n bigint" in real
    assert "t: index t_n is gone (CREATE INDEX t_n ON public.t USING btree (n))" in real
    assert "type mood changed from enum ('sad', 'ok') to enum ('sad', 'ok', 'happy')" in real


def test_dropped_tables_are_read_from_the_parse_tree() -> None:
    assert dropped_tables("DROP TABLE a, app.b; DROP TABLE IF EXISTS \"C\"; DROP VIEW v;") == {"a", "app.b", "C"}
    assert dropped_tables("SELEC broken") == set()


def test_the_tests_run_against_the_rehearsed_clone(production: PgDatabase, tmp_path: Path) -> None:
    from lightnb.backends.postgres.check import check
    from lightnb.project import Project
    script = tmp_path / "probe.py"
    script.write_text("import os, psycopg\nwith psycopg.connect(os.environ['DATABASE_URL']) as c:\n"
                      "    print('ages', c.execute('SELECT count(age) FROM users').fetchone()[0])\n",
                      encoding="utf-8")
    root = (ProjectBuilder(tmp_path / "app")
            .migration("1_add_age", "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 7;",
                       "ALTER TABLE users DROP COLUMN age;")
            .build())
    import sys
    (root / "lightnb.toml").write_text(f'[test]\ncommand = ["{sys.executable}", "{script}"]\n', encoding="utf-8")
    lines: list[str] = []
    result = check(Project.discover(root), source_url=production.url, on_output=lines.append)
    assert result.tests is not None and result.tests.status == "passed"
    assert lines == ["ages 300"]
    assert result.verdict == "safe"  # a constant default: no rewrite since PostgreSQL 11
    measured = [f.message for f in result.migrations[0].findings if f.rule == "pg-lock"]
    assert len(measured) == 1 and measured[0].startswith("locks users: 300 rows, ")
    assert measured[0].endswith(" s under ACCESS EXCLUSIVE — every read and write of users waits")
    assert result.database == f"database `{production.name}` on " + result.database.split(" on ", 1)[1]
