"""A value a conversion carried into its new column is kept only when it can still be told from what it became.

A table rebuild that changes a column's type copies it with ``CAST(col AS type)``; every value is then "found as
CAST(col AS type)" in the new column, and the conversion was judged to keep them all (lint: "no value is lost"),
while ``'x'`` became 0, ``'007'`` 7 and ``4.5`` 4. The same for ``length(body)`` (the text gone, its length kept),
``lower(email)`` and ``cents / 100`` in integers (1234 and 1299 both 12).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lightnb.inspect.impact import measure_impacts
from lightnb.lint import lint_migrations, load_rules
from lightnb.lint.config import LintConfig
from lightnb.migrations import discover
from tests.support.builder import ProjectBuilder, make_database

BASE = """
CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, label TEXT, amount TEXT);
INSERT INTO items VALUES (1, 'a', '31'), (2, 'b', 'x'), (3, 'c', '007'), (4, 'd', '4.5'), (5, 'e', NULL),
                         (6, 'f', '-12'), (7, 'g', '12abc');
"""


def _rebuild(column_type: str, expression: str) -> str:
    return (f"CREATE TABLE items_new (id INTEGER PRIMARY KEY NOT NULL, label TEXT, amount {column_type});\n"
            f"INSERT INTO items_new (id, label, amount) SELECT id, label, {expression} FROM items;\n"
            f"DROP TABLE items;\nALTER TABLE items_new RENAME TO items;\n")


def _measured(tmp_path: Path, base: str, up: str, name: str = "before.db") -> list:
    (found,) = measure_impacts(make_database(tmp_path / name, base), [up], reveal=True)
    return found


def test_text_that_does_not_read_back_from_its_integer_is_lost(tmp_path: Path) -> None:
    found = _measured(tmp_path, BASE, _rebuild("INTEGER", "CAST(amount AS INTEGER)"))
    (converted,) = [i for i in found if i.kind == "values_converted"]
    assert (converted.count, converted.found) == (6, 6)  # every value is there, as CAST(amount AS INTEGER)
    (lost,) = [i for i in found if i.kind == "values_lost"]
    assert (lost.table, lost.column, lost.count, lost.found) == ("items", "amount", 4, 2)  # 'x', '007', '4.5', '12abc'
    assert lost.message == ("4 non-null value(s) of items.amount lost in the conversion CAST(amount AS INTEGER) into "
                            "items.amount: they do not read back as they were (2/6 do).")
    assert lost.example is not None and lost.example["amount"] in ("x", "007", "4.5", "12abc")


@pytest.mark.parametrize(("values", "column_type", "cast_to", "lost"), [
    ("(1, 'a', 4.5), (2, 'b', 3.0), (3, 'c', -0.25)", "TEXT", "TEXT", 0),  # a REAL reads back from its text
    ("(1, 'a', 31), (2, 'b', -7)", "TEXT", "TEXT", 0),  # an INTEGER from its text
    ("(1, 'a', 4.5), (2, 'b', 3.0)", "INTEGER", "INTEGER", 1),  # 4.5 became 4; 3.0 is 3
    ("(1, 'a', 9007199254740993), (2, 'b', 12)", "REAL", "REAL", 1),  # past 2^53 a REAL rounds it
    ("(1, 'a', X'616263'), (2, 'b', X'00ff')", "TEXT", "TEXT", 0),  # a BLOB's bytes, as text, are the same bytes
])
def test_each_storage_class_is_judged_by_reading_it_back(tmp_path: Path, values: str, column_type: str,
                                                        cast_to: str, lost: int) -> None:
    base = f"CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, label TEXT, amount ANY);\n" \
           f"INSERT INTO items VALUES {values};\n"
    found = _measured(tmp_path, base, _rebuild(column_type, f"CAST(amount AS {cast_to})"))
    assert sum(i.count for i in found if i.kind == "values_lost") == lost, [i.message for i in found]


def test_text_compared_byte_for_byte_whatever_its_collation(tmp_path: Path) -> None:
    base = ("CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, label TEXT, amount TEXT COLLATE NOCASE);\n"
            "INSERT INTO items VALUES (1, 'a', 'AbC'), (2, 'b', '12');\n")
    found = _measured(tmp_path, base, _rebuild("TEXT", "CAST(amount AS BLOB)"))
    assert not [i for i in found if i.kind == "values_lost"]
    found = _measured(tmp_path, base, _rebuild("INTEGER", "CAST(amount AS INTEGER)"), "again.db")
    assert sum(i.count for i in found if i.kind == "values_lost") == 1  # 'AbC' became 0


def test_lint_no_longer_says_a_lossy_cast_keeps_every_value(tmp_path: Path) -> None:
    up = _rebuild("INTEGER", "CAST(amount AS INTEGER)")
    root = ProjectBuilder(tmp_path / "project", config="").migration("2024-01-01-000000_amount_integer", up,
                                                                      "SELECT 1;").build()
    database = make_database(tmp_path / "production.db", BASE)
    only = LintConfig(disabled=frozenset(r for r in load_rules() if r != "destructive"))
    findings = list(lint_migrations(discover(root / "migrations"), database=database, config=only))
    assert findings and all(f.severity == "error" for f in findings), [(f.severity, f.message) for f in findings]
    assert not any("no value is lost" in f.fix for f in findings)
    assert any("lost in the conversion CAST(amount AS INTEGER)" in f.message for f in findings)
    assert sqlite3.connect(database).execute("SELECT count(*) FROM items").fetchone() == (7,)


CONVERTED = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY NOT NULL, email TEXT, cents INTEGER, body TEXT);
INSERT INTO accounts VALUES (1, 'Ann@x', 1234, 'hello'), (2, 'bob@x', 1299, 'hi'), (3, 'cy@x', 500, 'hey'),
                            (4, NULL, 700, NULL);
"""


def _converted(tmp_path: Path, expression: str, name: str) -> list:
    up = (f"ALTER TABLE accounts ADD COLUMN converted;\nUPDATE accounts SET converted = {expression};\n"
          f"ALTER TABLE accounts DROP COLUMN {expression.split('(')[-1].split(')')[0].split(' ')[0]};\n")
    return _measured(tmp_path, CONVERTED, up, name)


@pytest.mark.parametrize(("expression", "lost"), [
    ("lower(email)", 1),  # 'Ann@x' became 'ann@x'; the others were already lower case: kept as they were
    ("length(body)", 3),  # every text is gone: only its length is left
    ("trim(email)", 0),  # nothing to trim: every value is as it was
    ("round(cents)", 0),  # integers round to themselves
    ("cents / 100", 2),  # integer division: 1234 and 1299 both became 12; 500 and 700 have results of their own
    ("cents / 100.0", 0),  # every value has its own result
    ("hex(body)", 0),
])
def test_a_conversion_keeps_a_value_only_when_it_can_still_be_told_apart(tmp_path: Path, expression: str,
                                                                         lost: int) -> None:
    found = _converted(tmp_path, expression, f"{lost}-{len(expression)}.db")
    assert sum(i.count for i in found if i.kind == "values_lost") == lost, [i.message for i in found]
    assert any(i.kind == "values_converted" for i in found), [i.message for i in found]


@pytest.mark.parametrize(("update", "lost"), [
    ("UPDATE accounts SET cents = cents / 100", 2),  # 1234 and 1299 both became 12
    ("UPDATE accounts SET cents = cents * 2", 0),  # each value its own result
    ("UPDATE accounts SET email = lower(email)", 1),  # 'Ann@x' lost its capital; the others were as they are
    ("UPDATE accounts SET email = lower(email) WHERE id > 1", 0),  # only values already in lower case
    ("UPDATE accounts SET body = substr(body, 1, 2)", 2),  # 'hello' and 'hey' cut; 'hi' as it was
])
def test_a_conversion_in_place_loses_what_cannot_be_told_apart(tmp_path: Path, update: str, lost: int) -> None:
    found = _measured(tmp_path, CONVERTED, update + ";\n", f"{lost}-{len(update)}.db")
    assert any(i.kind == "values_converted" for i in found) or "WHERE" in update, [i.message for i in found]
    losses = [i for i in found if i.kind == "values_lost"]
    assert sum(i.count for i in losses) == lost, [i.message for i in found]
    assert all("in place" in i.message for i in losses)


AFFINITY = """
CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, amount TEXT, big INTEGER);
INSERT INTO items VALUES (1, '31', 5), (2, 'x', 9007199254740993), (3, '4.0', 7), (4, '007', 8), (5, ' 5', 9);
"""
COPY_INTO_OTHER_TYPES = """CREATE TABLE items_new (id INTEGER PRIMARY KEY NOT NULL, amount INTEGER, big REAL);
INSERT INTO items_new (id, amount, big) SELECT id, amount, big FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
"""


def test_a_copy_into_a_column_of_another_affinity_loses_what_sqlite_stores_as_another_value(tmp_path: Path) -> None:
    # '007' and 7 compare equal under INTEGER affinity: the copy was said to keep every value
    found = _measured(tmp_path, AFFINITY, COPY_INTO_OTHER_TYPES)
    lost = {i.column: i for i in found if i.kind == "values_lost"}
    assert (lost["amount"].count, lost["amount"].found) == (3, 2)  # '4.0', '007', ' 5'; '31' and 'x' read back
    assert "lost in the copy into items.amount (INTEGER: INTEGER affinity)" in lost["amount"].message
    assert lost["big"].count == 1  # 2^53 + 1 as a REAL, counted once (it was not found as it was)
    same = _measured(tmp_path, AFFINITY, COPY_INTO_OTHER_TYPES.replace("amount INTEGER, big REAL",
                                                                       "amount TEXT, big BIGINT"), "same.db")
    assert not [i for i in same if i.kind == "values_lost"]  # the same affinities: every value stored as it was


def test_lint_says_which_values_a_rebuild_into_another_affinity_loses(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path / "project", config="").migration("2024-01-01-000000_amount_integer",
                                                                      COPY_INTO_OTHER_TYPES, "SELECT 1;").build()
    database = make_database(tmp_path / "production.db", AFFINITY)
    only = LintConfig(disabled=frozenset(r for r in load_rules() if r != "destructive"))
    findings = list(lint_migrations(discover(root / "migrations"), database=database, config=only))
    messages = [f.message for f in findings if f.severity == "error"]
    assert any(m.startswith("rebuild of items copies column amount into amount INTEGER (was TEXT) (measured on the "
                            "workspace copy: 3 non-null value(s) of items.amount lost") for m in messages), messages
    same_types = COPY_INTO_OTHER_TYPES.replace("amount INTEGER, big REAL", "amount TEXT, big INT")
    clean = ProjectBuilder(tmp_path / "clean", config="").migration("2024-01-01-000000_same_types", same_types,
                                                                    "SELECT 1;").build()
    assert not list(lint_migrations(discover(clean / "migrations"), database=database, config=only))


def test_a_column_moved_without_its_rows_identity_is_a_warning_a_whole_table_copy_is_not(tmp_path: Path) -> None:
    # the values are in the new table, but not which row held which: this was "no value is lost" (info)
    base = ("CREATE TABLE tags (label TEXT NOT NULL, weight INTEGER);\n"
            "INSERT INTO tags VALUES ('a', 1), ('b', 2), ('c', 3);\n"
            "CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, note TEXT);\n"
            "INSERT INTO posts VALUES (1, 'n1'), (2, 'n2');\n")
    moved = "CREATE TABLE notes AS SELECT note FROM posts;\nALTER TABLE posts DROP COLUMN note;\n"
    rebuilt = ("CREATE TABLE tags_new (label TEXT NOT NULL, weight INTEGER NOT NULL DEFAULT 0);\n"
               "INSERT INTO tags_new (label, weight) SELECT label, weight FROM tags;\n"
               "DROP TABLE tags;\nALTER TABLE tags_new RENAME TO tags;\n")
    database = make_database(tmp_path / "production.db", base)
    only = LintConfig(disabled=frozenset(r for r in load_rules() if r != "destructive"))
    for name, up, severity in (("moved", moved, "warning"), ("rebuilt", rebuilt, None)):
        root = ProjectBuilder(tmp_path / name, config="").migration(f"2024-01-01-000000_{name}", up,
                                                                    "SELECT 1;").build()
        findings = list(lint_migrations(discover(root / "migrations"), database=database, config=only))
        assert [f.severity for f in findings if "matched by value" in f.message or "DROP" in f.message
                or "rebuild" in f.message] == ([severity] if severity else []), [f.message for f in findings]


def test_a_cast_into_a_column_of_another_affinity_is_judged_by_what_the_column_holds(tmp_path: Path) -> None:
    # CAST('007' AS TEXT) reads back as itself, but an INTEGER column stores it as 7
    found = _measured(tmp_path, BASE, _rebuild("INTEGER", "CAST(amount AS TEXT)"))
    lost = [i for i in found if i.kind == "values_lost"]
    assert [(i.column, i.count) for i in lost] == [("amount", 1)], [i.message for i in found]  # '007' stored as 7
    assert "lost in the conversion CAST(amount AS TEXT) into items.amount" in lost[0].message
    kept = _measured(tmp_path, BASE, _rebuild("TEXT", "CAST(amount AS TEXT)"), "kept.db")
    assert not [i for i in kept if i.kind == "values_lost"]
