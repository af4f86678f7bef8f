from __future__ import annotations

import pytest

from lightnb.errors import LightnbError
from lightnb.inspect import MASK, compare_preview, preview

ROWS = """
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, secret TEXT);
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 100)
INSERT INTO items SELECT n, 'item' || n, 's' || n FROM i;
CREATE TABLE kv (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
INSERT INTO kv VALUES ('a', 1), ('b', 2), ('c', 3);
"""


@pytest.fixture
def conn(make_db, connect):
    return connect(make_db("p.db", ROWS))


def test_head_tail_and_truncation_note(conn) -> None:
    head = preview(conn, "items", n=3)
    assert list(head.frame["id"]) == [1, 2, 3] and head.truncated
    assert head.note == "The first 3 row(s) of items by rowid; more rows are not shown."
    tail = preview(conn, "items", mode="tail", n=2)
    assert list(tail.frame["id"]) == [99, 100] and tail.truncated
    whole = preview(conn, "kv", n=10)
    assert not whole.truncated and "that is all of them" in whole.note
    assert list(preview(conn, "kv", mode="tail", n=2).frame["k"]) == ["b", "c"]


def test_stable_sample_spreads_over_rowids_and_repeats(conn) -> None:
    first = preview(conn, "items", mode="sample", n=4)
    assert list(first.frame["id"]) == [1, 26, 51, 76]
    assert list(preview(conn, "items", mode="sample", n=4).frame["id"]) == [1, 26, 51, 76]
    assert "evenly spaced" in first.note and first.truncated
    filtered = preview(conn, "items", mode="sample", n=3, where="id % 10 = 0")
    assert all(i % 10 == 0 for i in filtered.frame["id"])
    assert "first rows" in preview(conn, "kv", mode="sample", n=2).note


def test_where_and_query_previews(conn) -> None:
    assert list(preview(conn, "items", where="id > 97").frame["id"]) == [98, 99, 100]
    q = preview(conn, "SELECT id, secret AS s, upper(secret) AS loud FROM items WHERE id < 3", n=5)
    assert list(q.frame.columns) == ["id", "s", "loud"]
    assert set(q.frame["s"]) == {MASK} and set(q.frame["loud"]) == {MASK} and not q.truncated
    assert set(q.redacted) == {"s", "loud"}


@pytest.mark.parametrize("bad, message", [
    ("DELETE FROM items", "neither a table nor a single SELECT"),
    ("SELECT 1; DROP TABLE items", "neither a table nor a single SELECT"),
])
def test_queries_cannot_write(conn, bad, message) -> None:
    with pytest.raises(LightnbError, match=message):
        preview(conn, bad)
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 100


def test_filters_must_be_one_condition(conn) -> None:
    with pytest.raises(LightnbError, match="not a single condition"):
        preview(conn, "items", where="1 UNION SELECT secret FROM items")
    with pytest.raises(LightnbError, match="mode='head'"):
        preview(conn, "SELECT * FROM items", mode="tail")
    with pytest.raises(LightnbError, match="unknown preview mode"):
        preview(conn, "items", mode="random")


def test_query_only_is_restored(conn) -> None:
    preview(conn, "items")
    assert conn.execute("PRAGMA query_only").fetchone()[0] == 0


def test_compare_preview_marks_added_removed_and_changed(make_db, connect) -> None:
    before = make_db("b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, password TEXT, old TEXT);"
                             "INSERT INTO t VALUES (1, 'x', 'p1', 'o'), (2, 'y', 'p2', 'o'), (3, 'z', 'p3', 'o');")
    after = make_db("a.db", "ALTER TABLE t DROP COLUMN old; DELETE FROM t WHERE id = 2;"
                            "UPDATE t SET password = 'changed' WHERE id = 3; INSERT INTO t VALUES (4, 'w', 'p4');",
                    base=before)
    cmp = compare_preview(connect(before), connect(after), "t")
    assert list(cmp.status) == ["unchanged", "removed", "changed", "added"]
    assert cmp.key == ("id",)
    assert bool(cmp.changed.loc[3, "password"]) and not bool(cmp.changed.loc[3, "a"])
    assert cmp.frame.loc[3, ("after", "password")] == MASK
    html = cmp.styler.to_html()
    assert "#d7f5dd" in html and "#f8d7da" in html and "#fff3bf" in html
    assert "p1" not in html and "changed" in html  # status text, not the value
    chosen = compare_preview(connect(before), connect(after), "t", keys=[4])
    assert list(chosen.status) == ["added"]


@pytest.mark.parametrize("text", ["'", "[ ", "SELECT (", "\x00"])
def test_unreadable_name_or_query_is_a_lightnb_error(text: str) -> None:
    import sqlite3

    from lightnb.errors import LightnbError
    from lightnb.inspect.preview import preview
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    with pytest.raises(LightnbError):
        preview(conn, text)


RENAMED = ("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER);"
           "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);")


def _renamed_pair(make_db):
    before = make_db("rb.db", RENAMED)
    after = make_db("ra.db", "ALTER TABLE t RENAME COLUMN name TO label; UPDATE t SET label = 'B' WHERE id = 2;",
                    base=before)
    return before, after


def test_compare_preview_compares_renamed_columns(make_db, connect) -> None:
    before, after = _renamed_pair(make_db)
    cmp = compare_preview(connect(before), connect(after), "t")
    assert list(cmp.status) == ["unchanged", "changed", "unchanged"]
    assert cmp.renamed == (("name", "label"),) and "name -> label" in cmp.note
    assert bool(cmp.changed.loc[2, "label"]) and not bool(cmp.changed.loc[1, "label"])
    css = cmp._css(cmp.frame)
    assert "#fff3bf" in css.loc[2, ("before", "name")] and "#fff3bf" in css.loc[2, ("after", "label")]
    assert css.loc[1, ("before", "name")] == ""


def test_compare_preview_takes_the_schema_diffs_renames(make_db, connect) -> None:
    from lightnb.inspect import schema_diff, take_snapshot

    before, after = _renamed_pair(make_db)
    renames = schema_diff(take_snapshot(connect(before)), take_snapshot(connect(after))).column_renames("t")
    assert renames == {"name": "label"}
    cmp = compare_preview(connect(before), connect(after), "t", column_renames=renames, keys=[2])
    assert list(cmp.status) == ["changed"]
    # Told there is no rename, the two columns are simply one removed and one added.
    plain = compare_preview(connect(before), connect(after), "t", column_renames={}, keys=[2])
    assert list(plain.status) == ["unchanged"] and plain.renamed == ()


def test_compare_preview_masks_a_column_renamed_from_a_sensitive_name(make_db, connect) -> None:
    before = make_db("sb.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, api_token TEXT);"
                              "INSERT INTO t VALUES (1, 'tok-1');")
    after = make_db("sa.db", "ALTER TABLE t RENAME COLUMN api_token TO x; UPDATE t SET x = 'tok-2';", base=before)
    cmp = compare_preview(connect(before), connect(after), "t")
    assert list(cmp.status) == ["changed"]
    assert "tok-" not in cmp.styler.to_html() and set(cmp.redacted) == {"api_token", "x"}


def test_integer_columns_with_nulls_stay_integers(make_db, connect) -> None:
    db = make_db("i.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, age INTEGER, score REAL);"
                         "INSERT INTO t VALUES (1, 30, 1.5), (2, NULL, NULL);")
    shown = preview(connect(db), "t")
    assert str(shown.frame["age"].dtype) == "Int64" and "30.0" not in shown.to_text()
    assert shown.frame["age"].isna().tolist() == [False, True]
    assert str(preview(connect(db), "SELECT age FROM t").frame["age"].dtype) == "Int64"
    after = make_db("i2.db", "INSERT INTO t VALUES (3, 41, 2.0);", base=db)
    cmp = compare_preview(connect(db), connect(after), "t")
    assert str(cmp.frame[("before", "age")].dtype) == "Int64"
    assert "41.0" not in cmp.styler.to_html() and "30.0" not in cmp.frame.to_string()


def test_captured_previews_show_a_renamed_and_updated_row_as_changed(make_db, connect) -> None:
    from lightnb.capture import _previews
    from lightnb.inspect import schema_diff, take_snapshot

    before, after = _renamed_pair(make_db)
    diff = schema_diff(take_snapshot(connect(before)), take_snapshot(connect(after)))
    (cmp,) = _previews(before, after, ("t",), diff, 5, None)
    assert list(cmp.status) == ["changed"] and cmp.frame.index.tolist() == [2]
    assert cmp.frame.loc[2, ("before", "name")] == "b" and cmp.frame.loc[2, ("after", "label")] == "B"
