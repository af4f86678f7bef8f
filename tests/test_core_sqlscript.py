import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from lightnb.backends.sqlite.script import is_comment_only, split


def texts(sql: str) -> list[str]:
    return [s.text for s in split(sql)]


def test_splits_statements_and_tracks_lines() -> None:
    sql = "-- Your SQL goes here\nCREATE TABLE a (x INTEGER);\n\nINSERT INTO a VALUES (1);\n"
    statements = split(sql)
    assert [s.text for s in statements] == ["CREATE TABLE a (x INTEGER);", "INSERT INTO a VALUES (1);"]
    assert [s.line for s in statements] == [2, 4]
    assert [s.index for s in statements] == [0, 1]


def test_semicolons_inside_strings_identifiers_and_comments_do_not_split() -> None:
    sql = ("CREATE TABLE \"a;b\" (x TEXT DEFAULT ';', `c;d` TEXT, [e;f] TEXT); -- one; two\n"
           "/* block; comment */ INSERT INTO \"a;b\" (x) VALUES ('it''s; fine');")
    assert len(split(sql)) == 2
    assert split(sql)[1].text.startswith("INSERT")
    assert split(sql)[1].line == 2


def test_trigger_body_stays_one_statement() -> None:
    sql = ("CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\n  DELETE FROM b;\nEND;\n"
           "SELECT 1;")
    statements = split(sql)
    assert len(statements) == 2
    assert statements[0].text.endswith("END;")
    assert statements[0].end_line == 4
    assert statements[1].line == 5


def test_last_statement_without_semicolon_and_empty_pieces() -> None:
    assert texts(";;\nSELECT 1;;\nSELECT 2") == ["SELECT 1;", "SELECT 2"]


def test_comment_only_script_has_no_statement() -> None:
    assert is_comment_only("-- Your SQL goes here\n/* nothing */\n")
    assert not is_comment_only("-- x\nSELECT 1;")


def test_unterminated_string_is_kept_for_sqlite_to_reject() -> None:
    assert texts("SELECT 'oops;\n") == ["SELECT 'oops;"]


# --- properties: one pass over SQLite's own rules -------------------------------------------------------


# Fragments that exercise every rule of SQLite's sqlite3_complete: quotes of four kinds (closed and
# not), both comment styles, keywords that change the state machine, trigger bodies with CASE … END.
FRAGMENTS = ["SELECT 1", "CREATE", "TEMP", "TEMPORARY", "TRIGGER", "EXPLAIN", "BEGIN", "END", "CASE", "WHEN",
             "create", "Trigger", "end", "x", "t", "1", ";", ";;", " ", "\n", "\t", "\r\n", "'a;b'", "''", "'",
             '"q;"', '"', "`b;`", "`", "[s;]", "[", "]", "-- c;\n", "--", "-", "/* c; */", "/*", "*/", "/",
             "é", "$v", "_end", "endx", "CREATE TRIGGER g AFTER INSERT ON t BEGIN", "INSERT INTO t VALUES(1);",
             "CASE WHEN 1 THEN 2 END", "END;", "\x0b"]
# NUL is left out: sqlite3.complete_statement cannot take it, and the runner refuses it before splitting.
scripts = (st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
           | st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=60))


def reference_split(sql: str) -> list[tuple[str, int]]:
    """What split() must return: cut at each ';' where SQLite says the text so far is complete.

    Quadratic (it re-reads the statement at every ';'), which is why split() does not work this way.
    """
    out, start = [], 0
    for end, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start:end + 1]):
            out.append((start, end + 1))
            start = end + 1
    out.append((start, len(sql)))
    kept = []
    for begin, end in out:
        piece = sql[begin:end]
        stripped = _strip_leading_comments(piece)
        text = stripped.rstrip()
        if text and text != ";":
            kept.append((text, begin + len(piece) - len(stripped)))
    return kept


def _strip_leading_comments(piece: str) -> str:
    while True:
        trimmed = piece.lstrip(" \t\n\f\r")
        if trimmed.startswith("--"):
            newline = trimmed.find("\n")
            piece = "" if newline < 0 else trimmed[newline + 1:]
        elif trimmed.startswith("/*"):
            close = trimmed.find("*/", 2)
            piece = "" if close < 0 else trimmed[close + 2:]
        else:
            return trimmed


@settings(max_examples=600, deadline=None)
@given(scripts)
def test_split_equals_sqlite_complete_statement_at_every_semicolon(sql):
    statements = split(sql)
    assert [(s.text, s.start) for s in statements] == reference_split(sql)


@settings(max_examples=600, deadline=None)
@given(scripts)
def test_split_statements_rejoin_to_the_script(sql):
    statements = split(sql)
    rebuilt, position = [], 0
    for index, statement in enumerate(statements):
        gap = sql[position:statement.start]
        assert not split(gap), f"the text between statements holds a statement: {gap!r}"
        assert sql[statement.start:statement.end] == statement.text
        assert statement.index == index
        assert statement.line == sql.count("\n", 0, statement.start) + 1
        assert statement.end_line == statement.line + statement.text.count("\n")
        rebuilt += [gap, statement.text]
        position = statement.end
    rebuilt.append(sql[position:])
    assert "".join(rebuilt) == sql
    for statement in statements[:-1]:
        assert sqlite3.complete_statement(statement.text)
    if statements and not sqlite3.complete_statement(statements[-1].text):
        assert not sql[statements[-1].end:].strip(), "only the script's unfinished tail may be incomplete"


def test_semicolons_in_a_long_literal_and_trigger_with_case_end():
    literal = ";".join(f"v{i}" for i in range(20_000))
    sql = (f"INSERT INTO t VALUES ('{literal}');\n"
           "CREATE TEMP TRIGGER g AFTER INSERT ON t BEGIN\n"
           "  UPDATE t SET x = CASE WHEN new.x > 0 THEN 'a;' ELSE 'b' END;\n"
           "  SELECT CASE 1 WHEN 1 THEN 1 END;\nEND;\n"
           "SELECT [end;], \"end;\", `end;` -- end;\n;")
    statements = split(sql)
    assert [s.line for s in statements] == [1, 2, 6]
    assert statements[1].text.endswith("END;") and statements[1].end_line == 5
    assert statements[2].text.startswith("SELECT [end;]") and statements[2].text.endswith(";")


def test_unterminated_block_comment_after_the_last_statement_is_no_statement():
    assert texts("SELECT 1;\n/* trailing, never closed; SELECT 2;") == ["SELECT 1;"]
    assert texts("SELECT 1 /* never closed; SELECT 2;") == ["SELECT 1 /* never closed; SELECT 2;"]
