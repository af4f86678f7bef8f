"""Check saves the states a proof compares with as the tables the migration can change, not as
whole copies of the database; a proof that left the copy elsewhere has it rebuilt, so what comes
after (the next migration, the project's tests) starts from a state after up."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lightnb.backends import sqlite
from lightnb.backends.sqlite import copies
from lightnb.checks import check
from tests.checks.test_checks import project
from tests.support.builder import make_database

SCHEMA = """
CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
  run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);
CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);
INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO big (payload) SELECT printf('%0500d', i) FROM n;
"""


def _production(tmp_path: Path) -> Path:
    return make_database(tmp_path / "prod.db", SCHEMA)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every whole-file copy (``backup``) of a database."""
    made: list[str] = []
    original = copies.backup

    def counted(source: Any, destination: Any, **options: Any) -> Path:
        made.append(Path(destination).name)
        return original(source, destination, **options)
    monkeypatch.setattr(copies, "backup", counted)
    monkeypatch.setattr(sqlite, "backup", counted, raising=False)
    return made


def test_a_proof_copies_the_database_once_and_saves_only_what_it_touches(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    prod = _production(tmp_path)
    proj = project(tmp_path / "p", {"2024-02-01-000000_nick": (
        "ALTER TABLE users ADD COLUMN nick TEXT;\nUPDATE users SET nick = upper(name);\n",
        "ALTER TABLE users DROP COLUMN nick;\n")})
    saved: list[tuple[str, list[str]]] = []
    original: Callable[..., Path] = copies.save_tables

    def recorded(source: Any, destination: Any, tables: Any, **options: Any) -> Path:
        saved.append((Path(destination).name, sorted(t.lower() for t in tables)))
        return original(source, destination, tables, **options)
    monkeypatch.setattr(copies, "save_tables", recorded)
    monkeypatch.setattr(sqlite, "save_tables", recorded, raising=False)
    made = _counting(monkeypatch)
    result = check(proj, database=prod, run_tests=False)
    (only,) = result.migrations
    assert only.verdict == "safe" and only.steps == ("up", "down", "up again")
    assert made == ["workspace.db"], made  # the copy itself; no whole-file state saved
    assert [tables for _name, tables in saved] == [["__diesel_schema_migrations", "users"]] * 2
    assert all("big" not in tables for _name, tables in saved)


def test_a_change_it_cannot_bound_is_saved_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prod = _production(tmp_path)
    proj = project(tmp_path / "p", {"2024-02-01-000000_odd": (
        "PRAGMA writable_schema = OFF;\nALTER TABLE users ADD COLUMN nick TEXT;\n",
        "ALTER TABLE users DROP COLUMN nick;\n")})
    made = _counting(monkeypatch)
    result = check(proj, database=prod, run_tests=False)
    assert result.migrations[0].steps == ("up", "down", "up again")
    assert len(made) == 3, made  # the copy, and the two states whole: any table may have changed


def test_a_damaging_down_does_not_reach_the_next_proof_nor_the_tests(tmp_path: Path) -> None:
    prod = _production(tmp_path)
    before = hashlib.sha256(prod.read_bytes()).hexdigest()
    script = tmp_path / "count.py"
    script.write_text("import os, sqlite3\nconn = sqlite3.connect(os.environ['DATABASE_URL'])\n"
                      "print('users', conn.execute('SELECT count(*) FROM users').fetchone()[0],\n"
                      "      'columns', [r[1] for r in conn.execute('PRAGMA table_info(users)')])\n", encoding="utf-8")
    proj = project(tmp_path / "p", {
        "2024-02-01-000000_damage": ("ALTER TABLE users ADD COLUMN nick TEXT;\n",
                                     "DELETE FROM users WHERE id = 3;\nALTER TABLE users DROP COLUMN nick;\n"),
        "2024-02-02-000000_next": ("ALTER TABLE users ADD COLUMN mail TEXT;\n",
                                   "ALTER TABLE users DROP COLUMN mail;\n"),
    }, f'[test]\ncommand = ["{sys.executable}", "{script}"]\n')
    seen: list[str] = []
    result = check(proj, database=prod, on_output=seen.append)
    damage, following = result.migrations
    assert damage.verdict == "unsafe" and any("users: 3 row(s) before, 2 after" in r for r in damage.reasons)
    # the next proof starts from the state after the first up (three users), not from the damage
    assert following.verdict == "safe", following.reasons
    assert result.tests is not None and result.tests.status == "passed"
    assert seen == ["users 3 columns ['id', 'name', 'nick', 'mail']"], seen
    assert hashlib.sha256(prod.read_bytes()).hexdigest() == before


def test_a_down_that_respells_the_schema_is_not_carried_forward(tmp_path: Path) -> None:
    prod = _production(tmp_path)
    script = tmp_path / "schema.py"
    script.write_text("import os, sqlite3\nconn = sqlite3.connect(os.environ['DATABASE_URL'])\n"
                      "print(conn.execute(\"SELECT sql FROM sqlite_master WHERE name = 'users'\").fetchone()[0])\n",
                      encoding="utf-8")
    rebuild = ("CREATE TABLE users_old (id integer primary key not null, name text not null);\n"
               "INSERT INTO users_old SELECT id, name FROM users;\nDROP TABLE users;\n"
               "ALTER TABLE users_old RENAME TO users;\n")
    proj = project(tmp_path / "p", {"2024-02-01-000000_respell": ("ALTER TABLE users ADD COLUMN nick TEXT;\n",
                                                                  rebuild)},
                   f'[test]\ncommand = ["{sys.executable}", "{script}"]\n')
    seen: list[str] = []
    result = check(proj, database=prod, on_output=seen.append)
    assert result.migrations[0].verdict == "safe", result.migrations[0].reasons
    # the tests see the definition production will have after up, as written, not the respelled one
    assert seen == ["CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, nick TEXT)"], seen


def test_saved_tables_keep_definitions_rows_indexes_and_counters(tmp_path: Path) -> None:
    path = tmp_path / "src.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript('''
        CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT UNIQUE, twice INTEGER AS (length(v) * 2));
        CREATE INDEX a_twice ON a (twice);
        CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
        CREATE TABLE "odd ""t""" (x BLOB) ;
        INSERT INTO a (v) VALUES ('x'), ('yy'), ('zzz'); DELETE FROM a WHERE v = 'zzz';
        INSERT INTO b (v) VALUES ('kept out');
        INSERT INTO "odd ""t""" VALUES (x\'00ff\');
    ''')
    stamp = path.stat().st_mtime_ns, path.read_bytes()
    saved = sqlite.save_tables(conn, tmp_path / "saved.db", ["A", 'odd "t"'])
    conn.close()
    assert (path.stat().st_mtime_ns, path.read_bytes()) == stamp  # the source is only read
    copy = sqlite3.connect(saved)
    names = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    assert {"a", "a_twice", 'odd "t"', "sqlite_sequence"} <= names and "b" not in names
    assert copy.execute("SELECT id, v, twice FROM a ORDER BY id").fetchall() == [(1, "x", 2), (2, "yy", 4)]
    assert copy.execute("SELECT seq FROM sqlite_sequence WHERE name = 'a'").fetchone() == (3,)
    assert copy.execute('SELECT x FROM "odd ""t"""').fetchone() == (b"\x00\xff",)
    copy.close()
    assert not list(tmp_path.glob(".save-*"))


def test_a_rebuild_starts_from_the_state_the_check_saved_not_from_production_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # production changes while the check runs: the proofs after a rebuild still run on the rows copied
    prod = _production(tmp_path)
    script = tmp_path / "count.py"
    script.write_text("import os, sqlite3\nconn = sqlite3.connect(os.environ['DATABASE_URL'])\n"
                      "print('users', conn.execute('SELECT count(*) FROM users').fetchone()[0])\n", encoding="utf-8")
    proj = project(tmp_path / "p", {
        "2024-02-01-000000_damage": ("ALTER TABLE users ADD COLUMN nick TEXT;\n",
                                     "DELETE FROM users WHERE id = 3;\nALTER TABLE users DROP COLUMN nick;\n"),
        "2024-02-02-000000_next": ("ALTER TABLE users ADD COLUMN mail TEXT;\n",
                                   "ALTER TABLE users DROP COLUMN mail;\n"),
    }, f'[test]\ncommand = ["{sys.executable}", "{script}"]\n')
    from lightnb import runner
    real = runner.apply

    def apply(conn: Any, migration: Any, direction: str, **options: Any) -> None:
        real(conn, migration, direction, **options)
        if direction == "down":  # someone writes production meanwhile
            writer = sqlite3.connect(prod)
            writer.execute("INSERT INTO users (name) VALUES ('late')")
            writer.commit()
            writer.close()
    monkeypatch.setattr(runner, "apply", apply)
    seen: list[str] = []
    result = check(proj, database=prod, on_output=seen.append)
    damage, following = result.migrations
    assert damage.verdict == "unsafe"
    assert following.verdict == "safe", following.reasons
    assert seen == ["users 3"], seen  # the three users copied, not the one written since


def test_saved_tables_are_put_back_with_every_definition_of_the_state(tmp_path: Path) -> None:
    path = tmp_path / "copy.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript('''
        CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
        CREATE TABLE b (v TEXT, w TEXT);
        CREATE INDEX b_v ON b (v);
        CREATE TABLE quiet (id INTEGER PRIMARY KEY, v TEXT);
        CREATE INDEX quiet_v ON quiet (v);
        CREATE VIEW a_and_b AS SELECT a.v FROM a JOIN b ON a.v = b.v;
        CREATE TRIGGER quiet_log AFTER INSERT ON quiet BEGIN UPDATE quiet SET v = upper(v) WHERE id = new.id; END;
        INSERT INTO a (v) VALUES ('x'), ('y'); DELETE FROM a WHERE v = 'y';
        INSERT INTO b VALUES ('x', '1'), ('x', '2'), ('z', '3'); DELETE FROM b WHERE w = '2';
        INSERT INTO quiet (v) VALUES ('q');
        PRAGMA user_version = 7;
    ''')
    identity = sqlite.state_identity(conn)
    rows = {t: conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall() for t in ("a", "b", "quiet")}
    saved = sqlite.save_tables(conn, tmp_path / "states" / "before.db", ["a", "b"])
    # what a careless down.sql may leave: rows and definitions of the saved tables changed, a table
    # created, the view, the trigger and the index of a table it does not name gone, the version bumped
    conn.executescript('''
        INSERT INTO a (v) VALUES ('late'); DELETE FROM b;
        DROP VIEW a_and_b; DROP TRIGGER quiet_log; DROP INDEX quiet_v;
        CREATE TABLE extra (id INTEGER); ALTER TABLE b ADD COLUMN more TEXT;
        PRAGMA user_version = 8;
    ''')
    assert sqlite.restore_tables(conn, saved, identity)
    assert sqlite.state_identity(conn) == identity
    assert {t: conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall()
            for t in ("a", "b", "quiet")} == rows  # rowids too
    conn.close()


def test_a_state_the_save_cannot_give_back_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "copy.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE quiet (id INTEGER PRIMARY KEY);")
    identity = sqlite.state_identity(conn)
    saved = sqlite.save_tables(conn, tmp_path / "states" / "before.db", ["a"])
    conn.execute("DROP TABLE quiet")  # a table the save does not hold: only a rebuild gives it back
    assert not sqlite.restore_tables(conn, saved, identity)
    conn.close()


def _saved_with_statements(conn: sqlite3.Connection, path: Path, tables: list[str],
                           before: Callable[[sqlite3.Connection], None] = lambda _conn: None) -> list[str]:
    statements: list[str] = []

    def opened(target: sqlite3.Connection) -> None:
        target.set_trace_callback(statements.append)
        before(target)
    sqlite.save_tables(conn, path, tables, opened=opened)
    return statements


def _own_rowids(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "src.db", isolation_level=None)
    conn.executescript('''
        CREATE TABLE t (v TEXT NOT NULL, n REAL);
        CREATE INDEX t_v ON t (v);
        CREATE TABLE w (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
        INSERT INTO t (rowid, v, n) VALUES (3, 'c', 1.0), (10, 'a', 2.5), (7, 'b', NULL);
        INSERT INTO w VALUES ('x', x'01'), ('y', NULL);
    ''')
    return conn


def test_saved_tables_are_transferred_as_stored_with_their_rowids_and_indexes(tmp_path: Path) -> None:
    conn = _own_rowids(tmp_path)
    statements = _saved_with_statements(conn, tmp_path / "saved.db", ["t", "w"])
    # rows and index entries copied as SQLite's VACUUM copies them, not read and inserted value by value
    assert 'INSERT INTO main."t" SELECT * FROM source."t"' in statements
    assert 'INSERT INTO main."w" SELECT * FROM source."w"' in statements
    assert not any(s.startswith(("DELETE", "INSERT INTO main.\"t\" (")) for s in statements), statements
    saved = sqlite3.connect(tmp_path / "saved.db")
    assert saved.execute("SELECT rowid, v, n FROM t ORDER BY rowid").fetchall() == \
        conn.execute("SELECT rowid, v, n FROM t ORDER BY rowid").fetchall() == [(3, "c", 1.0), (7, "b", None),
                                                                                 (10, "a", 2.5)]
    assert saved.execute("SELECT k, v FROM w ORDER BY k").fetchall() == [("x", b"\x01"), ("y", None)]
    assert saved.execute("SELECT v FROM t INDEXED BY t_v ORDER BY v").fetchall() == [("a",), ("b",), ("c",)]
    assert saved.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    saved.close()
    conn.close()


def test_rows_sqlite_will_not_transfer_are_copied_with_their_rowids_named(tmp_path: Path) -> None:
    conn = _own_rowids(tmp_path)
    # with the deprecated row counting on, SQLite inserts the rows one by one, numbering them again
    statements = _saved_with_statements(conn, tmp_path / "saved.db", ["t"],
                                        lambda target: target.execute("PRAGMA count_changes = ON"))
    assert any(s.startswith("DELETE FROM main.\"t\"") for s in statements), statements
    saved = sqlite3.connect(tmp_path / "saved.db")
    assert saved.execute("SELECT rowid, v, n FROM t ORDER BY rowid").fetchall() == [(3, "c", 1.0), (7, "b", None),
                                                                                     (10, "a", 2.5)]
    assert saved.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    saved.close()
    conn.close()
