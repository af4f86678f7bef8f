"""sqlite-too-new: SQL newer than [lint] sqlite_min_version is flagged, with a rewrite that runs."""

from __future__ import annotations

import sqlite3

import pytest

from lightnb.errors import ProjectError
from lightnb.lint import LintConfig, config_from_settings, lint_sql
from lightnb.lint.config import DEFAULT_SQLITE_MIN_VERSION
from lightnb.lint.rules.sqliteversion import FUNCTIONS

USERS = ("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT, prefs TEXT, "
         "seen_at INTEGER);\n")
RUNNING = tuple(int(p) for p in sqlite3.sqlite_version.split("."))


def too_new(up: str, down: str | None = None, minimum: str | None = None):
    config = config_from_settings({"lint": {"sqlite_min_version": minimum}} if minimum else {})
    return [f for f in lint_sql(up, down, history=[USERS], config=config) if f.rule == "sqlite-too-new"]


def test_default_is_ubuntu_2204_sqlite() -> None:
    assert DEFAULT_SQLITE_MIN_VERSION == (3, 37, 2) == LintConfig().sqlite_min_version


def test_unixepoch_is_flagged_out_of_the_box_with_a_rewrite_that_gives_the_same_value() -> None:
    (finding,) = too_new("UPDATE users SET seen_at = unixepoch() WHERE seen_at IS NULL;")
    assert finding.message.startswith("unixepoch() needs SQLite 3.38.0; the project supports SQLite 3.37.2")
    rewritten = finding.fix.split("\n", 1)[1]
    assert rewritten == "UPDATE users SET seen_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE seen_at IS NULL;"
    conn = sqlite3.connect(":memory:")
    for args in ("'2024-02-29 12:34:56'", "'2024-02-29', '+1 day'", "0, 'unixepoch'"):
        (original, portable), = conn.execute(
            f"SELECT unixepoch({args}), CAST(strftime('%s', {args}) AS INTEGER)").fetchall()
        assert original == portable


@pytest.mark.parametrize("sql", [
    "SELECT 'unixepoch()' FROM users;",               # a string
    "SELECT \"unixepoch\" FROM users;",               # a quoted identifier
    "SELECT id FROM users; -- unixepoch()",           # a comment
    "CREATE TABLE logs (id INTEGER PRIMARY KEY, format TEXT, concat TEXT);",  # columns named like functions
    "CREATE TABLE u (a TEXT UNIQUE ON CONFLICT REPLACE);",  # an old conflict clause, not UPSERT
    "SELECT printf('%d', 1), json_extract(prefs, '$.a') FROM users;",
])
def test_old_sql_and_names_in_strings_are_not_flagged(sql: str) -> None:
    assert too_new(sql, minimum="3.24") == []


@pytest.mark.parametrize("sql, feature, since", [
    ("SELECT format('%d', id) FROM users;", "format()", "3.38.0"),
    ("SELECT prefs ->> '$.theme' FROM users;", "the ->> operator", "3.38.0"),
    ("SELECT prefs -> '$.theme' FROM users;", "the -> operator", "3.38.0"),
    ("SELECT id FROM users WHERE nick IS DISTINCT FROM email;", "IS DISTINCT FROM", "3.39.0"),
    ("SELECT u.id FROM users u RIGHT JOIN users v ON u.id = v.id;", "RIGHT JOIN", "3.39.0"),
    ("SELECT string_agg(email, ',') FROM users;", "string_agg()", "3.44.0"),
    ("SELECT concat(email, nick) FROM users;", "concat()", "3.44.0"),
    ("SELECT octet_length(email) FROM users;", "octet_length()", "3.43.0"),
    ("SELECT group_concat(email ORDER BY email) FROM users;", "ORDER BY inside an aggregate's arguments", "3.44.0"),
    ("SELECT unhex('00') FROM users;", "unhex()", "3.41.0"),
    ("CREATE TRIGGER touch AFTER INSERT ON users BEGIN UPDATE users SET seen_at = unixepoch() "
     "WHERE id = NEW.id; END;", "unixepoch()", "3.38.0"),
])
def test_newer_features_are_flagged_at_the_default(sql: str, feature: str, since: str) -> None:
    found = too_new(sql)
    assert [f.message.split(" needs ")[0] for f in found] == [feature]
    assert f"needs SQLite {since};" in found[0].message


@pytest.mark.parametrize("sql, feature, minimum", [
    ("INSERT INTO users (email) VALUES ('a') RETURNING id;", "RETURNING", "3.34"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER) STRICT;", "a STRICT table", "3.36"),
    ("CREATE TABLE t (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) STORED);", "a generated column", "3.30"),
    ("INSERT INTO users (id, email) VALUES (1, 'a') ON CONFLICT(id) DO NOTHING;", "UPSERT (ON CONFLICT … DO)",
     "3.22"),
    ("SELECT row_number() OVER (ORDER BY id) FROM users;", "window function row_number()", "3.22"),
    ("SELECT count(*) FILTER (WHERE nick IS NULL) FROM users;", "FILTER on an aggregate", "3.29"),
    ("SELECT id FROM users ORDER BY nick NULLS LAST;", "NULLS LAST", "3.29"),
    ("SELECT iif(nick IS NULL, 0, 1) FROM users;", "iif()", "3.31"),
    ("UPDATE users SET nick = o.nick FROM users o WHERE o.id = users.id;", "UPDATE … FROM", "3.32"),
    ("ALTER TABLE users DROP COLUMN prefs;", "ALTER TABLE … DROP COLUMN", "3.34.1"),
    ("ALTER TABLE users RENAME COLUMN nick TO nickname;", "ALTER TABLE … RENAME COLUMN", "3.22"),
    ("SELECT sqrt(id) FROM users;", "sqrt()", "3.34"),
])
def test_older_minimums_flag_older_features(sql: str, feature: str, minimum: str) -> None:
    assert any(f.message.startswith(feature + " needs") for f in too_new(sql, minimum=minimum))
    assert not any(f.message.startswith(feature + " needs") for f in too_new(sql, minimum="3.50"))


@pytest.mark.parametrize("sql, minimum", [
    ("INSERT INTO users (email) VALUES ('a') RETURNING id;", "3.34"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER) STRICT;", "3.36"),
    ("ALTER TABLE users DROP COLUMN prefs;", "3.34.1"),
    ("ALTER TABLE users RENAME COLUMN nick TO nickname;", "3.22"),
    ("SELECT iif(nick IS NULL, 0, 1), format('%d', id), prefs ->> '$.a' FROM users "
     "WHERE nick IS NOT DISTINCT FROM email;", "3.31"),
])
def test_rewrites_run_and_hold_no_newer_feature(sql: str, minimum: str) -> None:
    found = too_new(sql, minimum=minimum)
    assert found and all(f.fix.startswith("replace the statement with:\n") for f in found), found
    rewritten = found[0].fix.split("\n", 1)[1]
    conn = sqlite3.connect(":memory:")
    conn.executescript(USERS)
    conn.executescript(rewritten)  # it runs here
    assert too_new(rewritten, minimum=minimum) == []  # and needs nothing newer than the minimum


def test_the_function_table_agrees_with_the_running_sqlite() -> None:
    names = {row[0] for row in sqlite3.connect(":memory:").execute("SELECT name FROM pragma_function_list")}
    for name, since in FUNCTIONS.items():
        assert (name in names) == (since <= RUNNING), (name, since, sqlite3.sqlite_version)


@pytest.mark.parametrize("value", ["3", "three", "2.9.0", 3.37, "3.x.1"])
def test_a_bad_minimum_is_a_clear_error(value: object) -> None:
    with pytest.raises(ProjectError, match="sqlite_min_version"):
        config_from_settings({"lint": {"sqlite_min_version": value}})
