"""Precision of inspect: structure not spelling (schema_diff), rows by name (row_diff), lost only when lost (impact)."""

from __future__ import annotations

import pytest

from lightnb.inspect import measure_impact, row_diff, schema_diff, take_snapshot
from lightnb.inspect.definition import default_key, expression_key, same_type
from lightnb.inspect.divergence import compare_with_production
from lightnb.inspect.impact import LOSS_KINDS
from lightnb.inspect.row_diff import changed_tables

# -- schema_diff: cosmetic differences are not differences ------------------------------------

COSMETIC_BEFORE = """
CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, a TEXT NULL, w REAL NOT NULL DEFAULT 1.0,
                s TEXT NOT NULL DEFAULT 'email', b BOOLEAN NOT NULL DEFAULT FALSE, n TEXT DEFAULT NULL,
                CHECK (s IN ('email', 'sms')));
CREATE INDEX t_s ON t (s) WHERE b = 0 AND s = 'email';
CREATE VIEW v AS SELECT id, s FROM t WHERE b = 0;
"""
COSMETIC_AFTER = """
create table t (id integer primary key not null, a VARCHAR(255), w FLOAT not null default 1,
                s text not null default "email", b BOOLEAN not null default 0, n TEXT,
                check (s in ("email", "sms")));
create index t_s on t(s)   where b=0 and   s="email";
create view v as select id, s from t where b = 0;
"""


def _diff(connect, make_db, before_sql: str, after_sql: str):
    before = take_snapshot(connect(make_db("b.db", before_sql)))
    after = take_snapshot(connect(make_db("a.db", after_sql)))
    return schema_diff(before, after)


def test_spellings_of_the_same_definition_are_no_change(connect, make_db) -> None:
    diff = _diff(connect, make_db, COSMETIC_BEFORE, COSMETIC_AFTER)
    assert [c.to_text() for c in diff.changes if c.action != "rebuilt"] == []


@pytest.mark.parametrize("after, words", [
    ("CREATE INDEX t_s ON t (s);", "the index is no longer partial (it was WHERE b = 0 AND s = 'email')"),
    ("CREATE INDEX t_s ON t (s) WHERE b = 1 AND s = 'email';",
     "its condition changed from WHERE b = 0 AND s = 'email' to WHERE b = 1 AND s = 'email'"),
    ("CREATE UNIQUE INDEX t_s ON t (s) WHERE b = 0 AND s = 'email';", "it is now UNIQUE"),
])
def test_a_real_index_change_is_said_in_words(connect, make_db, after: str, words: str) -> None:
    table = COSMETIC_BEFORE.split("CREATE INDEX")[0]
    diff = _diff(connect, make_db, COSMETIC_BEFORE.split("CREATE VIEW")[0], table + after)
    (change,) = diff.of(kind="index")
    assert (change.action, change.detail) == ("changed", words)
    assert "partial -> partial" not in diff.to_text()


def test_real_column_and_table_changes_in_words(connect, make_db) -> None:
    before = ("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, r REAL, d TEXT DEFAULT 'x',"
              " c TEXT CHECK (c <> ''));")
    after = "CREATE TABLE t (id INTEGER PRIMARY KEY, r DOUBLE, d TEXT, c TEXT);"
    texts = [c.to_text() for c in _diff(connect, make_db, before, after).changes if c.action != "rebuilt"]
    assert "column changed: t.r (type REAL -> DOUBLE (schema.rs Float -> Double))" in texts
    assert "column changed: t.d (DEFAULT 'x' removed)" in texts
    assert "table changed: t (AUTOINCREMENT removed (rowids of deleted rows may be reused))" in texts
    assert "check removed: CHECK (c <> '') on t" in texts


def test_definition_keys() -> None:
    assert same_type("REAL", "FLOAT") and same_type("VARCHAR(50)", "TEXT") and same_type("int", "INTEGER")
    assert not same_type("INTEGER", "BIGINT") and not same_type("BOOLEAN", "INTEGER")
    assert default_key("NULL", "TEXT") is None and default_key('"x"', "TEXT") == default_key("'x'", "TEXT")
    assert default_key("TRUE", "BOOLEAN") == default_key("1", "BOOLEAN")
    assert default_key("0", "TEXT") != default_key("0.0", "TEXT")  # TEXT stores the literal's text
    assert expression_key('a = "x"', ["a"]) == expression_key("A = 'x'", ["a"])
    assert expression_key('a = "b"', ["a", "b"]) != expression_key("a = 'b'", ["a", "b"])  # "b" is a column


# -- column order: its own change; rows compare by name -------------------------------------------

def test_column_order_is_named_and_rows_compare_by_name(make_db) -> None:
    before = make_db("before.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
                                  "INSERT INTO t VALUES (1, 'x', 'y'), (2, NULL, 'z');")
    after = make_db("after.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, a TEXT);"
                                "INSERT INTO t VALUES (1, 'y', 'x'), (2, 'z', NULL);")
    diff = row_diff(before, after)
    (table,) = diff.tables
    assert (table.added, table.removed, table.changed, table.unchanged) == (0, 0, 0, 2)
    (order,) = diff.schema.of(kind="column_order")
    assert order.detail.startswith("was (id, a, b), now (id, b, a)")
    assert changed_tables(before, after) == []


def test_changed_tables_sees_content_not_rowids(make_db) -> None:
    before = make_db("before.db", "CREATE TABLE log (msg TEXT); INSERT INTO log VALUES ('a'), ('b'), ('c');"
                                  "DELETE FROM log WHERE msg = 'a';")
    after = make_db("after.db", "CREATE TABLE log (msg TEXT, extra TEXT); INSERT INTO log (msg) VALUES ('b'), ('c');")
    assert changed_tables(before, after) == []  # same rows (new rowids, one more column)
    changed = make_db("changed.db", "CREATE TABLE log (msg TEXT); INSERT INTO log VALUES ('b'), ('C');")
    assert changed_tables(before, changed) == ["log"]


# -- impact: lost only when lost ---------------------------------------------------------------

BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, tz TEXT, score INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO users SELECT i, 'n' || i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'Zone/' || i END, i FROM n;
CREATE TABLE notes (body TEXT);
INSERT INTO notes SELECT 'note ' || id FROM users;
"""


@pytest.fixture
def conn(make_db, connect):
    return connect(make_db("copy.db", BASE))


def _summary(impacts):
    return sorted((i.kind, i.table, i.column, i.count, i.found, i.destination)
                  for i in impacts if i.kind not in ("rows_inserted", "rows_updated"))


def test_a_copy_through_a_table_the_migration_drops_again_is_followed(conn) -> None:
    up = """
    CREATE TABLE users_backup AS SELECT * FROM users;
    DROP TABLE users;
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, zone TEXT);
    INSERT INTO users (id, name, zone) SELECT id, name, tz FROM users_backup;
    DROP TABLE users_backup;
    """
    assert _summary(measure_impact(conn, up)) == [
        ("values_lost", "users", "score", 200, None, None),
        ("values_moved", "users", "tz", 150, 150, "users.zone")]
    lost = next(i for i in measure_impact(conn, up) if i.kind == "values_lost")
    assert lost.message == ("200 non-null value(s) of users.score lost (copied only into users_backup, which no "
                            "longer holds it after the migration).") and lost.is_loss


def test_a_correlated_update_from_another_table_is_a_move(conn) -> None:
    up = """
    CREATE TABLE profiles (user_id INTEGER PRIMARY KEY, tz TEXT);
    INSERT INTO profiles (user_id) SELECT id FROM users;
    UPDATE profiles SET tz = (SELECT u.tz FROM users u WHERE u.id = profiles.user_id);
    ALTER TABLE users DROP COLUMN tz;
    """
    summary = _summary(measure_impact(conn, up))
    assert ("values_moved", "users", "tz", 150, 150, "profiles.tz") in summary
    assert not [s for s in summary if s[0] in LOSS_KINDS]


def test_rows_without_key_are_matched_by_value_and_say_so(conn) -> None:
    up = "CREATE TABLE notes_new (body TEXT); INSERT INTO notes_new SELECT body FROM notes; DROP TABLE notes;"
    (moved,) = [i for i in measure_impact(conn, up) if i.kind == "values_moved"]
    assert moved.message == ("200 value(s) of notes.body moved to notes_new.body (200/200 values found, matched by "
                             "value: the rows' identity was not carried).")


def test_updates_say_what_they_overwrite(conn) -> None:
    impacts = measure_impact(conn, "UPDATE users SET name = 'same' WHERE id <= 10; UPDATE users SET score = score + 1;"
                                   "ALTER TABLE users ADD COLUMN flag INTEGER; UPDATE users SET flag = 1;")
    summary = _summary(impacts)
    assert ("values_overwritten", "users", "name", 10, None, None) in summary
    assert ("values_converted", "users", "score", 200, 200, "users.score") in summary
    assert ("column_filled", "users", "flag", 200, None, None) in summary
    assert conn.execute("SELECT count(*) FROM sqlite_temp_master").fetchone() == (0,)  # saved rows are cleaned up


# -- divergence --------------------------------------------------------------------------------

def test_divergence_of_a_copy_a_changed_copy_and_a_missing_production(make_db, tmp_path) -> None:
    production = make_db("prod.db", BASE)
    same = make_db("same.db", "", base=production)
    assert not compare_with_production(same, production).differs
    changed = make_db("changed.db", "DELETE FROM notes WHERE rowid = 1; ALTER TABLE users ADD COLUMN x TEXT;",
                      base=production)
    divergence = compare_with_production(changed, production)
    assert divergence.lines() == ["schema: column added: users.x (TEXT)",
                                  "rows: notes: 0 row(s) added, 1 removed, 0 changed on the workspace"]
    missing = compare_with_production(same, tmp_path / "gone.db")
    assert missing.differs and missing.error.startswith("cannot compare with production:")
    text = compare_with_production(same, None).to_text()
    assert text.endswith("was made empty (no production database to compare with)")
