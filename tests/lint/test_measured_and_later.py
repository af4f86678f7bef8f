"""Destructive findings carry the inspect step's measured impact; fk-unindexed judges by the end of history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lightnb.lint import lint_project, lint_source
from lightnb.lint.source import source_from_text
from lightnb.samples import copy_sample_project

SCHEMA = ("CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, bio TEXT);\n"
          "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);\n"
          "CREATE INDEX posts_user ON posts (user_id);\n")
ROWS = ("INSERT INTO users VALUES (1, 'a@x', 'hi'), (2, 'b@x', NULL), (3, 'c@x', 'yo');"
        "INSERT INTO posts VALUES (1, 1), (2, 1), (3, 3);")


def workspace() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA + ROWS)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def destructive(up: str, conn: sqlite3.Connection | None) -> list[str]:
    source = source_from_text(up, "SELECT 1;")
    return [f.message for f in lint_source(source, history=[SCHEMA], conn=conn) if f.rule == "destructive"]


def test_each_statement_is_measured_after_the_ones_before_it() -> None:
    conn = workspace()
    up = ("DELETE FROM users WHERE id = 3;\n"
          "ALTER TABLE users DROP COLUMN bio;\n"
          "DELETE FROM users WHERE id = 1;\n")
    assert destructive(up, conn) == [
        "DELETE from users (measured on the workspace copy: 1 row(s) of users deleted; "
        "1 row(s) of posts deleted by ON DELETE CASCADE)",
        # the first DELETE already removed 'yo': one value is left to lose
        "DROP COLUMN users.bio (measured on the workspace copy: 1 non-null value(s) of users.bio lost "
        "(column dropped))",
        "DELETE from users (measured on the workspace copy: 1 row(s) of users deleted; "
        "2 row(s) of posts deleted by ON DELETE CASCADE)",
    ]
    assert conn.execute("SELECT count(*), count(bio) FROM users").fetchone() == (3, 2)  # rolled back


def test_a_rebuild_reports_the_values_it_does_not_copy() -> None:
    up = ("CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL);\n"
          "INSERT INTO users_new SELECT id, email FROM users;\n"
          "DROP TABLE users;\n"
          "ALTER TABLE users_new RENAME TO users;\n")
    (message,) = destructive(up, workspace())
    assert message == ("rebuild of users drops column bio (measured on the workspace copy: "
                       "2 non-null value(s) of users.bio lost (not copied into users_new))")


def test_nothing_lost_and_no_workspace() -> None:
    assert destructive("DROP INDEX posts_user;", workspace()) == [
        "DROP INDEX posts_user (measured on the workspace copy: no rows or values lost)"]
    assert destructive("DELETE FROM users WHERE id = 3;", None) == ["DELETE from users"]


def test_statements_after_transaction_control_are_not_run() -> None:
    conn = workspace()
    messages = destructive("COMMIT;\nDELETE FROM users;\n", conn)
    assert messages == ["DELETE from users without WHERE (not measured: an earlier statement does not run "
                        "on the workspace copy)"]
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (3,)


def _project(tmp_path: Path, ups: list[str]) -> Path:
    folder = tmp_path / "migrations"
    for number, up in enumerate(ups, 1):
        migration = folder / f"2024-01-0{number}-000000_step{number}"
        migration.mkdir(parents=True)
        (migration / "up.sql").write_text(up)
        (migration / "down.sql").write_text("SELECT 1;\n")
    return folder


def _fk_findings(folder: Path) -> list[tuple[str, str, str]]:
    return [(f.migration.split("_")[-1], f.severity, f.message) for f in lint_project(folder)
            if f.rule == "fk-unindexed"]


USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL);"
LOG = "CREATE TABLE log (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER REFERENCES users(id), at INTEGER);"


def test_an_index_added_by_a_later_migration_makes_it_info(tmp_path: Path) -> None:
    folder = _project(tmp_path, [USERS, LOG, "CREATE INDEX log_user_at ON log (user_id, at);"])
    assert _fk_findings(folder) == [
        ("step2", "info", "log(user_id) references users; its index only arrives later "
                          "(index log_user_at in 2024-01-03-000000_step3)")]


def test_an_index_that_does_not_lead_with_the_key_does_not_cover_it(tmp_path: Path) -> None:
    folder = _project(tmp_path, [USERS, LOG, "CREATE INDEX log_at_user ON log (at, user_id);"])
    assert _fk_findings(folder) == [("step2", "warning", "log(user_id) references users but has no index")]


def test_an_index_dropped_again_later_does_not_count(tmp_path: Path) -> None:
    folder = _project(tmp_path, [USERS, LOG, "CREATE INDEX log_user ON log (user_id);",
                                 "DROP INDEX log_user;"])
    assert [f[1] for f in _fk_findings(folder)] == ["warning"]


def test_the_leading_column_index_in_the_same_migration_covers_it(tmp_path: Path) -> None:
    folder = _project(tmp_path, [USERS, LOG + "\nCREATE INDEX log_user_at ON log (user_id, at);"])
    assert _fk_findings(folder) == []


def test_bundled_sample_message_log_is_not_a_warning(tmp_path: Path) -> None:
    project = copy_sample_project(tmp_path / "sample")
    findings = [f for f in lint_project(project / "migrations") if f.rule == "fk-unindexed"]
    assert [(f.severity, f.message.split(";")[0]) for f in findings] == [
        ("info", "message_log(user_id) references users")]
    assert "message_log_user_id_sent_at_idx" in findings[0].message


def _destructive_with_database(tmp_path: Path, ups: list[str]) -> list[str]:
    folder = _project(tmp_path, ups)
    database = tmp_path / "app.db"
    conn = sqlite3.connect(database)
    conn.executescript(SCHEMA + ROWS)
    conn.close()
    return [f.message for f in lint_project(folder, database=database) if f.rule == "destructive"]


def test_a_statement_after_a_pending_migration_that_fails_on_the_copy_says_it_was_not_measured(tmp_path: Path) -> None:
    """With a database, a destructive finding carries its measurement; one that cannot be reached says why."""
    assert _destructive_with_database(tmp_path, ["INSERT INTO no_such_table VALUES (1);",
                                                 "DELETE FROM users WHERE id = 3;"]) == [
        "DELETE from users (not measured: 2024-01-01-000000_step1, pending before it, does not run on the "
        "workspace copy)"]


def test_a_statement_after_a_pending_migration_that_runs_over_the_time_limit_says_so(tmp_path: Path) -> None:
    from lightnb import time_limit
    forever = ("CREATE TABLE t AS WITH RECURSIVE c(x) AS (SELECT id FROM users UNION ALL SELECT x + 1 FROM c) "
               "SELECT count(*) AS n FROM c;")
    with time_limit.limited(0.3):
        assert _destructive_with_database(tmp_path, [forever, "DELETE FROM users WHERE id = 3;"]) == [
            "DELETE from users (not measured: 2024-01-01-000000_step1, pending before it, ran over the time limit "
            "(0.3 s) on the workspace copy)"]


CAST_REBUILD = ("CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, bio INTEGER);\n"
                "INSERT INTO users_new SELECT id, email, CAST(bio AS INTEGER) FROM users;\n"
                "DROP TABLE users;\n"
                "ALTER TABLE users_new RENAME TO users;\n")


def test_a_column_carried_through_a_cast_is_judged_by_its_measurement_and_says_when_there_is_none(
        tmp_path: Path) -> None:
    """Measured, the CAST's losses are found ('hi' and 'yo' are not integers); when the migration cannot be reached
    on the copy, the finding says it was not measured instead of passing the CAST as kept."""
    measured = _destructive_with_database(tmp_path / "measured", [CAST_REBUILD])
    assert len(measured) == 1 and "2 non-null value(s) of users.bio lost" in measured[0], measured
    unreached = _destructive_with_database(tmp_path / "unreached", ["INSERT INTO no_such_table VALUES (1);",
                                                                    CAST_REBUILD])
    assert len(unreached) == 1 and unreached[0].endswith(
        "(not measured: 2024-01-01-000000_step1, pending before it, does not run on the workspace copy)"), unreached


def _severities(up: str, conn: sqlite3.Connection | None) -> list[tuple[str, str]]:
    source = source_from_text(up, "SELECT 1;")
    return [(f.severity, f.message) for f in lint_source(source, history=[SCHEMA], conn=conn)
            if f.rule == "destructive"]


def _rebuild(columns: str, select: str) -> str:
    return (f"CREATE TABLE users_new (id INTEGER PRIMARY KEY NOT NULL, email TEXT NOT NULL, {columns});\n"
            f"INSERT INTO users_new SELECT id, email, {select} FROM users;\n"
            "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n")


def test_without_a_database_a_conversion_the_types_say_is_lossy_is_a_warning_saying_it_was_not_measured() -> None:
    """Without a database nothing is measured: a CAST (or a copy into a column of another affinity) whose types alone
    say some values would change is a warning that says so and how to measure it; a widening one says nothing."""
    text_to_integer = _severities(CAST_REBUILD, None)  # bio TEXT cast to INTEGER: 'hi' would become 0
    assert text_to_integer == [("warning", "rebuild of users converts column bio with CAST(bio AS INTEGER) (not "
                                "measured: no database; text that is not a number's own text ('abc', '007', ' 5') "
                                "becomes another value under it: `lightnb lint --database PROD.db` measures which "
                                "values it keeps)")]
    stored = _severities(_rebuild("bio INTEGER", "bio"), None)  # stored in an INTEGER column, no CAST
    assert len(stored) == 1 and stored[0][0] == "warning" and "copies column bio into bio INTEGER (was TEXT)" in \
        stored[0][1] and "('007', '4.0') is stored as that number" in stored[0][1], stored
    assert _severities(_rebuild("bio TEXT", "CAST(bio AS TEXT)"), None) == []  # the same affinity
    assert _severities(_rebuild("bio BLOB", "CAST(bio AS BLOB)"), None) == []  # bytes of the text: read back
    acknowledged = _severities("-- lightnb: allow-destructive\n" + CAST_REBUILD, None)
    assert [s for s, _m in acknowledged] == ["info"]
    # measured, the measurement decides (and says nothing when every value reads back)
    conn = workspace()
    conn.execute("UPDATE users SET bio = '42' WHERE bio IS NOT NULL")
    assert _severities(CAST_REBUILD, conn) == []


def test_without_a_database_only_the_narrowing_cast_of_two_is_a_warning() -> None:
    schema = ("CREATE TABLE amounts (id INTEGER PRIMARY KEY NOT NULL, cents INTEGER NOT NULL, ratio REAL);\n")
    up = ("CREATE TABLE amounts_new (id INTEGER PRIMARY KEY NOT NULL, cents TEXT NOT NULL, ratio INTEGER);\n"
          "INSERT INTO amounts_new SELECT id, CAST(cents AS TEXT), CAST(ratio AS INTEGER) FROM amounts;\n"
          "DROP TABLE amounts;\nALTER TABLE amounts_new RENAME TO amounts;\n")
    found = [(f.severity, f.message) for f in lint_source(source_from_text(up, "SELECT 1;"), history=[schema])
             if f.rule == "destructive"]
    # integers as text read back; a REAL cast to INTEGER loses a fraction: only that one
    assert found == [("warning", "rebuild of amounts converts column ratio with CAST(ratio AS INTEGER) (not "
                      "measured: no database; a value with a fraction (4.5) loses it under it: `lightnb lint "
                      "--database PROD.db` measures which values it keeps)")]
