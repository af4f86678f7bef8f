"""The bundled sample backend and its generated production database (lightnb.samples)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import shutil
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from lightnb import migrations, runner, samples
from lightnb.backends import sqlite
from lightnb.cli import main
from lightnb.errors import DatabaseError, ProjectError
from lightnb.project import Project

USERS = 300
TABLES = ("message_log", "oauth_connections", "user_settings", "users")
# diesel 2.3 directory format (diesel_spec.md §1.3).
NAME_23 = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{6}-[0-9a-f]{4}_[a-z0-9_]+$")


# --------------------------------------------------------------------------- helpers


def table_digest(path: Path) -> str:
    """SHA-256 of every user table's rows in primary-key order (streamed, not loaded)."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(path)
    try:
        for table in TABLES:
            digest.update(table.encode())
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()


def schema_shape(conn: sqlite3.Connection) -> list[tuple]:
    """Describe the schema structurally (columns, keys, indexes), ignoring the tracking table."""
    shape: list[tuple] = []
    objects = conn.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "AND name != '__diesel_schema_migrations' ORDER BY type, name").fetchall()
    for kind, name, table in objects:
        shape.append((kind, name, table))
        if kind == "table":
            shape += [("column", name, *r) for r in conn.execute(f"PRAGMA table_xinfo('{name}')")]
            shape += [("fk", name, *r) for r in conn.execute(f"PRAGMA foreign_key_list('{name}')")]
            shape += [("index", name, *r[1:]) for r in conn.execute(f"PRAGMA index_list('{name}')")]
        elif kind == "index":
            shape += [("indexed", name, *r) for r in conn.execute(f"PRAGMA index_xinfo('{name}')")]
    return shape


def user_objects(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '__diesel_schema_migrations' ORDER BY name")]


def sample_migrations() -> list[migrations.Migration]:
    return migrations.discover(samples.sample_source() / "migrations")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated production database, shared read-only by this module's tests."""
    return samples.generate_database(tmp_path_factory.mktemp("sample") / "production.db", users=USERS)


@pytest.fixture
def copy_of_production(production: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copyfile(production, target)
    return target


# --------------------------------------------------------------------------- the project


def test_sample_project_has_diesel_layout() -> None:
    root = samples.sample_source()
    for relative in ("diesel.toml", "Cargo.toml", "src/schema.rs", "src/lib.rs", "src/main.rs",
                     "src/models/mod.rs", "src/repositories/mod.rs"):
        assert (root / relative).is_file(), relative
    project = Project.discover(root, environ={})
    assert project.migrations_dir == root / "migrations"
    assert project.print_schema["default"]["file"] == "src/schema.rs"
    assert project.print_schema["default"]["custom_type_derives"] == ["diesel::query_builder::QueryId", "Clone"]


def test_at_least_eight_migrations_in_diesel_23_format_each_with_a_real_down() -> None:
    found = sample_migrations()
    assert len(found) >= 8
    for migration in found:
        assert NAME_23.match(migration.name), migration.name
        assert len(migration.version) == 18
        assert migration.down_path is not None, migration.name
        statements = [line for line in migration.down_sql().splitlines()
                      if line.strip() and not line.lstrip().startswith("--")]
        assert statements, f"{migration.name}/down.sql does nothing"


def test_migrations_cover_the_kinds_of_change_a_team_makes() -> None:
    ups = {m.name.split("_", 1)[1]: m.up_sql() for m in sample_migrations()}
    text = "\n".join(ups.values())
    assert "ON DELETE CASCADE" in text
    assert "access_token_encrypted TEXT" in text
    assert "CREATE INDEX" in text
    assert re.search(r"ADD COLUMN \w+ .* DEFAULT", text)
    assert re.search(r"^UPDATE ", text, re.MULTILINE)
    rebuild = ups["make_message_log_channel_not_null"]
    for step in ("CREATE TABLE message_log_new", "INSERT INTO message_log_new", "DROP TABLE message_log",
                 "RENAME TO message_log", "CREATE INDEX"):
        assert step in rebuild


def test_every_down_restores_the_schema_before_its_up(tmp_path: Path) -> None:
    found = sample_migrations()
    conn = sqlite.connect(tmp_path / "steps.db")
    try:
        shapes = [schema_shape(conn)]
        for migration in found:
            runner.apply(conn, migration, "up")
            shapes.append(schema_shape(conn))
        for i in range(len(found), 0, -1):
            assert runner.revert(conn, found) == [found[i - 1]]
            assert schema_shape(conn) == shapes[i - 1], f"down.sql of {found[i - 1].name}"
        assert user_objects(conn) == []
        assert runner.applied_versions(conn) == []
    finally:
        conn.close()


def test_revert_all_on_production_data_leaves_an_empty_schema_then_runs_again(copy_of_production: Path) -> None:
    found = sample_migrations()
    conn = sqlite.connect(copy_of_production)
    try:
        full = schema_shape(conn)
        reverted = runner.revert(conn, found, all=True)
        assert [m.name for m in reverted] == [m.name for m in reversed(found)]
        assert user_objects(conn) == []
        runner.run_pending(conn, found)
        assert schema_shape(conn) == full
    finally:
        conn.close()


def test_table_rebuild_keeps_every_row_both_ways(copy_of_production: Path) -> None:
    found = sample_migrations()
    conn = sqlite.connect(copy_of_production)
    try:
        before = conn.execute("SELECT count(*), sum(id), sum(sent_at) FROM message_log").fetchone()
        assert runner.revert(conn, found)[0].name.endswith("make_message_log_channel_not_null")
        assert conn.execute("SELECT count(*), sum(id), sum(sent_at) FROM message_log").fetchone() == before
        notnull = {r[1]: r[3] for r in conn.execute("PRAGMA table_info(message_log)")}
        assert notnull["channel"] == 0
        conn.execute("UPDATE message_log SET channel = NULL WHERE id % 7 = 0")
        runner.run_pending(conn, found)
        assert conn.execute("SELECT count(*) FROM message_log WHERE channel IS NULL").fetchone() == (0,)
        assert conn.execute("SELECT count(*), sum(id), sum(sent_at) FROM message_log").fetchone() == before
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_locale_backfill_changes_rows_and_its_down_resets_them(tmp_path: Path) -> None:
    found = sample_migrations()
    backfill = next(i for i, m in enumerate(found) if m.name.endswith("backfill_user_settings_locale"))
    conn = sqlite.connect(tmp_path / "backfill.db")
    try:
        runner.run_pending(conn, found, limit=backfill)
        conn.executemany("INSERT INTO users (id, email, display_name, phone_number, password_hash, created_at, "
                         "updated_at) VALUES (?, ?, 'x', ?, 'h', 0, 0)",
                         [(1, "a@x", "+33612345678"), (2, "b@x", "+358401234567"), (3, "c@x", None),
                          (4, "d@x", "+12125550100")])
        conn.execute("INSERT INTO user_settings (user_id, updated_at) SELECT id, 0 FROM users")
        runner.apply(conn, found[backfill], "up")
        locales = dict(conn.execute("SELECT user_id, locale FROM user_settings"))
        assert locales == {1: "fr-FR", 2: "fi-FI", 3: "en-US", 4: "en-US"}
        runner.apply(conn, found[backfill], "down")
        assert set(dict(conn.execute("SELECT user_id, locale FROM user_settings")).values()) == {"en-US"}
    finally:
        conn.close()


def test_schema_rs_declares_the_team_rules(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "rules.db")
    try:
        runner.run_pending(conn, sample_migrations())
        for table in user_objects(conn):
            for _, column, declared, *_ in conn.execute(f"PRAGMA table_xinfo('{table}')"):
                assert "JSON" not in declared.upper(), (table, column)
                if column.endswith("_at"):
                    assert declared == "INTEGER", (table, column)
                if column.endswith(("_encrypted", "_hash")):
                    assert declared == "TEXT", (table, column)
    finally:
        conn.close()


def test_exercise_column_is_not_there_yet_and_applies_cleanly(copy_of_production: Path) -> None:
    conn = sqlite.connect(copy_of_production)
    try:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({samples.EXERCISE.table})")]
        assert samples.EXERCISE.column not in columns
        before = schema_shape(conn)
        conn.execute(samples.EXERCISE.up_sql)
        values = conn.execute(f"SELECT DISTINCT {samples.EXERCISE.column} FROM {samples.EXERCISE.table}").fetchall()
        assert values == [("system",)]
        conn.execute(samples.EXERCISE.down_sql)
        assert schema_shape(conn) == before
    finally:
        conn.close()


def test_copy_sample_project_copies_a_working_project(tmp_path: Path) -> None:
    dest = samples.copy_sample_project(tmp_path / "backend")
    assert (dest / "src" / "schema.rs").read_bytes() == (samples.sample_source() / "src" / "schema.rs").read_bytes()
    assert [m.name for m in migrations.discover(Project.discover(dest, environ={}).migrations_dir)] == \
        [m.name for m in sample_migrations()]
    assert not list(dest.rglob("*.db"))


def test_copy_sample_project_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="not an empty folder"):
        samples.copy_sample_project(tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


def test_missing_sample_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(samples, "__file__", str(tmp_path / "lightnb" / "samples.py"))
    with pytest.raises(ProjectError, match="sample backend is missing.*LIGHTNB_SAMPLE_DIR"):
        samples.sample_source()
    monkeypatch.setenv(samples.SAMPLE_DIR_ENV, str(Path(__file__).resolve().parents[1] / "data" / "sample_backend"))
    assert (samples.sample_source() / "diesel.toml").is_file()


# --------------------------------------------------------------------------- schema.rs


@pytest.mark.skipif(importlib.util.find_spec("lightnb.schema.sync") is None,
                    reason="lightnb.schema.sync (print-schema) is not available")
def test_schema_rs_regenerates_byte_identical(tmp_path: Path) -> None:
    from lightnb.schema.sync import regenerate_schema_files

    dest = samples.copy_sample_project(tmp_path / "backend")
    schema_rs = dest / "src" / "schema.rs"
    schema_rs.write_text("diesel::table! {\n    stale (id) {\n        id -> Integer,\n    }\n}\n")  # an old schema
    database = samples.generate_database(tmp_path / "empty.db", users=0, project_dir=dest)
    conn = sqlite.connect(database)
    try:
        written = regenerate_schema_files(Project.discover(dest, environ={}), conn)
    finally:
        conn.close()
    assert written == [schema_rs]
    assert schema_rs.read_bytes() == (samples.sample_source() / "src" / "schema.rs").read_bytes()


@pytest.mark.skipif(importlib.util.find_spec("lightnb.models.drift") is None,
                    reason="lightnb.models.drift (model drift check) is not available")
def test_model_structs_match_schema_rs() -> None:
    from lightnb.models.drift import check_models

    root = samples.sample_source()
    report = check_models(root / "src" / "models", root / "src" / "schema.rs")
    assert report.findings == ()
    assert sorted(s.struct for s in report.checked) == [
        "MessageLog", "NewMessageLog", "NewOauthConnection", "NewUser", "NewUserSettings",
        "OauthConnection", "User", "UserSettings"]


# --------------------------------------------------------------------------- the database


def test_same_seed_gives_the_same_bytes_and_another_seed_other_data(production: Path, tmp_path: Path) -> None:
    again = samples.generate_database(tmp_path / "again.db", users=USERS)
    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(production.read_bytes()).hexdigest()
    assert table_digest(again) == table_digest(production)
    other = samples.generate_database(tmp_path / "other.db", users=USERS, seed=7)
    assert table_digest(other) != table_digest(production)


def test_sizes_scale_with_users(production: Path) -> None:
    conn = sqlite3.connect(production)
    try:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        with_messages = conn.execute("SELECT count(DISTINCT user_id) FROM message_log").fetchone()[0]
    finally:
        conn.close()
    assert counts["users"] == USERS
    assert 0.85 * USERS <= counts["user_settings"] < USERS  # most users, not all
    assert 0.2 * USERS <= counts["oauth_connections"] <= 1.0 * USERS
    assert 2 * USERS <= counts["message_log"] <= 6 * USERS  # several per user
    assert with_messages < USERS  # some users never got a message


def test_zero_users_gives_the_schema_only(tmp_path: Path) -> None:
    path = samples.generate_database(tmp_path / "empty.db", users=0)
    conn = sqlite3.connect(path)
    try:
        assert sorted(user_objects(conn)) == sorted([*TABLES, "message_log_user_id_sent_at_idx"])
        assert all(conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (0,) for t in TABLES)
    finally:
        conn.close()


def test_tracking_table_is_diesels_and_complete(production: Path) -> None:
    conn = sqlite.connect(production, create=False)
    try:
        assert sorted(runner.applied_versions(conn)) == [m.version for m in sample_migrations()]
        assert runner.pending(conn, sample_migrations()) == []
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = '__diesel_schema_migrations'").fetchone()[0]
        assert sql.startswith("CREATE TABLE __diesel_schema_migrations (\n       version VARCHAR(50)")
        run_on = dict(conn.execute("SELECT version, run_on FROM __diesel_schema_migrations"))
        assert run_on["202501100900000000"] == "2025-01-10 09:00:00"
    finally:
        conn.close()


def test_data_is_consistent(production: Path) -> None:
    conn = sqlite3.connect(production)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # Children never predate their user.
        for table, column in (("message_log", "sent_at"), ("oauth_connections", "created_at"),
                              ("user_settings", "updated_at")):
            early = conn.execute(f"SELECT count(*) FROM {table} c JOIN users u ON u.id = c.user_id "
                                 f"WHERE c.{column} < u.created_at").fetchone()[0]
            assert early == 0, table
        # The locale backfill's rule holds in production: French numbers speak French, mostly.
        french = conn.execute("SELECT avg(s.locale = 'fr-FR') FROM user_settings s JOIN users u "
                              "ON u.id = s.user_id WHERE u.phone_number LIKE '+33%'").fetchone()[0]
        assert french > 0.7
    finally:
        conn.close()


def test_timestamps_are_integer_unix_seconds(production: Path) -> None:
    conn = sqlite3.connect(production)
    try:
        for table in TABLES:
            for _, column, *_ in conn.execute(f"PRAGMA table_info({table})").fetchall():
                if not column.endswith("_at"):
                    continue
                bad = conn.execute(f"SELECT count(*) FROM {table} WHERE typeof({column}) != 'integer' "
                                   f"OR {column} < ? OR {column} > ?",
                                   (samples.FIRST_SIGNUP, samples.NOW + 86_400)).fetchone()[0]
                assert bad == 0, (table, column)
    finally:
        conn.close()


def test_personal_data_looks_real(production: Path) -> None:
    conn = sqlite3.connect(production)
    try:
        emails = [r[0] for r in conn.execute("SELECT email FROM users")]
        phones = [r[0] for r in conn.execute("SELECT phone_number FROM users WHERE phone_number IS NOT NULL")]
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM users")]
        names = [r[0] for r in conn.execute("SELECT display_name FROM users")]
    finally:
        conn.close()
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+", e) for e in emails)
    assert all(re.fullmatch(r"\+[1-9]\d{7,14}", p) for p in phones)  # E.164
    assert 0.7 * USERS < len(phones) < USERS  # some users have no phone yet
    assert all(h.startswith("$argon2id$v=19$") for h in hashes)
    assert all(" " in n for n in names) and any(not n.isascii() for n in names)


def test_tokens_look_encrypted(production: Path) -> None:
    conn = sqlite3.connect(production)
    try:
        rows = conn.execute("SELECT access_token_encrypted, refresh_token_encrypted FROM oauth_connections").fetchall()
    finally:
        conn.close()
    tokens = [t for row in rows for t in row if t is not None]
    assert len(tokens) > len(rows)  # most connections also have a refresh token
    for token in tokens:
        raw = base64.b64decode(token, validate=True)
        assert len(raw) >= 12 + 16 + 32  # nonce, tag, and a ciphertext
    # Random bytes, not text: a plaintext token would decode to mostly printable ASCII.
    printable = sum(32 <= b < 127 for t in tokens for b in base64.b64decode(t))
    assert printable / sum(len(base64.b64decode(t)) for t in tokens) < 0.5
    assert len({t[:16] for t in tokens}) == len(tokens)  # a fresh nonce each time


def test_generation_streams_in_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(samples, "BATCH_USERS", 100)

    def peak(users: int) -> int:
        tracemalloc.start()
        try:
            samples.generate_database(tmp_path / f"{users}.db", users=users)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(400), peak(2_000)
    assert large < small * 1.5  # memory does not grow with the number of users


def test_default_size_is_ten_thousand_users(tmp_path: Path) -> None:
    # Speed is measured by the benchmarks (bench/), never asserted here.
    path = samples.generate_database(tmp_path / "prod.db")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == samples.DEFAULT_USERS == 10_000
    finally:
        conn.close()


def test_existing_database_is_not_overwritten_unless_asked(production: Path, tmp_path: Path) -> None:
    target = tmp_path / "prod.db"
    target.write_bytes(b"precious")
    with pytest.raises(DatabaseError, match="already exists"):
        samples.generate_database(target, users=5)
    assert target.read_bytes() == b"precious"
    samples.generate_database(target, users=USERS, overwrite=True)
    assert table_digest(target) == table_digest(production)


def test_a_project_with_another_schema_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    project = tmp_path / "other"
    (project / "migrations" / "1_create_things").mkdir(parents=True)
    (project / "diesel.toml").write_text('[migrations_directory]\ndir = "migrations"\n')
    (project / "migrations" / "1_create_things" / "up.sql").write_text("CREATE TABLE things (id INTEGER);\n")
    with pytest.raises(ProjectError, match="do not build the sample's schema"):
        samples.generate_database(tmp_path / "prod.db", users=3, project_dir=project)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_generating_from_a_copy_with_the_exercise_applied(tmp_path: Path) -> None:
    dest = samples.copy_sample_project(tmp_path / "backend")
    made = migrations.generate(dest / "migrations", samples.EXERCISE.name, version="2099-01-01-000000-0000")
    made.up_path.write_text(samples.EXERCISE.up_sql)
    assert made.down_path is not None
    made.down_path.write_text(samples.EXERCISE.down_sql)
    path = samples.generate_database(tmp_path / "prod.db", users=50, project_dir=dest)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT DISTINCT theme FROM user_settings").fetchall() == [("system",)]
    finally:
        conn.close()


# --------------------------------------------------------------------------- workbook and CLI


def test_sample_workbook_points_the_project_at_a_workspace_copy(tmp_path: Path) -> None:
    made = samples.sample_workbook(tmp_path / "wb", users=50)
    project_dir, production = made
    assert production == (tmp_path / "wb" / "production.db").resolve()
    digest = hashlib.sha256(production.read_bytes()).hexdigest()
    project = Project.discover(project_dir, environ={})
    database = project.database_path()
    assert database.is_file() and database != production
    assert database.is_relative_to(project_dir / samples.WORKSPACE_DIRNAME)
    assert table_digest(database) == table_digest(production)
    assert project.settings["production"] == "../production.db"
    assert (project.config_dir / project.settings["production"]).resolve() == production
    assert hashlib.sha256(production.read_bytes()).hexdigest() == digest


def test_cli_sample_creates_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", str(tmp_path / "wb"), "--users", "40", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "40 users" in out and "seed 3" in out and "DATABASE_URL" in out
    assert (tmp_path / "wb" / "production.db").is_file()
    assert (tmp_path / "wb" / "sample_backend" / "diesel.toml").is_file()
    assert main(["sample", str(tmp_path / "wb")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "already exists" in err and "Traceback" not in err


def test_cli_sample_without_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", str(tmp_path / "wb"), "--users", "0", "--no-workspace"]) == 0
    assert not (tmp_path / "wb" / "sample_backend" / ".env").exists()
    assert not (tmp_path / "wb" / "sample_backend" / samples.WORKSPACE_DIRNAME).exists()


def test_cli_sample_rejects_a_negative_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", str(tmp_path / "wb"), "--users", "-1"])
    assert exit_info.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
