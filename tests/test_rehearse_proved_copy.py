"""The rehearsal's Run takes the proof's copy when the proof ended where the Run would: the workspace as it was
becomes the before copy, the proof's copy the workspace, and the result is what running the migration gives."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lightnb import checks, samples, steps
from lightnb.migrate import PROVED
from lightnb.project import Project
from lightnb.rehearse import _copies, copy_project
from lightnb.workspace import file_sha256

SAFE = ("ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'light';\n"
        "UPDATE user_settings SET theme = 'dark' WHERE user_id % 3 = 0;\n",
        "ALTER TABLE user_settings DROP COLUMN theme;\n")
LOSSY = ("DELETE FROM oauth_connections WHERE id % 2 = 0;\n", "SELECT 1;\n")
VERSION = "2026-12-01-000000-0000"  # the same migration in two projects
SECOND = ("CREATE INDEX user_settings_theme ON user_settings (theme);\n", "DROP INDEX user_settings_theme;\n")


def _rehearsal(base: Path) -> tuple[Project, Path, Path]:
    sample = samples.sample_workbook(base / "sample", users=60, workspace=False)
    copied = copy_project(Project.discover(sample.project_dir), sample.project_dir, base / "scratch" / "project")
    return Project.discover(copied), sample.production_db, base / "scratch"


def _add(project: Project, name: str, sql: tuple[str, str], version: str | None = None) -> None:
    steps.save_sql(project, steps.generate(project, name, version=version).migration.name, up=sql[0], down=sql[1])


def _tested(project: Project, production: Path, folder: Path) -> tuple[Any, Any, checks.CheckResult]:
    """The rehearsal's two copies, its workspace opened as the notebook opens it, and the Test step's proof."""
    made, fresh = _copies(project.root, production, folder)
    assert made is not None and fresh is not None
    workspace = steps.open_workbook(project.root, production, workspace_dir=folder / "workspace",
                                    copied=made).workspace
    result = checks.check(project, database=production, run_tests=False,
                          copied={**fresh, "folder": str(folder / "check"), "hand_over": True})
    return made, workspace, result


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' AND name != '__diesel_schema_migrations' "
                                            "ORDER BY name")]
        out = {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY rowid').fetchall() for n in names}
        # when each checksum was recorded (the second it ran) aside
        out["__lightnb_migration_checksums"] = [row[:-1] for row in out.get("__lightnb_migration_checksums", [])]
        out["(schema)"] = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        out["(versions)"] = conn.execute("SELECT version FROM __diesel_schema_migrations ORDER BY 1").fetchall()
        return out
    finally:
        conn.close()


def _summary(change: Any) -> tuple[Any, ...]:
    return (change.result.names, change.changed_tables, change.row_changes, change.table_changes(),
            change.row_counts().to_dict("records"), [c.to_text() for c in change.schema.changes])


def test_the_run_takes_the_proofs_copy_and_gives_what_running_the_migration_gives(tmp_path: Path) -> None:
    project, production, folder = _rehearsal(tmp_path / "taken")
    _add(project, "theme", SAFE, VERSION)
    digest = file_sha256(production)
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None and proved.path.is_file() and result.verdict == "safe"
    assert "handed_over" not in result.to_dict()
    as_it_was = file_sha256(workspace.path)
    change = steps.run_on_workspace(project, workspace, durable=False, proved=proved)
    assert PROVED in change.result.notes
    assert not proved.path.exists()  # it is the workspace now
    assert file_sha256(change.result.before_copy) == as_it_was  # the workspace as it was: the before copy
    assert file_sha256(production) == digest  # only read

    # the same steps without the proof's copy: the same change, the same rows and schema in the workspace
    project2, production2, folder2 = _rehearsal(tmp_path / "ran")
    _add(project2, "theme", SAFE, VERSION)
    _made2, workspace2, result2 = _tested(project2, production2, folder2)
    ran = steps.run_on_workspace(project2, workspace2, durable=False)
    assert PROVED not in ran.result.notes
    assert _summary(change) == _summary(ran)
    assert _rows(workspace.path) == _rows(workspace2.path)
    assert (project.root / "src" / "schema.rs").read_text() == (project2.root / "src" / "schema.rs").read_text()
    result2.handed_over.discard()


@pytest.mark.parametrize("meanwhile", ["workspace written", "up.sql edited", "limit"])
def test_a_proofs_copy_that_no_longer_stands_for_the_run_is_deleted_and_the_run_runs(
        tmp_path: Path, meanwhile: str) -> None:
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None
    limit = None
    if meanwhile == "workspace written":
        conn = sqlite3.connect(workspace.path)
        with conn:
            conn.execute("DELETE FROM user_settings WHERE user_id % 2 = 0")
        conn.close()
    elif meanwhile == "up.sql edited":
        migration = steps.list_migrations(project, workspace.path).pending[0]
        steps.save_sql(project, migration.name, up=SAFE[0].replace("'dark'", "'light'"), down=SAFE[1])
    else:
        limit = 1
    change = steps.run_on_workspace(project, workspace, durable=False, proved=proved, limit=limit)
    assert PROVED not in change.result.notes and change.result.names
    assert not proved.path.exists()  # deleted, not left behind
    assert workspace.path.is_file() and change.result.before_copy.is_file()


def test_a_proof_that_did_not_end_where_the_run_would_hands_nothing_over(tmp_path: Path) -> None:
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "purge", LOSSY)  # down.sql does not give the rows back: up again ran on another state
    _made, _workspace, result = _tested(project, production, folder)
    assert result.verdict == "unsafe" and result.handed_over is None
    assert not (folder / "check" / checks.PROVED_COPY).exists()


def test_two_pending_migrations_are_run_by_the_run_itself(tmp_path: Path) -> None:
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _add(project, "theme_index", SECOND)
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None and len(proved.migrations) == 2
    change = steps.run_on_workspace(project, workspace, durable=False, proved=proved)
    assert PROVED not in change.result.notes and len(change.result.names) == 2
    assert not proved.path.exists()


def test_without_the_rehearsals_request_the_proofs_copy_is_deleted(tmp_path: Path) -> None:
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _made, fresh = _copies(project.root, production, folder)
    assert fresh is not None
    result = checks.check(project, database=production, run_tests=False,
                          copied={**fresh, "folder": str(folder / "check")})
    assert result.handed_over is None and not (folder / "check" / checks.PROVED_COPY).exists()


def test_ctrl_c_during_the_swap_never_leaves_the_workspace_missing(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    from lightnb import proved_copy

    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None
    as_it_was, proved_digest = file_sha256(workspace.path), file_sha256(proved.path)
    real = os.replace
    calls: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        real(src, dst)
        calls.append(str(dst))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the two moves

    monkeypatch.setattr(proved_copy.os, "replace", replace)
    before_copy = folder / "workspace" / "captures" / "run" / "before-up-x.db"
    with pytest.raises(KeyboardInterrupt):
        proved.swap_in(workspace.path, before_copy)
    assert len(calls) == 2  # both moves were made before the interrupt was raised
    assert file_sha256(workspace.path) == proved_digest and file_sha256(before_copy) == as_it_was


@pytest.mark.parametrize("writes", [False, True])
def test_project_tests_that_write_the_proofs_copy_keep_it_from_the_run(tmp_path: Path, writes: bool) -> None:
    import sys
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    script = tmp_path / "tests.py"
    write = "conn.execute('DELETE FROM user_settings WHERE id = 1'); conn.commit()\n" if writes else ""
    script.write_text("import os, sqlite3\nconn = sqlite3.connect(os.environ['DATABASE_URL'])\n"
                      "print(conn.execute('SELECT count(*) FROM user_settings').fetchone()[0])\n" + write,
                      encoding="utf-8")
    settings = project.root / "lightnb.toml"
    text = settings.read_text(encoding="utf-8")
    command = next(line for line in text.splitlines() if line.startswith("command = "))
    settings.write_text(text.replace(command, f'command = ["{sys.executable}", "{script}"]'), encoding="utf-8")
    project = Project.discover(project.root)
    made, fresh = _copies(project.root, production, folder)
    assert fresh is not None
    result = checks.check(project, database=production, run_tests=True,
                          copied={**fresh, "folder": str(folder / "check"), "hand_over": True})
    assert result.tests is not None and result.tests.returncode == 0
    assert (result.handed_over is None) == writes
    assert (folder / "check" / checks.PROVED_COPY).exists() != writes


def test_a_schema_file_that_cannot_be_written_after_the_copy_was_taken_says_the_migration_is_applied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb import migrate
    from lightnb.errors import FileWriteError
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None
    schema = project.root / "src" / "schema.rs"

    def refused(*_args: Any, **_kwargs: Any) -> tuple[Path, ...]:
        raise FileWriteError(f"Cannot write the schema file {schema}: disk full.", path=schema)

    monkeypatch.setattr(migrate, "regenerate_schema_files", refused)
    with pytest.raises(FileWriteError, match=r"^1 migration\(s\) applied on .*, but the schema file was not "
                                             r"regenerated: Cannot write"):
        steps.run_on_workspace(project, workspace, durable=False, proved=proved)
    assert not proved.path.exists()  # taken: the workspace holds the migration, as the message says
    assert steps.list_migrations(project, workspace.path).pending == ()


class _Counted:
    """The files impacts were measured on (in place: each copy the steps measured), in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, touch: bool = False) -> None:
        from lightnb.inspect import impact
        self.files: list[Path] = []
        real = impact.measuring_in_place

        @contextlib.contextmanager
        def counted(path: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            self.files.append(Path(path))
            with real(path, *args, **kwargs) as measure:
                yield measure
            if touch:
                Path(path).touch()  # as a measurement whose changes spilled into the file leaves it (times moved)
        monkeypatch.setattr(impact, "measuring_in_place", counted)


def _impacts(project: Project, change: Any) -> list[Any]:
    return [i.to_dict() if hasattr(i, "to_dict") else i for i in steps.inspect(project, change, "user_settings").impact]


def test_the_proof_measures_the_impact_the_inspect_step_shows_and_the_run_takes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = _Counted(monkeypatch)
    project, production, folder = _rehearsal(tmp_path / "taken")
    _add(project, "theme", SAFE, VERSION)
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None and proved.impact is not None and result.verdict == "safe"
    assert counted.files == [workspace.path]  # on the workspace, the state before up, while up ran again
    assert file_sha256(workspace.path) == file_sha256(production)  # in place, rolled back: the same bytes
    change = steps.run_on_workspace(project, workspace, durable=False, proved=proved)
    assert PROVED in change.result.notes
    shown = _impacts(project, change)
    assert counted.files == [workspace.path]  # neither the Run nor the Inspect step measured it again

    # the same steps without the proof's copy: the Run measures it on its before copy, and the same is shown
    project2, production2, folder2 = _rehearsal(tmp_path / "ran")
    _add(project2, "theme", SAFE, VERSION)
    _made2, workspace2, result2 = _tested(project2, production2, folder2)
    result2.handed_over.discard()
    counted.files.clear()
    ran = steps.run_on_workspace(project2, workspace2, durable=False)
    assert PROVED not in ran.result.notes
    assert _impacts(project2, ran) == shown and shown
    assert counted.files == [ran.result.before_copy]


def test_a_measurement_that_moved_the_workspaces_state_hands_nothing_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _Counted(monkeypatch, touch=True)
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _made, workspace, result = _tested(project, production, folder)
    # the proof itself stands (every read of the state before up was done and confirmed before the measurement)
    assert result.verdict == "safe"
    proved = result.handed_over
    assert proved is not None and proved.impact is None  # not provably measured on the state the Run starts from
    change = steps.run_on_workspace(project, workspace, durable=False, proved=proved)
    assert PROVED not in change.result.notes and change.result.names  # the workspace is not provably that state
    assert not proved.path.exists()
    assert _impacts(project, change)


def test_two_pending_migrations_are_not_measured_by_the_proof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = _Counted(monkeypatch)
    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)
    _add(project, "theme_index", SECOND)
    _made, _workspace, result = _tested(project, production, folder)
    assert result.handed_over is not None and result.handed_over.impact is None and counted.files == []
    result.handed_over.discard()


def test_the_run_taking_the_proofs_copy_counts_the_rows_its_migration_kept_and_says_what_comparing_says(
        tmp_path: Path) -> None:
    from lightnb.capture import describe
    from lightnb.inspect.kept_rows import kept_rows_of

    project, production, folder = _rehearsal(tmp_path)
    _add(project, "theme", SAFE)  # a column added and filled: user_settings keeps every row it had
    _made, workspace, result = _tested(project, production, folder)
    proved = result.handed_over
    assert proved is not None and "user_settings" in proved.kept_rows
    change = steps.run_on_workspace(project, workspace, durable=False, proved=proved)
    assert PROVED in change.result.notes
    kept = kept_rows_of(change.result)
    assert kept is not None and "user_settings" in kept.holding(change.result.before_copy, workspace.path)
    object.__setattr__(change.result, "_rows_kept", None)  # the same files, every row compared
    assert _summary(describe(change.result)) == _summary(change)
