from pathlib import Path
from typing import Any

import pytest

from lightnb import steps
from lightnb.errors import MigrationError, WorkspaceError
from lightnb.project import Project
from tests.support.builder import ProjectBuilder, content_of, file_state, make_database


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = (ProjectBuilder(tmp_path / "app", config=None)
            .migration("1_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n"
                                  "INSERT INTO users (name) VALUES ('ann');", "DROP TABLE users;")
            .migration("2_age", "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0;",
                       "ALTER TABLE users DROP COLUMN age;")
            .build())
    return Project.discover(root)


def test_find_read_and_save_sql(project: Project) -> None:
    assert steps.find_migration(project, "2").name == "2_age"
    up, down = steps.read_sql(project, "2_age")
    assert up.startswith("ALTER TABLE") and down is not None
    steps.save_sql(project, "2", down="-- undo\nALTER TABLE users DROP COLUMN age;\n")
    assert steps.read_sql(project, "2")[1] == "-- undo\nALTER TABLE users DROP COLUMN age;\n"
    with pytest.raises(MigrationError, match="Did you mean 2_age"):
        steps.find_migration(project, "2_agee")


def test_run_with_capture_keeps_before_state(project: Project, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    first = steps.run(project, db, limit=1, capture=steps.Capture(folder=tmp_path / "caps"))
    assert first.names == ["1_users"]
    second = steps.run(project, db, capture=steps.Capture(folder=tmp_path / "caps"))
    assert second.names == ["2_age"]
    assert second.before.table("users").column("age") is None
    assert second.after.table("users").column("age") is not None
    assert second.before_copy is not None
    assert "age" not in str(content_of(second.before_copy)[0])
    back = steps.revert(project, db, capture=steps.Capture(copy=False))
    assert back.before_copy is None and back.names == ["2_age"]
    assert back.after.table("users").column("age") is None


def test_snapshot_targets_workspace_and_leaves_production(project: Project, tmp_path: Path) -> None:
    prod = make_database(tmp_path / "prod.db", "CREATE TABLE keep(x); INSERT INTO keep VALUES (1);")
    state = file_state(prod)
    workspace = steps.snapshot(project, database_url=prod)
    target = steps.resolve_target(project)
    assert target.workspace is not None and target.path == workspace.path
    steps.run(project, target.path, regenerate_schema=False)
    explicit = steps.resolve_target(project, database_url=tmp_path / "other.db")
    assert explicit.workspace is None and explicit.path == tmp_path / "other.db"
    assert file_state(prod) == state


def test_database_url_naming_production_means_the_workspace(project: Project, tmp_path: Path) -> None:
    prod = make_database(tmp_path / "prod.db", "CREATE TABLE keep(x);")
    steps.snapshot(project, database_url=prod)
    pointing_at_prod = project.with_database(str(prod))
    target = steps.resolve_target(pointing_at_prod)
    assert target.workspace is not None and target.path != prod
    elsewhere = project.with_database(str(tmp_path / "rehearsal.db"))
    assert steps.resolve_target(elsewhere).path == tmp_path / "rehearsal.db"


def _applied_with_old_run_on(project: Project, db: Path) -> None:
    import sqlite3
    steps.run(project, db, regenerate_schema=False)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE __diesel_schema_migrations SET run_on = '2000-01-01 00:00:00'")
    conn.commit()
    conn.close()


def test_proof_of_applied_migrations_ignores_when_they_ran(project: Project, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    _applied_with_old_run_on(project, db)
    state = file_state(db)
    result = steps.test(project, db, applied=1, run_tests=False)
    assert [m.migration for m in result.migrations] == ["2_age"]
    assert result.verdict == "safe", result.to_text()
    assert file_state(db) == state


def test_proof_of_applied_migrations_catches_a_lossy_down(project: Project, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    _applied_with_old_run_on(project, db)
    steps.save_sql(project, "2", down="ALTER TABLE users DROP COLUMN age;\nDELETE FROM users;\n")
    result = steps.test(project, db, applied=1, run_tests=False)
    assert result.verdict == "unsafe"
    assert "users" in result.to_text()


def test_inspect_a_captured_run(project: Project, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    steps.run(project, db, limit=1, regenerate_schema=False)
    result = steps.run(project, db, capture=steps.Capture(folder=tmp_path / "caps"), regenerate_schema=False)
    change = steps.inspect(project, result)
    assert change.changed_tables == ("users",)
    assert any(c.kind == "column" and c.table == "users" for c in change.schema.changes)
    detail = steps.inspect(project, result, table="users")
    assert detail.table == "users"
    with pytest.raises(WorkspaceError):
        steps.inspect(project, steps.revert(project, db, regenerate_schema=False))


def test_content_only_change_is_found_without_fingerprints(tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path / "app", config=None)
            .migration("1_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n"
                                  "INSERT INTO users (name) VALUES ('ann'), ('bob');\n"
                                  "CREATE TABLE other (x);", "DROP TABLE users; DROP TABLE other;")
            .migration("2_rename_bob", "UPDATE users SET name = 'robert' WHERE name = 'bob';",
                       "UPDATE users SET name = 'bob' WHERE name = 'robert';")
            .build())
    project = Project.discover(root)
    db = tmp_path / "work.db"
    steps.run(project, db, limit=1, regenerate_schema=False)
    result = steps.run(project, db, capture=steps.Capture(folder=tmp_path / "caps"), regenerate_schema=False)
    assert result.before_copy is not None
    assert result.before.table("users").fingerprint in (None, "")  # the copy stands in for fingerprints
    change = steps.inspect(project, result)
    assert change.changed_tables == ("users",)
    fingerprinted = steps.revert(project, db, capture=steps.Capture(copy=False), regenerate_schema=False)
    assert fingerprinted.before.table("users").fingerprint != fingerprinted.after.table("users").fingerprint


def test_capture_snapshots_after_each_migration(project: Project, tmp_path: Path) -> None:
    result = steps.run(project, tmp_path / "work.db", capture=steps.Capture(copy=False), regenerate_schema=False)
    assert [(name, direction) for name, direction, _ in result.per_migration] == [("1_users", "up"), ("2_age", "up")]
    first, second = (snapshot for _, _, snapshot in result.per_migration)
    assert first.table("users").column("age") is None and second.table("users").column("age") is not None
    assert first.table("users").row_count == 1
    assert steps.run(project, tmp_path / "plain.db", regenerate_schema=False).per_migration == ()


def test_checksums_are_kept_only_in_lightnb_workspaces(project: Project, tmp_path: Path) -> None:
    import sqlite3
    plain = tmp_path / "plain.db"
    steps.run(project, plain, regenerate_schema=False)
    names = {r[0] for r in sqlite3.connect(plain).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == {"__diesel_schema_migrations", "users"}  # exactly what diesel_cli leaves
    prod = make_database(tmp_path / "prod.db", "CREATE TABLE keep(x);")
    workspace = steps.snapshot(project, database_url=prod, folder=tmp_path / "ws")
    steps.run(project, workspace.path, regenerate_schema=False)
    names = {r[0] for r in sqlite3.connect(workspace.path).execute("SELECT name FROM sqlite_master")}
    assert "__lightnb_migration_checksums" in names


def test_lint_through_the_api_sees_the_database(project: Project, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    steps.run(project, db, limit=1, regenerate_schema=False)
    steps.save_sql(project, "2", up="DELETE FROM users;\n")
    state = file_state(db)
    findings = steps.lint(project, database=db)
    destructive = [f for f in findings if f.rule == "destructive"]
    assert destructive and "1 row(s) of users deleted" in destructive[0].message
    assert file_state(db) == state


def test_proof_shows_the_rows_a_lossy_down_loses(project: Project, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    steps.run(project, db, limit=1, regenerate_schema=False)
    steps.save_sql(project, "2", down="ALTER TABLE users DROP COLUMN age;\nDELETE FROM users WHERE name = 'ann';\n")
    result = steps.test(project, db, run_tests=False)
    text = result.to_text()
    assert result.verdict == "unsafe"
    assert "rows that differ from before up" in text and "users" in text and "1 removed" in text


def test_snapshot_keeps_a_working_workspace_unless_told_to_replace_it(project: Project, tmp_path: Path) -> None:
    prod = make_database(tmp_path / "prod.db", "CREATE TABLE keep(x);")
    first = steps.snapshot(project, database_url=prod)
    steps.run(project, first.path, regenerate_schema=False)
    with pytest.raises(WorkspaceError, match="already exists"):
        steps.snapshot(project, database_url=prod)
    assert steps.list_migrations(project, first.path).migrations[0].applied
    fresh = steps.snapshot(project, database_url=prod, replace=True)
    assert not any(m.applied for m in steps.list_migrations(project, fresh.path).migrations)


def test_lint_sql_history_is_the_migrations_with_an_earlier_version(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # By folder name "2024-01-02-000000_later" sorts before "20240101000001_edited" ('-' < '0'); by
    # version (what diesel orders by) it comes after, so it is not history of the edited migration.
    root = (ProjectBuilder(tmp_path / "app", config=None)
            .migration("20240101000000_first", "CREATE TABLE a (id INTEGER);")
            .migration("2024-01-02-000000_later", "CREATE TABLE b (id INTEGER);")
            .migration("20240101000001_edited", "CREATE TABLE c (id INTEGER);")
            .build())
    seen = {}
    import lightnb.lint

    def spy(up, down=None, *, history=(), config=None, name="migration", run_in_transaction=True):  # type: ignore[no-untyped-def]
        seen.update(history=list(history), run_in_transaction=run_in_transaction)
        return []
    monkeypatch.setattr(lightnb.lint, "lint_sql", spy)
    steps.lint_sql(Project.discover(root), "SELECT 1;", name="20240101000001_edited", run_in_transaction=False)
    assert seen == {"history": ["CREATE TABLE a (id INTEGER);"], "run_in_transaction": False}



def _captured_users(tmp_path: Path, favourite: str):  # type: ignore[no-untyped-def]
    root = (ProjectBuilder(tmp_path / favourite, config=None)
            .migration("1_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, favourite TEXT);\n"
                                  f"INSERT INTO users (name, favourite) VALUES ('ann', '{favourite}');",
                       "DROP TABLE users;")
            .migration("2_age", "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0;",
                       "ALTER TABLE users DROP COLUMN age;")
            .build())
    (root / "lightnb.toml").write_text('[redact]\ncolumns = ["users.favourite"]\n', encoding="utf-8")
    project = Project.discover(root)
    db = tmp_path / favourite / "work.db"
    steps.run(project, db, limit=1, regenerate_schema=False)
    return steps.run(project, db, capture=steps.Capture(copy=False), regenerate_schema=False)


def test_captured_snapshots_leave_out_the_columns_the_project_redacts(tmp_path: Path) -> None:
    """The fingerprints a run's snapshots print never cover a column masked by the project's [redact]."""
    teal, mauve = _captured_users(tmp_path, "teal"), _captured_users(tmp_path, "mauve")
    for result in (teal, mauve):
        for snapshot in (result.before, result.after):
            shown = snapshot.to_dict()["tables"]["users"]
            assert shown["fingerprint_leaves_out"] == ["favourite"] and shown["fingerprint"]
            assert "(leaves out masked favourite)" in snapshot.to_text()
    # a value only the project masks changes nothing printed: nothing to recover it from
    # (diesel's tracking table is left out: its run_on is the clock's, which differs between the two runs)
    def shown(result: Any) -> dict[str, Any]:
        data = result.after.to_dict() | {"taken_at": ""}
        return data | {"tables": {k: v for k, v in data["tables"].items() if k != "__diesel_schema_migrations"}}
    assert shown(teal) == shown(mauve)
    assert teal.after.table("users").fingerprint != mauve.after.table("users").fingerprint  # exact ones differ


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_schema_file_that_cannot_be_written_after_the_migrations_ran_says_what_ran(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direction: str) -> None:
    from lightnb import migrate
    from lightnb.errors import FileWriteError
    db = tmp_path / "work.db"
    steps.run(project, db, regenerate_schema=False)
    schema = project.root / "src" / "schema.rs"

    def refused(*_args: Any, **_kwargs: Any) -> tuple[Path, ...]:
        raise FileWriteError(f"Cannot write the schema file {schema}: disk full.", path=schema)

    monkeypatch.setattr(migrate, "regenerate_schema_files", refused)
    with pytest.raises(FileWriteError) as caught:
        if direction == "up":
            steps.revert(project, db, regenerate_schema=False)
            steps.run(project, db)
        else:
            steps.revert(project, db)
    did = "applied" if direction == "up" else "reverted"
    assert str(caught.value) == (f"1 migration(s) {did} on {db}, but the schema file was not regenerated: Cannot "
                                 f"write the schema file {schema}: disk full. Once fixed, regenerate it with "
                                 f"`lightnb print-schema > {schema}`.")
