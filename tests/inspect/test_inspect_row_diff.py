from __future__ import annotations

import json

import pytest

from lightnb.errors import DatabaseError, LightnbError
from lightnb.inspect import iter_row_changes, row_diff

BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, legacy TEXT, score);
CREATE TABLE tags (name TEXT PRIMARY KEY, weight REAL) WITHOUT ROWID;
CREATE TABLE log (what TEXT, n INT);
CREATE TABLE gone (id INTEGER PRIMARY KEY, v TEXT);
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 50)
INSERT INTO users SELECT n, 'user' || n, 'u' || n || '@x.org', 'l' || n, n FROM i;
INSERT INTO tags VALUES ('a', 1.0), ('b', 2.0), ('c', 3.0);
INSERT INTO log VALUES ('x', 1), ('y', 2);
INSERT INTO gone VALUES (1, 'one'), (2, 'two');
"""


@pytest.fixture
def before(make_db):
    return make_db("before.db", BASE)


def test_added_removed_changed_unchanged_by_primary_key(make_db, before) -> None:
    after = make_db("after.db", """
        INSERT INTO users VALUES (51, 'new', 'n@x.org', NULL, 0), (52, 'new2', NULL, NULL, 0);
        DELETE FROM users WHERE id IN (1, 2, 3);
        UPDATE users SET name = 'renamed' WHERE id IN (10, 11);
        UPDATE users SET score = '20' WHERE id = 20;   -- same value, other storage class
        UPDATE tags SET weight = 9 WHERE name = 'b';
        INSERT INTO tags VALUES ('d', 4);
        INSERT INTO log VALUES ('z', 3);""", base=before)
    diff = row_diff(before, after, sample=2)
    users = diff.table("users")
    assert (users.added, users.removed, users.changed, users.unchanged) == (2, 3, 3, 44)
    assert users.key == ("id",) and users.changed_columns == {"name": 2, "email": 0, "legacy": 0, "score": 1}
    assert [r["id"] for r in users.samples["added"]] == [51, 52]
    assert [r["id"] for r in users.samples["removed"]] == [1, 2]
    assert users.samples["changed"][0] == {"key": {"id": 10}, "columns": ["name"], "before": {"name": "user10"},
                                           "after": {"name": "renamed"}}
    tags = diff.table("tags")
    assert (tags.key, tags.added, tags.changed, tags.unchanged) == (("name",), 1, 1, 2)
    log = diff.table("log")
    assert (log.key, log.added, log.unchanged) == (("rowid",), 1, 2)
    assert diff.table("gone").is_unchanged
    assert diff.summary["added"] == 4 and diff.summary["tables_changed"] == 3


def test_dropped_added_and_renamed_columns_compare_common_columns(make_db, before) -> None:
    after = make_db("after.db", """
        ALTER TABLE users DROP COLUMN legacy;
        ALTER TABLE users ADD COLUMN nickname TEXT;
        ALTER TABLE users RENAME COLUMN email TO mail;
        UPDATE users SET nickname = 'nick';
        UPDATE users SET mail = 'changed@x.org' WHERE id = 5;""", base=before)
    users = row_diff(before, after).table("users")
    assert users.columns_removed == ("legacy",) and users.columns_added == ("nickname",)
    assert users.columns_renamed == (("email", "mail"),)
    assert (users.changed, users.unchanged) == (1, 49)
    assert users.samples["changed"][0]["columns"] == ["mail"]
    assert "columns renamed: email -> mail [heuristic]" in users.to_text()


def test_table_rebuild_and_rename_and_drop(make_db, before) -> None:
    after = make_db("after.db", """
        PRAGMA legacy_alter_table = ON;
        CREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, score INTEGER);
        INSERT INTO new_users SELECT id, coalesce(name, ''), email, score FROM users WHERE id <= 40;
        DROP TABLE users;
        ALTER TABLE new_users RENAME TO users;
        ALTER TABLE log RENAME TO journal;
        DROP TABLE gone;
        CREATE TABLE fresh (id INTEGER PRIMARY KEY);
        INSERT INTO fresh VALUES (1);""", base=before)
    diff = row_diff(before, after)
    users = diff.table("users")
    assert (users.removed, users.changed, users.columns_removed) == (10, 0, ("legacy",))
    assert diff.schema.of(kind="table", action="rebuilt")[0].name == "users"
    journal = diff.table("journal")
    assert (journal.before_table, journal.status, journal.unchanged) == ("log", "compared", 2)
    assert diff.table("log") is journal
    assert (diff.table("gone").status, diff.table("gone").removed) == ("removed", 2)
    assert (diff.table("fresh").status, diff.table("fresh").added) == ("added", 1)
    data = json.loads(json.dumps(diff.to_dict()))
    assert set(data) >= {"tables", "schema", "summary"}
    assert data["tables"]["users"]["removed"] == 10 and data["tables"]["fresh"]["added"] == 1


def test_tables_filter_samples_bound_and_stream(make_db, before) -> None:
    after = make_db("after.db", "UPDATE users SET name = 'x';", base=before)
    diff = row_diff(before, after, tables=["users"], sample=3)
    assert [t.table for t in diff.tables] == ["users"]
    assert len(diff.table("users").samples["changed"]) == 3
    streamed = iter_row_changes(before, after, "users", "changed")
    assert next(streamed)["key"] == {"id": 1}
    assert sum(1 for _ in streamed) == 49
    assert len(row_diff(before, after, sample=0).table("users").samples) == 0
    frame = diff.samples_frame("users")
    assert list(frame.columns) == ["id", "name (before)", "name (after)"]
    with pytest.raises(LightnbError, match="unknown change kind"):
        list(iter_row_changes(before, after, "users", "moved"))


def test_blobs_are_json_ready_and_text_is_readable(make_db) -> None:
    before = make_db("b.db", "CREATE TABLE f (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO f VALUES (1, x'00ff');")
    after = make_db("a.db", "UPDATE f SET data = x'0102';", base=before)
    diff = row_diff(before, after)
    assert diff.to_dict()["tables"]["f"]["samples"]["changed"][0]["after"] == {"data": "x'0102'"}
    assert "~ id=1: data: x'00ff' -> x'0102'" in diff.to_text()


def test_missing_or_non_sqlite_files_are_one_line_errors(tmp_path, before) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        row_diff(tmp_path / "nope.db", before)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database " * 100)
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        row_diff(before, junk)


def test_text_omits_changed_columns_line_when_nothing_changed(tmp_path) -> None:
    import sqlite3

    from lightnb.inspect import row_diff
    for name in ("a.db", "b.db"):
        conn = sqlite3.connect(tmp_path / name)
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t (v) VALUES ('x')")
        conn.commit()
        conn.close()
    text = row_diff(tmp_path / "a.db", tmp_path / "b.db").to_text()
    assert "changed columns" not in text and "1 unchanged" in text
