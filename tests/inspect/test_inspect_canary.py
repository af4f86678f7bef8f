"""A database with planted secrets goes through every inspect path; the secrets never show."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from lightnb.cli import main
from lightnb.inspect import (
    Redactor,
    compare_preview,
    impacts_frame,
    impacts_text,
    measure_impact,
    preview,
    row_diff,
    schema_diff,
    take_snapshot,
)

CANARY = "CANARY-SECRET-9f3a61d2"

SEEDED = f"""
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, password_hash TEXT, apiKey TEXT,
                    nickname TEXT, legacy_token TEXT);
CREATE TABLE api_keys (key TEXT PRIMARY KEY, owner INTEGER REFERENCES users(id));
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 30)
INSERT INTO users SELECT n, 'user' || n, '{CANARY}-mail' || n, '{CANARY}-pw' || n, '{CANARY}-api' || n,
                         '{CANARY}-nick' || n, '{CANARY}-tok' || n FROM i;
INSERT INTO api_keys VALUES ('{CANARY}-key1', 1), ('{CANARY}-key2', 2);
"""

MIGRATION = f"""
ALTER TABLE users DROP COLUMN legacy_token;
UPDATE users SET password_hash = '{CANARY}-newpw' WHERE id <= 5;
UPDATE users SET email = '{CANARY}-same' WHERE id <= 2;
DELETE FROM api_keys WHERE owner = 1;
CREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT, email TEXT UNIQUE, password_hash TEXT NOT NULL,
                        apiKey TEXT, nickname TEXT CHECK (nickname IS NULL));
INSERT INTO new_users SELECT * FROM users;
"""

SETTINGS = {"redact": {"columns": ["users.nickname"]}}


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n')
    (root / "lightnb.toml").write_text('[redact]\ncolumns = ["users.nickname"]\n')
    return root


@pytest.fixture
def pair(make_db):
    before = make_db("before.db", SEEDED)
    after = make_db("after.db", f"""
        ALTER TABLE users DROP COLUMN legacy_token;
        ALTER TABLE users RENAME COLUMN email TO email_address;
        UPDATE users SET password_hash = '{CANARY}-newpw' || id, nickname = '{CANARY}-nn' WHERE id <= 5;
        DELETE FROM users WHERE id = 30;
        INSERT INTO users VALUES (31, 'new', '{CANARY}-m31', '{CANARY}-p31', '{CANARY}-a31', '{CANARY}-n31');
        DELETE FROM api_keys WHERE owner = 1;
        INSERT INTO api_keys VALUES ('{CANARY}-key3', 3);""", base=before)
    return before, after


def _outputs(before, after, connect, reveal: bool) -> list[str]:
    redactor = Redactor.from_settings(SETTINGS)
    b, a = connect(before), connect(after)
    out: list[str] = []
    snaps = take_snapshot(b), take_snapshot(a)
    out += [s.to_text() for s in snaps] + [json.dumps(s.to_dict()) for s in snaps]
    out += [s.to_frame().to_string() + s.columns_frame().to_string() for s in snaps]
    sd = schema_diff(*snaps)
    out += [sd.to_text(), json.dumps(sd.to_dict()), sd.to_frame().to_string()]
    for table in ("users", "api_keys"):
        for mode in ("head", "tail", "sample"):
            p = preview(a, table, mode=mode, n=50, redactor=redactor, reveal=reveal)
            out += [p.to_text(), p._repr_html_(), p.frame.to_json()]
        cmp = compare_preview(b, a, table, n=50, redactor=redactor, reveal=reveal)
        out += [cmp.frame.to_string(), cmp._repr_html_(), cmp.styler.to_html()]
    q = preview(a, "SELECT id, nickname AS n, password_hash || '' AS h FROM users", redactor=redactor,
                reveal=reveal)
    out += [q.to_text(), q._repr_html_()]
    rd = row_diff(before, after, sample=50, redactor=redactor, reveal=reveal)
    out += [rd.to_text(), json.dumps(rd.to_dict()), rd.to_frame().to_string()]
    out += [rd.samples_frame("users", k).to_string() for k in ("added", "removed", "changed")]
    impacts = measure_impact(b, MIGRATION, redactor=redactor, reveal=reveal)
    assert {i.kind for i in impacts} >= {"values_lost", "rows_updated", "rows_deleted", "unique_violation",
                                         "check_violation"}
    out += [impacts_text(impacts), impacts_frame(impacts).to_string(),
            json.dumps([i.to_dict() for i in impacts])]
    return out


def test_canary_never_appears_by_default(pair, connect) -> None:
    leaks = [text for text in _outputs(*pair, connect, reveal=False) if CANARY in text]
    assert leaks == []


def test_canary_appears_only_when_revealed(pair, connect) -> None:
    assert any(CANARY in text for text in _outputs(*pair, connect, reveal=True))


def _state(path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_cli_diff_redacts_and_never_writes(pair, project, capsys, fmt) -> None:
    before, after = pair
    states = _state(before), _state(after)
    assert main(["diff", str(before), str(after), "--format", fmt, "--sample", "50",
                 "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert CANARY not in out and "[redacted]" in out
    assert (_state(before), _state(after)) == states
    assert not before.with_name("before.db-journal").exists() and not before.with_name("before.db-wal").exists()
    if fmt == "json":
        data = json.loads(out)
        users = data["tables"]["users"]
        assert (users["added"], users["removed"], users["changed"]) == (1, 1, 5)
        assert users["key"] == ["id"] and users["columns_removed"] == ["legacy_token"]
        assert set(data) >= {"tables", "schema", "summary"}


def test_cli_diff_reveal_is_explicit(pair, project, capsys) -> None:
    before, after = pair
    states = _state(before), _state(after)
    assert main(["diff", str(before), str(after), "--reveal", "--project", str(project)]) == 0
    captured = capsys.readouterr()
    assert CANARY in captured.out and "--reveal" in captured.err
    assert (_state(before), _state(after)) == states


def test_cli_inspect_redacts_and_never_writes(pair, project, capsys) -> None:
    _before, after = pair
    state = _state(after)
    assert main(["inspect", str(after), "--table", "users", "-n", "50", "--project", str(project)]) == 0
    assert main(["inspect", str(after), "--table", "api_keys", "--format", "json"]) == 0
    assert main(["inspect", str(after)]) == 0
    out = capsys.readouterr().out
    assert CANARY not in out and "users: 30 row(s)" in out
    assert _state(after) == state


def test_cli_diff_missing_file_is_one_line_error(tmp_path, pair, capsys) -> None:
    assert main(["diff", str(tmp_path / "nope.db"), str(pair[1])]) == 1
    err = capsys.readouterr().err
    assert "nope.db does not exist" in err and err.count("\n") == 1
