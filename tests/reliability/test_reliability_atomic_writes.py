"""Every file lightnb writes survives a full disk: the old file stays whole, no temporary is left.

The write is made to fail with ENOSPC halfway through the bytes (the disk fills up mid-file), or
at the rename, for each kind of file lightnb writes: schema.rs after a migration, model files,
migration files (edited and generated), workspace state, the project's record of workspaces,
reports and notebooks. Each reports one line naming the file and "no space"; the previous
content is byte for byte what it was and no ``.*.tmp`` file remains beside it.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from guard_support import cli, make_scene, one_line_error, rows
from reliability_support import file_mark

from lightnb import files


def _fail_midway(monkeypatch, *, after: int = 0) -> list[int]:
    """Make the next writes (after ``after`` successful ones) stop halfway with ENOSPC."""
    real = files._write_all
    calls: list[int] = []

    def write_half_then_fill_the_disk(fd: int, data: bytes) -> None:
        calls.append(len(data))
        if len(calls) <= after:
            return real(fd, data)
        real(fd, data[: max(1, len(data) // 2)])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_all", write_half_then_fill_the_disk)
    return calls


def _fail_at_rename(monkeypatch) -> None:
    real = os.replace

    def replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if ".tmp" in os.fspath(src):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(files.os, "replace", replace)


def _no_temporaries(folder: Path) -> None:
    left = [p.name for p in folder.rglob(".*.tmp*")]
    assert not left, f"temporary files left behind: {left}"


FAILURES = {"midway": _fail_midway, "rename": _fail_at_rename}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_schema_rs_is_whole_after_a_full_disk_during_migration_run(tmp_path, capsys, monkeypatch, failure) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    schema = scene.root / "src" / "schema.rs"
    assert cli(capsys, "migration", "run")[0] == 0
    assert cli(capsys, "migration", "revert")[0] == 0  # schema.rs as before the pending migration
    before = schema.read_bytes()
    assert b"accounts (id)" in before and b"note" not in before
    scene.freeze()
    FAILURES[failure](monkeypatch)
    code, out, err = cli(capsys, "migration", "run")
    one_line_error(code, err)
    assert "No space left on device" in err and "schema.rs" in err and "1 migration(s) applied" in err
    assert schema.read_bytes() == before, "schema.rs was cut off"
    _no_temporaries(scene.root)
    scene.assert_untouched(project=False)
    monkeypatch.undo()
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "print-schema", "--check")[0] == 1  # the workspace has the migration; schema.rs not yet


@pytest.mark.parametrize("failure", list(FAILURES))
def test_model_file_is_whole_after_a_full_disk(tmp_path, capsys, monkeypatch, failure) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    assert cli(capsys, "migration", "run")[0] == 0
    model = scene.root / "src" / "models" / "account.rs"
    model.parent.mkdir()
    model.write_text("#[derive(Queryable, Selectable)]\n#[diesel(table_name = crate::schema::accounts)]\n"
                     "pub struct Account {\n    pub id: i32,\n    pub owner: String,\n    pub balance: i32,\n}\n")
    before = file_mark(model)
    FAILURES[failure](monkeypatch)
    code, out, err = cli(capsys, "models", "generate", "--apply")
    one_line_error(code, err)
    assert "model file" in err and "No space left on device" in err
    assert file_mark(model) == before
    _no_temporaries(model.parent)


@pytest.mark.parametrize("failure", list(FAILURES))
def test_edited_migration_file_is_whole_after_a_full_disk(tmp_path, monkeypatch, failure) -> None:
    from lightnb import steps
    from lightnb.errors import FileWriteError
    from lightnb.project import Project
    scene = make_scene(tmp_path)
    project = Project.discover(scene.root, environ={})
    up = scene.root / "migrations" / "2024-02-01-000000-0000_add_note" / "up.sql"
    before = file_mark(up)
    FAILURES[failure](monkeypatch)
    with pytest.raises(FileWriteError, match="No space left"):
        steps.save_sql(project, "2024-02-01-000000-0000_add_note", up="SELECT 1;\n" * 10_000)
    assert file_mark(up) == before
    _no_temporaries(up.parent)


@pytest.mark.parametrize("after", [0, 1])  # up.sql fails, or down.sql fails after up.sql was written
def test_generated_migration_is_whole_or_absent_after_a_full_disk(tmp_path, capsys, monkeypatch, after) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    listing = sorted(os.listdir(scene.root / "migrations"))
    _fail_midway(monkeypatch, after=after)
    code, out, err = cli(capsys, "migration", "generate", "half_written", "--version", "20240301000000")
    one_line_error(code, err)
    assert sorted(os.listdir(scene.root / "migrations")) == listing, "a half-made migration folder was left"


def test_workspace_state_and_record_are_whole_after_a_full_disk(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    state = scene.root / ".lightnb" / "workspace.json"
    record = scene.root / ".lightnb" / "workspaces.json"
    before = (file_mark(state), file_mark(record))
    scene.freeze()
    _fail_midway(monkeypatch)
    code, out, err = cli(capsys, "snapshot", "--reset")
    one_line_error(code, err)
    assert "No space left" in err
    assert json.loads(state.read_text())["production"] == str(scene.production)
    assert json.loads(record.read_text())["workspaces"]
    assert (file_mark(state), file_mark(record)) == before
    _no_temporaries(scene.root / ".lightnb")
    scene.assert_untouched(project=False)
    monkeypatch.undo()
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--reset")[0] == 0  # the workspace still works


def test_report_is_whole_after_a_full_disk(tmp_path, monkeypatch) -> None:
    import nbformat

    from lightnb.errors import FileWriteError
    from lightnb.report import export
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Rehearsal\n" + "text " * 5000)])
    out = tmp_path / "out"
    first = export(nb, out, name="report", formats=("markdown",))
    before = file_mark(first.markdown)
    nb.cells.append(nbformat.v4.new_markdown_cell("more"))
    _fail_midway(monkeypatch)
    with pytest.raises(FileWriteError, match="No space left"):
        export(nb, out, name="report", formats=("markdown",))
    assert file_mark(first.markdown) == before
    _no_temporaries(out)


def test_copied_notebook_is_whole_after_a_full_disk(tmp_path, monkeypatch) -> None:
    import nbformat

    from lightnb.errors import FileWriteError
    target = tmp_path / "01.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n" * 2000)])
    files.write_text_atomic(target, nbformat.writes(nb))
    before = file_mark(target)
    _fail_midway(monkeypatch)
    with pytest.raises(FileWriteError):
        files.write_text_atomic(target, nbformat.writes(nb).replace("x = 1", "x = 2"), what="notebook")
    assert file_mark(target) == before
    _no_temporaries(tmp_path)


def test_workspace_copy_is_whole_after_a_full_disk(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    assert cli(capsys, "migration", "run")[0] == 0
    workspace = scene.root / ".lightnb" / "workspace.db"
    before = rows(workspace, "SELECT version FROM __diesel_schema_migrations ORDER BY 1")
    from lightnb.backends.sqlite import copies

    def copy_half(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        with open(src, "rb") as reader, open(dst, "wb") as writer:
            writer.write(reader.read()[:1000])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(copies, "copy_bytes", copy_half)  # the disk fills up halfway through the copy
    code, out, err = cli(capsys, "snapshot", "--reset")
    one_line_error(code, err)
    monkeypatch.undo()
    assert rows(workspace, "SELECT version FROM __diesel_schema_migrations ORDER BY 1") == before
    assert not [p for p in workspace.parent.iterdir() if p.name.startswith(".copy-")]


def test_written_files_keep_their_mode_and_are_new_inodes(tmp_path) -> None:
    target = tmp_path / "schema.rs"
    target.write_text("old\n")
    target.chmod(0o604)
    inode = target.stat().st_ino
    files.write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o604
    assert target.stat().st_ino != inode  # replaced by rename, never rewritten in place


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_the_helper_refuses_non_regular_targets_without_opening_them(tmp_path, kind) -> None:
    from lightnb.errors import FileWriteError
    if kind == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    elif kind == "folder":
        target = tmp_path / "dir"
        target.mkdir()
    else:
        target = Path("/dev/null")
    with pytest.raises(FileWriteError, match="not a regular file"):
        files.write_text_atomic(target, "x")
    _no_temporaries(tmp_path)
