"""The table rebuild: up.sql then down.sql on a populated database keep rows, indexes and triggers."""

from __future__ import annotations

import sqlite3

import pytest

from lightnb.backends.sqlite import script as sqlscript
from lightnb.checks import _normalized
from lightnb.errors import MigrationError
from lightnb.lint.rebuild import Changes, Column, ForeignKey, plan_rebuild

SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL COLLATE NOCASE,
    age TEXT,
    nick TEXT CHECK (length(nick) < 20),
    team_id INTEGER,
    UNIQUE (email)
);
CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    title TEXT);
CREATE INDEX posts_user ON posts (user_id);
CREATE INDEX users_age ON users (age);
CREATE TRIGGER users_touch AFTER UPDATE OF email ON users BEGIN
    UPDATE users SET nick = nick WHERE id = new.id AND age IS NOT NULL;
END;
CREATE VIEW adults AS SELECT email, age FROM users WHERE age >= '18';
INSERT INTO teams VALUES (1, 'core'), (2, 'ops');
INSERT INTO users (email, age, nick, team_id) VALUES
    ('a@x', '31', 'ann', 1), ('b@x', NULL, NULL, 2), ('c@x', '17', 'cy', NULL);
INSERT INTO posts VALUES (1, 1, 'hello'), (2, 1, 'again'), (3, 3, 'yo');
"""

CHANGES = {
    "type": (Changes(types={"age": "INTEGER"}), {}),
    "nullability": (Changes(not_null={"email": False}), {}),
    "default": (Changes(defaults={"nick": "'anon'"}), {}),
    "drop column": (Changes(drop=("age",)), {"age"}),
    "rename column": (Changes(rename={"age": "years"}), {}),
    "add unique": (Changes(add_unique=(("nick",),)), {}),
    "add check": (Changes(add_checks=("length(email) > 2",)), {}),
    "add foreign key": (Changes(add_foreign_keys=(ForeignKey(("team_id",), "teams", ("id",)),)), {}),
    "add column not null": (Changes(add=(Column("level", "INTEGER", True),), fill={"level": "1"}), {}),
}


def database() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    return conn


def run(conn: sqlite3.Connection, sql: str) -> None:
    """Run a migration file as diesel does: one transaction, statement by statement."""
    conn.execute("BEGIN")
    for statement in sqlscript.split(sql):
        conn.execute(statement.text)
    conn.execute("COMMIT")


def schema(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")
    return {name: _normalized(sql) for name, sql in rows}


def rows(conn: sqlite3.Connection, table: str, columns: str = "*") -> list[tuple]:
    return conn.execute(f"SELECT {columns} FROM {table} ORDER BY rowid").fetchall()


@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_rebuild_up_then_down_preserves_data(kind: str) -> None:
    changes, lost = CHANGES[kind]
    conn = database()
    original_schema, original_users, original_posts = schema(conn), rows(conn, "users"), rows(conn, "posts")
    plan = plan_rebuild(conn, "users", changes)

    run(conn, plan.up_sql)
    assert len(rows(conn, "users")) == len(original_users)
    kept = [c for c in ("id", "email", "team_id") if c not in lost]
    names = ("id", "email", "age", "nick", "team_id")
    assert rows(conn, "users", ", ".join(kept)) == [tuple(r[i] for i in (0, 1, 4) if names[i] in kept)
                                                    for r in original_users]
    assert rows(conn, "posts") == original_posts
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"posts_user", "users_touch", "adults"} <= names
    assert ("users_age" in names) == ("age" not in lost)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not any(n.startswith("_lightnb_new_") for n in names)

    run(conn, plan.down_sql)
    assert schema(conn) == original_schema
    restored = rows(conn, "users")
    if lost:
        assert [r[:2] + r[3:] for r in restored] == [r[:2] + r[3:] for r in original_users]
        assert [r[2] for r in restored] == [None, None, None]  # dropped values cannot come back
    else:
        assert restored == original_users
    assert rows(conn, "posts") == original_posts
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_rebuild_applies_the_change() -> None:
    conn = database()
    run(conn, plan_rebuild(conn, "users", Changes(types={"age": "INTEGER"}, rename={"nick": "handle"})).up_sql)
    info = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(users)")}
    assert info["age"] == "INTEGER" and "handle" in info and "nick" not in info
    assert rows(conn, "users", "age") == [(31,), (None,), (17,)]  # INTEGER affinity converted the text
    trigger = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'users_touch'").fetchone()[0]
    assert trigger.count('"handle"') == 2 and "nick" not in trigger


def test_making_a_column_not_null_fills_its_nulls() -> None:
    conn = database()
    run(conn, plan_rebuild(conn, "users", Changes(not_null={"nick": True}, fill={"nick": "''"})).up_sql)
    assert rows(conn, "users", "nick") == [("ann",), ("",), ("cy",)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO users (email, nick) VALUES ('d@x', NULL)")


def test_rebuild_sql_snapshot() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript("CREATE TABLE tags (id INTEGER PRIMARY KEY NOT NULL, label TEXT, seen TEXT);"
                       "CREATE INDEX tags_label ON tags (label);")
    plan = plan_rebuild(conn, "tags", Changes(types={"seen": "INTEGER"}, not_null={"label": True},
                                              fill={"label": "''"}))
    assert plan.up_sql == '''\
-- Rebuild table tags (SQLite's 12-step procedure: https://sqlite.org/lang_altertable.html)
--   type of seen -> INTEGER
--   label NOT NULL
-- diesel runs this with foreign_keys OFF; with them ON, ON DELETE actions of child
-- tables would fire on the DROP below.

CREATE TABLE "_lightnb_new_tags" (
    "id" INTEGER PRIMARY KEY NOT NULL,
    "label" TEXT NOT NULL,
    "seen" INTEGER
);
INSERT INTO "_lightnb_new_tags" ("id", "label", "seen")
    SELECT "id", COALESCE("label", ''), "seen" FROM "tags";
DROP TABLE "tags";
ALTER TABLE "_lightnb_new_tags" RENAME TO "tags";
CREATE INDEX tags_label ON tags (label);
PRAGMA foreign_key_check("tags");
'''
    assert 'CREATE TABLE "_lightnb_new_tags" (id INTEGER PRIMARY KEY NOT NULL, label TEXT, seen TEXT);' in plan.down_sql


def test_rowid_tables_keep_their_rowids() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('a'), ('b'), ('c');"
                       "DELETE FROM notes WHERE body = 'a';")
    run(conn, plan_rebuild(conn, "notes", Changes(not_null={"body": True})).up_sql)
    assert conn.execute("SELECT rowid, body FROM notes").fetchall() == [(2, "b"), (3, "c")]


def test_unknown_table_or_column_is_a_clear_error() -> None:
    conn = database()
    with pytest.raises(MigrationError, match="Table 'nope' does not exist"):
        plan_rebuild(conn, "nope", Changes())
    with pytest.raises(MigrationError, match="Column 'agee' does not exist in table 'users'"):
        plan_rebuild(conn, "users", Changes(drop=("agee",)))
