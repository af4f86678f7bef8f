"""Filters and previewed queries are checked by SQLite itself; none can reach a masked value."""

from __future__ import annotations

import pytest

from lightnb.cli import main
from lightnb.errors import LightnbError
from lightnb.inspect import MASK, preview
from lightnb.inspect.filters import check_query
from lightnb.inspect.redact import Redactor

HASH = "$2b$12$" + "Q" * 53
SCHEMA = f"""
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password_hash TEXT, settings TEXT, created_at INTEGER);
INSERT INTO users VALUES (1, 'ann', '{HASH}', '{{"token":"tok-SECRET-1","plan":"pro"}}', 1700000000),
                         (2, 'bob', 'plainhash-SECRET-2', '{{"plan":"free"}}', 1700000100),
                         (3, 'cy', NULL, NULL, 1700000200);
CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id INTEGER, token TEXT, device TEXT);
INSERT INTO sessions VALUES (1, 1, 'sess-SECRET-a', 'phone'), (2, 2, 'sess-SECRET-b', 'web');
CREATE VIEW people AS SELECT id, name, password_hash AS ph FROM users;
"""
SECRETS = ("SECRET", "QQQQ")


@pytest.fixture
def db(make_db):
    return make_db("f.db", SCHEMA)


@pytest.fixture
def conn(db, connect):
    return connect(db)


def _refused(conn, source, where=None, **kw) -> str:
    with pytest.raises(LightnbError) as caught:
        preview(conn, source, where=where, **kw)
    message = str(caught.value)
    assert not [s for s in SECRETS if s in message]
    return message


@pytest.mark.parametrize("where", [
    "$a(/*) UNION SELECT password_hash FROM users -- */",
    "$a(/*) OR 1 */ 1",
    "1) UNION SELECT password_hash FROM users WHERE (1",
    "1) UNION SELECT token FROM sessions --",
    "id IN (SELECT user_id FROM sessions WHERE token LIKE 's%')",
    "EXISTS (SELECT 1 FROM sessions)",
    "id IN (SELECT cid FROM pragma_table_info('users'))",
    "1) /*",
    "1) GROUP BY name HAVING (1",
    "1) ORDER BY name, (1",
    "1) ORDER BY password_hash, (1",
    "1; DROP TABLE users",
    "name = 'ann') --",
])
def test_filters_that_are_not_one_condition_are_refused(conn, where) -> None:
    _refused(conn, "users", where)
    for mode in ("head", "tail", "sample"):
        _refused(conn, "users", where, mode=mode)
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 3


@pytest.mark.parametrize("where", ["id = ?", "id = :id", "id = @id", "id = $id", "name = $a(1)", "id = ?1"])
def test_filters_with_parameters_are_refused(conn, where) -> None:
    assert "parameter" in _refused(conn, "users", where)


@pytest.mark.parametrize("where", [
    "password_hash LIKE '$2b%'", "substr(password_hash, 1, 1) = 'p'", "password_hash > 'm'",
    "length(password_hash) = 60", "password_hash IS NULL", "instr(password_hash, 'SECRET') > 0",
])
def test_filters_on_masked_columns_are_refused_unless_revealed(conn, where) -> None:
    assert "masked column" in _refused(conn, "users", where)
    preview(conn, "users", where=where, reveal=True)  # revealed: the values are shown anyway


@pytest.mark.parametrize("where", ["settings ->> '$.token' LIKE 'tok%'", "json_extract(settings, '$.plan') = 'pro'",
                                   "settings -> 'token' IS NOT NULL"])
def test_filters_looking_inside_json_are_refused_unless_revealed(conn, where) -> None:
    assert "JSON" in _refused(conn, "users", where)
    preview(conn, "users", where=where, reveal=True)


@pytest.mark.parametrize("where", ["sessions.token = 'x'", "main.sessions.id = 1", "nope = 1"])
def test_filters_read_only_the_previewed_table(conn, where) -> None:
    message = _refused(conn, "users", where)
    assert "no such column" in message and "not a single condition" in message


@pytest.mark.parametrize("where, ids", [
    ("id > 1", [2, 3]),
    ("name LIKE 'a%' OR name = 'cy'", [1, 3]),
    ("lower(name) IN ('ann', 'bob') AND created_at BETWEEN 1700000000 AND 1700000100", [1, 2]),
    ("rowid >= 2 -- a comment at the end is fine", [2, 3]),
    ("name = 'ann' /* and a closed comment */", [1]),
    ("id % 2 = 1", [1, 3]),
])
def test_plain_conditions_work_in_every_mode(conn, where, ids) -> None:
    assert preview(conn, "users", where=where).frame["id"].tolist() == ids
    assert preview(conn, "users", where=where, mode="tail").frame["id"].tolist() == ids
    assert preview(conn, "users", where=where, mode="sample").frame["id"].tolist() == ids


def test_filter_on_a_view_checks_the_view_columns(conn) -> None:
    assert preview(conn, "people", where="name = 'bob'").frame["id"].tolist() == [2]
    assert "masked column" in _refused(conn, "people", "ph LIKE 'p%'")
    assert "own WHERE" in _refused(conn, "SELECT id, name FROM users", "id > 1")


@pytest.mark.parametrize("query", [
    "SELECT id FROM users WHERE password_hash LIKE '$2b%'",
    "SELECT id FROM users WHERE substr(password_hash, 1, 1) = 'p'",
    "SELECT id FROM users ORDER BY password_hash",
    "SELECT count(*) AS n FROM users GROUP BY length(password_hash)",
    "SELECT u.id FROM users u JOIN sessions s ON s.user_id = u.id AND s.token LIKE 'sess-S%'",
    "SELECT id FROM users WHERE id IN (SELECT user_id FROM sessions WHERE token > 'sess-SECRET-a')",
    "SELECT id FROM users WHERE settings ->> '$.token' LIKE 'tok%'",
    "SELECT id FROM people WHERE ph LIKE 'p%'",
])
def test_queries_that_test_masked_values_are_refused_unless_revealed(conn, query) -> None:
    assert "masked column" in _refused(conn, query)
    preview(conn, query, reveal=True)


@pytest.mark.parametrize("query, expected", [
    ("SELECT count(*) AS n FROM users WHERE password_hash IS NULL", [1]),
    ("SELECT count(*) AS n FROM users WHERE password_hash IS NOT NULL AND (settings IS NOT NULL)", [2]),
    ("SELECT u.id AS n FROM users u JOIN sessions s ON s.user_id = u.id WHERE s.token = s.token ORDER BY u.id",
     [1, 2]),
])
def test_queries_may_test_nullness_and_join_masked_to_masked(conn, query, expected) -> None:
    assert preview(conn, query).frame["n"].tolist() == expected


@pytest.mark.parametrize("query", ["SELECT id FROM users WHERE id = ?", "SELECT :x AS a", "SELECT $a(1) AS a"])
def test_queries_with_parameters_are_refused(conn, query) -> None:
    message = _refused(conn, query)
    assert "parameter" in message or "neither a table" in message


def test_when_sqlite_reads_another_column_than_the_tracer_every_output_is_masked(conn) -> None:
    import sqlglot

    redactor = Redactor()
    seen_by_tracer = sqlglot.parse_one("SELECT id, name FROM users", read="sqlite")
    assert check_query(conn, seen_by_tracer, "SELECT id, name FROM users", redactor) is True
    assert check_query(conn, seen_by_tracer, "SELECT id, password_hash FROM users", redactor) is False


def test_cli_inspect_refuses_the_tcl_variable_injection(db, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["inspect", str(db), "--table", "users", "--where",
                 "$a(/*) UNION SELECT password_hash, 1, 1, 1, 1 FROM users -- */"])
    out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1
    assert not [s for s in SECRETS if s in out + err]


def test_cli_filter_on_masked_column_is_one_line_and_reveal_allows_it(db, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", str(db), "--table", "users", "--where", "password_hash LIKE 'p%'"]) == 1
    out, err = capsys.readouterr()
    assert "masked column" in err and err.count("\n") == 1 and not out
    assert main(["inspect", str(db), "--table", "users", "--where", "password_hash LIKE 'p%'", "--reveal"]) == 0
    assert "plainhash-SECRET-2" in capsys.readouterr().out
    assert main(["inspect", str(db), "--table", "users", "--where", "name = 'ann'"]) == 0
    out = capsys.readouterr().out
    assert "ann" in out and MASK in out and not [s for s in SECRETS if s in out]
