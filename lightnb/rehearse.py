"""Headless rehearsal: execute notebook 02 with papermill on a copy of the project and of production.

Nothing outside OUTDIR is written. Production is only ever read. A SQLite production is copied by the
notebook into a private temporary workspace, and its checksum is verified after the run. A PostgreSQL
production (a ``postgres://`` URL) is copied once, read-only with pg_dump, into a private cluster made
for the rehearsal (:mod:`lightnb.backends.postgres.rehearsal`); the notebook works on that copy (its
kernel's ``DATABASE_URL`` names the workspace database there, and production's URL never reaches it),
and the cluster is destroyed afterwards. The project is copied too (its migrations, schema files,
models and the rest of its tree, without build output, version control or database files), because
running migrations regenerates ``schema.rs``: the rehearsal does that in the copy, so the project's
tree stays exactly as it was.

The fixed cost of a rehearsal is mostly start-up: the notebook's kernel (a Python process that
must import IPython, then lightnb's panels, pandas and the proof) and this process's own imports
(papermill, nbconvert). So the kernel's process is started first, before jupyter_client (let alone
papermill) is even imported, and imports ipykernel and the modules the cells use (without Jupyter's
debugger, and without garbage collection passes while it loads) while jupyter_client loads here and
hands it the kernel's connection file, as it would to a kernel it launched itself; meanwhile this
process copies the project, makes the notebook's two copies of a SQLite production (the workspace, and
the one the proof starts from; the notebook uses each while its file is provably untouched since), and
a thread loads papermill, builds the project's redactor (its lineage reads every migration) and warms
nbconvert's exporters up, which the report then reuses.
Once the notebook ran, the kernel is killed: it has nothing left to do or save, and ipykernel takes a
fifth of a second to end when asked; the thread killing it then deletes the copies, while the outputs
are masked and the report written. The kernel's own messages (its log, a ZMQ complaint when a stop cuts
a reply short) go to a log file in the private scratch folder, never to the terminal; the last line is
quoted when the kernel dies.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import math
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from lightnb import scratch
from lightnb.errors import DatabaseError, LightnbError, ProjectError
from lightnb.extras import require_installed
from lightnb.files import atomic_path
from lightnb.project import Project
from lightnb.reader import Reader
from lightnb.workspace import file_state

if TYPE_CHECKING:  # loaded by the thread building the redactor, not before the kernel starts
    from lightnb.inspect.redact import Redactor

_T = TypeVar("_T")

NOTEBOOK = "02_rehearse_on_production_copy.ipynb"
NOTEBOOKS_ENV = "LIGHTNB_NOTEBOOKS"
NOTHING = "nothing to rehearse"
# Left out of the project copy: build output, version control, lightnb's own folders, environments,
# and database files (the rehearsal copies production itself; others are not needed).
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".lightnb", "lightnb-runs", "node_modules", "__pycache__", ".venv",
                          ".ipynb_checkpoints"})
SKIPPED_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db-wal", ".db-shm", ".db-journal", "-journal", "-wal", "-shm")


@dataclass(frozen=True)
class Rehearsal:
    """What a rehearsal wrote into OUTDIR.

    :param verdict: the test step's verdict (safe, needs attention, unsafe), or
        ``"nothing to rehearse"`` when no migration was pending (then nothing is written).
    :param pending: the migrations rehearsed.
    :param production: what was copied: the SQLite file, or ``database `app` on host:port`` (no password).
    """

    notebook: Path | None
    html: Path | None
    markdown: Path | None
    verdict: str | None = None
    pending: tuple[str, ...] = ()
    production: str | None = None

    @property
    def nothing_pending(self) -> bool:
        """True when there was nothing to rehearse."""
        return self.verdict == NOTHING


def notebooks_dir() -> Path:
    """Return the folder of the workbook notebooks (``$LIGHTNB_NOTEBOOKS``, else the source checkout's).

    :raises ProjectError: when the notebooks cannot be found.
    """
    candidates = [Path(__file__).resolve().parent.parent / "notebooks"]
    if os.environ.get(NOTEBOOKS_ENV):
        candidates.insert(0, Path(os.environ[NOTEBOOKS_ENV]))
    for folder in candidates:
        if (folder / NOTEBOOK).is_file():
            return folder
    raise ProjectError(f"The workbook notebooks are missing (looked in {', '.join(map(str, candidates))}); "
                       f"use a source checkout of lightnb or set {NOTEBOOKS_ENV}.")


# jsonschema (which nbformat imports) compiles a whole IRI grammar at import time when the optional
# rfc3987_syntax is installed, to check the "iri" string format; notebook validation never checks
# formats. Marking it absent before papermill loads spares most of a second on every rehearsal.
_COSTLY_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


def _skip_costly_imports() -> None:
    """Make the optional imports nothing here needs fail fast (unless something already loaded them)."""
    for name in _COSTLY_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "import fails" (ImportError)


def rehearse(project: Project, start: Path, production: Path | str, out_dir: str | Path, *, pending: Sequence[str],
             limit: int | None = None, run_tests: bool = False, timeout: int = 600) -> Rehearsal:
    """Execute notebook 02 against a copy of the project and a copy of ``production``; write the results.

    :param start: the folder the project was found from (the notebook starts there, in the copy).
    :param production: a SQLite file, or a ``postgres://`` URL (only read, with pg_dump).
    :param pending: the migrations ``production`` has not applied (read by the caller, read-only).
    :param limit: apply only the next ``limit`` pending migrations.
    :param run_tests: also run the project's own test command (in the project's copy).
    :returns: the files written; with no pending migration, nothing is executed or written and
        the verdict is ``"nothing to rehearse"``.
    :raises LightnbError: when the project or database is unusable, or a cell fails (the executed
        notebook is still written, with the failing cell, for diagnosis).
    """
    _skip_costly_imports()
    for module in ("papermill", "nbconvert", "ipykernel"):
        require_installed(module, "lightnb rehearse")

    pending = tuple(pending)
    if limit is not None:
        pending = pending[:max(limit, 0)]
    shown = _describe(production)
    if not pending:
        return Rehearsal(None, None, None, NOTHING, production=shown)
    with _collector_paused():
        return _rehearse(project, start, production, out_dir, pending, shown, limit, run_tests, timeout)


def _rehearse(project: Project, start: Path, production: Path | str, out_dir: str | Path, pending: tuple[str, ...],
              shown: str, limit: int | None, run_tests: bool, timeout: int) -> Rehearsal:
    notebooks_dir()  # the notebook must be there before anything is copied
    out = Path(out_dir).resolve()
    executed = out / NOTEBOOK
    secrets: tuple[str, ...] = ()
    # The workspace is a full, unredacted copy of production, and the project copy may hold secrets
    # of its own: both live in a private scratch folder (0700) that is deleted afterwards, also on
    # SIGTERM, never in OUTDIR (which is meant to be shared or uploaded).
    if _is_url(production):
        from lightnb.backends.postgres.rehearsal import production_copy, url_secrets
        production = str(production)
        secrets = url_secrets(production)
        with scratch.folder("rehearse") as folder:
            tools = _Tools.warm_up(project)  # papermill and nbconvert load while production is copied
            tools.go_on()
            copied = copy_project(project, start, folder / "project")
            with production_copy(project, production, folder / "pg") as copy:
                out.mkdir(parents=True, exist_ok=True)
                params: dict[str, object] = {
                    "project_dir": str(copied), "production_db": copy.production, "workspace_dir": None,
                    "limit": limit, "run_project_tests": run_tests, "backend": "postgres"}
                # the kernel's DATABASE_URL names the workspace database in the copy's cluster
                with _Kernel.started(out, folder, env={"DATABASE_URL": copy.workspace},
                                     warm_up=KERNEL_WARM_UP + POSTGRES_WARM_UP) as kernel:
                    masked = _execute(kernel, tools, executed, params, out, timeout)
                    report = _export(tools, executed, out, secrets, masked)
    else:
        production = Path(production)
        before = file_state(production)  # a hash of it only when size, times and SQLite's counter cannot tell
        out.mkdir(parents=True, exist_ok=True)
        with scratch.folder("rehearse") as folder, _Kernel.started(out, folder) as kernel:
            # papermill loads, the redactor is built and nbconvert warms up, in this order, in a thread, while the
            # kernel starts, the project is copied and the notebook runs
            tools = _Tools.warm_up(project)
            try:
                copied = copy_project(project, start, folder / "project")
                # the notebook's two copies of production, the workspace and the one the proof starts from, are
                # made here, while the kernel starts
                made, fresh = _copies(copied, production, folder)
            finally:
                tools.go_on()  # (also when the copies failed: the thread ends, nothing waits for it forever)
            # once the notebook ran, the kernel is killed and these are deleted, in a thread, while the report is
            # written: the notebook's copies of production and of the project, and the kernel's IPython folder
            kernel.remove_when_stopped(folder / "workspace", folder / "check", folder / "project",
                                       folder / KERNEL_IPYTHON_DIR)
            params = {"project_dir": str(copied), "production_db": str(production),
                      "workspace_dir": str(folder / "workspace"), "workspace_copy": made,
                      # the proof hands its copy to the Run when it ends as the Run would make the workspace
                      "check_copy": {**fresh, "folder": str(folder / "check"), "hand_over": True} if fresh else None,
                      "limit": limit,
                      "run_project_tests": run_tests}
            try:
                masked = _execute(kernel, tools, executed, params, out, timeout)
            finally:
                if not file_state(production).same_as(before):  # pragma: no cover - would be a lightnb bug
                    raise DatabaseError(f"Production {production} changed during the rehearsal; restore it from "
                                        f"backup.")
            report = _export(tools, executed, out, secrets, masked)
    return Rehearsal(executed, report.html, report.markdown, read_verdict(executed), pending, shown)


def _copies(project_dir: Path, production: Path, folder: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Make the notebook's two copies of ``production``: the workspace (in ``folder/workspace``) and the one the
    proof starts from (in ``folder/check``); see :func:`_workspace_copy`.

    The two copies are made at once (:class:`_Copier`). When production provably did not change while they were
    made (the same committed state before both and after both: no commit, no write), both hold the same state,
    and the proof's copy names the workspace (``same_as``): while both files are untouched, the proof reads the
    state before the first migration from the workspace instead of saving it again
    (:class:`lightnb.checks.SameState`).
    """
    from lightnb.backends import sqlite
    from lightnb.layout import WORKSPACE_DB

    state = sqlite.committed_state(production)
    # the proof's copy is made in a thread of its own while this thread makes the workspace: each reads production
    # at one committed point (under SQLite's shared lock) and writes a file of its own, the kernel copying the
    # bytes, so the two copies take both cores instead of one after the other
    with _Copier(lambda: _workspace_copy(project_dir, production, folder / "check", record=False)) as proof_copy:
        made = _workspace_copy(project_dir, production, folder / "workspace")
        fresh = proof_copy.result()
    if made is not None:
        # ``folder`` is the rehearsal's private scratch folder, deleted when it ends: no commit to the workspace
        # needs to survive a power cut, so the notebook's steps do not wait for the disk (lightnb.migrate)
        made["scratch"] = True
    if made is not None and fresh is not None and state is not None and sqlite.committed_state(production) == state:
        fresh["same_as"] = {"path": str(folder / "workspace" / WORKSPACE_DB), "state": made["state"]}
    return made, fresh


class _Copier(Reader[_T]):
    """A copy of production made in a thread of its own (``make()``, which reports its progress) while this thread
    makes another one; told to stop (this thread leaves the block with an error, Ctrl-C or SIGTERM), it stops at
    its next reported piece (see ``lightnb.backends.sqlite.copy_bytes``), its unfinished file removed, and no
    thread outlives the block. Its steps are its own: the progress this thread reports is not mixed with them."""

    NAME = "lightnb-rehearse-copy"

    def __init__(self, make: Callable[[], _T]) -> None:
        super().__init__(lambda _opened: self._made(make))

    def _made(self, make: Callable[[], _T]) -> _T:
        from lightnb import progress

        def halt(_report: progress.Progress) -> None:
            if self.stopping:
                raise LightnbError("The copy of production was stopped.")

        with progress.reporting(halt):  # someone follows the copy: it is made piece by piece, and can stop
            return make()


def _workspace_copy(project_dir: Path, production: Path, folder: Path, *, record: bool = True) -> dict[str, Any] | None:
    """Make a workspace copy of ``production`` in ``folder``, as the notebook's cells would (the same step,
    guarded the same way); return what the notebook opens it with (``lightnb.ui.workbook``'s and
    ``lightnb.ui.test``'s ``copied``), or None when its file's state cannot prove it untouched later (the
    notebook copies again). Without ``record``, the copy is not the project's workspace (the proof's copy)."""
    from dataclasses import asdict

    from lightnb import progress
    from lightnb.backends import sqlite
    from lightnb.target import record_workspace, workspace_protects
    from lightnb.workspace import Workspace

    finished: list[progress.Progress] = []
    with progress.kept(finished):
        if record:  # as ``lightnb snapshot`` makes the project's workspace (the notebook's first cell does)
            project = Project.discover(project_dir)
            workspace = Workspace.create(production, folder, protect=workspace_protects(project))
            record_workspace(project, workspace.folder, workspace.production)
        else:
            workspace = Workspace.create(production, folder)
    state = sqlite.committed_state(workspace.path)
    return {"state": list(state), "steps": [asdict(p) for p in finished]} if state is not None else None


def _redactor(project: Project) -> Redactor:
    """What every output masks: what the project masks (its [redact] settings and their lineage), not
    only the built-in words; the notebook's panels do, and so does the last check of what is written.

    Its lineage reads every migration of the project (a fifth of a second and more): :class:`_Tools` builds it in
    its thread while the notebook runs, and the outputs wait for it before anything is written."""
    from lightnb.inspect.redact import Redactor

    return Redactor.for_project(project)


def _is_url(production: Path | str) -> bool:
    from lightnb.backends import is_postgres_url
    return isinstance(production, str) and is_postgres_url(production)


def _describe(production: Path | str) -> str:
    """Name production for messages: its file, or ``database `app` on host:port`` (never a password)."""
    if _is_url(production):
        from lightnb.backends.postgres import url as pgurl
        return pgurl.describe(str(production))
    return str(production)


def _execute(kernel: _Kernel, tools: _Tools, executed: Path, params: Mapping[str, object], out: Path,
             timeout: int) -> Any:
    """Run notebook 02 with ``params`` on ``kernel`` into ``executed`` (its outputs masked); return the masked
    notebook as written (None when papermill wrote nothing).

    :raises LightnbError: when a cell fails (the executed notebook is written, with the failing cell),
        or when the kernel died (with the last line it logged).
    """
    tools.wait_for_papermill()
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = notebooks_dir() / NOTEBOOK
    failed: PapermillExecutionError | None = None
    # papermill writes a temporary file, which becomes the executed notebook only once whole (with
    # the failing cell, when one fails); it is written once, at the end, not after every cell
    with atomic_path(executed, what="executed notebook", suffix=".tmp.ipynb") as partial:
        try:
            papermill.execute_notebook(str(notebook), str(partial), parameters=dict(params), cwd=str(out),
                                       kernel_name="python3", progress_bar=_progress_wanted(),
                                       execution_timeout=timeout, request_save_on_cell_execute=False,
                                       km=kernel.manager)
        except PapermillExecutionError as error:
            failed = error
        except Exception as error:  # the kernel died or never answered: say what it logged last
            if not kernel.alive():
                kernel.died = True
                raise LightnbError(f"The rehearsal's kernel stopped unexpectedly "
                                   f"({kernel.last_words() or type(error).__name__}); nothing was written to "
                                   f"{out}.") from error
            raise
        kernel.stop_soon()  # the kernel has no more work: it ends while the outputs are masked and the report written
        masked = _mask_outputs(partial, tools.redactor())
    if failed is not None:
        raise LightnbError(f"Rehearsal failed in cell {failed.exec_count}: {failed.ename}: "
                           f"{failed.evalue}; see {executed}.") from failed
    return masked


def _export(tools: _Tools, executed: Path, out: Path, secrets: tuple[str, ...], masked: Any = None) -> Any:
    """Write the HTML and Markdown report of the executed notebook: of ``masked``, the notebook as it was written
    with its outputs masked by the same redactor (not read and masked again), when given."""
    redactor = tools.redactor()
    tools.wait_for_report()
    from lightnb.report import export
    if masked is not None:
        return export(masked, out, name=executed.stem, redactor=redactor, secrets=secrets, masked=True)
    return export(executed, out, redactor=redactor, secrets=secrets)


# What the notebook's cells import: its panels, the proof, the capture, lint (with the PostgreSQL
# rules), schema regeneration and pandas. The kernel imports them while it starts, in parallel with
# this process's work, instead of in the first cells. A module the cells stop using only costs its
# import; one that fails to import is left to fail, with its message, in the cell that needs it.
KERNEL_WARM_UP = ("lightnb.ui", "lightnb.checks", "lightnb.capture", "lightnb.lint.config", "lightnb.schema.sync",
                  "pandas")
# ... and, when production is PostgreSQL, its backend (psycopg); a SQLite rehearsal's cells never import it.
POSTGRES_WARM_UP = ("lightnb.backends.postgres",)
KERNEL_LOG = "kernel.log"
# IPython's history database (in the user's IPython folder) would record every cell the rehearsal runs, with
# the paths of production and of the copies, outside OUTDIR; the kernel keeps its history in memory (no file
# to open, lock or close). (Disabling the history instead makes ipykernel hang on its way out, now and then.)
KERNEL_OPTIONS = ("--HistoryManager.hist_file=:memory:",)
# IPython's own folder (its profile: start-up scripts, configuration, the folders it makes on a first start) is
# one in the rehearsal's private scratch folder: the kernel writes nothing in the user's home, and the user's
# IPython start-up scripts and settings do not run in, or change, a rehearsal.
IPYTHON_DIR_ENV = "IPYTHONDIR"
KERNEL_IPYTHON_DIR = "ipython"
# the kernel's connection file (its ports and the key its messages are signed with): in the private scratch folder,
# not the user's Jupyter runtime folder, where a rehearsal that is killed would leave it
KERNEL_CONNECTION_FILE = "kernel-connection.json"
# ipykernel's launcher (ipykernel_launcher.py: the folder it starts in is taken off the module path while ipykernel
# loads), with debugpy marked absent first: ipykernel then starts without Jupyter's debugger; ipykernel loads with
# the garbage collector off, which is on again before the kernel starts.
_LAUNCHER_LOADS = ("if sys.path and (sys.path[0] == '' or pathlib.Path(sys.path[0]) == pathlib.Path.cwd()):\n"
                   "    del sys.path[0]\n"
                   "sys.modules['debugpy'] = None\n"
                   "gc.disable()\n"
                   "try:\n"
                   "    from ipykernel import kernelapp\n")
KERNEL_LAUNCHER = ("import gc, sys, pathlib\n" + _LAUNCHER_LOADS +
                   "finally:\n"
                   "    gc.enable()\n"
                   "kernelapp.launch_new_instance()\n")
SHUTDOWN_POLL = 0.01  # seconds between two looks at whether the kernel has ended
RECONNECT_INTERVAL_MS = 5  # how often the notebook's channels try to connect to a kernel that is not listening yet
# seconds for a kernel_info request's "idle" to come over IOPub (else ask again): it follows the reply at once when
# IOPub is connected, and is lost when it was published before (then only a request made since can show it)
READY_IOPUB_WAIT = 0.05


class _Kernel:
    """The rehearsal's kernel: started before papermill loads, warmed up, its own output kept in a log file.

    Use :meth:`started`: the kernel is shut down when the block ends (interrupted first, then asked to
    end, then killed if it does not), also on an error, Ctrl-C or SIGTERM, before the block's
    copies are removed.
    """

    def __init__(self, manager: Any, clients: list[Any], log: Path, handle: IO[bytes]) -> None:
        self.manager = manager
        self._clients = clients
        self._log = log
        self._handle = handle
        self._stopping: threading.Thread | None = None
        self._stopped = False
        self._leftovers: tuple[Path, ...] = ()
        self.died = False  # it ended on its own, in the middle of the notebook

    @classmethod
    @contextlib.contextmanager
    def started(cls, cwd: Path, folder: Path, *, env: Mapping[str, str] | None = None,
                warm_up: Sequence[str] = KERNEL_WARM_UP) -> Iterator[_Kernel]:
        """Start the kernel in ``cwd`` (its log and IPython folder in the private ``folder``), with ``env`` added to
        its environment, importing the modules ``warm_up`` while it starts."""
        log = folder / KERNEL_LOG
        handle = open(log, "ab")
        try:
            early = _EarlyKernel.launch(cwd, log, env, warm_up, handle)
            try:
                kernel = cls._start(cwd, log, env, warm_up, handle, early)
            finally:
                early.discard()  # unless the kernel manager adopted it
        except BaseException:
            handle.close()
            raise
        try:
            yield kernel
        finally:
            kernel.stop()

    @classmethod
    def _start(cls, cwd: Path, log: Path, env: Mapping[str, str] | None, warm_up: Sequence[str], handle: IO[bytes],
               early: _EarlyKernel) -> _Kernel:
        from jupyter_core.utils import run_sync

        from lightnb.kernel import kernel_manager_class

        base: Any = kernel_manager_class("python3")
        clients: list[Any] = []

        class RehearsalKernelManager(base):
            """Keeps the clients papermill opens, to close their channels when the kernel ends; hands them a
            quicker readiness check; kills a kernel that ran the notebook instead of asking it to end."""

            finished = False  # the notebook ran to its end (or to its failing cell): no cell runs any more

            def client(self, **kw: Any) -> Any:
                import zmq

                made = super().client(**kw)
                # its channels connect while the kernel may still be loading (nothing to connect to yet): they try
                # again every few milliseconds, not every tenth of a second (ZeroMQ's default)
                made.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_INTERVAL_MS)
                made.wait_for_ready = functools.partial(_wait_for_ready, made)
                clients.append(made)
                return made

            async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
                # once the notebook ran, the kernel has nothing left to run or save (its history is in memory,
                # the cells closed their databases, the panels' outputs are in the executed notebook): it is
                # killed at once instead of asked to end, which takes ipykernel a fifth of a second, and now
                # and then hangs it closing its control thread
                await super().shutdown_kernel(now=now or self.finished, restart=restart)

            def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
                return _without_debugger(super().format_kernel_cmd(extra_arguments))

            async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
                # the kernel process started before jupyter_client loaded, when it is the one this would start
                # (with the step jupyter_client 8 ends its own launch with; a release without it launches as it does)
                reconcile = getattr(self, "_reconcile_connection_info", None)
                if reconcile is not None and early.adopt(self.provisioner, kernel_cmd, kw):
                    reconcile(self.provisioner.connection_info)
                else:
                    await super()._async_launch_kernel(kernel_cmd, **kw)

            async def _async_wait(self, pollinterval: float = 0.1) -> None:
                # the kernel usually ends within a few hundredths of a second of its shutdown request (at once
                # when killed): look that often (jupyter_client looks every tenth), it is the end of every rehearsal
                await super()._async_wait(min(pollinterval, SHUTDOWN_POLL))

        manager = RehearsalKernelManager(kernel_name="python3",
                                         connection_file=str(log.parent / KERNEL_CONNECTION_FILE))
        arguments = [*KERNEL_OPTIONS, f"--IPKernelApp.exec_lines={_warm_up_line(warm_up)}"]
        options: dict[str, Any] = {"cwd": str(cwd), "stdout": handle, "stderr": handle, "extra_arguments": arguments,
                                   "env": _kernel_env(log, env)}
        run_sync(manager.start_kernel)(**options)
        return cls(manager, clients, log, handle)

    def alive(self) -> bool:
        """Tell whether the kernel process still runs."""
        from jupyter_core.utils import run_sync
        try:
            return bool(run_sync(self.manager.is_alive)())
        except Exception:  # noqa: BLE001 - no kernel any more
            return False

    def last_words(self) -> str:
        """Say why the kernel ended: the signal that killed it, else the last line it logged, else ``""``."""
        process = getattr(self.manager.provisioner, "process", None)
        status = process.poll() if process is not None else None
        if status is not None and status < 0:
            return f"killed by {signal.Signals(-status).name}"
        try:
            lines = self._log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return next((line.strip() for line in reversed(lines) if line.strip()), "")[:200]

    def remove_when_stopped(self, *folders: Path) -> None:
        """Delete ``folders`` (what the kernel worked on) once it has ended, in the thread ending it when
        :meth:`stop_soon` started that (deleting a copy of production takes a while); :meth:`stop` waits for it."""
        self._leftovers = folders

    def stop_soon(self) -> None:
        """Start ending the kernel in a thread, once the notebook ran (no cell runs any more: it is killed
        rather than asked to end); :meth:`stop` waits for it."""
        if self._stopping is None and not self._stopped:
            self.manager.finished = True
            self._stopping = threading.Thread(target=self._shutdown, name="lightnb-kernel-stop", daemon=True)
            self._stopping.start()

    def stop(self) -> None:
        """Shut the kernel down (or wait for :meth:`stop_soon` to have done it); close its log."""
        if self._stopping is not None:
            self._stopping.join()
        if not self._stopped:
            _cancel_cut_short()
            self._shutdown()
        if self.died:  # the copies it was working on have no owner left: remove them now
            scratch.sweep()

    def _shutdown(self) -> None:
        from jupyter_core.utils import run_sync
        self._stopped = True
        try:
            for client in self._clients:
                client.stop_channels()
            try:
                # interrupt, ask it to end, kill it if it does not (once the notebook ran: kill it)
                run_sync(self.manager.shutdown_kernel)(now=False)
            except RuntimeError as error:  # it had already ended
                if "No kernel is running" not in str(error):
                    raise
        finally:
            self._handle.close()
            for folder in self._leftovers:
                shutil.rmtree(folder, ignore_errors=True)


def _kernel_env(log: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    """The kernel's environment: this process's, its IPython folder beside ``log``, and ``env``."""
    return {**os.environ, IPYTHON_DIR_ENV: str(log.parent / KERNEL_IPYTHON_DIR), **(env or {})}


class _EarlyKernel:
    """The kernel's process, started before jupyter_client loads (a tenth of a second and more), importing ipykernel
    and the modules the cells use, then waiting on its standard input for the kernel's command-line arguments
    (ipykernel's connection file, its options) to start the kernel exactly as ipykernel's launcher would.

    It is started the way jupyter_client starts a kernel (in its own session, its output in the kernel's log, the
    kernel's environment with ``JPY_PARENT_PID``, in the kernel's folder) and the kernel manager adopts it only when
    the launch it would make is the same (this Python running ipykernel's launcher, the same environment and
    folder); otherwise it is ended (:meth:`discard`) and the manager launches the kernel itself. A process that is
    never adopted ends on its own when its standard input closes (also when this process dies)."""

    def __init__(self, process: Any, cwd: str, env: dict[str, str]) -> None:
        self.process = process
        self._cwd = cwd
        self._env = env
        self.adopted = False

    @classmethod
    def launch(cls, cwd: Path, log: Path, env: Mapping[str, str] | None, warm_up: Sequence[str],
               handle: IO[bytes]) -> _EarlyKernel:
        import subprocess

        environment = {**_kernel_env(log, env), "JPY_PARENT_PID": str(os.getpid())}
        environment.pop("PYTHONEXECUTABLE", None)  # as jupyter_client does for a Python kernel
        process = subprocess.Popen([sys.executable, "-c", _early_launcher(warm_up)], stdin=subprocess.PIPE,
                                   stdout=handle, stderr=handle, env=environment, cwd=str(cwd),
                                   start_new_session=True, close_fds=True)
        return cls(process, str(cwd), environment)

    def adopt(self, provisioner: Any, kernel_cmd: list[str], launch: Mapping[str, Any]) -> bool:
        """Hand the kernel's arguments to the waiting process and make it ``provisioner``'s (jupyter_client's
        LocalProvisioner) when ``kernel_cmd`` and ``launch`` (its Popen settings) would start the same process;
        return whether it did."""
        expected = {**dict(launch.get("env") or {}), "JPY_PARENT_PID": str(os.getpid())}
        same = (kernel_cmd[:3] == [sys.executable, "-c", KERNEL_LAUNCHER] and expected == self._env
                and str(launch.get("cwd")) == self._cwd and hasattr(provisioner, "connection_info")
                and self.process.poll() is None)
        if not same:
            return False
        import json
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps([os.path.expanduser(a) for a in kernel_cmd[3:]]).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:  # it ended: the manager launches the kernel itself
            return False
        provisioner.process = self.process
        provisioner.pid = self.process.pid
        provisioner.pgid = os.getpgid(self.process.pid)
        provisioner.cwd = self._cwd
        self.adopted = True
        return True

    def discard(self) -> None:
        """End the process unless it was adopted (it imported modules and waited, nothing more)."""
        if self.adopted:
            return
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()  # it ends on its own at the end of its input ...
        with contextlib.suppress(OSError):
            self.process.kill()  # ... at once when killed
        self.process.wait()


def _early_launcher(warm_up: Sequence[str]) -> str:
    """The early kernel's code: ipykernel's launcher (see KERNEL_LAUNCHER) loading ``warm_up`` too (the collector
    off, then what loaded left out of its passes; a module that fails to load is left for the kernel's own warm-up
    line to report), then reading the kernel's arguments, one JSON list on a line, from standard input."""
    return ("import gc, sys, pathlib, json, importlib\n" + _LAUNCHER_LOADS +
            f"    for name in {tuple(warm_up)!r}:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n"
            "finally:\n"
            "    gc.freeze()\n"
            "    gc.enable()\n"
            "line = sys.stdin.readline()\n"
            "if not line:\n"
            "    sys.exit(0)\n"
            "sys.argv[1:] = json.loads(line)\n"
            "kernelapp.launch_new_instance()\n")


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep Python's garbage collector off while the block runs (as it was after).

    A rehearsal loads papermill, nbconvert and jupyter_client in a thread while it waits for its kernel, and
    otherwise mostly waits: with the collector on, those imports, and the report's rendering, set off full
    passes over everything loaded (a tenth of a second and more each). What the rehearsal itself makes is freed
    as it goes (the copies are SQLite's, not Python objects); a reference cycle waits for the next pass after it.

    In a process that leaves what it loaded out of the collector's passes (``gc.freeze``: the ``lightnb`` command
    does), what the rehearsal loaded is left out too: the first pass after it would otherwise walk all of it (a
    few tenths of a second) just before the process ends."""
    was, freezing = gc.isenabled(), gc.get_freeze_count() > 0
    gc.disable()
    try:
        yield
    finally:
        if freezing:
            gc.freeze()
        if was:
            gc.enable()


def _cancel_cut_short() -> None:
    """Cancel what papermill left waiting in this thread's event loop when a stop (an error, Ctrl-C,
    SIGTERM) cut it short: the running cell's task would otherwise wake up during the shutdown, find
    the kernel gone, and leave a "Kernel died" traceback on stderr as the process ends."""
    import asyncio  # loaded with jupyter_client, after the kernel's process started

    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    if loop.is_closed() or loop.is_running():
        return
    waiting = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in waiting:
        task.cancel()
    if waiting:
        loop.run_until_complete(asyncio.gather(*waiting, return_exceptions=True))


async def _wait_for_ready(client: Any, timeout: float | None = None) -> None:
    """Wait until the kernel answers, like jupyter_client's ``wait_for_ready`` without its closing wait.

    That one ends by reading IOPub until it has been silent for 0.2 s, on every start. Here the kernel is
    ready once it replied to a kernel_info request and the ``idle`` status of one of the requests made came over
    IOPub: IOPub is then connected, and what the kernel published before it has been read (nbclient reads only
    the messages of the requests it makes, after this). When IOPub is not connected yet (the status came before
    it, and is lost), the request is made again, as jupyter_client does, soon: an earlier request's status
    arriving late proves the connection as well as the last one's.

    :raises RuntimeError: when the kernel dies, or does not answer within ``timeout`` seconds.
    """
    from queue import Empty

    deadline = time.monotonic() + (timeout if timeout is not None else math.inf)
    asked: set[str] = set()
    while True:
        asked.add(client.kernel_info())
        reply = await _message_of(client.shell_channel, asked, min(1.0, max(deadline - time.monotonic(), 0.0)),
                                  lambda message: message["msg_type"] == "kernel_info_reply", Empty)
        if reply is not None and await _message_of(
                client.iopub_channel, asked, READY_IOPUB_WAIT,
                lambda message: message["msg_type"] == "status"
                and message["content"].get("execution_state") == "idle", Empty) is not None:
            client._handle_kernel_info_reply(reply)
            return
        if not await client.is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


async def _message_of(channel: Any, requests: set[str], wait: float, wanted: Callable[[dict[str, Any]], bool],
                      empty: type[Exception]) -> dict[str, Any] | None:
    """Read ``channel`` until a message answering one of ``requests`` is ``wanted`` (returned), or ``wait`` seconds
    pass."""
    end = time.monotonic() + wait
    while True:
        try:
            message = await channel.get_msg(timeout=max(end - time.monotonic(), 0.0))
        except empty:
            return None
        if message.get("parent_header", {}).get("msg_id") in requests and wanted(message):
            return dict(message)


def _without_debugger(command: list[str]) -> list[str]:
    """Return the kernel's command line with ipykernel's launcher (``-m ipykernel_launcher``) replaced by the same
    launch in a ``-c`` line that first marks debugpy absent; any other command is returned as it is.

    ipykernel imports debugpy, for Jupyter's debugger, before the kernel can answer (a tenth of a second on
    every start); no one debugs a headless rehearsal."""
    for at in range(len(command) - 1):
        if command[at:at + 2] == ["-m", "ipykernel_launcher"]:
            return [*command[:at], "-c", KERNEL_LAUNCHER, *command[at + 2:]]
    return command


def _warm_up_line(modules: Sequence[str] = KERNEL_WARM_UP) -> str:
    """The kernel's start-up line importing ``modules`` (it leaves no name behind).

    The garbage collector is off while they load, then what is loaded is left out of its passes (``gc.freeze``) and
    it is turned on again, also when an import fails: the imports make no collection, nor do the cells walk the
    modules they loaded (the kernel is a process of the rehearsal's own, ended with it)."""
    code = (f"import gc, importlib\ngc.disable()\ntry:\n    for name in {tuple(modules)!r}:\n"
            f"        importlib.import_module(name)\nfinally:\n    gc.freeze()\n    gc.enable()\n")
    return f"exec({code!r}, {{}})"


class _Tools:
    """Work done in one thread while the kernel starts and runs the notebook, in the order it is needed: papermill
    loaded (to run the notebook), the project's redactor built (to mask its outputs), nbconvert warmed up (to write
    the report).

    Loading and warming are best-effort: an error there is left for the real use to raise, with its message. An
    error building the redactor is raised by :meth:`redactor`, where it is needed: nothing is written without it.
    """

    def __init__(self, project: Project) -> None:
        self._project = project
        self._papermill = threading.Event()
        self._redacted = threading.Event()
        self._free = threading.Event()  # set once nothing else needs the cores as much (see :meth:`go_on`)
        self._redactor: Redactor | None = None
        self._redactor_error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, name="lightnb-rehearse-imports", daemon=True)

    @classmethod
    def warm_up(cls, project: Project) -> _Tools:
        """Start the work in a thread (``project``: whose redactor is built)."""
        tools = cls(project)
        tools._thread.start()
        return tools

    def go_on(self) -> None:
        """Let the exporters warm up: the copies of production that compete for the cores are made (until then,
        only papermill and the redactor, which the notebook needs first, are loaded)."""
        self._free.set()

    def wait_for_papermill(self) -> None:
        """Wait until papermill is loaded (or failed to load)."""
        self._papermill.wait()

    def redactor(self) -> Redactor:
        """Wait for the project's redactor (see :func:`_redactor`) and return it; raise what stopped building it."""
        self._redacted.wait()
        if self._redactor_error is not None:
            raise self._redactor_error
        assert self._redactor is not None
        return self._redactor

    def wait_for_report(self) -> None:
        """Wait until the report's exporters are loaded (or failed to load)."""
        self._free.set()
        self._thread.join()

    def _load(self) -> None:
        try:
            import papermill  # noqa: F401 - loaded for _execute
        except Exception:  # noqa: BLE001 - _execute imports it again and says why it cannot
            pass
        finally:
            self._papermill.set()
        try:
            self._redactor = _redactor(self._project)
        except BaseException as error:  # noqa: BLE001 - raised where the redactor is used
            self._redactor_error = error
        finally:
            self._redacted.set()
        self._free.wait()
        try:
            _warm_exporters()
        except Exception:  # noqa: BLE001 - the export reports its own errors
            pass


def _warm_exporters() -> None:
    """Render a notebook like notebook 02 (its settings, a Markdown cell of it and a code cell with outputs of the
    kinds the panels show) as its report would be rendered, writing nothing: nbconvert's templates compile into the
    exporters the report then uses, and the lexers (IPython's, which the notebook's language asks for), filters and
    parsers load. One cell of each kind does that; the notebook's own cells would only add work."""
    import nbformat
    from nbformat.v4 import new_output

    from lightnb import report

    sample = nbformat.read(notebooks_dir() / NOTEBOOK, as_version=4)
    table = ("<table><thead><tr><th>id</th><th>email</th></tr></thead>"
             "<tbody><tr><td>1</td><td>x</td></tr></tbody></table>")
    markdown = next(cell for cell in sample.cells if cell.cell_type == "markdown")
    code = next(cell for cell in sample.cells if cell.cell_type == "code")
    code.outputs = [new_output("stream", name="stdout", text="x\n"),
                    new_output("display_data", data={"text/html": f"<div><p>x</p>{table}</div>",
                                                     "text/markdown": "| id | email |\n|---|---|\n| 1 | x |",
                                                     "text/plain": "x"}),
                    new_output("execute_result", data={"text/html": table, "text/plain": "'safe'"},
                               execution_count=1)]
    sample.cells = [markdown, code]
    report.warm_up(sample)


def _mask_outputs(notebook: Path, redactor: Redactor) -> Any:
    """Mask the executed notebook's outputs in place (it is still lightnb's temporary file); return the masked
    notebook (None when the file is empty)."""
    import nbformat

    from lightnb.inspect.redact_outputs import mask_notebook

    if not notebook.is_file() or not notebook.stat().st_size:
        return None
    masked = mask_notebook(nbformat.read(notebook, as_version=4), redactor)
    nbformat.write(masked, notebook)
    return masked


def copy_project(project: Project, start: Path, dest: Path) -> Path:
    """Copy what a rehearsal of ``project`` needs into ``dest``; return the copy of ``start``.

    The project root is copied without build output (``target/`` beside a Cargo.toml), version
    control, lightnb's own folders, environments or database files. A migrations folder, schema
    file or models folder configured outside the root is copied too, at the same place relative to
    the root, so every relative path in diesel.toml and lightnb.toml still resolves in the copy;
    an absolute path in the copy's diesel.toml is pointed at its copy.

    :raises ProjectError: when a file the rehearsal writes (a schema file) would still lie outside
        the copy; nothing of the project is written.
    """
    from lightnb.models.locate import models_dir

    root = project.root.resolve()
    outside = [p for p in _configured_paths(project, models_dir) if not _inside(p, root)]
    base = Path(os.path.commonpath([root, *outside])) if outside else root.parent
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root, dest / root.relative_to(base), ignore=_skipped, ignore_dangling_symlinks=True)
    for path in outside:
        target = dest / path.relative_to(base)
        if path.is_dir():
            shutil.copytree(path, target, ignore=_skipped, ignore_dangling_symlinks=True, dirs_exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    copied_start = dest / start.relative_to(base) if _inside(start, base) else dest / root.relative_to(base)
    if project.config_file is not None:
        _rebase_config(dest / project.config_file.resolve().relative_to(base), base, dest)
    _refuse_writes_outside(Project.discover(copied_start), dest)
    return copied_start


def _rebase_config(config: Path, base: Path, dest: Path) -> None:
    """Point every absolute path of the copied diesel.toml that lies below ``base`` at its copy in ``dest``."""
    import tomllib

    text = config.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # discovery reports it
    values = []
    for section in (raw.get("migrations_directory"), raw.get("print_schema")):
        tables = [section] if isinstance(section, dict) else []
        tables += [v for v in (section or {}).values() if isinstance(v, dict)] if isinstance(section, dict) else []
        for table in tables:
            values += [v for k, v in table.items() if k in ("dir", "file", "patch_file") and isinstance(v, str)]
    for value in sorted(set(values), key=len, reverse=True):
        path = Path(value)
        if path.is_absolute() and _inside(path.resolve(), base) and not _inside(path.resolve(), dest):
            copied = (dest / path.resolve().relative_to(base)).as_posix()
            for quote in ('"', "'"):
                text = text.replace(f"{quote}{value}{quote}", f"{quote}{copied}{quote}")
    config.write_text(text, encoding="utf-8")


def _refuse_writes_outside(copy: Project, dest: Path) -> None:
    """Raise unless every schema file the copy's runs would write lies inside ``dest``."""
    for section in copy.print_schema.values():
        configured = section.get("file")
        if isinstance(configured, str) and not _inside(copy.resolve(configured).resolve(), dest.resolve()):
            raise ProjectError(f"diesel.toml's print_schema file {configured} cannot be redirected to the project "
                               f"copy a rehearsal works on, and the rehearsal would write it; give the path "
                               f"relative to diesel.toml.")


def _configured_paths(project: Project, models_dir: Callable[[Project], Path]) -> list[Path]:
    paths = [project.migrations_dir]
    for section in project.print_schema.values():
        for key in ("file", "patch_file"):
            if isinstance(section.get(key), str):
                paths.append(project.resolve(section[key]))
    try:
        paths.append(models_dir(project))
    except LightnbError:
        pass
    return [Path(p).resolve() for p in paths if Path(p).exists()]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _skipped(folder: str, names: list[str]) -> set[str]:
    # database suffixes name files only: a folder such as migrations/…_add-journal is the project's
    skipped = {n for n in names if n in SKIPPED_DIRS
               or (n.endswith(SKIPPED_SUFFIXES) and not os.path.isdir(os.path.join(folder, n)))}
    if "Cargo.toml" in names:
        skipped.add("target")
    return skipped


def read_verdict(executed: Path) -> str | None:
    """Return the verdict the executed notebook printed in its cell tagged ``lightnb-verdict``."""
    import nbformat
    notebook = nbformat.read(str(executed), as_version=4)
    for cell in notebook.cells:
        if "lightnb-verdict" in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("text/plain")
                if text:
                    value = ast.literal_eval(text if isinstance(text, str) else "".join(text))
                    return str(value)
    return None


def _progress_wanted() -> bool:
    """papermill's own bar (cells executed, with an ETA) on stderr when someone follows progress."""
    from lightnb import progress
    return progress.wanted()
