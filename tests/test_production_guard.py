"""The declared production database is never written, whichever way it is named; settings never leak."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb import steps
from lightnb.cli import main
from lightnb.errors import WorkspaceError
from lightnb.project import Project
from tests.support.builder import ProjectBuilder, file_state, make_database


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = (ProjectBuilder(tmp_path / "app", config=None)
            .migration("1_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT);\n"
                                  "INSERT INTO users (nickname) VALUES ('zorro-secret-nick');",
                       "DROP TABLE users;")
            .build())
    make_database(tmp_path / "prod.db", "CREATE TABLE keep (x);")
    (root / "lightnb.toml").write_text('production = "../prod.db"\n[redact]\ncolumns = ["users.nickname"]\n')
    return root


def test_database_url_naming_production_without_workspace_is_refused(app: Path, monkeypatch, capsys) -> None:
    production = app.parent / "prod.db"
    state = file_state(production)
    monkeypatch.chdir(app)
    monkeypatch.setenv("DATABASE_URL", "../prod.db")
    assert main(["migration", "run"]) == 1
    assert "production database, which lightnb only reads" in capsys.readouterr().err
    assert main(["migration", "list"]) == 0  # reading is allowed, and writes nothing
    assert file_state(production) == state
    with pytest.raises(WorkspaceError):
        steps.run(Project.discover(app), production)
    with pytest.raises(WorkspaceError):
        steps.revert(Project.discover(app), production)
    assert file_state(production) == state


def test_listing_a_database_without_tracking_table_writes_nothing(app: Path) -> None:
    other = make_database(app.parent / "other.db", "CREATE TABLE t (x);")
    state = file_state(other)
    result = steps.list_migrations(Project.discover(app), other)
    assert [m.applied for m in result.migrations] == [False]
    assert file_state(other) == state


def test_project_redaction_reaches_check_and_lint(app: Path, tmp_path: Path) -> None:
    project = Project.discover(app)
    db = tmp_path / "work.db"
    steps.run(project, db, regenerate_schema=False)
    (app / "migrations" / "2_lossy").mkdir()
    (app / "migrations" / "2_lossy" / "up.sql").write_text("ALTER TABLE users ADD COLUMN age INTEGER;\n")
    (app / "migrations" / "2_lossy" / "down.sql").write_text(
        "ALTER TABLE users DROP COLUMN age;\nDELETE FROM users;\n")
    text = steps.test(project, db, run_tests=False).to_text()
    assert "rows that differ" in text and "zorro-secret-nick" not in text
    (app / "migrations" / "2_lossy" / "up.sql").write_text("DELETE FROM users;\n")
    findings = steps.lint(project, database=db)
    assert any(f.rule == "destructive" for f in findings)
    assert all("zorro-secret-nick" not in f.message for f in findings)


def test_diff_refuses_to_guess_when_settings_are_broken(app: Path, tmp_path: Path, capsys) -> None:
    a = make_database(tmp_path / "a.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT);"
                                         "INSERT INTO users VALUES (1, 'zorro-secret-nick');")
    b = make_database(tmp_path / "b.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT);"
                                         "INSERT INTO users VALUES (1, 'zorro-secret-nick-2');")
    assert main(["diff", str(a), str(b), "--project", str(app)]) == 0
    assert "zorro-secret-nick" not in capsys.readouterr().out
    (app / "lightnb.toml").write_text("[redact\n")
    assert main(["diff", str(a), str(b), "--project", str(app)]) == 1
    out, err = capsys.readouterr()
    assert "zorro-secret-nick" not in out and "lightnb.toml" in err


def test_preview_note_masks_literals_of_the_filter(tmp_path: Path) -> None:
    import sqlite3

    from lightnb.inspect.preview import preview
    conn = sqlite3.connect(make_database(tmp_path / "x.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
                                                            "INSERT INTO users (email) VALUES ('ann@example.org');"))
    shown = preview(conn, "users", where="email = 'ann@example.org'", reveal=True)  # a masked column: only revealed
    assert len(shown.frame) == 1 and "ann@example.org" not in shown.note and "email = '…'" in shown.note


# --------------------------------------------------------------------------------------------------
# The guard follows the project wherever its configuration is read from, and whatever records production.
# Matrix: config source x how production is known x how the path is spelled x how it is passed.

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "reliability"))
from guard_support import cli as _cli  # noqa: E402
from guard_support import make_scene  # noqa: E402

CONFIG_SOURCES = ["project", "config_file_flag", "config_file_env", "config_file_with_own_settings",
                  "migration_dir_from_elsewhere"]
KNOWN_BY = ["lightnb_toml", "default_workspace", "custom_workspace_dir", "discarded_workspace"]
SPELLINGS = ["relative", "absolute", "dotdot", "symlink", "hard_link", "sqlite_url", "file_url", "renamed"]


def _spell(scene, spelling: str) -> str:  # type: ignore[no-untyped-def]
    prod = scene.production
    outside = prod.parent.parent
    if spelling == "relative":
        return os.path.relpath(prod, scene.root)
    if spelling == "absolute":
        return str(prod)
    if spelling == "dotdot":
        return os.path.relpath(prod.parent, scene.root) + "/../" + prod.parent.name + "/" + prod.name
    if spelling == "symlink":
        (outside / "current.db").symlink_to(prod)
        return str(outside / "current.db")
    if spelling == "hard_link":
        os.link(prod, outside / "same inode.db")
        return str(outside / "same inode.db")
    if spelling == "sqlite_url":
        return f"sqlite://{prod}"
    if spelling == "file_url":
        return f"file:{os.path.relpath(prod, scene.root)}?mode=rwc"
    # renamed after it was recorded: same file, new name
    renamed = prod.with_name("moved.db")
    os.rename(prod, renamed)
    scene.production = renamed
    return str(renamed)


def _make_known(scene, known_by: str, capsys) -> None:  # type: ignore[no-untyped-def]
    if known_by == "lightnb_toml":
        rel = os.path.relpath(scene.production, scene.root)
        (scene.root / "lightnb.toml").write_text(f'production = "{rel}"\n')
    elif known_by == "default_workspace":
        assert _cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    elif known_by == "custom_workspace_dir":
        assert _cli(capsys, "snapshot", "--database-url", str(scene.production), "--workspace-dir",
                    str(scene.root.parent / "elsewhere ws"))[0] == 0
    else:
        assert _cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
        assert _cli(capsys, "snapshot", "--discard")[0] == 0


def _config_args(scene, source: str, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    other = scene.root.parent / "ci config"
    other.mkdir(exist_ok=True)
    (other / "diesel.toml").write_text('[print_schema]\nfile = "schema_ci.rs"\n')
    if source == "config_file_flag":
        return ["--config-file", str(other / "diesel.toml")]
    if source == "config_file_env":
        monkeypatch.setenv("DIESEL_CONFIG_FILE", str(other / "diesel.toml"))
        return []
    if source == "config_file_with_own_settings":
        (other / "lightnb.toml").write_text('[redact]\ncolumns = ["accounts.owner"]\n')
        return ["--config-file", str(other / "diesel.toml")]
    if source == "migration_dir_from_elsewhere":
        monkeypatch.chdir(scene.root.parent)
        return ["--migration-dir", str(scene.root / "migrations")]
    return []


@pytest.mark.parametrize("via", ["flag", "env"])
@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("known_by", KNOWN_BY)
@pytest.mark.parametrize("source", CONFIG_SOURCES)
def test_production_is_never_written_whatever_the_config_source_record_or_spelling(
        tmp_path, capsys, monkeypatch, source, known_by, spelling, via) -> None:
    if (known_by, spelling) == ("lightnb_toml", "renamed"):
        pytest.skip("a production renamed after lightnb.toml named it, and never copied, is not known to be one")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DIESEL_CONFIG_FILE", raising=False)
    scene = make_scene(tmp_path, production="prod data/producción db.sqlite")
    monkeypatch.chdir(scene.root)
    _make_known(scene, known_by, capsys)
    url = _spell(scene, spelling)
    if spelling in ("relative", "dotdot", "file_url") and source == "migration_dir_from_elsewhere":
        url = str(scene.production)  # relative spellings are relative to the folder the command runs in
    args = _config_args(scene, source, monkeypatch)
    scene.freeze()
    for verb in (["migration", "run"], ["migration", "revert"], ["migration", "redo"]):
        if via == "flag":
            code, out, err = _cli(capsys, *verb, *args, "--database-url", url)
        else:
            monkeypatch.setenv("DATABASE_URL", url)
            code, out, err = _cli(capsys, *verb, *args)
        if (known_by, via, source) == ("default_workspace", "env", "project"):
            # DATABASE_URL naming production means "its workspace" when the project has one
            assert code == 0 and "working on workspace" in err, err
            continue
        assert code == 1, f"{verb} wrote production ({source}, {known_by}, {spelling}, {via}): {err}"
        assert "production database" in err and err.count("\n") <= 2 and "Traceback" not in err
    scene.assert_untouched(project=False)


@pytest.mark.parametrize("known_by", KNOWN_BY)
def test_steps_api_refuses_production_known_any_way(tmp_path, capsys, monkeypatch, known_by) -> None:
    from lightnb import steps as step_api
    monkeypatch.delenv("DATABASE_URL", raising=False)
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    _make_known(scene, known_by, capsys)
    scene.freeze()
    other = scene.root.parent / "other"
    other.mkdir()
    (other / "diesel.toml").write_text("")
    for project in (Project.discover(scene.root), Project.discover(scene.root, config_file=other / "diesel.toml")):
        for call in (step_api.run, step_api.revert, step_api.redo):
            with pytest.raises(WorkspaceError, match="production database"):
                call(project, scene.production)
        with pytest.raises(WorkspaceError):
            step_api.resolve_target(project, database_url=str(scene.production))
    scene.assert_untouched(project=False)


def test_lightnb_toml_of_the_project_applies_when_another_diesel_toml_is_read(tmp_path, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    (scene.root / "lightnb.toml").write_text('production = "../data/production.db"\n[schema]\nstyle = "2.2"\n')
    other = tmp_path / "other"
    other.mkdir()
    (other / "diesel.toml").write_text("")
    project = Project.discover(scene.root, config_file=other / "diesel.toml")
    assert project.settings["schema"]["style"] == "2.2"
    assert steps.production_path(project) == scene.root / "../data/production.db"
    monkeypatch.setenv("DIESEL_CONFIG_FILE", str(other / "diesel.toml"))
    assert Project.discover(scene.root).settings["production"] == "../data/production.db"


def test_a_corrupt_record_of_workspaces_stops_writing_verbs(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert _cli(capsys, "snapshot", "--database-url", str(scene.production), "--workspace-dir", "../ws")[0] == 0
    (scene.root / ".lightnb" / "workspaces.json").write_text("{not json")
    scene.freeze()
    code, out, err = _cli(capsys, "migration", "run", "--database-url", str(scene.production))
    assert code == 1 and "workspaces.json" in err and err.count("\n") == 1
    scene.assert_untouched(project=False)


def test_the_record_keeps_one_entry_per_production_of_workspaces_that_are_gone(tmp_path, capsys,
                                                                               monkeypatch) -> None:
    import json
    monkeypatch.delenv("DATABASE_URL", raising=False)
    scene = make_scene(tmp_path).freeze()
    monkeypatch.chdir(scene.root)
    for n in range(4):  # rehearsals: a workspace in a temporary folder each time, deleted afterwards
        folder = tmp_path / f"rehearsal{n}"
        copy = ["snapshot", "--database-url", str(scene.production), "--workspace-dir", str(folder)]
        assert _cli(capsys, *copy)[0] == 0
        assert _cli(capsys, "snapshot", "--discard", "--workspace-dir", str(folder))[0] == 0
    assert _cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    entries = json.loads((scene.root / ".lightnb" / "workspaces.json").read_text())["workspaces"]
    assert len(entries) == 2 and entries[-1]["workspace"] == str(scene.root / ".lightnb")
    monkeypatch.setenv("DATABASE_URL", str(scene.production))
    code, out, err = _cli(capsys, "migration", "run")
    assert code == 0 and "working on workspace" in err  # DATABASE_URL naming production: its workspace
    scene.assert_untouched(project=False)


def test_a_read_only_project_can_still_be_rehearsed_elsewhere(tmp_path, capsys, monkeypatch) -> None:
    from reliability_support import Frozen
    monkeypatch.delenv("DATABASE_URL", raising=False)
    scene = make_scene(tmp_path).freeze()
    (scene.root / "lightnb.toml").write_text('production = "../data/production.db"\n')
    monkeypatch.chdir(scene.root)
    with Frozen(scene.root):  # a read-only checkout: the record cannot be written there
        folder = tmp_path / "ws"
        assert _cli(capsys, "snapshot", "--workspace-dir", str(folder))[0] == 0
        code, out, err = _cli(capsys, "migration", "run", "--database-url", str(scene.production))
        assert code == 1 and "production database" in err  # lightnb.toml still guards it
        assert _cli(capsys, "migration", "run", "--no-schema", "--database-url", str(folder / "workspace.db"))[0] == 0
    scene.assert_untouched(project=False)


@pytest.mark.parametrize(("url", "named"), [
    (None, None),
    ("dev.db", "dev.db"),
    ("sqlite://dev.db", "dev.db"),
    (":memory:", None),
    ("postgres://me@localhost/app", None),
])
def test_the_database_the_project_names_is_decided_by_the_target_resolver(
        app: Path, monkeypatch: pytest.MonkeyPatch, url: str | None, named: str | None) -> None:
    from lightnb.target import named_database
    monkeypatch.chdir(app)
    project = Project.discover(app, environ={"DATABASE_URL": url} if url else {})
    assert named_database(project) == (app / named if named else None)
