from lightnb.sqlscript import is_comment_only, split


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
