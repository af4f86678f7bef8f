"""The workbook's shared state: one project, one workspace copy, and who to tell when it changes."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightnb import steps
from lightnb.results import ListResult
from lightnb.steps import Migration, PostgresWorkspace, Project, Workspace

Listener = Callable[[Any], None]
DraftSaver = Callable[[], "str | None"]


@dataclass(frozen=True)
class Event:
    """One result recorded in the workbook: what produced it, and when.

    :param by: the panel that produced it (None when recorded by hand).
    :param title: that panel's title.
    :param summary: its one-line status (``reverted 1 migration(s)``).
    :param at: local time with UTC offset.
    """

    result: Any
    by: Any = None
    title: str = ""
    summary: str = ""
    at: str = ""


@dataclass(eq=False)
class Workbook:
    """A project and the workspace copy every panel of a notebook works on.

    :param project: the Diesel project.
    :param workspace: the copy of production the steps act on (production is never written).
    :param migration: the migration being worked on (set by the generate panel; None = newest).
    :param schema_baseline: schema.rs as it was when the workbook opened (for the models diff).
    :param results: every result the panels produced, oldest first.
    :param production_applied: the versions production has applied (read when the workbook opened);
        reverting one of them on the copy is asked for, never done silently.
    :param events: each recorded result with the panel that produced it, oldest first.
    :param scratch: the workspace is a copy in a private folder deleted once the work is done (``lightnb
        rehearse``'s): the steps' commits to it do not wait for the disk. False for every workspace a user keeps.
    """

    project: Project
    workspace: Workspace | PostgresWorkspace
    migration: Migration | None = None
    schema_baseline: str = ""
    results: list[Any] = field(default_factory=list)
    production_applied: frozenset[str] = frozenset()
    events: list[Event] = field(default_factory=list, repr=False)
    scratch: bool = False
    _listeners: list[Listener] = field(default_factory=list, repr=False)
    _draft_savers: list[DraftSaver] = field(default_factory=list, repr=False)

    @property
    def database(self) -> Path | str:
        """The workspace database the steps act on: its file (its URL on PostgreSQL)."""
        return self.workspace.path

    @property
    def last(self) -> Any:
        """The latest result any panel produced, or None."""
        return self.results[-1] if self.results else None

    def last_of(self, kind: str) -> Any:
        """Return the latest result of a class called ``kind`` (e.g. ``"RunResult"``), or None."""
        for result in reversed(self.results):
            if type(result).__name__ == kind:
                return result
        return None

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(result)`` whenever a panel records a new result."""
        self._listeners.append(listener)

    def record(self, result: Any, *, by: Any = None, title: str = "", summary: str = "") -> Any:
        """Remember ``result`` (produced by panel ``by``), tell the listeners, and return it."""
        from lightnb.ui.record import now
        self.results.append(result)
        self.events.append(Event(result, by, title, summary, now()))
        for listener in list(self._listeners):
            listener(result)
        return result

    def on_save_drafts(self, saver: DraftSaver) -> None:
        """Register ``saver``: it saves unsaved edits before a step runs them, returning what it saved."""
        self._draft_savers.append(saver)

    def save_drafts(self) -> list[str]:
        """Save every unsaved edit (the Edit panels' text) before a step uses the files; say what was saved.

        :raises LightnbError: when an edit cannot be saved (then nothing should run).
        """
        return [note for note in (saver() for saver in list(self._draft_savers)) if note]

    def status(self) -> ListResult:
        """Return every migration with its state on the workspace."""
        return steps.list_migrations(self.project, self.database)

    def describe(self) -> str:
        """Return one deterministic line: project, production file, migrations applied and pending."""
        listing = self.status()
        applied = sum(1 for m in listing.migrations if m.applied)
        production = self.workspace.production
        origin = ("an empty database" if not production else
                  production.split("?", 1)[0].rsplit("/", 1)[-1] if isinstance(production, str) else production.name)
        return (f"Workbook on {self.project.root.name}: workspace copy of {origin}; "
                f"{applied} migration(s) applied, {len(listing.pending)} pending")

    def __repr__(self) -> str:
        return self.describe()

    def _repr_html_(self) -> str:
        from lightnb.render import html
        return html.wrap(f"<p>{html.escape(self.describe())}</p>" + html.render(self.status()))


def open_workbook(project_dir: str | Path | None = None, production_db: str | Path | None = None, *,
                  folder: str | Path | None = None, users: int = 2_000, exercise: bool = False,
                  workspace_dir: str | Path | None = None, backend: str = "sqlite",
                  copied: Mapping[str, Any] | None = None) -> Workbook:
    """Open the workbook on a project, with a fresh workspace copy of its production database.

    With no ``project_dir``, build the bundled sample (project and fake production database)
    in ``folder`` (default: a new temporary folder) and work on that.

    :param production_db: the production database to copy; default: ``production`` from the
        project's lightnb.toml, else the existing workspace, else ``DATABASE_URL``.
    :param users: the sample's size, when the sample is built.
    :param workspace_dir: where to keep the workspace copy (default: ``.lightnb/`` in the project).
    :param backend: ``postgres`` opens the PostgreSQL variant of the sample (or a PostgreSQL project): production
        and the workspace database live in the project's private cluster, started for this kernel and stopped
        when it ends.
    :param copied: the workspace copy of ``production_db`` already made in ``workspace_dir`` (``lightnb rehearse``
        makes it while the notebook's kernel starts): ``state``, its file's committed state once copied, and
        ``steps``, the finished steps of that copy (``lightnb.progress.Progress`` fields). While the file is
        provably that copy it is opened, not copied again, and the cell shows the copy's line as if made here.
    :param exercise: when the sample is built, also write its exercise migration (pending), so
        there is something to rehearse.
    :raises LightnbError: when the project or the database cannot be found.
    """
    from lightnb.ui.progress import ShownSteps
    copying = ShownSteps("Workspace copy")  # a bar while production is copied, then a line saying how long it took
    ok = False
    try:
        with copying.following():
            started = steps.open_workbook(project_dir, production_db,
                                          folder=(folder or _scratch_folder()) if project_dir is None else None,
                                          users=users, exercise=exercise, workspace_dir=workspace_dir,
                                          backend=backend, copied=copied)
        ok = True
    finally:
        copying.close(ok)
    return Workbook(started.project, started.workspace, schema_baseline=started.schema_baseline,
                    production_applied=started.production_applied, scratch=started.scratch)


RUNS_DIRNAME = "lightnb-runs"
RUN_MARKER = ".lightnb-run"  # names a run folder lightnb made (only those are ever pruned)
KEEP_RUNS = 5


def served_root() -> Path | None:
    """Return the folder a running Jupyter server serves that contains the kernel's folder, if any.

    Kernels run in the notebook's folder, which may lie below the server's root: paths JupyterLab
    opens are relative to that root. The deepest containing root wins.
    """
    here = Path.cwd().resolve()
    try:
        from jupyter_server.serverapp import list_running_servers
        roots = [Path(info.get("root_dir") or info.get("notebook_dir") or "").resolve()
                 for info in list_running_servers()]
    except Exception:  # noqa: BLE001 - no server information available
        return None
    containing = [r for r in roots if r == here or r in here.parents]
    return max(containing, key=lambda r: len(r.parts)) if containing else None


def _scratch_folder() -> Path:
    """Return a new folder for a freshly built sample.

    Under a JupyterLab server it goes in ``lightnb-runs/`` beside the notebook, so Lab's file browser
    and editor can open its files; elsewhere (papermill, nbval, scripts) in a temporary folder.
    """
    if served_root() is not None:
        base = Path.cwd() / RUNS_DIRNAME
        try:
            base.mkdir(exist_ok=True)
            made = Path(tempfile.mkdtemp(prefix="run-", dir=base))
            (made / RUN_MARKER).write_text("made by lightnb's workbook; old run folders are pruned\n",
                                           encoding="utf-8")
        except OSError:
            pass  # a read-only notebook folder: fall back to a temporary folder
        else:
            prune_runs(base, keep=KEEP_RUNS)
            return made
    return Path(tempfile.mkdtemp(prefix="lightnb-workbook-"))


def prune_runs(base: Path, *, keep: int = KEEP_RUNS) -> list[Path]:
    """Delete all but the newest ``keep`` run folders in ``base``; return what was deleted.

    Only folders lightnb made (``run-*`` holding its marker file, not symbolic links) are touched;
    anything else in ``base`` is left alone. A folder that cannot be deleted is skipped.
    """
    import shutil

    runs = [p for p in base.glob("run-*") if p.is_dir() and not p.is_symlink() and (p / RUN_MARKER).is_file()]
    runs.sort(key=lambda p: ((p / RUN_MARKER).stat().st_mtime, p.name), reverse=True)
    removed = []
    for old in runs[keep:]:
        try:
            shutil.rmtree(old)
        except OSError:
            continue
        removed.append(old)
    return removed
