"""Secrets through derived data never reach an output; near misses stay visible.

A production database is planted with known secret values, reached by name (password_hash, api_key,
email, encrypted_notes), by lineage (a generated column, a full-text index and its shadow tables, a
trigger's copy, a view, a JSON path) and by value only (a phone number, an IP address, a Twilio SID and a
JSON document in columns whose names say nothing). Pending migrations move them further: a CREATE TABLE
… AS SELECT under another name, a renamed column, an INSERT … SELECT copy, a trigger added by the
migration, and a statement whose error message quotes a secret. Then every output is collected - diff
(text and JSON), inspect (summary, every table, JSON), previews and before/after previews, the row diff,
check's report with its lost rows, impact examples, lint, the error lines of the CLI, a panel's banner,
and a report exported from a notebook holding plain DataFrames, prints and errors - and the whole text
is searched for every planted value (and the tell-tale part of each).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from reliability_support import write_migration

from lightnb import runner
from lightnb.backends import sqlite
from lightnb.cli import main
from lightnb.inspect import compare_preview, impacts_text, measure_impact, preview, row_diff, take_snapshot
from lightnb.inspect.redact import Redactor
from lightnb.migrations import discover
from lightnb.project import Project

# Secret values, each with a tell-tale fragment that must not appear either.
API1, API2 = "sk_plant_7f3a9c_aaaa1111", "sk_plant_7f3a9c_bbbb2222"
HASH1, HASH2 = "pbkdf-plant-5e8d21-ann", "pbkdf-plant-5e8d21-bob"
MAIL1, MAIL2 = "ann.plant.9c4b@example.org", "bob.plant.9c4b@example.net"
NOTE1 = "encnote-plant-1d7e55"
PHONE1, PHONE2 = "+358 40 731 9902", "+14155550199"
IP1, IP2 = "203.0.113.77", "2001:db8::7f3a"
SID1 = "AC7f3a9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
TOKEN1 = "jsontok-plant-66b0c1"
PLANTED = (API1, API2, HASH1, HASH2, MAIL1, MAIL2, NOTE1, PHONE1, PHONE2, IP1, IP2, SID1, TOKEN1)
TELLTALES = ("7f3a9c", "5e8d21", "9c4b", "1d7e55", "731 9902", "5550199", "113.77", "db8::7f3a", "66b0c1")
# Near misses: times, versions, counts, ids and plain words that must stay visible somewhere.
VISIBLE = ("1700000123", "1700000456", "1.2.3.4", "ann-visible", "bob-visible", "pro-plan-visible")

BASE = """
CREATE TABLE users (
  id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, email TEXT, password_hash TEXT, api_key TEXT,
  contact TEXT, last_ip TEXT, provider_ref TEXT, settings TEXT, encrypted_notes TEXT, app_version TEXT,
  created_timestamp INTEGER NOT NULL, email_timestamp INTEGER,
  key_tail TEXT GENERATED ALWAYS AS (substr(api_key, 9)) VIRTUAL,
  auth_token TEXT GENERATED ALWAYS AS (settings ->> '$.auth.token') VIRTUAL);
CREATE VIRTUAL TABLE user_search USING fts5(name, email, contact);
CREATE TABLE audit (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL, note TEXT);
CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN
  INSERT INTO audit (user_id, note) VALUES (NEW.id, 'new key ' || NEW.api_key);
  INSERT INTO user_search (rowid, name, email, contact) VALUES (NEW.id, NEW.name, NEW.email, NEW.contact);
END;
CREATE VIEW user_contacts AS SELECT id, name, email AS addr, settings ->> '$.auth.token' AS t FROM users;
"""
# Production's rows, written by the app (never by a migration).
ROWS = f"""
INSERT INTO users (id, name, email, password_hash, api_key, contact, last_ip, provider_ref, settings,
                   encrypted_notes, app_version, created_timestamp, email_timestamp) VALUES
  (1, 'ann-visible', '{MAIL1}', '{HASH1}', '{API1}', '{PHONE1}', '{IP1}', '{SID1}',
   '{{"plan":"pro-plan-visible","auth":{{"token":"{TOKEN1}"}}}}', '{NOTE1}', '1.2.3.4', 1700000123, 1700000456),
  (2, 'bob-visible', '{MAIL2}', '{HASH2}', '{API2}', '{PHONE2}', '{IP2}', NULL,
   '{{"plan":"free"}}', NULL, '2.0.1', 1700000124, 1700000457);
"""

PENDING = {
    # CTAS under another name, then the original column dropped; a bad down leaves the copy behind.
    "2024-03-01-000000-0000_copy_keys": (
        "CREATE TABLE user_keys AS SELECT id, api_key AS k, contact AS reach, name FROM users;\n"
        "CREATE TABLE user_meta (id INTEGER PRIMARY KEY, blob TEXT);\n"
        "INSERT INTO user_meta SELECT id, settings FROM users;\n",
        "DELETE FROM user_keys WHERE id = 2;\nDROP TABLE user_meta;\n"),
    # A secret column renamed to a name that says nothing, and a trigger that copies into a new table.
    "2024-03-02-000000-0000_rename_hash": (
        "ALTER TABLE users RENAME COLUMN password_hash TO digest_v2;\n"
        "CREATE TABLE hash_log (id INTEGER PRIMARY KEY, value TEXT);\n"
        "CREATE TRIGGER log_hash AFTER UPDATE OF digest_v2 ON users BEGIN\n"
        "  INSERT INTO hash_log (value) VALUES (NEW.digest_v2);\nEND;\n"
        "UPDATE users SET digest_v2 = digest_v2 || '-rotated';\n",
        "DROP TRIGGER log_hash;\nDROP TABLE hash_log;\n"
        "ALTER TABLE users RENAME COLUMN digest_v2 TO password_hash;\n"),
}
BROKEN = ("2024-03-03-000000-0000_json_path",
          "UPDATE users SET name = json_extract(settings, api_key) WHERE id = 1;\n",
          "SELECT 1;\n")


def _leaks(text: str) -> list[str]:
    return [s for s in PLANTED + TELLTALES if s in text]


@pytest.fixture
def plant(tmp_path: Path):
    """A project whose production holds the planted secrets, with the pending migrations written."""
    root = tmp_path / "app"
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (root / "diesel.toml").write_text("[migrations_directory]\ndir = \"migrations\"\n", encoding="utf-8")
    write_migration(migrations, "2024-01-01-000000-0000_create_users", BASE, "DROP VIEW user_contacts;\n"
                    "DROP TRIGGER users_audit;\nDROP TABLE audit;\nDROP TABLE user_search;\nDROP TABLE users;\n")
    production = root / "production.db"
    conn = sqlite.connect(production)
    runner.run_pending(conn, discover(migrations))
    conn.executescript(ROWS)
    conn.close()
    for name, (up, down) in PENDING.items():
        write_migration(migrations, name, up, down)
    after = tmp_path / "after.db"
    source, target = sqlite3.connect(production), sqlite3.connect(after)
    source.backup(target)
    source.close()
    target.close()
    conn = sqlite.connect(after)
    runner.run_pending(conn, discover(migrations))
    conn.close()
    return root, production, after


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def _tables(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    finally:
        conn.close()


def test_the_planted_values_are_really_there(plant) -> None:
    _root, production, after = plant
    dump = "\n".join(sqlite3.connect(after).iterdump())
    assert all(s in dump for s in PLANTED)
    conn = sqlite3.connect(after)
    assert conn.execute("SELECT k FROM user_keys WHERE id = 1").fetchone()[0] == API1
    assert conn.execute("SELECT value FROM hash_log WHERE id = 1").fetchone()[0] == HASH1 + "-rotated"
    assert TOKEN1 in conn.execute("SELECT auth_token FROM users WHERE id = 1").fetchone()[0]


def test_diff_inspect_and_previews_show_no_planted_value(plant, capsys, tmp_path, monkeypatch) -> None:
    root, production, after = plant
    # In the project: its redaction settings, and its history (after.db alone no longer says that
    # digest_v2 was password_hash; the migrations do).
    monkeypatch.chdir(root)
    project = Redactor.for_project(Project.discover(root))
    outputs: list[str] = []
    for fmt in ("text", "json"):
        outputs.append(_cli(capsys, "diff", str(production), str(after), "--format", fmt, "--sample", "20")[1])
        outputs.append(_cli(capsys, "inspect", str(after), "--format", fmt)[1])
        for table in _tables(after):
            for mode in ("head", "tail", "sample"):
                code, out = _cli(capsys, "inspect", str(after), "--table", table, "--format", fmt, "--mode", mode)
                outputs.append(out)
    before_conn, after_conn = sqlite3.connect(production), sqlite3.connect(after)
    for table in _tables(after):
        outputs.append(preview(after_conn, table, n=50, redactor=project).to_text())
        if table in _tables(production) and table != "user_contacts":
            compared = compare_preview(before_conn, after_conn, table, n=50)  # the rename is seen here
            outputs += [compared.frame.to_string(), compared._repr_html_()]
    compared = compare_preview(before_conn, after_conn, "users", n=50,
                               column_renames={"password_hash": "digest_v2"})
    outputs += [compared.frame.to_string(), compared._repr_html_()]
    for query in ("SELECT * FROM user_contacts", "SELECT id, settings -> '$.auth' AS a FROM users",
                  "SELECT k AS x FROM user_keys UNION ALL SELECT value FROM hash_log",
                  "SELECT id, digest_v2 AS d FROM users"):
        outputs.append(preview(after_conn, query, redactor=project).to_text())
    diff = row_diff(production, after, sample=20)
    outputs += [diff.to_text(), json.dumps(diff.to_dict(), default=str)]
    outputs.append(take_snapshot(after_conn, shown_fingerprints=True, redactor=project).to_text())
    leaks = {text[:80]: _leaks(text) for text in outputs if _leaks(text)}
    assert leaks == {}
    everything = "\n".join(outputs)
    assert all(v in everything for v in VISIBLE), [v for v in VISIBLE if v not in everything]


def test_impact_examples_check_and_lint_show_no_planted_value(plant, capsys, tmp_path, monkeypatch) -> None:
    root, production, _after = plant
    write_migration(root / "migrations", *BROKEN)
    monkeypatch.chdir(tmp_path)
    outputs: list[str] = []
    for _name, (up, _down) in [*PENDING.items(), (BROKEN[0], (BROKEN[1], BROKEN[2]))]:
        impacts = measure_impact(production, up)
        outputs += [impacts_text(impacts), json.dumps([i.to_dict() for i in impacts], default=str)]
    assert any("JSON path error near" in text for text in outputs)
    for fmt in ("text", "json"):
        outputs.append(_cli(capsys, "check", "--project", str(root), "--database-url", str(production),
                            "--no-tests", "--format", fmt)[1])
        outputs.append(_cli(capsys, "lint", "--project", str(root), "--database-url", str(production),
                            "--format", fmt)[1])
    assert any("user_keys" in text for text in outputs)
    leaks = {text[:80]: _leaks(text) for text in outputs if _leaks(text)}
    assert leaks == {}


def test_error_lines_and_panels_mask_the_quoted_secret(plant, capsys, tmp_path, monkeypatch) -> None:
    root, production, after = plant
    write_migration(root / "migrations", *BROKEN)
    code, out = _cli(capsys, "migration", "run", "--project", str(root), "--database-url", str(after))
    assert code != 0 and "JSON path error" in out and _leaks(out) == []
    from lightnb.errors import SqlError
    from lightnb.ui.panel import StepPanel

    def fail() -> None:
        conn = sqlite3.connect(after)
        try:
            conn.execute("SELECT json_extract(settings, api_key) FROM users")
        except sqlite3.Error as error:
            raise SqlError(f"Failed to run {BROKEN[0]} with: {error}") from error

    panel = StepPanel("run", fail)
    assert panel.run() is None
    assert "JSON path error" in panel.banner.value and _leaks(panel.banner.value + panel.error_message) == []
    broken = StepPanel("run", lambda: (_ for _ in ()).throw(ValueError(f"bad row {{'email': '{MAIL1}'}}")))
    broken.run()
    assert _leaks(broken.banner.value) == []


def test_a_report_of_plain_outputs_shows_no_planted_value(plant, tmp_path, monkeypatch) -> None:
    import nbformat
    import pandas as pd

    from lightnb import report
    from lightnb.report import export

    monkeypatch.setattr(report, "widget_js", lambda **_: None, raising=False)  # offline: no npm fetch

    _root, production, after = plant
    conn = sqlite3.connect(after)
    users = pd.read_sql_query("SELECT * FROM users", conn)
    keys = pd.read_sql_query("SELECT * FROM user_keys", conn)
    cell = nbformat.v4.new_code_cell("users; keys")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", execution_count=1,
                               data={"text/html": users.to_html(), "text/plain": repr(users)}),
        nbformat.v4.new_output("display_data", data={"text/html": users.T.to_html(), "text/plain": repr(users.T)}),
        nbformat.v4.new_output("display_data", data={"text/plain": users.to_string()}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "| id | email | password_hash |\n|--|--|--|\n"
                                                                      f"| 1 | {MAIL1} | {HASH1} |"}),
        nbformat.v4.new_output("stream", name="stdout", text=f"row: {dict(users.iloc[0])}\n"),
        nbformat.v4.new_output("error", ename="OperationalError", evalue=f"JSON path error near '{API1}'",
                               traceback=[f"OperationalError: JSON path error near '{API1}'"]),
        nbformat.v4.new_output("display_data", data={"application/json": {"api_key": API1, "n": 1}}),
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Users"), cell])
    project = Redactor.for_project(Project.discover(_root))  # as `lightnb report` in the project does
    done = export(notebook, tmp_path / "report", name="r", redactor=project)
    for path in (done.html, done.markdown):
        text = path.read_text(encoding="utf-8")
        assert _leaks(text) == [], path.name
        assert "ann-visible" in text and "1700000456" in text and "1.2.3.4" in text
    assert keys["k"].tolist()[0] == API1  # the frame itself is not changed


def test_check_masks_a_column_renamed_by_an_applied_migration(tmp_path, capsys) -> None:
    root = tmp_path / "app"
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (root / "diesel.toml").write_text("[migrations_directory]\ndir = \"migrations\"\n", encoding="utf-8")
    write_migration(migrations, "2024-01-01-000000-0000_users",
                    "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, api_key TEXT, n INTEGER);\n",
                    "DROP TABLE users;\n")
    write_migration(migrations, "2024-01-02-000000-0000_rename", "ALTER TABLE users RENAME COLUMN api_key TO ref;\n",
                    "ALTER TABLE users RENAME COLUMN ref TO api_key;\n")
    production = root / "production.db"
    conn = sqlite.connect(production)
    runner.run_pending(conn, discover(migrations))
    conn.execute(f"INSERT INTO users VALUES (1, '{API1}', 1), (2, '{API2}', 2)")
    conn.commit()
    conn.close()
    # A pending migration whose down does not restore the rows: check shows how they differ.
    write_migration(migrations, "2024-01-03-000000-0000_bump", "UPDATE users SET ref = ref || '-v2', n = n + 1;\n",
                    "UPDATE users SET n = n - 1;\n")
    for fmt in ("text", "json"):
        code, out = _cli(capsys, "check", "--project", str(root), "--database-url", str(production), "--no-tests",
                         "--format", fmt)
        assert "differ" in out and _leaks(out) == [], out
