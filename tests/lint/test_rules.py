"""Every lint rule: one SQL that fires it and one near-miss that must not."""

from __future__ import annotations

import sqlite3

import pytest

from lightnb.lint import LintConfig, lint_source, lint_sql, load_rules
from lightnb.lint.source import source_from_text

USERS = ("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT, "
         "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
         "CREATE UNIQUE INDEX users_email ON users (email);\n")

# rule id -> (fires: (up, down), near miss: (up, down)); every case runs after USERS.
CASES: dict[str, tuple[tuple[str, str | None], tuple[str, str | None]]] = {
    "timestamp-text": (
        ("CREATE TABLE events (id INTEGER PRIMARY KEY, happened_at TEXT DEFAULT CURRENT_TIMESTAMP);",
         "DROP TABLE events;"),
        ("CREATE TABLE events (id INTEGER PRIMARY KEY, happened_at INTEGER NOT NULL DEFAULT (unixepoch()));",
         "DROP TABLE events;")),
    "json-column": (
        ("ALTER TABLE users ADD COLUMN prefs JSON;", "ALTER TABLE users DROP COLUMN prefs;"),
        ("ALTER TABLE users ADD COLUMN prefs_json_version INTEGER;",
         "ALTER TABLE users DROP COLUMN prefs_json_version;")),
    "json-function": (
        ("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT CHECK (json_valid(body)));", "DROP TABLE docs;"),
        ("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT CHECK (length(body) < 1000));",
         "DROP TABLE docs;")),
    "down-missing": (
        ("CREATE TABLE tags (id INTEGER PRIMARY KEY);", None),
        ("CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;")),
    "down-empty": (
        ("CREATE TABLE tags (id INTEGER PRIMARY KEY);", "-- This file should undo anything in `up.sql`\n"),
        ("CREATE TABLE tags (id INTEGER PRIMARY KEY);", "-- undo\nDROP TABLE tags;\n")),
    "down-incomplete": (
        ("ALTER TABLE users ADD COLUMN bio TEXT;\nCREATE INDEX users_nick ON users (nick);",
         "DROP INDEX users_nick;"),
        ("ALTER TABLE users ADD COLUMN bio TEXT;\nCREATE INDEX users_nick ON users (nick);",
         "DROP INDEX users_nick;\nALTER TABLE users DROP COLUMN bio;")),
    "down-destroys": (
        ("-- nothing here", "ALTER TABLE users DROP COLUMN nick;"),
        ("ALTER TABLE users ADD COLUMN bio TEXT;", "ALTER TABLE users DROP COLUMN bio;")),
    "rebuild-drops-definition": (
        ("CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT, "
         "created_at TEXT NOT NULL);\nINSERT INTO users_new SELECT * FROM users;\nDROP TABLE users;\n"
         "ALTER TABLE users_new RENAME TO users;\nCREATE UNIQUE INDEX users_email ON users (email);", None),
        ("CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT, "
         "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\nINSERT INTO users_new SELECT * FROM users;\n"
         "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n"
         "CREATE UNIQUE INDEX users_email ON users (email);", None)),
    "sqlite-too-new": (
        ("UPDATE users SET nick = format('%s', email) WHERE nick IS NULL;", "SELECT 1;"),
        ("UPDATE users SET nick = printf('%s', email) WHERE nick IS NULL;", "SELECT 1;")),
    "secret-plaintext": (
        ("ALTER TABLE users ADD COLUMN api_token TEXT;", "ALTER TABLE users DROP COLUMN api_token;"),
        ("ALTER TABLE users ADD COLUMN encrypted_api_token TEXT;\nALTER TABLE users ADD COLUMN token_count INTEGER;",
         "ALTER TABLE users DROP COLUMN token_count;\nALTER TABLE users DROP COLUMN encrypted_api_token;")),
    "secret-literal": (
        ("UPDATE users SET nick = 'sk_live_51HxYzAbCdEf' WHERE id = 1;", "SELECT 1;"),
        ("UPDATE users SET nick = 'skipper' WHERE id = 1;", "SELECT 1;")),
    "alter-column": (
        ("ALTER TABLE users ALTER COLUMN nick TYPE VARCHAR(40);", "SELECT 1;"),
        ("ALTER TABLE users RENAME COLUMN nick TO nickname;", "ALTER TABLE users RENAME COLUMN nickname TO nick;")),
    "alter-constraint": (
        ("ALTER TABLE users ADD CONSTRAINT nick_unique UNIQUE (nick);", "SELECT 1;"),
        ("CREATE UNIQUE INDEX nick_unique ON users (nick);", "DROP INDEX nick_unique;")),
    "add-column-constraint": (
        ("ALTER TABLE users ADD COLUMN code TEXT UNIQUE;", "ALTER TABLE users DROP COLUMN code;"),
        ("ALTER TABLE users ADD COLUMN code TEXT;", "ALTER TABLE users DROP COLUMN code;")),
    "add-column-default": (
        ("ALTER TABLE users ADD COLUMN seen INTEGER DEFAULT (unixepoch());", "ALTER TABLE users DROP COLUMN seen;"),
        ("ALTER TABLE users ADD COLUMN seen INTEGER DEFAULT 0;", "ALTER TABLE users DROP COLUMN seen;")),
    "add-column-not-null": (
        ("ALTER TABLE users ADD COLUMN level INTEGER NOT NULL;", "ALTER TABLE users DROP COLUMN level;"),
        ("ALTER TABLE users ADD COLUMN level INTEGER NOT NULL DEFAULT 1;", "ALTER TABLE users DROP COLUMN level;")),
    "drop-column-constrained": (
        ("-- lightnb: allow-destructive\nALTER TABLE users DROP COLUMN email;", "SELECT 1;"),
        ("-- lightnb: allow-destructive\nALTER TABLE users DROP COLUMN nick;",
         "ALTER TABLE users ADD COLUMN nick TEXT;")),
    "fk-missing-target": (
        ("CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES people(id));\n"
         "CREATE INDEX posts_author ON posts (author);", "DROP TABLE posts;"),
        ("CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users(id));\n"
         "CREATE INDEX posts_author ON posts (author);", "DROP TABLE posts;")),
    "fk-unindexed": (
        ("CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users(id));", "DROP TABLE posts;"),
        ("CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users(id));\n"
         "CREATE INDEX posts_author ON posts (author);", "DROP TABLE posts;")),
    "destructive": (
        ("DELETE FROM users WHERE nick IS NULL;", "SELECT 1;"),
        ("UPDATE users SET nick = 'x' WHERE id = 1;", "SELECT 1;")),
    "non-transactional": (
        ("VACUUM;", "SELECT 1;"),
        ("PRAGMA foreign_key_check;", "SELECT 1;")),
    "sql-error": (
        ("CREATE INDEX users_missing ON users (no_such_column);", "DROP INDEX users_missing;"),
        ("CREATE INDEX users_nick ON users (nick);", "DROP INDEX users_nick;")),
    "sql-escape": (
        ("ATTACH DATABASE 'elsewhere.db' AS other;", "DETACH DATABASE other;"),
        ("ATTACH DATABASE ':memory:' AS scratch;", "DETACH DATABASE scratch;")),
    "sql-unparsed": (
        ("CREATE TABLE big (n UNSIGNED BIG INT);", "DROP TABLE big;"),
        ("CREATE TABLE big (n BIGINT);", "DROP TABLE big;")),
}

PROJECT_RULES = {"checksum-changed", "version-out-of-order", "version-duplicate"}  # tests/lint/test_hygiene.py


def rules_of(up: str, down: str | None, **kwargs) -> set[str]:
    return {f.rule for f in lint_sql(up, down, history=[USERS], **kwargs)}


def test_every_rule_has_a_case() -> None:
    assert set(load_rules()) == set(CASES) | PROJECT_RULES


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires(rule: str) -> None:
    (up, down), _ = CASES[rule]
    assert rule in rules_of(up, down)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_near_miss_does_not_fire(rule: str) -> None:
    _, (up, down) = CASES[rule]
    assert rule not in rules_of(up, down)


def test_disabled_rule_does_not_run() -> None:
    (up, down), _ = CASES["timestamp-text"]
    assert "timestamp-text" not in rules_of(up, down, config=LintConfig(disabled=frozenset({"timestamp-text"})))


def test_encryption_convention_is_configurable() -> None:
    up, down = "ALTER TABLE users ADD COLUMN api_token_sealed TEXT;", "ALTER TABLE users DROP COLUMN api_token_sealed;"
    assert "secret-plaintext" in rules_of(up, down)
    config = LintConfig(encrypted_suffixes=("_sealed",))
    assert "secret-plaintext" not in rules_of(up, down, config=config)


def test_rebuild_keeping_a_text_timestamp_is_not_flagged_again() -> None:
    up = ("CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT NOT NULL DEFAULT '',"
          " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
          "INSERT INTO users_new SELECT id, email, coalesce(nick, ''), created_at FROM users;\n"
          "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n"
          "CREATE UNIQUE INDEX users_email ON users (email);")
    down = ("CREATE TABLE users_old (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT,"
            " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
            "INSERT INTO users_old SELECT * FROM users;\nDROP TABLE users;\nALTER TABLE users_old RENAME TO users;\n"
            "CREATE UNIQUE INDEX users_email ON users (email);")
    assert rules_of(up, down) == set()  # a rebuild that keeps every column: nothing to report


def test_down_that_drops_another_table_is_incomplete() -> None:
    findings = lint_sql("CREATE TABLE calendar_connection (id INTEGER PRIMARY KEY);",
                        "DROP TABLE calendar_tokens;", history=[USERS])
    incomplete = [f for f in findings if f.rule == "down-incomplete"]
    assert [f.message for f in incomplete] == ["down.sql does not undo: CREATE TABLE calendar_connection"]
    assert any(f.rule == "sql-error" and f.file == "down.sql" for f in findings)


def test_findings_carry_statement_line_numbers() -> None:
    up = ("-- Your SQL goes here\n"
          "CREATE TABLE events (\n"
          "    id INTEGER PRIMARY KEY,\n"
          "    happened_at DATETIME\n"
          ");\n"
          "\n"
          "/* a comment; with a semicolon */\n"
          "ALTER TABLE users ADD COLUMN level INTEGER NOT NULL;\n"
          "VACUUM;\n")
    findings = lint_sql(up, "DROP TABLE events;\nALTER TABLE users DROP COLUMN level;", history=[USERS])
    lines = {f.rule: (f.file, f.line) for f in findings}
    assert lines["timestamp-text"] == ("up.sql", 4)  # the column's own line, not CREATE TABLE's
    assert lines["add-column-not-null"] == ("up.sql", 8)
    assert lines["non-transactional"] == ("up.sql", 9)


def test_limitation_fix_is_a_rebuild_that_runs() -> None:
    findings = lint_sql("ALTER TABLE users ALTER COLUMN nick SET NOT NULL;", "SELECT 1;", history=[USERS])
    (finding,) = [f for f in findings if f.rule == "alter-column"]
    up_sql = finding.fix.split("up.sql:\n", 1)[1].split("\n-- and down.sql:\n")[0]
    conn = sqlite3.connect(":memory:")
    conn.executescript(USERS + "INSERT INTO users (email, nick) VALUES ('a@x', 'a');")
    conn.executescript(up_sql)
    assert conn.execute("SELECT \"notnull\" FROM pragma_table_info('users') WHERE name = 'nick'").fetchone() == (1,)
    assert conn.execute("SELECT email, nick FROM users").fetchall() == [("a@x", "a")]


def test_destructive_is_measured_on_the_workspace_and_acknowledgeable() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript(USERS + "INSERT INTO users (email, nick) VALUES ('a', NULL), ('b', NULL), ('c', 'c');")
    source = source_from_text("DELETE FROM users WHERE nick IS NULL;", "SELECT 1;")
    (finding,) = [f for f in lint_source(source, history=[USERS], conn=conn) if f.rule == "destructive"]
    assert finding.severity == "error"
    assert finding.message == "DELETE from users (measured on the workspace copy: 2 row(s) of users deleted)"
    source = source_from_text("-- lightnb: allow-destructive\nDELETE FROM users WHERE nick IS NULL;", "SELECT 1;")
    (finding,) = [f for f in lint_source(source, history=[USERS], conn=conn) if f.rule == "destructive"]
    assert finding.severity == "info" and "2 row(s) of users deleted" in finding.message
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (3,)  # measured, then rolled back


def test_non_transactional_is_fine_outside_a_transaction() -> None:
    assert "non-transactional" not in rules_of("VACUUM;", "SELECT 1;", run_in_transaction=False)


def test_rename_old_then_recreate_is_a_rebuild_that_breaks_child_foreign_keys() -> None:
    history = [USERS, "CREATE TABLE otps (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));"]
    up = ("ALTER TABLE users RENAME TO users_old;\n"
          "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT, nick TEXT, created_at TEXT);\n"
          "INSERT INTO users SELECT * FROM users_old;\n"
          "DROP TABLE users_old;\n")
    down = ("ALTER TABLE users RENAME TO users_new;\n"
            "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT, created_at TEXT);\n"
            "INSERT INTO users SELECT * FROM users_new;\nDROP TABLE users_new;\n")
    findings = lint_sql(up, down, history=history)
    assert "down-incomplete" not in {f.rule for f in findings}
    (broken,) = [f for f in findings if f.rule == "fk-missing-target"]
    assert broken.line == 1 and "otps(user_id) references table users_old" in broken.message
