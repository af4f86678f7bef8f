from __future__ import annotations

from lightnb.inspect import schema_diff, take_snapshot

BASE = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, legacy TEXT, age TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
CREATE INDEX posts_title ON posts(title);
CREATE TRIGGER audit_posts AFTER INSERT ON posts BEGIN INSERT INTO audit(what) VALUES ('post'); END;
CREATE VIEW v_users AS SELECT id FROM users;
INSERT INTO users VALUES (1, 'a@x', 'l', '30');
"""


def _diff(make_db, connect, change: str, *, separate: bool = False):
    before = make_db("before.db", BASE)
    after = make_db("after.db", BASE + change) if separate else make_db("after.db", change, base=before)
    return schema_diff(take_snapshot(connect(before), label="before"), take_snapshot(connect(after), label="after"))


def _actions(diff) -> set[tuple[str, str, str]]:
    return {(c.kind, c.action, c.name) for c in diff.changes}


def test_no_change(make_db, connect) -> None:
    diff = _diff(make_db, connect, "")
    assert not diff and diff.to_text() == "Schema: no changes." and diff.to_frame().empty


def test_table_added_and_removed(make_db, connect) -> None:
    diff = _diff(make_db, connect, "CREATE TABLE likes (id INTEGER PRIMARY KEY, n INT); DROP TABLE audit;")
    assert {("table", "added", "likes"), ("table", "removed", "audit")} <= _actions(diff)
    assert ("trigger", "removed", "audit_posts") not in _actions(diff)  # the trigger is on posts


def test_column_added_dropped_and_changed_by_rebuild(make_db, connect) -> None:
    diff = _diff(make_db, connect, """
        ALTER TABLE users DROP COLUMN legacy;
        ALTER TABLE users ADD COLUMN nickname TEXT NOT NULL DEFAULT 'x';""")
    assert {("column", "removed", "legacy"), ("column", "added", "nickname")} <= _actions(diff)
    assert not diff.of(kind="table", action="rebuilt")
    assert "column removed: users.legacy" in diff.to_text()


def test_table_rebuild_is_detected_with_column_type_change(make_db, connect) -> None:
    diff = _diff(make_db, connect, """
        PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON;
        CREATE TABLE new_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, legacy TEXT, age INTEGER);
        INSERT INTO new_users SELECT * FROM users;
        DROP TABLE users;
        ALTER TABLE new_users RENAME TO users;""")
    rebuilt = diff.of(kind="table", action="rebuilt")
    assert [c.name for c in rebuilt] == ["users"]
    changed = {c.name: c.detail for c in diff.of(kind="column", action="changed")}
    assert changed == {"email": "NOT NULL added", "age": "type TEXT -> INTEGER (values stored with INTEGER "
                                                      "affinity instead of TEXT; schema.rs Text -> Integer)"}
    assert not diff.of(kind="table", action="renamed")
    frame = diff.to_frame()
    assert set(frame["action"]) == {"rebuilt", "changed"}


def test_table_rename_by_alter(make_db, connect) -> None:
    diff = _diff(make_db, connect, "ALTER TABLE audit RENAME TO audit_log;")
    [rename] = diff.of(kind="table", action="renamed")
    assert (rename.old_name, rename.name, rename.detail) == ("audit", "audit_log", "same storage and columns")
    assert "heuristic" in diff.to_text()
    assert diff.table_renames == {"audit": "audit_log"}
    assert not diff.of(action="added") and not diff.of(action="removed")


def test_table_rename_between_unrelated_files_is_heuristic_and_says_so(make_db, connect) -> None:
    diff = _diff(make_db, connect, "DROP TABLE audit; CREATE TABLE journal (id INTEGER PRIMARY KEY, what TEXT);",
                 separate=True)
    [rename] = diff.of(kind="table", action="renamed")
    assert rename.heuristic and rename.old_name == "audit" and "heuristic" in diff.to_text()


def test_dropped_table_whose_pages_are_reused_is_not_a_rename(make_db, connect) -> None:
    diff = _diff(make_db, connect, "DROP TABLE audit; CREATE TABLE other (x BLOB, y BLOB, z BLOB);")
    assert {("table", "removed", "audit"), ("table", "added", "other")} <= _actions(diff)


def test_column_rename_is_heuristic(make_db, connect) -> None:
    diff = _diff(make_db, connect, "ALTER TABLE users RENAME COLUMN email TO mail;")
    [rename] = diff.of(kind="column", action="renamed")
    assert (rename.table, rename.old_name, rename.name, rename.heuristic) == ("users", "email", "mail", True)
    assert diff.column_renames("users") == {"email": "mail"}
    assert "column renamed: users.email -> users.mail" in diff.to_text()


def test_indexes_foreign_keys_triggers_views(make_db, connect) -> None:
    diff = _diff(make_db, connect, """
        DROP INDEX posts_title;
        CREATE UNIQUE INDEX users_email ON users(email) WHERE email IS NOT NULL;
        DROP TRIGGER audit_posts;
        CREATE TRIGGER audit_users AFTER INSERT ON users BEGIN INSERT INTO audit(what) VALUES ('user'); END;
        DROP VIEW v_users;
        CREATE VIEW v_users AS SELECT id, email FROM users;
        DROP TABLE audit;
        CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT, post_id INTEGER REFERENCES posts(id));""",
                 separate=True)
    acts = _actions(diff)
    assert ("index", "removed", "posts_title") in acts
    assert ("index", "added", "users_email") in acts
    assert ("trigger", "removed", "audit_posts") in acts and ("trigger", "added", "audit_users") in acts
    assert ("view", "changed", "v_users") in acts
    assert ("foreign_key", "added", "(post_id) -> posts(id)") in acts
    assert ("column", "added", "post_id") in acts
    assert diff.to_dict()["counts"]["added"] >= 3


def test_foreign_key_rule_change(make_db, connect) -> None:
    diff = _diff(make_db, connect, """
        CREATE TABLE new_posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                                title TEXT);
        PRAGMA legacy_alter_table = ON; INSERT INTO new_posts SELECT * FROM posts; DROP TABLE posts;
        ALTER TABLE new_posts RENAME TO posts;
        CREATE INDEX posts_title ON posts(title);""")
    [fk] = diff.of(kind="foreign_key")
    assert fk.action == "changed" and "ON DELETE CASCADE" in fk.detail


def test_an_added_index_reads_its_columns_once_in_parentheses(make_db, connect) -> None:
    diff = _diff(make_db, connect, "CREATE UNIQUE INDEX users_email_age ON users(email, age) WHERE email IS NOT NULL;"
                                   "CREATE INDEX users_legacy ON users(legacy);")
    lines = {c.to_text() for c in diff.changes if c.kind == "index"}
    assert lines == {"index added: users_email_age on users (UNIQUE email, age; partial)",
                     "index added: users_legacy on users (legacy)"}
