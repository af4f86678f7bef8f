"""Run, revert and inspect on a PostgreSQL workspace: a before copy cloned in the cluster, snapshots and row
diffs computed in the server, redacted previews; the same result types as on SQLite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightnb import steps
from lightnb.backends.postgres import capture as pg_capture
from lightnb.backends.postgres.clone import PREFIX
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import ConnectError, connect
from lightnb.backends.postgres.inspect import KEYLESS_NOTE
from lightnb.capture import Change, Inspection
from lightnb.errors import LightnbError, WorkspaceError
from lightnb.inspect.preview import ComparedPreview, Preview
from lightnb.inspect.row_diff import RowDiff
from lightnb.inspect.snapshot import Snapshot
from lightnb.project import Project
from lightnb.render import html as render_html
from lightnb.results import Capture, RunResult, Verification
from tests.support.builder import ProjectBuilder
from tests.support.postgres import PgDatabase

CREATE = "2024-01-01-000000_create_users"
CHANGE = "2024-02-01-000000_change_users"
SECRET = "canary.71c2@leak.example"

CREATE_UP = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, score INTEGER NOT NULL);
INSERT INTO users SELECT i, 'user' || i || '@example.com', 'User ' || i, i FROM generate_series(1, 40) AS i;
UPDATE users SET email = '""" + SECRET + """' WHERE id = 2;
CREATE TABLE events (kind TEXT NOT NULL, n INTEGER NOT NULL);
INSERT INTO events SELECT 'k' || (i % 4), i FROM generate_series(1, 30) AS i;
"""
CHANGE_UP = """
ALTER TABLE users ADD COLUMN theme TEXT NOT NULL DEFAULT 'system';
UPDATE users SET score = score + 100, email = 'changed' || id || '@example.com' WHERE id <= 3;
DELETE FROM users WHERE id = 10;
INSERT INTO users (id, email, name, score) VALUES (100, 'new@example.com', 'New', 0);
UPDATE events SET n = n + 1000 WHERE n <= 2;
"""
CHANGE_DOWN = """
UPDATE events SET n = n - 1000 WHERE n > 1000;
DELETE FROM users WHERE id = 100;
INSERT INTO users (id, email, name, score) VALUES (10, 'user10@example.com', 'User 10', 10);
UPDATE users SET score = score - 100, email = 'user' || id || '@example.com' WHERE id <= 3;
UPDATE users SET email = '""" + SECRET + """' WHERE id = 2;
ALTER TABLE users DROP COLUMN theme;
"""


def _clones(cluster: Cluster) -> set[str]:
    with connect(cluster.url("postgres")) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))}


def _content(url: str) -> dict[str, list[tuple[object, ...]]]:
    with connect(url, read_only=True) as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
                for t in ("users", "events")}


@pytest.fixture(autouse=True)
def _drop_before_copies() -> Iterator[None]:
    """Each test's before copies go with it (other tests of the session's cluster count its clones)."""
    yield
    pg_capture.discard_all()


@pytest.fixture
def production(pg_cluster: Cluster, pg_database: PgDatabase) -> Iterator[str]:
    """Production: another database of the cluster, with the first migration's tables and rows."""
    name = f"{pg_database.name}_production"
    url = pg_cluster.create_database(name)
    with connect(url) as conn:
        conn.execute(CREATE_UP.encode("utf-8"), prepare=False)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture
def project(tmp_path: Path, pg_database: PgDatabase, production: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    config = ('[print_schema]\nfile = "src/schema.rs"\nfilter = { except_tables = ["events"] }\n\n'
              '[migrations_directory]\ndir = "migrations"\n')  # diesel prints no table without a primary key
    root = (ProjectBuilder(tmp_path / "app", config=config)
            .migration(CREATE, CREATE_UP, "DROP TABLE events; DROP TABLE users;")
            .migration(CHANGE, CHANGE_UP, CHANGE_DOWN).build())
    (root / "lightnb.toml").write_text(f'production = "{production}"\n', encoding="utf-8")
    found = Project.discover(root, environ={})
    steps.run(found, pg_database.url, limit=1)  # the workspace starts with the first migration applied
    return found


def test_run_with_capture_keeps_snapshots_and_a_before_copy(project: Project, pg_database: PgDatabase) -> None:
    result = steps.run(project, pg_database.url, capture=Capture())
    assert isinstance(result, RunResult) and [m.name for m in result.migrations] == [CHANGE]
    assert str(result.database).startswith("postgresql://") and f"/{pg_database.name}?" in str(result.database)
    assert isinstance(result.before, Snapshot) and isinstance(result.after, Snapshot)
    users_before, users_after = result.before.table("users"), result.after.table("users")
    assert users_before is not None and users_after is not None
    assert users_before.row_count == 40 and users_after.row_count == 40
    assert users_after.column("theme") is not None and users_before.column("theme") is None
    # fingerprints computed in the server: the changed table's differs, the printed one leaves email out
    assert users_before.fingerprint != users_after.fingerprint and "email" in users_after.masked_columns
    assert isinstance(result.before_copy, str) and PREFIX in result.before_copy
    assert result.before_copy in pg_capture.kept_copies()
    assert _content(result.before_copy)["users"][9][0] == 10  # the before copy holds the deleted row
    assert pgurl_database(result.before_copy) in _clones(pg_database.cluster)


def pgurl_database(url: str) -> str:
    from lightnb.backends.postgres import url as pgurl
    return pgurl.database_of(pgurl.parse(url))


def test_inspect_describes_the_change_in_the_sqlite_types(project: Project, pg_database: PgDatabase) -> None:
    change = steps.inspect(project, steps.run(project, pg_database.url, capture=Capture()))
    assert isinstance(change, Change)
    assert change.changed_tables == ("events", "users")
    rows = {r.table: (r.added, r.removed, r.updated) for r in change.row_changes}
    assert rows == {"users": (1, 1, 3), "events": (2, 2, 0)}  # no key: 2 rows out, 2 other rows in
    counts = change.row_counts().set_index("table")
    assert counts.loc["users", "before"] == 40 and counts.loc["users", "after"] == 40
    phrases = {t: what for t, _b, _a, what in change.table_changes()}
    assert "1 row(s) added" in phrases["users"] and "column theme added" in phrases["users"]
    preview = change.preview("users")
    assert isinstance(preview, ComparedPreview)
    assert ("after", "theme") in preview.frame.columns and ("before", "theme") not in preview.frame.columns
    statuses = dict(zip(preview.frame.index, preview.status))
    assert statuses[10] == "removed" and statuses[100] == "added" and statuses[1] == "changed"
    shown = preview.frame.to_string()
    assert SECRET not in shown and "[redacted]" in shown and "email" in preview.redacted
    html = render_html.render(change)
    assert SECRET not in html and "theme" in html
    # the keyless table: compared by full row, previews bounded
    events = change.preview("events")
    assert len(events.frame) <= 10 and "no primary key" in events.note


def test_inspect_one_table_row_diff_and_schema(project: Project, pg_database: PgDatabase) -> None:
    change = steps.inspect(project, steps.run(project, pg_database.url, capture=Capture()))
    found = steps.inspect(project, change, "users")
    assert isinstance(found, Inspection) and isinstance(found.rows, RowDiff)
    users = found.rows.table("users")
    assert users is not None and (users.added, users.removed, users.changed, users.unchanged) == (1, 1, 3, 36)
    assert users.key == ("id",) and users.columns_added == ("theme",)
    assert users.changed_columns == {"email": 3, "score": 3}
    text = found.rows.to_text()
    assert SECRET not in text and "[redacted]" in text
    assert [c.name for c in found.schema.changes] == ["theme"]
    events = steps.inspect(project, change, "events").rows.table("events")
    assert events is not None and events.note == KEYLESS_NOTE and (events.added, events.removed) == (2, 2)


def test_revert_restores_the_rows_and_says_so(project: Project, pg_database: PgDatabase) -> None:
    before = _content(pg_database.url)
    steps.run(project, pg_database.url)
    change = steps.inspect(project, steps.revert(project, pg_database.url, capture=Capture()))
    assert _content(pg_database.url) == before
    rows = {r.table: (r.added, r.removed, r.updated) for r in change.row_changes}
    assert rows["users"] == (1, 1, 3)
    assert ("before", "theme") in change.preview("users").frame.columns
    assert "column theme dropped" in {t: w for t, _b, _a, w in change.table_changes()}["users"]


def test_redo_with_capture_and_the_workspace_verbs(project: Project, pg_database: PgDatabase) -> None:
    steps.run(project, pg_database.url)
    result = steps.redo(project, pg_database.url, capture=Capture())
    change = steps.inspect(project, result)
    assert change.changed_tables == ()  # down then up: the same rows
    from lightnb.results import PostgresWorkspace
    workspace = PostgresWorkspace(pg_database.url, None, project.root / ".lightnb")
    reverted = steps.revert_on_workspace(project, workspace)
    assert isinstance(reverted, Change) and reverted.result.direction == "down"
    applied = steps.run_on_workspace(project, workspace)
    assert applied.result.names == [CHANGE] and "users" in applied.changed_tables


def test_before_copies_are_bounded_and_dropped_when_discarded(project: Project, pg_database: PgDatabase) -> None:
    made = []
    first = steps.inspect(project, steps.run(project, pg_database.url, capture=Capture()))
    made.append(first.result.before_copy)
    steps.revert(project, pg_database.url)
    for _ in range(pg_capture.KEEP):
        made.append(steps.run(project, pg_database.url, capture=Capture()).before_copy)
        steps.revert(project, pg_database.url)
    live = _clones(pg_database.cluster)
    assert pgurl_database(str(made[0])) not in live  # the oldest was dropped
    assert all(pgurl_database(str(url)) in live for url in made[1:])
    with pytest.raises(WorkspaceError, match="was dropped .*run or revert again"):
        steps.inspect(project, first, "users")
    old = RunResult("up", Path("x"), (), 0.0, before=None, after=None, before_copy=made[0])
    with pytest.raises(WorkspaceError, match="was not captured"):
        steps.inspect(project, old)
    assert pg_capture.discard(str(made[-1])) and pgurl_database(str(made[-1])) not in _clones(pg_database.cluster)


def test_before_copies_are_dropped_when_the_process_exits(project: Project, pg_database: PgDatabase) -> None:
    script = textwrap.dedent(f"""
        from lightnb import steps
        from lightnb.project import Project
        from lightnb.results import Capture
        project = Project.discover({str(project.root)!r}, environ={{}})
        result = steps.run(project, {pg_database.url!r}, capture=Capture(), regenerate_schema=False)
        print(result.before_copy)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pgurl_database(done.stdout.strip()) not in _clones(pg_database.cluster)


def test_production_is_never_written(project: Project, pg_database: PgDatabase, production: str) -> None:
    before = _content(production)
    with pytest.raises(WorkspaceError, match="production"):
        steps.run(project, production, capture=Capture())
    with pytest.raises(WorkspaceError, match="production"):
        steps.revert(project, production, capture=Capture())
    with pytest.raises(WorkspaceError, match="production"):
        steps.redo(project, production, capture=Capture())
    assert _content(production) == before
    assert not _clones(pg_database.cluster) - {pgurl_database(u) for u in pg_capture.kept_copies()}


def test_no_before_copy_no_step(project: Project, pg_database: PgDatabase) -> None:
    """A workspace with another session open cannot be copied: one line, and nothing was applied."""
    holder = connect(pg_database.url)
    try:
        with pytest.raises(WorkspaceError, match=r"^Cannot keep a before copy .*nothing was applied.*close the other"):
            steps.run(project, pg_database.url, capture=Capture())
    finally:
        holder.close()
    assert [m.applied for m in steps.list_migrations(project, pg_database.url).migrations] == [True, False]


def test_server_down_is_one_line(project: Project, tmp_path: Path) -> None:
    url = f"postgresql://postgres@/nothing?host={tmp_path}&port=5432"
    with pytest.raises(ConnectError, match="No PostgreSQL server is running") as caught:
        steps.inspect_database(project, url)
    assert "\n" not in str(caught.value)
    with pytest.raises(LightnbError) as refused:
        steps.run(project, url, capture=Capture())
    assert "\n" not in str(refused.value)


def test_verify_is_read_only_and_redacted(project: Project, pg_database: PgDatabase) -> None:
    found = steps.verify(project, pg_database.url, ["SELECT id, email, name FROM users ORDER BY id LIMIT 3",
                                                    "SELECT upper(email) AS shout FROM users WHERE id = 2",
                                                    "SELECT email AS contact FROM users WHERE id = 2"])
    assert isinstance(found, Verification) and all(isinstance(p, Preview) for p in found.previews)
    text = "\n".join(p.to_text() for p in found.previews)
    assert SECRET not in text and SECRET.upper() not in text and "User 1" in text
    with pytest.raises(LightnbError, match="read-only"):
        steps.verify(project, pg_database.url, ["SELECT id FROM users FOR UPDATE"])
    with pytest.raises(LightnbError, match="single SELECT"):
        steps.verify(project, pg_database.url, ["DELETE FROM users"])
    with pytest.raises(LightnbError, match="read-only"):  # a query cannot switch its session to read-write
        steps.verify(project, pg_database.url, ["SELECT set_config('default_transaction_read_only', 'off', false)",
                                                "SELECT id FROM users FOR UPDATE"])
    with pytest.raises(LightnbError, match="^Refused to run the query: .*pg_read_file"):
        steps.verify(project, pg_database.url, ["SELECT pg_read_file('/etc/hostname')"])
    assert len(_content(pg_database.url)["users"]) == 40


def test_inspect_database_snapshot_and_bounded_previews(project: Project, pg_database: PgDatabase) -> None:
    summary = steps.inspect_database(project, pg_database.url)
    assert isinstance(summary, Snapshot) and summary.table_names == ("__diesel_schema_migrations", "events", "users")
    assert [t.row_count for t in summary.tables][1:] == [30, 40]
    assert "fingerprint" in summary.to_text() and SECRET not in summary.to_text()
    head = steps.inspect_database(project, pg_database.url, table="users", rows=5)
    assert isinstance(head, Preview) and list(head.frame["id"]) == [1, 2, 3, 4, 5] and head.truncated
    tail = steps.inspect_database(project, pg_database.url, table="users", rows=2, mode="tail")
    assert isinstance(tail, Preview) and list(tail.frame["id"]) == [39, 40]
    sample = steps.inspect_database(project, pg_database.url, table="users", rows=4, mode="sample")
    assert isinstance(sample, Preview) and list(sample.frame["id"]) == [1, 11, 21, 31]  # evenly spaced key seeks
    keyless_sample = steps.inspect_database(project, pg_database.url, table="events", rows=4, mode="sample")
    assert isinstance(keyless_sample, Preview) and len(keyless_sample.frame) <= 4
    keyless = steps.inspect_database(project, pg_database.url, table="events", rows=4)
    assert isinstance(keyless, Preview) and len(keyless.frame) == 4 and "no primary key" in keyless.note
    filtered = steps.inspect_database(project, pg_database.url, table="users", rows=5, where="score > 38")
    assert isinstance(filtered, Preview) and list(filtered.frame["id"]) == [39, 40]
    with pytest.raises(LightnbError, match="masked"):
        steps.inspect_database(project, pg_database.url, table="users", where="email LIKE 'canary%'")
    with pytest.raises(LightnbError, match="one condition"):
        steps.inspect_database(project, pg_database.url, table="users", where="true UNION SELECT 1")


def test_cli_inspect_and_diff_take_postgres_urls(project: Project, pg_database: PgDatabase,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from lightnb.cli import main
    result = steps.run(project, pg_database.url, capture=Capture(), regenerate_schema=False)
    assert main(["inspect", pg_database.url, "--project", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "users: 40 row(s)" in out and SECRET not in out
    assert main(["diff", str(result.before_copy), pg_database.url, "--project", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "users (key id): 1 added, 1 removed, 3 changed, 36 unchanged" in out and SECRET not in out
    assert main(["diff", str(result.before_copy), str(project.root / "x.db")]) != 0
    assert "two databases of one kind" in capsys.readouterr().err


def test_a_column_copied_from_a_masked_one_stays_masked(tmp_path: Path, pg_database: PgDatabase,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The previews of a migration that copies e-mails into a new column mask the copy too (lineage)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = (ProjectBuilder(tmp_path / "copy", config=None)
            .migration(CREATE, CREATE_UP.split("CREATE TABLE events")[0], "DROP TABLE users;")
            .migration(CHANGE, "ALTER TABLE users ADD COLUMN contact TEXT;\nUPDATE users SET contact = email;\n",
                       "ALTER TABLE users DROP COLUMN contact;\n").build())
    found = Project.discover(root, environ={})
    steps.run(found, pg_database.url, limit=1)
    change = steps.inspect(found, steps.run(found, pg_database.url, capture=Capture()))
    preview = change.preview("users")
    assert "contact" in preview.redacted and SECRET not in preview.frame.to_string()
    inspected = steps.inspect(found, change, "users")
    assert SECRET not in inspected.rows.to_text() and SECRET not in render_html.render(inspected)


def test_inspect_measures_each_statement_on_a_copy(tmp_path: Path, pg_database: PgDatabase,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows deleted by a cascade count against their own table; a rewrite names its lock; types read as PostgreSQL's."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = (ProjectBuilder(tmp_path / "cascade", config=None)
            .migration(CREATE, "CREATE TABLE users (id INTEGER PRIMARY KEY, score BIGINT NOT NULL);\n"
                               "CREATE TABLE posts (id INTEGER PRIMARY KEY, "
                               "user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE);\n"
                               "INSERT INTO users SELECT i, i FROM generate_series(1, 20) AS i;\n"
                               "INSERT INTO posts SELECT i, 1 + i % 20 FROM generate_series(1, 60) AS i;\n",
                       "DROP TABLE posts; DROP TABLE users;")
            .migration(CHANGE, "DELETE FROM users WHERE id <= 2;\nALTER TABLE users ALTER COLUMN score TYPE numeric;\n",
                       "SELECT 1;\n").build())
    found = Project.discover(root, environ={})
    steps.run(found, pg_database.url, limit=1)
    change = steps.inspect(found, steps.run(found, pg_database.url, capture=Capture()))
    described = {t: w for t, _b, _a, w in change.table_changes()}
    assert described["users"] == "2 row(s) removed; rewritten; column score changed (type bigint -> numeric)"
    assert described["posts"] == "6 row(s) removed"
    posts = [i.to_text() for i in steps.inspect(found, change, "posts").impact]
    assert posts == [f"{CHANGE}/up.sql line 1 (DELETE FROM users WHERE id <= 2;): posts: 6 row(s) deleted"]
    users = [i.to_text() for i in steps.inspect(found, change, "users").impact]
    assert users[0].endswith("users: 2 row(s) deleted")
    assert "line 2" in users[1] and "rewrites users: 18 rows" in users[1] and "ACCESS EXCLUSIVE" in users[1]
    assert pg_capture.kept_copies()[-1] == change.result.before_copy  # measured on a clone of it, which is gone
    assert len(_clones(pg_database.cluster)) == len(pg_capture.kept_copies())


def test_before_copies_of_a_killed_process_are_swept(project: Project, pg_database: PgDatabase) -> None:
    """A process killed before it could drop its before copy leaves it to the next capture, which drops it."""
    script = textwrap.dedent(f"""
        import os, sys
        from lightnb import steps
        from lightnb.project import Project
        from lightnb.results import Capture
        project = Project.discover({str(project.root)!r}, environ={{}})
        result = steps.run(project, {pg_database.url!r}, capture=Capture(), regenerate_schema=False)
        print(result.before_copy, flush=True)
        os._exit(0)  # no exit handlers: as if killed
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    left = pgurl_database(done.stdout.strip())
    assert left in _clones(pg_database.cluster)
    steps.revert(project, pg_database.url, capture=Capture(), regenerate_schema=False)
    assert left not in _clones(pg_database.cluster)


def test_a_view_over_a_masked_column_stays_masked(project: Project, pg_database: PgDatabase) -> None:
    """A view's columns are masked when the view (or a view it reads) reads a masked column; a plain value shows."""
    pg_database.execute("CREATE TABLE keys (id INTEGER PRIMARY KEY, api_token TEXT NOT NULL, label TEXT NOT NULL);\n"
                        "INSERT INTO keys VALUES (1, 'plainvalue123', 'first key');\n"
                        "CREATE VIEW tokens AS SELECT id, api_token AS t FROM keys;\n"
                        "CREATE VIEW tokens_again AS SELECT t AS v FROM tokens;\n")
    found = steps.verify(project, pg_database.url, ["SELECT * FROM tokens", "SELECT v FROM tokens_again",
                                                    "SELECT label AS t FROM keys", "SELECT api_token AS x FROM keys"])
    tokens, again, label, aliased = found.previews
    assert "plainvalue123" not in tokens.to_text() + again.to_text() + aliased.to_text()
    assert "t" in tokens.redacted and "v" in again.redacted and "x" in aliased.redacted
    assert "first key" in label.to_text()  # a column straight from a table is judged by that column, not its alias
    view = steps.inspect_database(project, pg_database.url, table="tokens")
    assert isinstance(view, Preview) and "of view tokens" in view.note and "plainvalue123" not in view.to_text()
