"""A rehearsal makes its two copies of production at once (the workspace here, the proof's in a thread of its own):
both cores copy, and the copies end together. A failure or a stop of either leaves no thread running, no half
copy, and the error of the workspace's copy first."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from lightnb import rehearse, samples
from lightnb.errors import DatabaseError, LightnbError
from lightnb.project import Project
from lightnb.rehearse import _copies, copy_project
from lightnb.workspace import file_sha256

WAIT = 30.0  # seconds: a copy that waits this long for the other to start means they were made one after the other


@pytest.fixture()
def rehearsal(tmp_path: Path) -> tuple[Path, Path, Path]:
    sample = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    copied = copy_project(Project.discover(sample.project_dir), sample.project_dir, tmp_path / "scratch" / "project")
    return copied, sample.production_db, tmp_path / "scratch"


def _copy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == rehearse._Copier.NAME]


def test_both_copies_are_in_progress_at_the_same_time(rehearsal: tuple[Path, Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir, production, folder = rehearsal
    digest = file_sha256(production)
    started = {"workspace": threading.Event(), "check": threading.Event()}
    threads: dict[str, str] = {}
    real = rehearse._workspace_copy

    def meeting(project: Path, source: Path, where: Path, **kwargs: Any) -> Any:
        mine, other = (where.name, "check" if where.name == "workspace" else "workspace")
        threads[mine] = threading.current_thread().name
        started[mine].set()
        # made one after the other, the first would wait here for the second in vain
        assert started[other].wait(WAIT), f"the {mine} copy was made alone"
        return real(project, source, where, **kwargs)

    monkeypatch.setattr(rehearse, "_workspace_copy", meeting)
    made, fresh = _copies(project_dir, production, folder)
    assert made is not None and fresh is not None and "same_as" in fresh
    assert threads["workspace"] == threading.current_thread().name and threads["check"] == rehearse._Copier.NAME
    # two whole copies, of the same state, production untouched
    assert file_sha256(folder / "workspace" / "workspace.db") == file_sha256(folder / "check" / "workspace.db") \
        == file_sha256(production) == digest
    assert _copy_threads() == []


@pytest.mark.parametrize("failing", ["workspace", "check"])
def test_a_failing_copy_raises_its_error_and_no_thread_outlives_it(rehearsal: tuple[Path, Path, Path],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  failing: str) -> None:
    project_dir, production, folder = rehearsal
    real = rehearse._workspace_copy

    def copy(project: Path, source: Path, where: Path, **kwargs: Any) -> Any:
        if where.name == failing:
            raise DatabaseError(f"cannot copy the {failing}")
        return real(project, source, where, **kwargs)

    monkeypatch.setattr(rehearse, "_workspace_copy", copy)
    with pytest.raises(DatabaseError, match=f"cannot copy the {failing}"):
        _copies(project_dir, production, folder)
    assert _copy_threads() == []


def test_a_stop_during_the_workspace_copy_stops_the_other_copy_at_its_next_piece(
        rehearsal: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir, production, folder = rehearsal
    from lightnb import progress

    pieces: list[str] = []
    in_check = threading.Event()

    def copy(project: Path, source: Path, where: Path, **kwargs: Any) -> Any:
        if where.name == "check":
            # a long copy: it reports piece after piece, as a copy of a big file does, until told to stop
            with progress.task("copying production.db", 10**6, "bytes") as shown:
                in_check.set()
                for done in range(1, 10**6):
                    pieces.append("piece")
                    shown.update(done)
                    threading.Event().wait(0.001)
            raise AssertionError("the copy was never stopped")
        assert in_check.wait(WAIT)
        raise KeyboardInterrupt  # Ctrl-C while the workspace is copied

    monkeypatch.setattr(rehearse, "_workspace_copy", copy)
    with pytest.raises(KeyboardInterrupt):
        _copies(project_dir, production, folder)
    stopped_at = len(pieces)
    assert 0 < stopped_at < 10**6 - 1
    assert _copy_threads() == []
    threading.Event().wait(0.05)
    assert len(pieces) == stopped_at  # nothing runs after the call


def test_a_stopped_copy_leaves_no_file_behind(rehearsal: tuple[Path, Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir, production, folder = rehearsal
    from lightnb.backends.sqlite import copies

    real_copy = copies.copy_bytes

    def stopped(source: Any, dest: Any) -> None:
        real_copy(source, dest)
        if Path(dest).parent.name == "check":
            raise LightnbError("The copy of production was stopped.")  # as the halt does, once a piece is done

    monkeypatch.setattr(copies, "copy_bytes", stopped)
    with pytest.raises(LightnbError, match="stopped"):
        _copies(project_dir, production, folder)
    assert not [p for p in (folder / "check").iterdir() if p.suffix == ".db"]
    assert _copy_threads() == []


def test_the_report_warms_up_once_the_copies_are_made(rehearsal: tuple[Path, Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The copies compete for the cores with what the rehearsal loads meanwhile: only what the notebook needs
    first (papermill, the redactor) loads before they are made; the report's exporters after."""
    project_dir, _production, _folder = rehearsal
    warmed = threading.Event()
    monkeypatch.setattr(rehearse, "_warm_exporters", warmed.set)
    tools = rehearse._Tools.warm_up(Project.discover(project_dir))
    tools.wait_for_papermill()
    tools.redactor()
    assert not warmed.wait(0.2)
    tools.go_on()
    assert warmed.wait(WAIT)
    tools.wait_for_report()


def test_the_report_waits_for_nothing_else(rehearsal: tuple[Path, Path, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir, _production, _folder = rehearsal
    warmed = threading.Event()
    monkeypatch.setattr(rehearse, "_warm_exporters", warmed.set)
    tools = rehearse._Tools.warm_up(Project.discover(project_dir))
    tools.wait_for_report()  # never told to go on (the copies failed, say): the report still gets its exporters
    assert warmed.is_set()


def test_when_the_copies_fail_the_rehearsals_loading_thread_ends_too(rehearsal: tuple[Path, Path, Path],
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """Nothing waits forever for copies that never came: the thread loading papermill and warming the report's
    exporters goes on and ends, as when the copies are made."""
    import contextlib

    project_dir, production, _folder = rehearsal

    @contextlib.contextmanager
    def no_kernel(*args: Any, **kwargs: Any) -> Any:
        yield None

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("production is locked")

    warmed = threading.Event()
    monkeypatch.setattr(rehearse._Kernel, "started", no_kernel)
    monkeypatch.setattr(rehearse, "_copies", failing)
    monkeypatch.setattr(rehearse, "_warm_exporters", warmed.set)
    with pytest.raises(DatabaseError, match="locked"):
        rehearse.rehearse(Project.discover(project_dir), project_dir, production, tmp_path / "out", pending=["x"])
    assert warmed.wait(WAIT)
    for thread in [t for t in threading.enumerate() if t.name == "lightnb-rehearse-imports"]:
        thread.join(WAIT)
        assert not thread.is_alive()
