"""Precision corpus: migrations written in each common SQLite idiom, with their exact findings.

Each case is (history, up.sql, down.sql) and the complete set of (rule, file, message start) lint
must report — every other finding would be a false one, every missing one a missed defect.
"""

from __future__ import annotations

import sqlite3

import pytest

from lightnb.lint import lint_source, lint_sql, load_rules
from lightnb.lint.config import LintConfig
from lightnb.lint.source import source_from_text

USERS = ("CREATE TABLE users (\n    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    email TEXT NOT NULL UNIQUE,\n"
         "    iq INTEGER NOT NULL DEFAULT 500,\n    verified BOOLEAN NOT NULL DEFAULT false,\n    locality TEXT,\n"
         "    CHECK (iq >= 0)\n);\nCREATE INDEX users_locality ON users (locality);\n")
POSTS = ("CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users (id), "
         "body TEXT NOT NULL);\nCREATE INDEX posts_user ON posts (user_id);\n")
HISTORY = [USERS, POSTS]

REBUILD_KEEPING_ALL = """CREATE TABLE users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    iq INTEGER NOT NULL DEFAULT 500,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    locality TEXT NOT NULL DEFAULT '',
    CHECK (iq >= 0)
);
INSERT INTO users_new (id, email, iq, verified, locality)
SELECT id, email, iq, verified, COALESCE(locality, '') FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_locality ON users (locality);
"""

def UNDONE(table: str) -> tuple[str, str, str]:
    """The placeholder down.sql of the rebuild cases does not undo the rebuild: a true finding."""
    return ("down-incomplete", "up.sql", f"down.sql does not undo: the rebuild of table {table}")


CASES = {
    # The 12-step rebuild that keeps everything: no finding at all.
    "rebuild keeps every definition": (REBUILD_KEEPING_ALL, "SELECT 1;", {UNDONE("users")}),
    # The same rebuild written quickly: defaults, UNIQUE, CHECK, AUTOINCREMENT and the index left out.
    "rebuild loses definitions": (
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, iq INTEGER NOT NULL, "
        "verified BOOLEAN NOT NULL, locality TEXT);\nINSERT INTO users_new SELECT * FROM users;\n"
        "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;",
        "SELECT 1;",
        {("rebuild-drops-definition", "up.sql", "rebuild of users drops the DEFAULT 500 of iq, which is NOT NULL"),
         ("rebuild-drops-definition", "up.sql",
          "rebuild of users drops the DEFAULT false of verified, which is NOT NULL"),
         ("rebuild-drops-definition", "up.sql", "rebuild of users drops AUTOINCREMENT from id"),
         ("rebuild-drops-definition", "up.sql", "rebuild of users drops UNIQUE (email)"),
         ("rebuild-drops-definition", "up.sql", "rebuild of users drops CHECK (iq >= 0)"),
         ("rebuild-drops-definition", "up.sql", "rebuild of users drops index users_locality"), UNDONE("users")}),
    # Rename a column through a rebuild: a rename, not a loss.
    "rebuild renames a column": (
        REBUILD_KEEPING_ALL.replace("    iq INTEGER NOT NULL DEFAULT 500,", "    credits INTEGER NOT NULL DEFAULT 500,")
        .replace("CHECK (iq >= 0)", "CHECK (credits >= 0)").replace("(id, email, iq,", "(id, email, credits,"),
        "SELECT 1;",
        {("destructive", "up.sql", "rebuild of users renames column iq to credits (values copied"), UNDONE("users")}),
    # Convert two columns into one: converted, a warning, not "drops".
    "rebuild converts columns": (
        "CREATE TABLE posts_new (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users (id), "
        "summary TEXT NOT NULL);\nINSERT INTO posts_new (id, user_id, summary) SELECT id, user_id, "
        "substr(body, 1, 20) || '…' FROM posts;\nDROP TABLE posts;\nALTER TABLE posts_new RENAME TO posts;\n"
        "CREATE INDEX posts_user ON posts (user_id);",
        "SELECT 1;",
        {("destructive", "up.sql", "rebuild of posts converts column body into summary"), UNDONE("posts")}),
    # The rename-to-old variant of the rebuild rewrites foreign keys of other tables to users_old.
    "rebuild by renaming the old table away": (
        "ALTER TABLE users RENAME TO users_old;\n" + REBUILD_KEEPING_ALL.split(";\nINSERT")[0]
        .replace("users_new", "users") + ";\nINSERT INTO users SELECT * FROM users_old;\nDROP TABLE users_old;\n"
        "CREATE INDEX users_locality ON users (locality);",
        "SELECT 1;",
        {("fk-missing-target", "up.sql", "posts(user_id) references table users_old, which does not exist"),
         UNDONE("users")}),
    # Copy then drop a column (SQLite ≥ 3.35 DROP COLUMN): a destructive drop, acknowledged = info.
    "copy then drop a column, acknowledged": (
        "-- lightnb: allow-destructive\nALTER TABLE posts ADD COLUMN text TEXT;\nUPDATE posts SET text = body;\n"
        "ALTER TABLE posts DROP COLUMN body;",
        "ALTER TABLE posts ADD COLUMN body TEXT NOT NULL DEFAULT '';\nUPDATE posts SET body = text;\n"
        "ALTER TABLE posts DROP COLUMN text;",
        {("destructive", "up.sql", "DROP COLUMN posts.body")}),
    # Filling a column the migration just added, without WHERE: no earlier value is overwritten.
    "fill a new column": (
        "ALTER TABLE users ADD COLUMN timezone TEXT;\nUPDATE users SET timezone = 'UTC';",
        "ALTER TABLE users DROP COLUMN timezone;", set()),
    # Overwriting an existing column without WHERE is destructive.
    "overwrite an existing column": (
        "UPDATE users SET locality = 'fin';", "SELECT 1;",
        {("destructive", "up.sql", "UPDATE of every row of users (no WHERE)"),
         }),
    # A down.sql that drops a column up.sql did not add.
    "down drops an older column": (
        "-- nothing to do", "ALTER TABLE posts DROP COLUMN body;",
        {("down-destroys", "down.sql", "down.sql drops column posts.body, which existed before up.sql")}),
    # Add a column with an index and undo both, in order: clean.
    "add an indexed column": (
        "ALTER TABLE posts ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;\n"
        "CREATE INDEX posts_created ON posts (created_at);",
        "DROP INDEX posts_created;\nALTER TABLE posts DROP COLUMN created_at;", set()),
    # A timestamp stored as text, and a unixepoch() default newer than the supported SQLite.
    "timestamps": (
        "ALTER TABLE posts ADD COLUMN published_at TEXT;\n"
        "UPDATE posts SET published_at = unixepoch() WHERE id > 0;",
        "ALTER TABLE posts DROP COLUMN published_at;",
        {("timestamp-text", "up.sql", "posts.published_at is a timestamp declared TEXT"),
         ("sqlite-too-new", "up.sql", "unixepoch() needs SQLite 3.38.0")}),
    # A new child table with its key indexed: clean. Without the index: one warning.
    "new child table": (
        "CREATE TABLE likes (id INTEGER PRIMARY KEY NOT NULL, post_id INTEGER NOT NULL REFERENCES posts (id));\n"
        "CREATE INDEX likes_post ON likes (post_id);", "DROP TABLE likes;", set()),
    "new child table without index": (
        "CREATE TABLE likes (id INTEGER PRIMARY KEY NOT NULL, post_id INTEGER NOT NULL REFERENCES posts (id));",
        "DROP TABLE likes;",
        {("fk-unindexed", "up.sql", "likes(post_id) references posts but has no index")}),
    # A one-way data change with an empty down: flagged.
    "one-way data change": (
        "DELETE FROM posts WHERE body = '';", "-- This file should undo anything in `up.sql`",
        {("destructive", "up.sql", "DELETE from posts"),
         ("down-empty", "down.sql", "down.sql is only comments")}),
    # A broken down.sql: reported once (sql-error), not also as "could not parse".
    "broken down": (
        "ALTER TABLE users ADD COLUMN nick TEXT;", "ALTER TABLE users DROP COLUMN nick AS x;",
        {("sql-error", "down.sql", "SQLite rejects this statement after up.sql"),
         ("down-incomplete", "up.sql", "down.sql does not undo: ADD COLUMN users.nick")}),
}


def actual(up: str, down: str) -> set[tuple[str, str, str]]:
    return {(f.rule, f.file, f.message) for f in lint_sql(up, down, history=HISTORY)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_findings(name: str) -> None:
    up, down, expected = CASES[name]
    found = actual(up, down)
    unmatched = {e for e in expected if not any(f[:2] == e[:2] and f[2].startswith(e[2]) for f in found)}
    extra = {f for f in found if not any(f[:2] == e[:2] and f[2].startswith(e[2]) for e in expected)}
    assert not unmatched, f"missed: {unmatched}\nfound: {found}"
    assert not extra, f"false or unexpected findings: {extra}"


# Measured on a workspace copy holding rows: a DROP is judged by where its values are after the whole
# migration — moved or converted (every value found): info naming where; some lost: an error with the count.
ROWS = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) INSERT INTO users "
        "(id, email, iq, locality) SELECT i, 'u' || i || '@x', i, CASE WHEN i % 2 = 0 THEN 'city' || i END FROM n;\n"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) "
        "INSERT INTO posts SELECT i, 1 + i % 40, 'body ' || i FROM n;\n")

MEASURED = {
    "copy to another table, then drop": (
        "CREATE TABLE user_places (user_id INTEGER PRIMARY KEY NOT NULL, locality TEXT);\n"
        "INSERT INTO user_places SELECT id, locality FROM users;\n"
        "DROP INDEX users_locality;\nALTER TABLE users DROP COLUMN locality;",
        {("destructive", "info", "DROP COLUMN users.locality (measured on the workspace copy: 20 value(s) of "
          "users.locality moved to user_places.locality (20/20 values found))"),
         ("destructive", "error", "DROP INDEX users_locality")}),
    "copy some rows, then drop": (
        "CREATE TABLE user_places (user_id INTEGER PRIMARY KEY NOT NULL, locality TEXT);\n"
        "INSERT INTO user_places SELECT id, locality FROM users WHERE id <= 10;\n"
        "DROP INDEX users_locality;\nALTER TABLE users DROP COLUMN locality;",
        {("destructive", "error", "DROP COLUMN users.locality (measured on the workspace copy: 20 value(s) of "
          "users.locality moved to user_places.locality (5/20 values found); 15 non-null value(s) of "
          "users.locality lost"),
         ("destructive", "error", "DROP INDEX users_locality")}),
    # the text is gone: only its length is kept (this was said to keep every value, as "converted")
    "convert in place, then drop": (
        "ALTER TABLE posts ADD COLUMN chars INTEGER;\nUPDATE posts SET chars = length(body);\n"
        "ALTER TABLE posts DROP COLUMN body;",
        {("destructive", "error", "DROP COLUMN posts.body (measured on the workspace copy: 60 value(s) of "
          "posts.body converted into posts.chars (60/60 values found as LENGTH(body)); 60 non-null value(s) of "
          "posts.body lost in the conversion LENGTH(body): length gives many values the same result, and these it "
          "changed (0/60 kept))")}),
    "convert to its hex, then drop": (
        "ALTER TABLE posts ADD COLUMN body_hex TEXT;\nUPDATE posts SET body_hex = hex(body);\n"
        "ALTER TABLE posts DROP COLUMN body;",
        {("destructive", "info", "DROP COLUMN posts.body (measured on the workspace copy: 60 value(s) of "
          "posts.body converted into posts.body_hex (60/60 values found as HEX(body)))")}),
    "drop without a copy": (
        "DROP INDEX users_locality;\nALTER TABLE users DROP COLUMN locality;",
        {("destructive", "error", "DROP COLUMN users.locality (measured on the workspace copy: 20 non-null "
          "value(s) of users.locality lost (column dropped))"),
         ("destructive", "error", "DROP INDEX users_locality")}),
    "rebuild that leaves a column behind": (
        "CREATE TABLE posts_new (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users (id));\n"
        "INSERT INTO posts_new SELECT id, user_id FROM posts;\nDROP TABLE posts;\n"
        "ALTER TABLE posts_new RENAME TO posts;\nCREATE INDEX posts_user ON posts (user_id);",
        {("destructive", "error", "rebuild of posts drops column body (measured on the workspace copy: 60 "
          "non-null value(s) of posts.body lost")}),
}


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_measured_drops_say_where_the_values_are(name: str) -> None:
    up, expected = MEASURED[name]
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript("".join(HISTORY) + ROWS)
    only = LintConfig(disabled=frozenset(r for r in load_rules() if r != "destructive"))
    found = {(f.rule, f.severity, f.message) for f in lint_source(source_from_text(up, "SELECT 1;"),
                                                                   history=HISTORY, conn=conn, config=only)}
    unmatched = {e for e in expected if not any(f[:2] == e[:2] and f[2].startswith(e[2]) for f in found)}
    extra = {f for f in found if not any(f[:2] == e[:2] and f[2].startswith(e[2]) for e in expected)}
    assert not unmatched, f"missed: {unmatched}\nfound: {found}"
    assert not extra, f"false or unexpected findings: {extra}"
    if any(sev == "info" for _r, sev, _m in expected):
        assert not any(" lost" in m for _r, sev, m in found if sev == "info"), "'lost' only when lost"
