"""``joinable!`` and ``allow_tables_to_appear_in_same_query!`` rules (diesel_spec.md §4.7, §4.8)."""

from __future__ import annotations

import sqlite3

from lightnb.backends.sqlite import read_catalog
from lightnb.schema import PrintSchemaOptions, introspect, print_schema
from lightnb.schema.config import TableFilter


def database(sql: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(sql)
    return conn


def joinables(sql: str, **options: object) -> list[str]:
    text = print_schema(database(sql), PrintSchemaOptions(**options))  # type: ignore[arg-type]
    return [line for line in text.splitlines() if line.startswith("diesel::joinable!")]


def groups(sql: str, mode: str) -> list[tuple[str, ...]]:
    return list(introspect(read_catalog(database(sql)), PrintSchemaOptions(allow_tables=mode)).groups)


PARENT = "CREATE TABLE parents (id INTEGER PRIMARY KEY NOT NULL, code TEXT);\n"


def test_parent_written_in_another_case_gives_no_joinable() -> None:
    assert joinables(PARENT + "CREATE TABLE kids (id INTEGER PRIMARY KEY, p INTEGER REFERENCES Parents(id));") == []


def test_reference_to_a_column_that_is_not_the_key_gives_none_and_still_counts_as_duplicate() -> None:
    assert joinables(PARENT + "CREATE TABLE kids (id INTEGER PRIMARY KEY, c TEXT REFERENCES parents(code));") == []
    both = PARENT + ("CREATE TABLE kids (id INTEGER PRIMARY KEY, c TEXT REFERENCES parents(code), "
                     "p INTEGER REFERENCES parents(id));")
    assert joinables(both) == []


def test_duplicates_count_in_either_direction() -> None:
    sql = ("CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));"
           "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id));")
    assert joinables(sql) == []


def test_self_reference_is_dropped_without_hiding_other_keys() -> None:
    sql = PARENT + ("CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id), "
                    "sibling_id INTEGER REFERENCES kids(id));")
    assert joinables(sql) == ["diesel::joinable!(kids -> parents (parent_id));"]


def test_reference_without_column_uses_the_rowid_fallback() -> None:
    sql = "CREATE TABLE notes (body TEXT); CREATE TABLE marks (id INTEGER PRIMARY KEY, note INTEGER REFERENCES notes);"
    assert joinables(sql) == ["diesel::joinable!(marks -> notes (note));"]


def test_composite_reference_gives_no_joinable() -> None:
    sql = ("CREATE TABLE pairs (a INTEGER, b INTEGER, PRIMARY KEY (a, b));"
           "CREATE TABLE uses (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER,"
           " FOREIGN KEY (a, b) REFERENCES pairs(a, b));")
    assert joinables(sql) == []


def test_reference_to_a_filtered_out_table_is_dropped() -> None:
    sql = PARENT + "CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id));"
    assert joinables(sql, filter=TableFilter("except", ("^parents$",))) == []
    assert joinables(sql) == ["diesel::joinable!(kids -> parents (parent_id));"]


def test_joinable_column_names_reserved_get_underscore_others_stay_raw() -> None:
    sql = ("CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);"
           'CREATE TABLE c (id INTEGER PRIMARY KEY, "type" INTEGER REFERENCES a(id), "b id" INTEGER REFERENCES b(id));')
    assert joinables(sql) == ["diesel::joinable!(c -> a (type_));", "diesel::joinable!(c -> b (b id));"]


def test_joinables_sorted_by_child_then_parent_then_column() -> None:
    sql = ("CREATE TABLE zed (id INTEGER PRIMARY KEY, y INTEGER REFERENCES alpha(id), x INTEGER REFERENCES beta(id));"
           "CREATE TABLE alpha (id INTEGER PRIMARY KEY); CREATE TABLE beta (id INTEGER PRIMARY KEY);"
           "CREATE TABLE Upper (id INTEGER PRIMARY KEY, a INTEGER REFERENCES alpha(id));")
    assert joinables(sql) == ["diesel::joinable!(Upper -> alpha (a));", "diesel::joinable!(zed -> alpha (y));",
                              "diesel::joinable!(zed -> beta (x));"]


FOREST = ("CREATE TABLE users (id INTEGER PRIMARY KEY);"
          "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));"
          "CREATE TABLE Zoo (id INTEGER PRIMARY KEY);"
          "CREATE TABLE animals (id INTEGER PRIMARY KEY, zoo_id INTEGER REFERENCES Zoo(id));"
          "CREATE TABLE twice (id INTEGER PRIMARY KEY, a INTEGER REFERENCES users(id), b INTEGER REFERENCES users(id));"
          "CREATE TABLE lonely (id INTEGER PRIMARY KEY);")


def test_fk_related_groups_are_components_of_kept_joinables_in_byte_order() -> None:
    assert groups(FOREST, "fk_related_tables") == [("Zoo", "animals"), ("posts", "users")]


def test_all_tables_and_none() -> None:
    assert groups(FOREST, "all_tables") == [("Zoo", "animals", "lonely", "posts", "twice", "users")]
    assert groups(FOREST, "none") == []
    assert groups("CREATE TABLE only_one (id INTEGER PRIMARY KEY);", "all_tables") == []
