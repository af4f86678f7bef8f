"""Query previews mask every output column computed from a sensitive column, however it is reached."""

from __future__ import annotations

import pytest

from lightnb.cli import main
from lightnb.inspect import MASK, preview
from lightnb.inspect.lineage import sensitive_outputs
from lightnb.inspect.redact import Redactor

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, api_token TEXT, age INTEGER);
INSERT INTO users VALUES (1, 'ann', 'tok-AAA', 30), (2, 'bob', 'tok-BBB', NULL);
CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER, label TEXT);
INSERT INTO pets VALUES (1, 1, 'rex'), (2, 2, 'tom');
CREATE VIEW vw AS SELECT id, api_token AS x FROM users;
CREATE VIEW vw_named (ident, blurb) AS SELECT id, upper(api_token) FROM users;
CREATE VIEW vw_nested AS SELECT x AS y, id FROM vw;
CREATE VIEW vw_star AS SELECT * FROM users;
CREATE VIEW vw_plain AS SELECT id, name FROM users;
"""
SECRETS = ("tok-AAA", "tok-BBB", "TOK-AAA", "TOK-BBB")


@pytest.fixture
def db(make_db):
    return make_db("a.db", SCHEMA)


@pytest.fixture
def conn(db, connect):
    return connect(db)


def _shown(result) -> str:
    return result.to_text() + result._repr_html_()


def _assert_no_secret(result) -> None:
    text = _shown(result)
    assert not [s for s in SECRETS if s in text], text


@pytest.mark.parametrize("query", [
    "SELECT name FROM users UNION ALL SELECT api_token FROM users",
    "SELECT name FROM users UNION SELECT api_token FROM users",
    "SELECT api_token FROM users UNION SELECT name FROM users",
    "SELECT name FROM users INTERSECT SELECT api_token FROM users",
    "SELECT api_token FROM users EXCEPT SELECT name FROM users",
    "SELECT id, name FROM users UNION ALL SELECT id, api_token FROM users UNION ALL SELECT 9, 'z'",
    "SELECT name FROM users UNION ALL SELECT api_token FROM users ORDER BY 1 LIMIT 5",
    "SELECT * FROM (SELECT name FROM users UNION ALL SELECT api_token FROM users)",
])
def test_every_branch_of_a_set_operation_taints_its_position(conn, query) -> None:
    result = preview(conn, query)
    _assert_no_secret(result)
    assert result.frame.columns[-1] in result.redacted


def test_set_operation_taints_only_the_position_that_is_sensitive(conn) -> None:
    result = preview(conn, "SELECT id, name FROM users UNION ALL SELECT id, api_token FROM users")
    assert result.redacted == ("name",)
    assert sorted(result.frame["id"].tolist()) == [1, 1, 2, 2]


@pytest.mark.parametrize("query", [
    "SELECT * FROM vw", "vw", "VW", "SELECT x FROM vw", "SELECT v.x AS plain FROM vw AS v",
    "SELECT * FROM vw_named", "vw_named", "SELECT blurb FROM vw_named",
    "SELECT * FROM vw_nested", "SELECT y FROM vw_nested", "vw_star", "SELECT vw_star.* FROM vw_star",
    "SELECT * FROM main.vw",
])
def test_views_are_traced_to_their_tables(conn, query) -> None:
    result = preview(conn, query)
    _assert_no_secret(result)
    assert result.redacted


def test_view_previewed_by_name_keeps_its_clear_columns(conn) -> None:
    result = preview(conn, "vw")
    assert result.source == "vw" and "view vw" in result.note
    assert result.frame["id"].tolist() == [1, 2] and result.redacted == ("x",)
    assert preview(conn, "vw_plain").redacted == ()


@pytest.mark.parametrize("query", [
    "SELECT * FROM users",
    "SELECT u.* FROM users AS u",
    "SELECT p.label, u.* FROM pets AS p JOIN users AS u ON u.id = p.owner_id",
    "SELECT * FROM pets JOIN users USING (id)",
    "SELECT * FROM pets NATURAL JOIN users",
    "SELECT * FROM (SELECT * FROM users) AS s",
    "WITH c AS (SELECT * FROM users) SELECT * FROM c",
    "WITH c (a, b, c2, d) AS (SELECT * FROM users) SELECT b, c2 FROM c",
])
def test_star_expansion_masks_sensitive_columns_by_position(conn, query) -> None:
    result = preview(conn, query)
    _assert_no_secret(result)
    assert len(result.redacted) == 1
    assert "ann" in _shown(result)  # the other columns stay readable


@pytest.mark.parametrize("query", [
    "SELECT (SELECT api_token FROM users LIMIT 1) AS q",
    "SELECT id, (SELECT u2.api_token FROM users AS u2 WHERE u2.id = u.id) AS q FROM users AS u",
    "SELECT group_concat(api_token) AS summary FROM users",
    "SELECT substr(api_token, 1, 100) AS plain FROM users",
    "WITH RECURSIVE c (n, s) AS (SELECT 1, 'seed' UNION ALL "
    "SELECT n + 1, (SELECT api_token FROM users WHERE id = n) FROM c WHERE n < 3) SELECT * FROM c",
    "SELECT * FROM (VALUES ((SELECT api_token FROM users LIMIT 1)))",
])
def test_expressions_subqueries_and_ctes_carry_taint(conn, query) -> None:
    _assert_no_secret(preview(conn, query))


@pytest.mark.parametrize("query", [
    "SELECT value FROM json_each((SELECT json_group_array(api_token) FROM users))",
    "SELECT * FROM json_each((SELECT json_group_array(api_token) FROM users))",
])
def test_queries_that_cannot_be_traced_mask_every_column(conn, query) -> None:
    result = preview(conn, query)
    _assert_no_secret(result)
    assert set(result.redacted) == set(result.frame.columns)


@pytest.mark.parametrize("query", ["SELECT (", "DELETE FROM users", "SELECT 1; SELECT 2",
                                   "SELECT * FROM no_such_table", "SELECT 1 UNION SELECT 1, 2",
                                   "SELECT nope.* FROM users"])
def test_sensitive_outputs_fails_closed(conn, query) -> None:
    assert sensitive_outputs(conn, query, 2, Redactor()) == (True, True)


def test_width_mismatch_fails_closed(conn) -> None:
    assert sensitive_outputs(conn, "SELECT id, name FROM users", 3, Redactor()) == (True, True, True)


@pytest.mark.parametrize("query", [
    "SELECT id, name FROM users UNION SELECT id, label FROM pets",
    "SELECT * FROM vw_plain",
    "SELECT p.*, u.name FROM pets AS p JOIN users AS u ON u.id = p.owner_id",
    "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT n FROM c",
    "SELECT * FROM (VALUES (1, 'a'))",
    "SELECT rowid, name FROM users",
])
def test_clear_queries_are_not_masked(conn, query) -> None:
    assert preview(conn, query).redacted == ()


def test_exemptions_and_explicit_columns_follow_the_trace(conn) -> None:
    exempt = Redactor.from_settings({"redact": {"exempt": ["users.api_token"]}})
    assert preview(conn, "SELECT * FROM vw", redactor=exempt).redacted == ()
    explicit = Redactor.from_settings({"redact": {"columns": ["pets.label"]}})
    assert preview(conn, "SELECT name FROM users UNION ALL SELECT label FROM pets",
                   redactor=explicit).redacted == ("name",)


def test_reveal_still_shows_everything(conn) -> None:
    result = preview(conn, "SELECT name FROM users UNION ALL SELECT api_token FROM users", reveal=True)
    assert "tok-AAA" in result.frame["name"].tolist() and result.redacted == ()


@pytest.mark.parametrize("table", [
    "SELECT name FROM users UNION ALL SELECT api_token FROM users", "SELECT * FROM vw", "vw",
])
def test_cli_inspect_masks_union_and_view(db, tmp_path, monkeypatch, capsys, table) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", str(db), "--table", table]) == 0
    out = capsys.readouterr().out
    assert "tok-" not in out and MASK in out
