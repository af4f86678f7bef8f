"""Rules agree with SQLite, point at the line of the column they are about, and the config is checked."""

from __future__ import annotations

import argparse
import sqlite3

import pytest

from lightnb.cli import build_parser
from lightnb.errors import ProjectError
from lightnb.lint import config_from_settings, lint_sql, load_rules

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL);\n"

# Defaults SQLite 3.40 accepts for ADD COLUMN and ones it refuses as non-constant.
DEFAULTS = ["'en'", "('en')", "(('en'))", "-1", "+1", "(-1)", "(- -1)", "(-(1))", "NULL", "(NULL)", "1.5e3",
            "TRUE", "(FALSE)", "X'00'", "(X'00')", "0x10", "(-0x10)", "(CAST('7' AS INTEGER))", "(-'x')",
            "en", '"en"', "CURRENT_TIMESTAMP", "(CURRENT_TIMESTAMP)", "CURRENT_DATE", "CURRENT_TIME",
            "(1+1)", "(datetime('now'))", "(lower('A'))", "('a' || 'b')", "(NOT 1)", "(~1)",
            "('a' COLLATE NOCASE)", "(CAST(1+1 AS TEXT))", "(x)", '("en")', "(CASE WHEN 1 THEN 2 END)"]


def sqlite_outcome(sql: str) -> tuple[str, list[object]]:
    """Run ``sql`` on a one-row users table: (error message or '', the new column's values)."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(USERS + "INSERT INTO users (email) VALUES ('a@x');")
    try:
        conn.execute(sql)
    except sqlite3.Error as error:
        return str(error), []
    return "", [row[0] for row in conn.execute("SELECT x FROM users")]


def rules_for(sql: str) -> set[str]:
    return {f.rule for f in lint_sql(sql, "ALTER TABLE users DROP COLUMN x;", history=[USERS])}


@pytest.mark.parametrize("default", DEFAULTS)
def test_add_column_default_agrees_with_sqlite(default: str) -> None:
    sql = f"ALTER TABLE users ADD COLUMN x TEXT DEFAULT {default};"
    error, _ = sqlite_outcome(sql)
    refused = "non-constant default" in error or "is not constant" in error
    assert ("add-column-default" in rules_for(sql)) == refused, error


@pytest.mark.parametrize("default", ["NULL", "(NULL)", "((NULL))", "(-NULL)", "(CAST(NULL AS TEXT))",
                                     "'en'", "('en')", "(-1)", "en"])
def test_add_column_not_null_flags_exactly_the_null_defaults(default: str) -> None:
    sql = f"ALTER TABLE users ADD COLUMN x TEXT NOT NULL DEFAULT {default};"
    error, values = sqlite_outcome(sql)
    # SQLite refuses a plain NULL default, and lets (-NULL) or CAST(NULL …) put NULLs in a NOT NULL column.
    null_default = "default value NULL" in error or None in values
    assert ("add-column-not-null" in rules_for(sql)) == null_default


def test_the_reported_false_positive_is_gone() -> None:
    findings = lint_sql("ALTER TABLE users ADD COLUMN x TEXT NOT NULL DEFAULT ('en');",
                        "ALTER TABLE users DROP COLUMN x;", history=[USERS])
    assert findings == []


def test_down_sql_errors_are_reported_only_when_up_sql_applies() -> None:
    up_fails = lint_sql("INSERT INTO missing VALUES (1);", "DROP TABLE nothing_here;", history=[USERS])
    assert [(f.rule, f.file) for f in up_fails if f.rule == "sql-error"] == [("sql-error", "up.sql")]
    up_works = lint_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE nothing_here;",
                        history=[USERS])
    assert [(f.rule, f.file) for f in up_works if f.rule == "sql-error"] == [("sql-error", "down.sql")]


UP = ("-- Your SQL goes here\n"
      "CREATE TABLE things (id INTEGER PRIMARY KEY NOT NULL);\n"
      "\n"
      "\n"
      "CREATE TABLE audit (\n"                                  # line 5
      "    id INTEGER PRIMARY KEY NOT NULL,\n"
      "    happened_at DATETIME,\n"                             # line 7
      "    /* the payload; a document */\n"
      "    payload JSON,\n"                                     # line 9
      "    api_token TEXT,\n"                                   # line 10
      "    thing_id INTEGER REFERENCES things (id)\n"           # line 11
      ");\n"
      "ALTER TABLE users\n"                                     # line 13
      "  ADD COLUMN\n"
      "  created DATETIME DEFAULT CURRENT_TIMESTAMP;\n")        # line 15


def test_findings_about_a_column_point_at_its_line() -> None:
    findings = lint_sql(UP, "DROP TABLE audit;\nDROP TABLE things;\nALTER TABLE users DROP COLUMN created;",
                        history=[USERS])
    lines = {(f.rule, f.message.split(" ")[0]): f.line for f in findings}
    assert lines[("timestamp-text", "audit.happened_at")] == 7
    assert lines[("json-column", "audit.payload")] == 9
    assert lines[("secret-plaintext", "audit.api_token")] == 10
    assert lines[("fk-unindexed", "audit(thing_id)")] == 11
    assert lines[("timestamp-text", "users.created")] == 15
    assert lines[("add-column-default", "ADD")] == 15


def test_a_column_named_like_its_table_points_at_the_column() -> None:
    up = "CREATE TABLE stamp (\n    id INTEGER PRIMARY KEY,\n    stamp DATETIME\n);\n"
    (finding,) = [f for f in lint_sql(up, "DROP TABLE stamp;") if f.rule == "timestamp-text"]
    assert finding.line == 3


def test_unknown_rule_ids_and_keys_are_one_line_errors_with_a_suggestion() -> None:
    with pytest.raises(ProjectError) as caught:
        config_from_settings({"lint": {"disable": ["fk-unindexd"]}})
    message = str(caught.value)
    assert "\n" not in message
    assert "'fk-unindexd'" in message and "did you mean 'fk-unindexed'?" in message
    assert all(rule in message for rule in load_rules())
    with pytest.raises(ProjectError, match=r"severity.*'timestamp-txt'.*did you mean 'timestamp-text'"):
        config_from_settings({"lint": {"severity": {"timestamp-txt": "warning"}}})
    with pytest.raises(ProjectError, match=r"unknown key 'disabled' in \[lint\] \(did you mean 'disable'\?\)"):
        config_from_settings({"lint": {"disabled": ["fk-unindexed"]}})
    with pytest.raises(ProjectError, match=r"unknown key 'word' in \[lint.secrets\] \(did you mean 'words'\?\)"):
        config_from_settings({"lint": {"secrets": {"word": ["pin"]}}})
    assert config_from_settings({"lint": {"disable": ["fk-unindexed"]}}).disabled == {"fk-unindexed"}


def test_lint_help_lists_every_rule_with_its_summary() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = subparsers.choices["lint"].format_help()
    for rule in load_rules().values():
        assert f"  {rule.id} " in text and rule.summary in text
