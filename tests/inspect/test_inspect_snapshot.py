from __future__ import annotations

import sqlite3

from lightnb.inspect import take_snapshot

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '', name VARCHAR(20));
CREATE TABLE posts (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title TEXT,
  UNIQUE (user_id, title)
);
CREATE TABLE tags (name TEXT PRIMARY KEY, weight REAL) WITHOUT ROWID;
CREATE INDEX posts_title ON posts(title) WHERE title IS NOT NULL;
CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id;
CREATE TRIGGER posts_touch AFTER UPDATE ON posts BEGIN SELECT 1; END;
INSERT INTO users VALUES (1, 'a@x', 'ann'), (2, 'b@x', 'bob');
INSERT INTO posts VALUES (1, 1, 'hello'), (2, 1, NULL);
"""


def test_snapshot_captures_schema_counts_and_fingerprints(connect, make_db) -> None:
    snap = take_snapshot(connect(make_db("a.db", SCHEMA)), label="before")
    assert snap.label == "before"
    assert snap.table_names == ("posts", "tags", "users")
    users = snap.table("users")
    assert [(c.name, c.type, c.notnull, c.default, c.pk) for c in users.columns] == [
        ("id", "INTEGER", False, None, 1), ("email", "TEXT", True, "''", 0), ("name", "VARCHAR(20)", False, None, 0)]
    assert users.row_count == 2 and len(users.fingerprint) == 16
    posts = snap.table("posts")
    assert [(f.columns, f.ref_table, f.ref_columns, f.on_delete) for f in posts.foreign_keys] == [
        (("user_id",), "users", ("id",), "CASCADE")]
    indexes = {i.name: i for i in snap.indexes_of("posts")}
    assert indexes["posts_title"].partial and not indexes["posts_title"].unique
    auto = [i for i in indexes.values() if i.origin == "u"]
    assert auto[0].columns == ("user_id", "title") and auto[0].unique
    assert snap.table("tags").without_rowid and snap.table("tags").primary_key == ("name",)
    assert [t.name for t in snap.triggers] == ["posts_touch"] and snap.triggers[0].table == "posts"
    assert [v.name for v in snap.views] == ["user_posts"]
    frame = snap.to_frame()
    assert list(frame["table"]) == ["posts", "tags", "users"] and list(frame["rows"]) == [2, 0, 2]
    assert set(snap.columns_frame()["column"]) >= {"email", "user_id", "weight"}
    assert "users: 2 row(s)" in snap.to_text()


def test_fingerprint_ignores_row_order_and_layout_but_sees_any_value(connect, make_db) -> None:
    a = make_db("a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v, b BLOB, r REAL);"
                        "INSERT INTO t VALUES (1, 'x', x'00', 1.5), (2, NULL, NULL, 2.0), (3, '3', x'ff', NULL);")
    b = make_db("b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v, b BLOB, r REAL);"
                        "INSERT INTO t VALUES (3, '3', x'ff', NULL), (1, 'x', x'00', 1.5), (2, NULL, NULL, 2.0);"
                        "VACUUM;")
    fa = take_snapshot(connect(a)).table("t").fingerprint
    assert take_snapshot(connect(b)).table("t").fingerprint == fa
    for change in ("UPDATE t SET v = 'y' WHERE id = 1", "UPDATE t SET v = 3 WHERE id = 3",  # '3' -> 3
                   "UPDATE t SET r = NULL WHERE id = 2", "DELETE FROM t WHERE id = 2",
                   "UPDATE t SET id = 9 WHERE id = 1"):
        c = make_db(f"c{abs(hash(change))}.db", change, base=a)
        assert take_snapshot(connect(c)).table("t").fingerprint != fa, change


def test_fingerprint_is_the_same_in_another_process(connect, make_db) -> None:
    import subprocess
    import sys

    path = make_db("a.db", "CREATE TABLE t (a TEXT, b INT); INSERT INTO t VALUES ('x', 1), ('y', NULL);")
    here = take_snapshot(connect(path)).table("t").fingerprint
    code = ("import sqlite3, sys; from lightnb.inspect import take_snapshot; "
            "print(take_snapshot(sqlite3.connect(sys.argv[1])).table('t').fingerprint)")
    there = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert there == here


def test_snapshot_writes_nothing(connect, make_db) -> None:
    path = make_db("a.db", SCHEMA)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert take_snapshot(conn).table("users").row_count == 2
    finally:
        conn.close()
