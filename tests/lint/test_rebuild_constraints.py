"""Rebuilds that drop constraints, carry generated columns, rename precisely, and read unparseable tables.

Each plan is executed up then down on a populated database; schema and rows are compared both ways.
"""

from __future__ import annotations

import sqlite3

import pytest

from lightnb.errors import MigrationError
from lightnb.lint import lint_sql
from lightnb.lint.rebuild import Changes, plan_rebuild
from tests.lint.test_rebuild import run, schema


def rows(conn: sqlite3.Connection, table: str, columns: str = "*") -> list[tuple]:
    """Return the rows in rowid order (in primary-key order for WITHOUT ROWID tables)."""
    try:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY name, bucket").fetchall()

CONSTRAINED = """
CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE members (
    id INTEGER PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    nick TEXT CONSTRAINT nick_len CHECK (length(nick) < 10),
    team_id INTEGER CONSTRAINT member_team REFERENCES teams(id) ON DELETE CASCADE,
    level INTEGER,
    mentor INTEGER,
    CONSTRAINT email_unique UNIQUE (email),
    UNIQUE (nick, level),
    CHECK (level BETWEEN 0 AND 9),
    FOREIGN KEY (mentor) REFERENCES teams(id)
);
CREATE INDEX members_team ON members (team_id);
INSERT INTO teams VALUES (1, 'core'), (2, 'ops');
INSERT INTO members VALUES (1, 'a@x', 'ann', 1, 1, 2), (2, 'b@x', NULL, 2, 2, NULL), (3, 'c@x', 'cy', NULL, NULL, 1);
"""


def populated(script: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(script)
    return conn


def round_trip(conn: sqlite3.Connection, table: str, changes: Changes) -> sqlite3.Connection:
    """Run up then down; the schema and every row come back; return the connection after up."""
    original, data = schema(conn), {t: rows(conn, t) for t in _tables(conn)}
    plan = plan_rebuild(conn, table, changes)
    run(conn, plan.up_sql)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    after_up = {t: rows(conn, t) for t in _tables(conn)}
    run(conn, plan.down_sql)
    assert schema(conn) == original
    assert {t: rows(conn, t) for t in _tables(conn)} == data
    run(conn, plan.up_sql)  # and up again gives the same rows
    assert {t: rows(conn, t) for t in _tables(conn)} == after_up
    return conn


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _fails(conn: sqlite3.Connection, sql: str) -> bool:
    try:
        conn.execute(sql)
    except sqlite3.IntegrityError:
        return True
    conn.execute("DELETE FROM members WHERE id = 9")
    return False


@pytest.mark.parametrize("changes, now_allowed, still_refused", [
    (Changes(drop_constraints=("email_unique",)), "INSERT INTO members VALUES (9, 'a@x', 'z', 1, 1, 1)",
     "INSERT INTO members VALUES (9, 'z@x', 'way too long nick', 1, 1, 1)"),
    (Changes(drop_unique=(("email",),)), "INSERT INTO members VALUES (9, 'a@x', 'z', 1, 1, 1)",
     "INSERT INTO members VALUES (9, 'z@x', 'ann', 1, 1, 1)"),
    (Changes(drop_unique=(("nick", "level"),)), "INSERT INTO members VALUES (9, 'z@x', 'ann', 1, 1, 1)",
     "INSERT INTO members VALUES (9, 'a@x', 'z', 1, 1, 1)"),
    (Changes(drop_constraints=("nick_len",)), "INSERT INTO members VALUES (9, 'z@x', 'way too long nick', 1, 1, 1)",
     "INSERT INTO members VALUES (9, 'z@x', 'z', 1, 10, 1)"),
    (Changes(drop_checks=("LEVEL between 0 and 9",)), "INSERT INTO members VALUES (9, 'z@x', 'z', 1, 10, 1)",
     "INSERT INTO members VALUES (9, 'z@x', 'way too long nick', 1, 1, 1)"),
    (Changes(drop_constraints=("member_team",)), "INSERT INTO members VALUES (9, 'z@x', 'z', 7, 1, 1)",
     "INSERT INTO members VALUES (9, 'z@x', 'z', 1, 1, 7)"),
    (Changes(drop_foreign_keys=(("mentor",),)), "INSERT INTO members VALUES (9, 'z@x', 'z', 1, 1, 7)",
     "INSERT INTO members VALUES (9, 'z@x', 'z', 7, 1, 1)"),
], ids=["named unique", "unnamed unique by columns", "unnamed composite unique", "named column check",
        "unnamed check by expression", "named column foreign key", "unnamed foreign key by columns"])
def test_dropping_a_constraint(changes: Changes, now_allowed: str, still_refused: str) -> None:
    conn = round_trip(populated(CONSTRAINED), "members", changes)
    conn.execute("PRAGMA foreign_keys = ON")
    assert not _fails(conn, now_allowed)
    assert _fails(conn, still_refused)
    assert "members_team" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_dropping_a_missing_constraint_is_a_clear_error() -> None:
    conn = populated(CONSTRAINED)
    with pytest.raises(MigrationError, match="no constraint named 'nope'; its named constraints are "
                                             "email_unique, member_team, nick_len"):
        plan_rebuild(conn, "members", Changes(drop_constraints=("nope",)))
    with pytest.raises(MigrationError, match=r"no CHECK \(level > 3\)"):
        plan_rebuild(conn, "members", Changes(drop_checks=("level > 3",)))


def test_lint_alter_constraint_fix_is_a_rebuild_that_runs() -> None:
    history = CONSTRAINED.split("INSERT")[0]
    findings = lint_sql("ALTER TABLE members DROP CONSTRAINT email_unique;", "SELECT 1;", history=[history])
    (finding,) = [f for f in findings if f.rule == "alter-constraint"]
    up_sql, down_sql = finding.fix.split("up.sql:\n", 1)[1].split("\n-- and down.sql:\n")
    conn = populated(CONSTRAINED)
    original = schema(conn)
    run(conn, up_sql)
    conn.execute("INSERT INTO members VALUES (9, 'a@x', 'z', 1, 1, 1)")  # the UNIQUE is gone
    conn.execute("DELETE FROM members WHERE id = 9")
    run(conn, down_sql)
    assert schema(conn) == original


def test_lint_add_constraint_keeps_its_name_so_it_can_be_dropped_later() -> None:
    history = CONSTRAINED.split("INSERT")[0]
    findings = lint_sql("ALTER TABLE members ADD CONSTRAINT level_min CHECK (level >= 1);", "SELECT 1;",
                        history=[history])
    (finding,) = [f for f in findings if f.rule == "alter-constraint"]
    assert 'CONSTRAINT "level_min" CHECK (level >= 1)' in finding.fix


GENERATED = """
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    price INTEGER NOT NULL,
    qty INTEGER NOT NULL DEFAULT 1,
    total INTEGER GENERATED ALWAYS AS (price * qty) STORED,
    label TEXT AS ('#' || id || ' x' || qty) VIRTUAL,
    note TEXT
);
CREATE INDEX items_total ON items (total);
INSERT INTO items (id, price, qty, note) VALUES (1, 5, 2, 'a'), (2, 7, 1, NULL), (3, 1, 9, 'c');
"""


@pytest.mark.parametrize("changes", [
    Changes(types={"note": "BLOB"}), Changes(drop=("note",)), Changes(rename={"qty": "quantity"}),
    Changes(not_null={"total": True}),
], ids=["type of another column", "drop another column", "rename a column the expressions use",
        "not null on the generated column"])
def test_generated_columns_are_computed_again_not_copied(changes: Changes) -> None:
    conn = populated(GENERATED)
    if changes.drop:
        original = schema(conn)
        plan = plan_rebuild(conn, "items", changes)
        run(conn, plan.up_sql)
        run(conn, plan.down_sql)
        assert schema(conn) == original
        assert rows(conn, "items", "id, price, qty, total, label") == [(1, 5, 2, 10, "#1 x2"), (2, 7, 1, 7, "#2 x1"),
                                                                       (3, 1, 9, 9, "#3 x9")]
        run(conn, plan.up_sql)
    else:
        round_trip(conn, "items", changes)
    hidden = {r[1]: r[6] for r in conn.execute("PRAGMA table_xinfo(items)")}
    assert hidden["total"] == 3 and hidden["label"] == 2  # still STORED and VIRTUAL
    qty = changes.rename.get("qty", "qty")
    assert rows(conn, "items", f"total, label, {qty}") == [(10, "#1 x2", 2), (7, "#2 x1", 1), (9, "#3 x9", 9)]
    conn.execute(f"UPDATE items SET {qty} = 3 WHERE id = 2")
    assert rows(conn, "items", "total, label")[1] == (21, "#2 x3")


def test_dropping_a_column_a_generated_column_uses_is_refused() -> None:
    with pytest.raises(MigrationError, match="Generated column items.total uses a dropped column"):
        plan_rebuild(populated(GENERATED), "items", Changes(drop=("qty",)))


TWINS = """
CREATE TABLE people (id INTEGER PRIMARY KEY, age INTEGER, name TEXT);
CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES people(id), age INTEGER, name TEXT);
CREATE VIEW ages AS SELECT p.name, p.age, q.age AS pet_age, (SELECT max(age) FROM pets) AS oldest_pet
    FROM people p JOIN pets q ON q.owner = p.id WHERE q.age > 1;
CREATE TRIGGER pets_birthday AFTER UPDATE OF age ON pets BEGIN
    UPDATE people SET age = age WHERE id = new.owner AND people.age < new.age;
END;
CREATE TRIGGER people_birthday AFTER UPDATE OF age ON people WHEN new.age > old.age BEGIN
    UPDATE pets SET age = age + 0 WHERE owner = new.id;
    INSERT INTO pets (owner, age, name) SELECT id, age, name FROM people WHERE id = -new.id;
END;
CREATE INDEX people_age ON people (age) WHERE age IS NOT NULL;
INSERT INTO people VALUES (1, 30, 'ann'), (2, 40, 'bob');
INSERT INTO pets VALUES (1, 1, 3, 'rex'), (2, 2, 5, 'tom');
"""


def test_renaming_a_column_rewrites_only_that_tables_references() -> None:
    conn = populated(TWINS)
    plan = plan_rebuild(conn, "people", Changes(rename={"age": "years"}))
    run(conn, plan.up_sql)
    sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type IN ('view', 'trigger', 'index')"))
    assert sql["ages"] == ('CREATE VIEW ages AS SELECT p.name, p."years", q.age AS pet_age, '
                           '(SELECT max(age) FROM pets) AS oldest_pet\n'
                           '    FROM people p JOIN pets q ON q.owner = p.id WHERE q.age > 1')
    assert sql["pets_birthday"] == ('CREATE TRIGGER pets_birthday AFTER UPDATE OF age ON pets BEGIN\n'
                                    '    UPDATE people SET "years" = "years" WHERE id = new.owner '
                                    'AND people."years" < new.age;\nEND')
    assert sql["people_birthday"] == (
        'CREATE TRIGGER people_birthday AFTER UPDATE OF "years" ON people WHEN new."years" > old."years" BEGIN\n'
        '    UPDATE pets SET age = age + 0 WHERE owner = new.id;\n'
        '    INSERT INTO pets (owner, age, name) SELECT id, "years", name FROM people WHERE id = -new.id;\nEND')
    assert sql["people_age"] == 'CREATE INDEX people_age ON people ("years") WHERE "years" IS NOT NULL'
    assert conn.execute("SELECT * FROM ages ORDER BY name").fetchall() == [("ann", 30, 3, 5), ("bob", 40, 5, 5)]
    conn.execute("UPDATE people SET years = 41 WHERE id = 2")  # the triggers still run
    conn.execute("UPDATE pets SET age = 6 WHERE id = 2")


def test_renaming_in_a_view_sqlglot_cannot_read_is_a_clear_error() -> None:
    conn = populated("CREATE TABLE t (a INTEGER, b INTEGER);"
                     "CREATE VIEW v AS SELECT CAST(a AS UNSIGNED BIG INT) AS n FROM t;")
    with pytest.raises(MigrationError, match="sqlglot cannot read this view to rename a in it; rewrite it by hand"):
        plan_rebuild(conn, "t", Changes(rename={"a": "c"}))
    assert "CREATE VIEW v AS SELECT CAST(a AS" in plan_rebuild(conn, "t", Changes(rename={"b": "c"})).up_sql


UNPARSEABLE = """
CREATE TABLE counters (
    name TEXT NOT NULL COLLATE NOCASE,
    bucket UNSIGNED BIG INT NOT NULL CHECK (bucket < 1000),
    hits UNSIGNED BIG INT DEFAULT 0 CONSTRAINT hits_positive CHECK (hits >= 0),
    label VARYING CHARACTER(20) COLLATE RTRIM,
    PRIMARY KEY (name, bucket),
    CHECK (length(name) > 0)
) WITHOUT ROWID;
CREATE INDEX counters_hits ON counters (hits);
INSERT INTO counters VALUES ('Home', 1, 10, 'a  '), ('about', 2, 0, NULL), ('Blog', 999, 5, 'b');
"""


@pytest.mark.parametrize("changes", [
    Changes(types={"hits": "INTEGER"}), Changes(rename={"hits": "count"}), Changes(drop=("label",)),
    Changes(defaults={"label": "'none'"}),
], ids=["type", "rename", "drop column", "default"])
def test_a_table_sqlglot_cannot_parse_keeps_checks_and_collations(changes: Changes) -> None:
    conn = populated(UNPARSEABLE)
    if changes.drop:
        original, data = schema(conn), rows(conn, "counters", "name, bucket, hits")
        plan = plan_rebuild(conn, "counters", changes)
        run(conn, plan.up_sql)
        run(conn, plan.down_sql)
        assert schema(conn) == original and rows(conn, "counters", "name, bucket, hits") == data
        run(conn, plan.up_sql)
    else:
        round_trip(conn, "counters", changes)
    hits = changes.rename.get("hits", "hits")
    up_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'counters'").fetchone()[0]
    assert "WITHOUT ROWID" in up_sql and "UNSIGNED BIG INT" in up_sql
    assert conn.execute("SELECT name FROM counters WHERE name = 'HOME'").fetchone() == ("Home",)  # NOCASE kept
    for bad in (f"INSERT INTO counters (name, bucket, {hits}) VALUES ('x', 1000, 1)",
                f"INSERT INTO counters (name, bucket, {hits}) VALUES ('x', 3, -1)",
                f"INSERT INTO counters (name, bucket, {hits}) VALUES ('', 3, 1)",
                f"INSERT INTO counters (name, bucket, {hits}) VALUES ('home', 1, 1)"):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(bad)
    written = '"count"' if changes.rename else "hits"  # a renamed identifier is written quoted
    assert f'CONSTRAINT "hits_positive" CHECK ({written} >= 0)' in up_sql
    if not changes.drop:
        assert conn.execute("SELECT count(*) FROM counters WHERE label = 'a'").fetchone() == (1,)  # RTRIM kept


def test_create_table_reading_keeps_clause_boundaries() -> None:
    from lightnb.lint.createtable import read_create_table

    text = read_create_table(
        "CREATE TABLE t (a INT PRIMARY KEY ON CONFLICT REPLACE, b INTEGER CONSTRAINT bt REFERENCES t(a) "
        "ON DELETE SET NULL NOT DEFERRABLE DEFAULT -1, \"c d\" decimal(10, 2) NOT NULL COLLATE nocase, "
        "e AS (a * 2), CONSTRAINT fk FOREIGN KEY (e) REFERENCES t(a) ON UPDATE SET DEFAULT, CHECK (a > 0))")
    assert text is not None
    b = text.column("b")
    assert [(k.kind, k.name, k.text) for k in b.clauses] == [
        ("references", "bt", "REFERENCES t(a) ON DELETE SET NULL NOT DEFERRABLE"), ("default", None, "DEFAULT -1")]
    c = text.column("c d")
    assert (c.type, c.clause("collate").word) == ("decimal(10, 2)", "NOCASE")
    assert text.column("e").clause("generated").inner == "a * 2"
    assert [(k.kind, k.name, k.columns) for k in text.constraints] == [("foreign", "fk", ("e",)),
                                                                      ("check", None, ("a",))]
