"""PostgreSQL statement splitting with PostgreSQL's own parser (pglast)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lightnb.backends.postgres.split import is_comment_only, split, syntax_error


def texts(sql: str) -> list[str]:
    return [s.text for s in split(sql)]


def test_statements_keep_their_exact_text_semicolon_and_line() -> None:
    sql = "-- Your SQL goes here\nCREATE TABLE a (x INTEGER);\n\nINSERT INTO a\n  VALUES (1) ;\n"
    statements = split(sql)
    assert [s.text for s in statements] == ["CREATE TABLE a (x INTEGER);", "INSERT INTO a\n  VALUES (1) ;"]
    assert [(s.line, s.end_line, s.index) for s in statements] == [(2, 2, 0), (4, 5, 1)]


def test_dollar_quoted_bodies_are_one_statement() -> None:
    sql = ("DO $$ BEGIN RAISE NOTICE 'a;b'; PERFORM 1; END $$;\n"
           "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  NEW.x := 1; -- ;\n  RETURN NEW;\nEND;\n"
           "$body$ LANGUAGE plpgsql;\n"
           "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $q$ SELECT $x$;$x$ $q$;")
    statements = split(sql)
    assert len(statements) == 3
    assert statements[0].text == "DO $$ BEGIN RAISE NOTICE 'a;b'; PERFORM 1; END $$;"
    assert statements[1].text.endswith("$body$ LANGUAGE plpgsql;") and statements[1].line == 2
    assert statements[1].end_line == 7
    assert statements[2].line == 8


def test_sql_standard_function_bodies_are_one_statement() -> None:
    sql = ("CREATE FUNCTION one() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN true "
           "THEN 1 END;\nEND;\nSELECT one();")
    assert texts(sql) == [sql.rsplit("\n", 1)[0], "SELECT one();"]


def test_strings_identifiers_and_comments_hide_semicolons() -> None:
    sql = ("CREATE TABLE \"a;b\" (x text DEFAULT ';', y text DEFAULT E'\\';'); /* one; /* nested; */ two; */\n"
           "INSERT INTO \"a;b\" (x) VALUES ('it''s; fine') -- trailing; comment\n;")
    statements = split(sql)
    assert len(statements) == 2
    assert statements[1].text == "INSERT INTO \"a;b\" (x) VALUES ('it''s; fine') -- trailing; comment\n;"
    assert statements[1].line == 2


def test_empty_statements_comments_and_last_statement_without_semicolon() -> None:
    assert texts(";;\nSELECT 1;;\n-- c\nSELECT 2\n-- done\n") == ["SELECT 1;", "SELECT 2"]
    assert is_comment_only("-- Your SQL goes here\n/* nothing; */\n;")
    assert not is_comment_only("-- x\nSELECT 1;")


def test_line_numbers_count_characters_not_bytes() -> None:
    statements = split("SELECT 'é日本';\nCREATE TABLE ü (x int);\nSELECT 'ß';")
    assert [s.text for s in statements] == ["SELECT 'é日本';", "CREATE TABLE ü (x int);", "SELECT 'ß';"]
    assert [s.line for s in statements] == [1, 2, 3]


def test_broken_script_still_splits_and_names_the_error_line() -> None:
    sql = "SELECT 1;\nSELEC 2; SELECT (1;2);\nCREATE TABLE t (a int,);\nSELECT 3"
    assert texts(sql) == ["SELECT 1;", "SELEC 2;", "SELECT (1;2);", "CREATE TABLE t (a int,);", "SELECT 3"]
    problem = syntax_error(sql)
    assert problem is not None and (problem.line, problem.column) == (2, 1)
    assert "SELEC" in problem.message
    assert syntax_error("SELECT 1; SELECT 'é' FROM;").column == 26  # characters, not bytes (27)


def test_unterminated_literal_runs_to_the_end() -> None:
    assert texts("SELECT 1;\nSELECT 'oops;\nmore") == ["SELECT 1;", "SELECT 'oops;\nmore"]
    assert texts("SELECT 1; DO $$ BEGIN") == ["SELECT 1;", "DO $$ BEGIN"]
    assert syntax_error("SELECT $$x").line == 1
    assert syntax_error("SELECT 1; SELECT 2;") is None


# ---- property: any script built from statements and separators splits back into them ---------------
_STATEMENTS = [
    "CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL DEFAULT ';')",
    "INSERT INTO users (name) VALUES ('a;b'), ($$c;d$$), (E'e\\';f')",
    "DO $$ BEGIN RAISE NOTICE ';'; END $$",
    "CREATE FUNCTION f() RETURNS trigger AS $fn$\nBEGIN\n  NEW.x := 1;\n  RETURN NEW;\nEND;\n$fn$ LANGUAGE plpgsql",
    "ALTER TABLE \"we;ird\" ADD COLUMN \"x\"\"y\" int",
    "CREATE INDEX CONCURRENTLY idx ON users (name)",
    "SELECT 1 /* inline; comment */ + 2",
    "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
    "COMMENT ON TABLE users IS 'Ünïcode; 日本'",
]
_SEPARATORS = st.sampled_from(["\n", " ", "\n\n", "\n-- note; here\n", " /* c; */ ", "\n/* a /* nested; */ b */\n",
                               "\t", ";\n"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_STATEMENTS), _SEPARATORS), min_size=1, max_size=8), _SEPARATORS,
       st.booleans())
def test_split_recovers_every_statement_with_its_line(parts: list[tuple[str, str]], lead: str,
                                                      last_semicolon: bool) -> None:
    script = lead
    expected = []
    for i, (statement, separator) in enumerate(parts):
        text = statement + (";" if last_semicolon or i < len(parts) - 1 else "")
        script_line = script.count("\n") + 1
        script += text + separator
        if not text.endswith(";") and separator.startswith(";"):  # the separator ends the last statement
            text += ";"
        expected.append((text, script_line))
    statements = split(script)
    assert [(s.text, s.line) for s in statements] == expected
    assert [s.index for s in statements] == list(range(len(expected)))
    assert all(s.end_line == s.line + s.text.count("\n") for s in statements)
    assert all(script[script.index(s.text):].startswith(s.text) for s in statements)
