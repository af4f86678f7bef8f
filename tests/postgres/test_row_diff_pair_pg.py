"""One row diff per inspected table on PostgreSQL: the inspect step measures the rows once.

Inspecting a table needs its row diff twice: revealed, to pick the rows the preview shows, and redacted,
to be shown. Both come from one measurement of the two databases (row hashes streamed, counted and
sampled once, as many samples as the larger view asks), and each is exactly what a separate
:func:`~lightnb.backends.postgres.inspect.row_diff` returns: the same counts, the same first rows by key,
the redacted samples masked as that diff masks the rows it reads (secrets and their copies included).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.backends.postgres import capture as pg_capture
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.inspect import row_diff, row_diff_pair
from lightnb.inspect.redact import Redactor
from lightnb.project import Project
from lightnb.results import Capture
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

pg_inspect = importlib.import_module("lightnb.backends.postgres.inspect")

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, api_token TEXT,
                    score INTEGER NOT NULL DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), total INTEGER NOT NULL,
                     note TEXT);
CREATE TABLE tags (name TEXT PRIMARY KEY, uses INTEGER NOT NULL);
CREATE TABLE events (kind TEXT NOT NULL, n INTEGER NOT NULL);
INSERT INTO users (id, name, email, api_token)
    SELECT i, 'user ' || i, 'u' || i || '@example.com', 'tok-' || lpad(i::text, 4, '0')
    FROM generate_series(1, 39) AS i;
INSERT INTO orders SELECT i, 1 + i % 39, i * 10, NULL FROM generate_series(1, 60) AS i;
INSERT INTO tags SELECT 'tag-' || lpad(i::text, 2, '0'), i FROM generate_series(0, 11) AS i;
INSERT INTO events SELECT 'k' || (i % 4), i FROM generate_series(1, 30) AS i;
"""

MIGRATIONS = {
    "update_insert_delete": """
UPDATE users SET name = upper(name), api_token = 'tok-new-' || id WHERE id % 3 = 0;
INSERT INTO users (id, name, email, api_token) VALUES (100, 'late', 'late@example.com', 'tok-late');
DELETE FROM orders WHERE id % 7 = 0;
UPDATE tags SET uses = uses + 1 WHERE name < 'tag-05';
UPDATE events SET n = n + 1000 WHERE n <= 12;
""",
    "secret_copied_to_a_new_column": """
ALTER TABLE orders ADD COLUMN owner_token TEXT;
UPDATE orders SET owner_token = (SELECT api_token FROM users WHERE users.id = orders.user_id),
                  note = (SELECT email FROM users WHERE users.id = orders.user_id) WHERE id % 4 = 0;
UPDATE orders SET note = (SELECT api_token FROM users WHERE users.id = orders.user_id) WHERE id % 4 = 2;
""",
    "secret_copied_through_a_function": """
CREATE FUNCTION token_of(uid INTEGER) RETURNS TEXT LANGUAGE sql AS $$ SELECT api_token FROM users WHERE id = uid $$;
UPDATE orders SET note = token_of(user_id) WHERE id % 4 = 2;
UPDATE orders SET total = total + 1 WHERE id % 4 = 0;
""",
    "renamed_column_dropped_and_new_tables": """
ALTER TABLE users RENAME COLUMN name TO full_name;
UPDATE users SET score = score + 1 WHERE id <> 4;
DELETE FROM orders WHERE user_id = 4;
DELETE FROM users WHERE id = 4;
DROP TABLE tags;
CREATE TABLE labels (id INTEGER PRIMARY KEY, secret_code TEXT NOT NULL);
INSERT INTO labels SELECT i, 'code-' || i FROM generate_series(1, 20) AS i;
""",
}

REDACTORS = {
    "default": Redactor(),
    "lineage": Redactor(columns=("orders.note",), derived=frozenset({("orders", "owner_token")})),
}


@pytest.fixture
def pair(pg_cluster: Cluster, pg_database: PgDatabase) -> Iterator[Any]:
    """Make the before database (``pg_database``) and an after database holding one migration applied."""
    made: list[str] = []

    def build(migration: str) -> tuple[str, str]:
        pg_database.execute(SCHEMA)
        name = f"{pg_database.name}_after"
        url = pg_cluster.create_database(name)
        made.append(name)
        after = PgDatabase(name, url, pg_cluster)
        after.execute(SCHEMA)
        after.execute(migration)
        return pg_database.url, url

    yield build
    for name in made:
        pg_cluster.drop_database(name)


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables a row diff measured (row hashes counted and sampled), one entry per measurement."""
    seen: list[str] = []
    real = pg_inspect._diff_table

    def spy(before_conn: Any, after_conn: Any, plan: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(plan.table)
        return real(before_conn, after_conn, plan, *args, **kwargs)

    monkeypatch.setattr(pg_inspect, "_diff_table", spy)
    return seen


@pytest.mark.parametrize("migration", sorted(MIGRATIONS))
@pytest.mark.parametrize("redactor", sorted(REDACTORS))
def test_the_pair_is_what_two_separate_diffs_return(pair: Any, migration: str, redactor: str) -> None:
    before, after = pair(MIGRATIONS[migration])
    masking = REDACTORS[redactor]
    tables = ["users", "orders", "tags", "events", "labels"]
    for only in [None, *[[t] for t in tables if migration.startswith("renamed") or t != "labels"]]:
        for rows, sample in ((10, 5), (2, 7), (0, 3), (4, 0)):
            shown, hidden = row_diff_pair(before, after, tables=only, revealed=rows, sample=sample, redactor=masking)
            revealed = row_diff(before, after, tables=only, sample=rows, redactor=masking, reveal=True)
            redacted = row_diff(before, after, tables=only, sample=sample, redactor=masking)
            assert shown == revealed and shown.to_dict() == revealed.to_dict(), (only, rows, sample)
            assert hidden == redacted and hidden.to_dict() == redacted.to_dict(), (only, rows, sample)
            assert shown.revealed and not hidden.revealed
    # the diffs compared are not empty: every kind of sample is there to be cut and masked
    shown, hidden = row_diff_pair(before, after, revealed=10, sample=5, redactor=masking)
    assert any(d.samples for d in shown.tables) and shown.to_dict() != hidden.to_dict()


def test_secrets_and_their_copies_stay_masked_in_the_redacted_view(pair: Any) -> None:
    before, after = pair(MIGRATIONS["secret_copied_to_a_new_column"])
    shown, hidden = row_diff_pair(before, after, tables=["orders"], revealed=10, sample=5)
    orders = hidden.table("orders")
    assert orders is not None and orders.changed == 30 and len(orders.samples["changed"]) == 5
    assert len(shown.table("orders").samples["changed"]) == 10  # type: ignore[union-attr]
    assert "@example.com" in str(shown.to_dict())  # revealed: the real rows (they pick the preview's)
    assert "@example.com" not in str(hidden.to_dict()) + hidden.to_text()  # an e-mail copied into another column


def test_a_secret_column_is_masked_in_the_redacted_view_only(pair: Any) -> None:
    before, after = pair(MIGRATIONS["update_insert_delete"])
    shown, hidden = row_diff_pair(before, after, tables=["users"], revealed=10, sample=5)
    users = hidden.table("users")
    assert users is not None and (users.added, users.changed) == (1, 13)
    assert users.changed_columns == {"name": 13, "api_token": 13}
    assert "tok-new-" in str(shown.to_dict()) and "tok-late" in str(shown.to_dict())
    text = str(hidden.to_dict()) + hidden.to_text()
    assert "tok-" not in text and "late@example.com" not in text and "USER 12" in text


def _project(tmp_path: Path, up: str) -> Project:
    root = (ProjectBuilder(tmp_path / "app", config=None)
            .migration("2024-01-01-000000_create", SCHEMA, "DROP TABLE events, tags, orders, users;")
            .migration("2024-02-01-000000_change", up, "DROP FUNCTION IF EXISTS token_of;").build())
    return Project.discover(root, environ={})


@pytest.mark.parametrize("migration", sorted(MIGRATIONS))
def test_the_inspect_step_measures_the_rows_once(tmp_path: Path, pg_database: PgDatabase, measured: list[str],
                                                 monkeypatch: pytest.MonkeyPatch, migration: str) -> None:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    project = _project(tmp_path, MIGRATIONS[migration])
    try:
        steps.run(project, pg_database.url, limit=1)
        change = steps.inspect(project, steps.run(project, pg_database.url, capture=Capture()))
        before, after = str(change.result.before_copy), pg_database.url
        redactor = Redactor.for_project(project)
        for table in sorted(t.name for t in change.result.after.tables if t.name != "__diesel_schema_migrations"):
            measured.clear()
            found = steps.inspect(project, change, table)
            assert measured == [table], table  # once, for the revealed keys and the redacted diff alike
            expected = row_diff(before, after, tables=[table], sample=5, redactor=redactor)
            assert found.rows.to_dict() == expected.to_dict() and not found.rows.revealed
            # the preview shows the rows the revealed diff picked (the first 10 by key of each kind)
            revealed = row_diff(before, after, tables=[table], sample=10, reveal=True).table(table)
            if revealed is not None and revealed.status == "compared" and not revealed.note and \
                    revealed.added + revealed.removed + revealed.changed:
                picked = {k[0] for k in pg_capture_keys(revealed)}
                assert picked and picked <= set(found.preview.frame.index), table
    finally:
        pg_capture.discard_all()


def pg_capture_keys(found: Any) -> list[tuple[Any, ...]]:
    from lightnb.capture import _keys_of
    return _keys_of(found, 10)



# -- copies of secrets, found by value (as on SQLite) ---------------------------------------------------------
def _texts(*parts: Any) -> str:
    return " ".join(str(p) for p in parts)


def test_a_copied_token_is_masked_in_both_redacted_diffs_and_shown_in_the_revealed(pair: Any) -> None:
    before, after = pair(MIGRATIONS["secret_copied_to_a_new_column"])
    shown, hidden = row_diff_pair(before, after, tables=["orders"], revealed=10, sample=5)
    redacted = row_diff(before, after, tables=["orders"], sample=5)
    revealed = row_diff(before, after, tables=["orders"], sample=10, reveal=True)
    assert "tok-00" in str(shown.to_dict()) and "tok-00" in str(revealed.to_dict())  # note = api_token, in clear
    for diff in (hidden, redacted):
        changed = diff.table("orders").samples["changed"]  # type: ignore[union-attr]
        assert "note" in changed[0]["columns"]
        assert "tok-00" not in _texts(diff.to_dict(), diff.to_text())
        assert {item["after"]["note"] for item in changed} == {Redactor().mask}  # the column, as SQLite masks it
        assert all(isinstance(item["key"]["id"], int) for item in changed)  # the rest as it was


def test_numbers_and_short_values_are_not_taken_for_copies(pair: Any, pg_cluster: Cluster) -> None:
    before, after = pair("""
CREATE TABLE copies (id INTEGER PRIMARY KEY, n BIGINT, short TEXT, code TEXT, note TEXT);
UPDATE users SET api_token = '12345678' WHERE id = 1;
UPDATE users SET api_token = 'tok7' WHERE id = 2;
INSERT INTO copies VALUES (1, 12345678, 'tok7', '12345678', 'tok-0005'), (2, 7, 'plain', 'word', 'a plain note');
""")
    redacted = row_diff(before, after, tables=["copies"], sample=5)
    (first, second) = redacted.table("copies").samples["added"]  # type: ignore[union-attr]
    mask = Redactor().mask
    assert first["n"] == 12345678 and first["short"] == "tok7"  # a number, a text under 8 characters: not looked up
    assert first["code"] == mask and first["note"] == mask  # a text a masked column holds, under any name
    assert second["note"] == mask and second["short"] == "plain"  # the column is masked in every row


def test_the_inspect_step_and_its_report_mask_a_copied_token(tmp_path: Path, pg_database: PgDatabase,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb.render import html, markdown

    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    # the copy is made where no statement shows it (inside a function): only its value tells
    project = _project(tmp_path, MIGRATIONS["secret_copied_through_a_function"])
    try:
        steps.run(project, pg_database.url, limit=1)
        change = steps.inspect(project, steps.run(project, pg_database.url, capture=Capture()))
        found = steps.inspect(project, change, "orders")
        before, after = str(change.result.before_copy), pg_database.url
        assert "tok-00" in str(row_diff(before, after, tables=["orders"], sample=10, reveal=True).to_dict())
        preview = found.preview.frame
        assert ("after", "note") in preview.columns and "note" in found.preview.redacted
        assert not preview[("after", "note")].astype(str).str.contains("tok-").any()
        shown = [found.rows.to_text(), found.preview.frame.to_string(), html.inspection(found),
                 markdown.inspection(found), html.change_result(change), markdown.change_result(change)]
        assert all("tok-00" not in text and "@example.com" not in text for text in shown)
    finally:
        pg_capture.discard_all()


def test_a_preview_masks_a_column_holding_a_copied_token(pair: Any) -> None:
    _before, after = pair(MIGRATIONS["secret_copied_to_a_new_column"])
    from lightnb.backends.postgres.connect import connect

    with connect(after, read_only=True) as conn:
        masked = pg_inspect.preview(conn, "SELECT id, total, note FROM orders WHERE id % 4 = 2 ORDER BY id", n=3)
        clear = pg_inspect.preview(conn, "orders", n=5, where="id % 4 = 2", reveal=True)
        table = pg_inspect.preview(conn, "orders", n=5, where="id % 4 = 2")
    assert "tok-00" in clear.frame.to_string()
    for found in (masked, table):
        assert "note" in found.redacted and "tok-00" not in found.frame.to_string()
        assert "total" not in found.redacted


def test_a_bounded_lookup_reads_a_large_table_only_through_an_index(pg_database: PgDatabase,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb.backends.postgres.copies import PgKnownSecrets, pg_known_secrets
    from lightnb.inspect.lineage import SecretFinder

    pg_database.execute("""
CREATE TABLE vault (id INTEGER PRIMARY KEY, api_token TEXT);
INSERT INTO vault SELECT i, 'tok-' || lpad(i::text, 6, '0') FROM generate_series(1, 5000) AS i;
CREATE TABLE small (id INTEGER PRIMARY KEY, password TEXT);
INSERT INTO small VALUES (1, 'hunter2-hunter2');
""")
    monkeypatch.setattr(SecretFinder, "SCAN_LIMIT", 1000)
    asked: list[tuple[str, str]] = []
    real = PgKnownSecrets.lookup

    def spy(table: str, column: str) -> Any:
        asked.append((table, column))
        return real(table, column)

    monkeypatch.setattr(PgKnownSecrets, "lookup", staticmethod(spy))
    with pg_database.connect() as conn:
        bounded = pg_known_secrets([conn], Redactor(), bounded=True)
        assert bounded.hits(["tok-000007", "hunter2-hunter2"]) == {"hunter2-hunter2"}  # vault is never read
        assert asked == [("small", "password")]
        assert pg_known_secrets([conn], Redactor()).hits(["tok-000007"]) == {"tok-000007"}  # unbounded: read
        conn.execute("ANALYZE vault")
        assert not pg_known_secrets([conn], Redactor(), bounded=True).hits(["tok-000007"])  # by the estimate too
    pg_database.execute("CREATE INDEX vault_token ON vault (api_token); ANALYZE vault;")
    asked.clear()
    with pg_database.connect() as conn:
        assert pg_known_secrets([conn], Redactor(), bounded=True).hits(["tok-000007"]) == {"tok-000007"}
        assert ("vault", "api_token") in asked
        conn.execute("SET enable_seqscan = off")  # what the planner can do: seek the index, not scan the table
        plan = " ".join(r[0] for r in conn.execute(b"EXPLAIN " + real("vault", "api_token").as_bytes(conn),
                                                   (["tok-000007"],)))
        assert "Index" in plan and "Seq Scan" not in plan, plan
