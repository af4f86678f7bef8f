"""Suggested fixes are tried on a copy of the schema before they are shown, and shown in full."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

from lightnb.lint import lint_sql
from lightnb.lint.fixes import Patch, failure
from lightnb.lint.history import replay
from lightnb.lint.source import parse_script
from lightnb.render import html, text

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, nick TEXT);\n"


def image_after(*sql: str) -> bytes | None:
    return replay(list(sql), parse_script("", "up.sql"), None).image


def test_failure_reports_sqlites_error_and_none_when_the_sql_runs() -> None:
    image = image_after(USERS)
    assert failure(image, Patch("ALTER TABLE users ADD COLUMN bio TEXT;")) is None
    assert "duplicate column name: email" in failure(image, Patch("ALTER TABLE users ADD COLUMN email TEXT;"))
    assert "no such column: missing" in failure(image, Patch("CREATE INDEX i ON users (missing);"))
    # statements that run first and fail without the fix too are skipped, not blamed on it
    assert failure(image, Patch("SELECT 1;", before=("DROP TABLE nothing;",))) is None


def test_a_fix_that_fails_at_this_point_of_history_is_not_offered() -> None:
    up = "ALTER TABLE users ADD COLUMN code TEXT;\nCREATE INDEX users_code ON users (code);"
    found = [f for f in lint_sql(up, "SELECT 1;", history=[USERS]) if f.rule == "down-incomplete"]
    by_what = {f.message.split(": ", 1)[1]: f.fix for f in found}
    # Dropping the column while its index exists fails: that SQL is withheld, with SQLite's reason.
    column_fix = by_what["ADD COLUMN users.code"]
    assert "ALTER TABLE" not in column_fix.split("(")[0]
    assert "does not run at this point of history" in column_fix and "users_code" in column_fix
    assert by_what["CREATE INDEX users_code"] == 'add to down.sql: DROP INDEX IF EXISTS "users_code";'


def test_offered_fixes_run_on_the_history() -> None:
    history = [USERS, "CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users (id));"
                      "CREATE INDEX idx_posts_author ON posts (id);"]
    (unindexed,) = [f for f in lint_sql("CREATE TABLE likes (id INTEGER PRIMARY KEY, author INTEGER "
                                        "REFERENCES users (id));", "DROP TABLE likes;", history=history)
                    if f.rule == "fk-unindexed"]
    create = unindexed.fix.split(";")[0] + ";"
    conn = sqlite3.connect(":memory:")
    for sql in history:
        conn.executescript(sql)
    conn.executescript("CREATE TABLE likes (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users (id));")
    conn.executescript(create)


def test_a_multi_line_fix_prints_in_full_in_the_cli_and_the_panel() -> None:
    (finding,) = [f for f in lint_sql("ALTER TABLE users ADD COLUMN level INTEGER NOT NULL;",
                                      "ALTER TABLE users DROP COLUMN level;", history=[USERS])
                  if f.rule == "add-column-not-null"]
    lines = finding.fix.splitlines()
    assert len(lines) > 10 and any("INSERT INTO" in line for line in lines)
    printed = text.findings([finding])
    for line in lines:
        assert line.strip() in printed
    shown = html.findings([finding])
    assert '<pre class="lightnb-fix">' in shown
    assert html.escape(lines[-1].strip()) in shown
    one_line = SimpleNamespace(severity="warning", rule="r", location=lambda: "x", message="m", fix="do this")
    assert "<pre" not in html.findings([one_line])
