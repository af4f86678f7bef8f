from __future__ import annotations

import pytest

from lightnb.inspect import impacts_frame, impacts_text, measure_impact

BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, age TEXT, legacy TEXT);
INSERT INTO users VALUES (1, 'ann', 'a@x', '31', 'l1'), (2, 'bob', 'b@x', 'old', NULL),
                         (3, NULL, 'a@x', '40', 'l3');
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE, body TEXT);
INSERT INTO posts VALUES (1, 1, 'p'), (2, 2, 'q'), (3, 3, 'r'), (4, 3, 's');
"""


@pytest.fixture
def conn(make_db, connect):
    return connect(make_db("copy.db", BASE))


def _kinds(impacts):
    return {(i.kind, i.table, i.column, i.count) for i in impacts}


def test_rows_touched_deleted_and_cascades(conn) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    impacts = measure_impact(conn, "UPDATE posts SET body = 'z' WHERE id > 1;\nDELETE FROM users WHERE id = 3;")
    assert ("rows_updated", "posts", None, 3) in _kinds(impacts)
    assert ("rows_deleted", "users", None, 1) in _kinds(impacts)
    assert ("rows_deleted", "posts", None, 2) in _kinds(impacts)  # ON DELETE CASCADE
    deleted = next(i for i in impacts if i.kind == "rows_deleted" and i.table == "users")
    assert (deleted.line, deleted.example["id"]) == (2, 3)


def test_the_copy_is_left_as_it_was(conn) -> None:
    measure_impact(conn, "DELETE FROM posts; DROP TABLE users;")
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 4
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 3


def test_values_lost_by_dropped_column_and_table(conn) -> None:
    impacts = measure_impact(conn, "ALTER TABLE users DROP COLUMN legacy; DROP TABLE posts;")
    assert ("values_lost", "users", "legacy", 2) in _kinds(impacts)
    assert ("rows_deleted", "posts", None, 4) in _kinds(impacts)
    assert ("values_lost", "posts", "body", 4) in _kinds(impacts)


def test_rebuild_counts_only_what_was_not_copied_and_storage_class_changes(conn) -> None:
    up = """
    CREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER);
    INSERT INTO new_users (id, name, email, age) SELECT id, name, email, age FROM users WHERE id < 3;
    DROP TABLE users;
    ALTER TABLE new_users RENAME TO users;
    """
    impacts = measure_impact(conn, up)
    kinds = _kinds(impacts)
    assert ("rows_inserted", "new_users", None, 2) in kinds
    assert ("storage_class_changed", "new_users", "age", 1) in kinds  # '31' -> 31; 'old' stays text
    assert ("rows_lost", "users", None, 1) in kinds
    assert ("values_lost", "users", "legacy", 2) in kinds
    assert not any(i.kind == "values_lost" and i.column == "email" for i in impacts)
    assert ("orphans", "posts", None, 2) in kinds  # posts of user 3 lost their parent
    assert [i.index for i in impacts] == sorted(i.index for i in impacts)


def test_new_constraints_would_be_violated(conn) -> None:
    up = """
    CREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
                            age TEXT CHECK (length(age) = 2));
    INSERT INTO new_users (id, name, email, age) SELECT id, name, email, age FROM users;
    """
    impacts = measure_impact(conn, up)
    kinds = _kinds(impacts)
    assert ("not_null_violation", "new_users", "name", 1) in kinds
    assert ("unique_violation", "new_users", "email", 1) in kinds
    assert ("check_violation", "new_users", None, 1) in kinds
    error = impacts[-1]
    assert error.kind == "error" and "constraint failed" in error.message and error.line == 4


def test_new_unique_index_and_foreign_key(conn) -> None:
    impacts = measure_impact(conn, "CREATE UNIQUE INDEX users_email ON users(email);")
    assert ("unique_violation", "users", None, 1) in _kinds(impacts)
    assert impacts[-1].kind == "error"
    conn.execute("PRAGMA foreign_keys = ON")
    up = """
    CREATE TABLE likes (post_id INTEGER REFERENCES posts(id));
    INSERT INTO likes SELECT id + 2 FROM posts;
    """
    assert ("fk_violation", "likes", "post_id", 2) in _kinds(measure_impact(conn, up))


def test_orphans_from_foreign_key_check(conn) -> None:
    impacts = measure_impact(conn, "DELETE FROM users WHERE id = 1;")  # foreign_keys off: no cascade
    orphans = next(i for i in impacts if i.kind == "orphans")
    assert (orphans.table, orphans.count, orphans.example["id"]) == ("posts", 1, 1)


def test_statement_list_path_frame_and_text(make_db) -> None:
    path = make_db("prod.db", BASE)
    impacts = measure_impact(path, ["DELETE FROM posts WHERE id = 1"])
    assert ("rows_deleted", "posts", None, 1) in _kinds(impacts)
    assert list(impacts_frame(impacts)["kind"]) == ["rows_deleted"]
    assert "1 row(s) of posts deleted" in impacts_text(impacts)
    assert impacts[0].to_dict()["example"] == {"id": 1, "user_id": 1, "body": "p"}


def test_a_rowid_alias_is_known_from_the_catalogue_not_from_the_words_of_its_definition(conn) -> None:
    # notes.id is the rowid: a NULL copied into it gets the next rowid (no NOT NULL failure), even though
    # the definition's text holds the words WITHOUT ROWID (in a default); a repeated id is a UNIQUE clash
    up = """
    CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, label TEXT DEFAULT 'WITHOUT ROWID', name TEXT);
    INSERT INTO notes (id, name) SELECT NULL, name FROM users;
    INSERT INTO notes (id, name) SELECT 1, name FROM users WHERE id = 1;
    """
    kinds = _kinds(measure_impact(conn, up))
    assert ("rows_inserted", "notes", None, 3) in kinds
    assert not [k for k in kinds if k[0] == "not_null_violation"]
    assert ("unique_violation", "notes", "id", 1) in kinds


def test_a_copied_row_that_repeats_one_already_there_is_counted_once(conn) -> None:
    # users 1-3 are there; the copy brings 1, 1, 1 (each meets user 1), 7, 7 and 8, 8, 8 (all but one of each
    # repeat): 3 + 1 + 2 rows fail UNIQUE, none counted twice
    conn.executescript("CREATE TABLE source (id INTEGER); "
                       "INSERT INTO source VALUES (1), (1), (1), (7), (7), (8), (8), (8), (9), (NULL), (NULL);")
    kinds = _kinds(measure_impact(conn, "INSERT INTO users (id) SELECT id FROM source;"))
    assert ("unique_violation", "users", "id", 6) in kinds


def _values(path) -> list[tuple[int, str]]:
    import sqlite3
    with sqlite3.connect(path) as other:
        return other.execute("SELECT id, name FROM users ORDER BY id").fetchall()


@pytest.mark.parametrize("end", ["COMMIT", "END", "END TRANSACTION", "RELEASE lightnb_impact",
                                 "RELEASE SAVEPOINT lightnb_impact", "ROLLBACK"])
def test_a_script_cannot_end_the_measurement_on_the_callers_connection(make_db, connect, end) -> None:
    # on a connection with no transaction open, the script's own transaction control used to commit what it had
    # run (the copy written) and the measurement then failed with "cannot rollback - no transaction is active"
    path = make_db("copy.db", BASE)
    conn = connect(path)
    before = _values(path)
    impacts = measure_impact(conn, f"UPDATE users SET name = 'x';\n{end};\nUPDATE users SET name = 'y';")
    assert ("rows_updated", "users", None, 3) in _kinds(impacts)
    (error,) = [i for i in impacts if i.kind == "error"]
    assert (error.index, error.line) == (1, 2)
    assert "is refused" in error.message and "not allowed in a migration that runs in a transaction" in error.message
    assert not any(i.index == 2 for i in impacts)  # the statements after it are not run
    assert not conn.in_transaction
    assert _values(path) == before  # read by another connection: nothing was committed
    conn.execute("BEGIN")  # the caller's own transactions are allowed again
    conn.execute("UPDATE users SET name = 'mine' WHERE id = 1")
    conn.execute("COMMIT")
    assert _values(path)[0] == (1, "mine")


def test_the_callers_open_transaction_stays_open_and_as_it_was(make_db, connect) -> None:
    path = make_db("copy.db", BASE)
    conn = connect(path)
    conn.execute("BEGIN")
    conn.execute("UPDATE users SET name = 'mine' WHERE id = 1")
    measure_impact(conn, "UPDATE users SET name = 'x'; COMMIT; DELETE FROM users;")
    assert conn.in_transaction
    assert conn.execute("SELECT id, name FROM users ORDER BY id").fetchall()[0] == (1, "mine")
    conn.execute("ROLLBACK")
    assert _values(path)[0] == (1, "ann")


def test_keep_commits_what_ran_before_a_refused_commit(make_db, connect) -> None:
    path = make_db("copy.db", BASE)
    conn = connect(path)
    impacts = measure_impact(conn, "UPDATE users SET name = 'x' WHERE id = 1; COMMIT; UPDATE users SET name = 'y';",
                             keep=True)
    assert [i.index for i in impacts if i.kind == "error"] == [1]
    assert not conn.in_transaction
    assert _values(path) == [(1, "x"), (2, "bob"), (3, None)]
