"""The rehearsal's kernel: started before papermill is imported, warmed with the modules the cells use, its own
output kept off the terminal (a stopped rehearsal prints lightnb's one line and nothing else), and always ended."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from lightnb import samples, steps
from lightnb.project import Project
from lightnb.rehearse import KERNEL_LOG, KERNEL_WARM_UP, NOTEBOOK, _Kernel
from tests.support.processes import children

pytestmark = pytest.mark.timeout(180)
REPO = Path(__file__).resolve().parents[2]
# counts to three billion in SQLite: the proof's up is still running when the test stops the rehearsal
SLOW_UP = ("ALTER TABLE users ADD COLUMN x INTEGER;\n"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000000) "
           "SELECT count(*) FROM n;\n")


def _sample(tmp_path: Path, up: str, down: str) -> samples.SampleWorkbook:
    made = samples.sample_workbook(tmp_path / "sample", users=50, workspace=False)
    project = Project.discover(made.project_dir)
    created = steps.generate(project, "change").migration
    steps.save_sql(project, created.name, up=up, down=down)
    return made


def _env(scratch: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), LIGHTNB_SCRATCH_DIR=str(scratch))


# Records every kernel launch, with whether papermill (and jupyter_client, asyncio) had been loaded by then, and
# whether papermill was loaded at all.
ORDER_PROBE = """
import json, subprocess, sys
launches = []
loaded = []
launch = subprocess.Popen.__init__
def recording(self, args, *a, **kw):
    if any("ipykernel" in str(arg) for arg in args):
        launches.append("papermill" in sys.modules)
        loaded.append(sorted(m for m in ("jupyter_client", "asyncio") if m in sys.modules))
    launch(self, args, *a, **kw)
subprocess.Popen.__init__ = recording
from lightnb.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "papermill_loaded_at_launch": launches, "papermill": "papermill" in sys.modules,
                  "loaded_at_launch": loaded}))
"""


def test_the_kernel_starts_before_papermill_is_imported(tmp_path: Path) -> None:
    made = _sample(tmp_path, "ALTER TABLE users ADD COLUMN x INTEGER;\n", "ALTER TABLE users DROP COLUMN x;\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", ORDER_PROBE, "rehearse", "--project", str(made.project_dir),
                           "--database", str(made.production_db), "--out", str(out)], cwd=REPO,
                          env=_env(tmp_path / "s"), capture_output=True, text=True, timeout=170)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    # one kernel, launched before papermill loads (it boots meanwhile); papermill runs the notebook on it
    assert report["papermill_loaded_at_launch"] == [False] and report["papermill"]
    # ... and before jupyter_client (and asyncio, which it loads) even loads: the kernel manager adopts the process
    assert report["loaded_at_launch"] == [[]]
    assert (out / NOTEBOOK).is_file()


def test_the_kernel_has_the_cells_modules_loaded_and_keeps_its_own_output_in_its_log(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    from jupyter_core.utils import run_sync

    shown: list[str] = []

    def collect(message: dict) -> None:  # type: ignore[type-arg]
        if message["msg_type"] == "stream":
            shown.append(message["content"]["text"])

    with _Kernel.started(tmp_path, tmp_path) as kernel:
        client = kernel.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            code = (f"import sys\nprint(sorted(m for m in {KERNEL_WARM_UP!r} if m not in sys.modules), "
                    f"[n for n in dir() if 'lightnb' in n])\n"
                    f"get_ipython().kernel.log.error('kernel noise 7c1e')")
            run_sync(client.execute_interactive)(code, output_hook=collect, timeout=60)
        finally:
            client.stop_channels()
        process = kernel.manager.provisioner.process
    assert "".join(shown).strip() == "[] []"  # every module loaded, and no name left in the notebook's namespace
    assert "kernel noise 7c1e" not in capfd.readouterr().err
    assert "kernel noise 7c1e" in (tmp_path / KERNEL_LOG).read_text()
    assert process.poll() is not None  # the kernel ended with the block


def _slow_rehearsal(tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """Start a rehearsal whose proof is stuck in a long statement; return it and its kernel's process id."""
    made = _sample(tmp_path, SLOW_UP, "ALTER TABLE users DROP COLUMN x;\n")
    scratch = tmp_path / "scratch"
    child = subprocess.Popen([sys.executable, "-m", "lightnb", "rehearse", "--project", str(made.project_dir),
                              "--database", str(made.production_db), "--out", str(tmp_path / "out")], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(scratch))
    kernels: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the kernel's proof makes its own scratch folder for the copy
        kernels = kernels or children(child.pid)
        if scratch.is_dir() and any(p.name.startswith("check-") for p in scratch.iterdir()):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    return child, kernels


def _finish(child: subprocess.Popen[str]) -> str:
    try:
        return child.communicate(timeout=60)[1]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _left_behind(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "scratch").iterdir() if not p.name.startswith(".")] + \
        list((tmp_path / "out").glob("*.ipynb")) + list((tmp_path / "out").glob("*.html"))


def test_a_rehearsal_stopped_by_sigterm_prints_one_line_and_leaves_no_kernel(tmp_path: Path) -> None:
    child, kernels = _slow_rehearsal(tmp_path)
    assert kernels, "the rehearsal's kernel never started"
    child.send_signal(signal.SIGTERM)
    err = _finish(child)
    assert child.returncode == 128 + signal.SIGTERM
    assert len(err.strip().splitlines()) == 1, err  # no traceback from the kernel's messaging
    assert "terminated (SIGTERM)" in err
    assert not any(Path(f"/proc/{pid}").exists() for pid in kernels)  # the kernel ended too
    assert not _left_behind(tmp_path)  # no copy, log or notebook


def test_a_kernel_that_dies_is_named_as_the_reason_and_nothing_is_written(tmp_path: Path) -> None:
    child, kernels = _slow_rehearsal(tmp_path)
    assert kernels, "the rehearsal's kernel never started"
    os.kill(kernels[0], signal.SIGKILL)
    err = _finish(child)
    assert child.returncode == 1
    assert err.strip().splitlines()[-1] == (f"The rehearsal's kernel stopped unexpectedly (killed by SIGKILL); "
                                            f"nothing was written to {tmp_path / 'out'}.")
    assert not _left_behind(tmp_path)  # the copies the dead kernel was proving on are swept too


def test_the_kernel_writes_no_ipython_history_and_a_sqlite_rehearsal_does_not_load_postgresql(tmp_path: Path) -> None:
    from jupyter_core.utils import run_sync

    ipython_dir = tmp_path / "ipython"
    shown: list[str] = []

    def collect(message: dict) -> None:  # type: ignore[type-arg]
        if message["msg_type"] == "stream":
            shown.append(message["content"]["text"])

    with _Kernel.started(tmp_path, tmp_path, env={"IPYTHONDIR": str(ipython_dir)}) as kernel:
        client = kernel.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            run_sync(client.execute_interactive)("secret_path = '/srv/production.db'", timeout=60)
            loaded = "import sys; print([sys.modules.get(m) is not None for m in ('psycopg',)])"
            run_sync(client.execute_interactive)(loaded, output_hook=collect, timeout=60)
        finally:
            client.stop_channels()
    # the cells (with production's path) are kept in no history database outside OUTDIR
    assert not list(ipython_dir.rglob("history.sqlite*"))
    assert "".join(shown).strip() == "[False]"  # a SQLite rehearsal's kernel does not import psycopg


class _Channel:
    """A kernel channel that hands out the given messages, then reports nothing more (queue.Empty)."""

    def __init__(self, messages: list[dict]) -> None:  # type: ignore[type-arg]
        self.messages = messages
        self.waits: list[float] = []

    async def get_msg(self, timeout: float | None = None) -> dict:  # type: ignore[type-arg]
        from queue import Empty
        self.waits.append(timeout or 0.0)
        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _message(parent: str, msg_type: str, **content: str) -> dict:  # type: ignore[type-arg]
    return {"parent_header": {"msg_id": parent}, "msg_type": msg_type, "content": content}


class _Client:
    """A kernel client whose kernel answers every kernel_info request on the channels given."""

    def __init__(self, shell: list[dict], iopub: list[dict], alive: bool = True) -> None:  # type: ignore[type-arg]
        self.shell_channel, self.iopub_channel = _Channel(shell), _Channel(iopub)
        self.asked: list[str] = []
        self.handled: list[dict] = []  # type: ignore[type-arg]
        self._alive = alive

    def kernel_info(self) -> str:
        self.asked.append(f"info-{len(self.asked) + 1}")
        return self.asked[-1]

    def _handle_kernel_info_reply(self, message: dict) -> None:  # type: ignore[type-arg]
        self.handled.append(message)

    async def is_alive(self) -> bool:
        return self._alive


def test_the_kernel_is_ready_once_its_kernel_info_request_is_idle_without_waiting_for_iopub_silence() -> None:
    from lightnb.rehearse import _wait_for_ready

    later = _message("other", "stream", text="published later")
    reply = _message("info-1", "kernel_info_reply", protocol_version="5.3")
    client = _Client(shell=[_message("old", "kernel_info_reply"), reply],
                     iopub=[_message("start", "status", execution_state="starting"),
                            _message("info-1", "status", execution_state="busy"),
                            _message("info-1", "status", execution_state="idle"), later])
    asyncio.run(_wait_for_ready(client, timeout=5))
    assert client.asked == ["info-1"] and client.handled == [reply]
    # ready at the request's own "idle": IOPub is not read on until it has been quiet for a while
    assert client.iopub_channel.messages == [later]


def _idle_over_iopub_once_asked_again(client: _Client, request: str) -> None:
    """Have ``client``'s IOPub carry the "idle" status of ``request`` once the kernel is asked a second time."""
    original = client.kernel_info

    def asking() -> str:
        asked = original()
        if asked == "info-2":
            client.iopub_channel.messages += [_message(request, "status", execution_state="idle")]
        return asked

    client.kernel_info = asking  # type: ignore[method-assign]


def test_the_kernel_is_asked_again_while_iopub_is_not_connected_and_a_dead_kernel_is_reported() -> None:
    from lightnb.rehearse import _wait_for_ready

    second = _message("info-2", "kernel_info_reply", protocol_version="5.3")
    client = _Client(shell=[_message("info-1", "kernel_info_reply", protocol_version="5.3"), second],
                     iopub=[])  # the first request's status messages were published before IOPub connected
    client.iopub_channel.messages = []
    _idle_over_iopub_once_asked_again(client, "info-2")
    asyncio.run(_wait_for_ready(client, timeout=5))
    assert client.asked == ["info-1", "info-2"] and client.handled == [second]

    dead = _Client(shell=[], iopub=[], alive=False)
    with pytest.raises(RuntimeError, match="Kernel died"):
        asyncio.run(_wait_for_ready(dead, timeout=5))


def test_a_late_status_of_an_earlier_kernel_info_request_shows_iopub_connected() -> None:
    """IOPub connected while the first request's "idle" was on its way: it arrives after the request was made again
    (whose own "idle" the test never sends); either proves IOPub connected."""
    from lightnb.rehearse import _wait_for_ready

    second = _message("info-2", "kernel_info_reply", protocol_version="5.3")
    client = _Client(shell=[_message("info-1", "kernel_info_reply", protocol_version="5.3"), second], iopub=[])
    _idle_over_iopub_once_asked_again(client, "info-1")
    asyncio.run(_wait_for_ready(client, timeout=5))
    assert client.asked == ["info-1", "info-2"] and client.handled == [second]


def test_the_kernels_end_is_watched_closely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.manager import AsyncKernelManager

    from lightnb.rehearse import SHUTDOWN_POLL

    polls: list[float] = []
    original = AsyncKernelManager._async_wait

    async def recording(self, pollinterval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
        polls.append(pollinterval)
        await original(self, pollinterval=pollinterval)

    monkeypatch.setattr(AsyncKernelManager, "_async_wait", recording)
    with _Kernel.started(tmp_path, tmp_path) as kernel:
        process = kernel.manager.provisioner.process
    assert process.poll() is not None
    assert polls and max(polls) <= SHUTDOWN_POLL < 0.1  # not every tenth of a second, as jupyter_client does


def test_a_kernel_that_ran_the_notebook_is_killed_at_once_and_one_stopped_early_is_asked_to_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.manager import AsyncKernelManager

    asked: list[str] = []
    original_request, original_kill = AsyncKernelManager._async_request_shutdown, AsyncKernelManager._async_kill_kernel

    async def requesting(self, restart=False):  # type: ignore[no-untyped-def]
        asked.append("asked to end")
        await original_request(self, restart)

    async def killing(self, restart=False):  # type: ignore[no-untyped-def]
        asked.append("killed")
        await original_kill(self, restart)

    monkeypatch.setattr(AsyncKernelManager, "_async_request_shutdown", requesting)
    monkeypatch.setattr(AsyncKernelManager, "_async_kill_kernel", killing)
    with _Kernel.started(tmp_path, tmp_path) as kernel:
        kernel.stop_soon()  # the notebook ran: nothing is left to run or save in the kernel
        process = kernel.manager.provisioner.process
    assert asked == ["killed"] and process.poll() is not None
    asked.clear()
    with _Kernel.started(tmp_path, tmp_path) as stopped_early:  # an error, Ctrl-C: it is asked to end first
        process = stopped_early.manager.provisioner.process
    assert asked[0] == "asked to end" and process.poll() is not None


def test_the_kernels_ipython_folder_is_in_the_scratch_folder_not_the_users(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_core.utils import run_sync

    from lightnb.rehearse import KERNEL_CONNECTION_FILE, KERNEL_IPYTHON_DIR

    users = tmp_path / "home-ipython"
    startup = users / "profile_default" / "startup"
    startup.mkdir(parents=True)
    marker = tmp_path / "startup-ran"
    (startup / "00-mine.py").write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    monkeypatch.setenv("IPYTHONDIR", str(users))
    runtime = tmp_path / "jupyter-runtime"  # where Jupyter keeps its kernels' connection files
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    before = sorted(p.relative_to(users) for p in users.rglob("*"))
    folder, out = tmp_path / "scratch", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    shown: list[str] = []

    def collect(message: dict) -> None:  # type: ignore[type-arg]
        if message["msg_type"] == "stream":
            shown.append(message["content"]["text"])

    with _Kernel.started(out, folder) as kernel:
        client = kernel.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            run_sync(client.execute_interactive)("print(get_ipython().ipython_dir)", output_hook=collect, timeout=60)
            # its connection file (the key its messages are signed with) is in the private folder, not Jupyter's
            assert (folder / KERNEL_CONNECTION_FILE).is_file() and not list(runtime.iterdir())
        finally:
            client.stop_channels()
    assert "".join(shown).strip() == str(folder / KERNEL_IPYTHON_DIR)
    # the user's IPython folder is neither written nor run: no start-up script of theirs runs in a rehearsal
    assert sorted(p.relative_to(users) for p in users.rglob("*")) == before and not marker.exists()
    assert not list(out.iterdir())


def test_the_kernel_starts_without_jupyters_debugger_and_other_kernel_commands_are_left_as_they_are(
        tmp_path: Path) -> None:
    from lightnb.rehearse import KERNEL_LAUNCHER, _without_debugger

    launcher = ["/env/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}", "--x"]
    assert _without_debugger(launcher) == ["/env/bin/python", "-c", KERNEL_LAUNCHER, "-f", "{connection_file}", "--x"]
    for other in (["/env/bin/python", "-m", "my_kernel", "-f", "c.json"], ["ipykernel_launcher", "-m"], []):
        assert _without_debugger(list(other)) == other
    # a module of the rehearsal's folder (OUTDIR, where the kernel starts) does not replace ipykernel's imports
    (tmp_path / "zmq.py").write_text("raise SystemExit('the folder the kernel starts in was imported from')\n")
    printed = _printed_by_a_kernel(tmp_path, "import sys; print(sys.modules.get('debugpy', 'absent'), 'debugpy.server' "
                                             "in sys.modules, hasattr(get_ipython().kernel, 'debugger'))")
    assert printed == "None False False"


@pytest.mark.parametrize("warm_up", [KERNEL_WARM_UP, ("json", "lightnb_no_such_module")])
def test_the_kernels_collector_is_on_for_the_cells_with_what_it_loaded_left_out(tmp_path: Path,
                                                                               warm_up: tuple[str, ...]) -> None:
    """Off while ipykernel and the cells' modules load, on again for the cells (also when a module fails to load),
    with what was loaded frozen out of its passes."""
    printed = _printed_by_a_kernel(
        tmp_path, f"import gc, sys; print(gc.isenabled(), gc.get_freeze_count() > 10000, "
                  f"[m for m in {warm_up!r} if m in sys.modules], [n for n in dir() if 'lightnb' in n or n == 'name'])",
        warm_up=warm_up)
    loaded = [m for m in warm_up if not m.startswith("lightnb_no_such")]
    assert printed == f"True True {loaded} []"


def _printed_by_a_kernel(tmp_path: Path, code: str, **started: Any) -> str:
    """What ``code`` prints in a rehearsal kernel started in ``tmp_path`` (scratch folder ``tmp_path/scratch``)."""
    from jupyter_core.utils import run_sync

    shown: list[str] = []

    def collect(message: dict) -> None:  # type: ignore[type-arg]
        if message["msg_type"] == "stream":
            shown.append(message["content"]["text"])

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with _Kernel.started(tmp_path, scratch, **started) as kernel:
        client = kernel.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            run_sync(client.execute_interactive)(code, output_hook=collect, timeout=60)
        finally:
            client.stop_channels()
    return "".join(shown).strip()


def test_a_rehearsal_keeps_the_collector_off_while_it_runs_and_as_it_was_after(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from lightnb import rehearse as rehearse_module

    made = _sample(tmp_path, "ALTER TABLE users ADD COLUMN x INTEGER;\n", "ALTER TABLE users DROP COLUMN x;\n")
    seen: list[bool] = []
    real = rehearse_module._execute

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(rehearse_module, "_execute", spying)
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(tmp_path / "scratch"))
    assert gc.isenabled()
    steps.rehearse(made.project_dir, made.production_db, tmp_path / "out")
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        steps.rehearse(made.project_dir, made.production_db, tmp_path / "out2")
        assert seen == [False, False] and not gc.isenabled()  # left off, as it was
    finally:
        gc.enable()


COLLECTOR_PROBE = r"""
import gc, sys
from lightnb.rehearse import _collector_paused
if sys.argv[1] == "freezing":
    gc.freeze()  # as the lightnb command does with what it loaded at start-up
with _collector_paused():
    assert not gc.isenabled()
    loaded = [[n] for n in range(100)]  # what a rehearsal loads and keeps (papermill, nbconvert …)
young = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
print(gc.isenabled(), id(loaded) in young)
"""


@pytest.mark.parametrize(("process", "left_to_the_collector"), [("freezing", False), ("plain", True)])
def test_what_a_rehearsal_loads_is_frozen_only_in_a_process_that_freezes_what_it_loads(
        process: str, left_to_the_collector: bool) -> None:
    done = subprocess.run([sys.executable, "-c", COLLECTOR_PROBE, process], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", str(left_to_the_collector)]


def test_what_the_kernel_worked_on_is_removed_once_it_ended_in_the_thread_ending_it(tmp_path: Path) -> None:
    import threading

    folders = [tmp_path / name for name in ("workspace", "check", "project")]
    for folder in folders:
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "copy.db").write_bytes(b"x" * 1000)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    removed_by: list[tuple[str, bool]] = []
    with _Kernel.started(tmp_path, scratch) as kernel:
        kernel.remove_when_stopped(*folders, tmp_path / "never-made")
        process = kernel.manager.provisioner.process
        real = shutil.rmtree

        def recording(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            removed_by.append((threading.current_thread().name, process.poll() is not None))
            return real(path, *args, **kwargs)

        with mock.patch("shutil.rmtree", recording):
            kernel.stop_soon()
            kernel.stop()
    assert not any(folder.exists() for folder in folders) and (scratch / KERNEL_LOG).exists()
    # in the thread that ended the kernel, once it had ended
    assert removed_by == [("lightnb-kernel-stop", True)] * 4


@pytest.mark.parametrize("ipython_dir", [None, "IPYTHON", "~/missing/ipython"])
def test_kernels_are_found_where_jupyter_client_finds_them_without_loading_ipython(
        tmp_path: Path, ipython_dir: str | None) -> None:
    probe = r"""
import json, sys
from lightnb.kernel import kernel_manager_class, kernel_spec_manager
manager = kernel_manager_class("python3")(kernel_name="python3")
found = [manager.kernel_spec.resource_dir, kernel_spec_manager().find_kernel_specs(), "IPython" in sys.modules]
from jupyter_client.kernelspec import KernelSpecManager
print(json.dumps([*found, KernelSpecManager().find_kernel_specs()]))
"""
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    env.pop("IPYTHONDIR", None)
    (tmp_path / "home").mkdir()
    if ipython_dir == "IPYTHON":  # a kernel of the user's own, in IPython's folder
        spec = tmp_path / "ipython" / "kernels" / "mine"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text('{"argv": ["python", "-m", "ipykernel_launcher", "-f", '
                                          '"{connection_file}"], "display_name": "Mine", "language": "python"}')
        env["IPYTHONDIR"] = str(tmp_path / "ipython")
    elif ipython_dir is not None:
        env["IPYTHONDIR"] = ipython_dir
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    spec_dir, specs, ipython_loaded, default_specs = json.loads(done.stdout)
    assert specs == default_specs and spec_dir == default_specs["python3"]  # the same kernels, the same python3
    assert ("mine" in specs) == (ipython_dir == "IPYTHON")
    assert not ipython_loaded  # IPython is not loaded to name its folder


def _recording_early_launches(monkeypatch: pytest.MonkeyPatch) -> list:  # type: ignore[type-arg]
    """The early kernel processes rehearsals start from now on, in order."""
    from lightnb.rehearse import _EarlyKernel

    started: list[_EarlyKernel] = []
    launch = _EarlyKernel.launch.__func__  # type: ignore[attr-defined]

    def recording(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(launch(cls, *args, **kwargs))
        return started[-1]

    monkeypatch.setattr(_EarlyKernel, "launch", classmethod(recording))
    return started


def _early(tmp_path: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    from lightnb.rehearse import _EarlyKernel

    handle = open(tmp_path / KERNEL_LOG, "ab")
    return _EarlyKernel.launch(tmp_path, tmp_path / KERNEL_LOG, env, ("json",), handle), handle


def test_the_kernel_process_started_early_is_the_kernel_and_ends_with_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The process started before jupyter_client loads is the kernel the notebook runs on (no second process)."""
    import zmq
    from jupyter_core.utils import run_sync

    from lightnb.rehearse import RECONNECT_INTERVAL_MS

    started = _recording_early_launches(monkeypatch)

    shown: list[str] = []

    def collect(message: dict) -> None:  # type: ignore[type-arg]
        if message["msg_type"] == "stream":
            shown.append(message["content"]["text"])

    with _Kernel.started(tmp_path, tmp_path, env={"LIGHTNB_PROBE": "4d2"}) as kernel:
        client = kernel.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            # the notebook's channels try to connect again every few milliseconds while the kernel is not listening
            reconnect = {channel.socket.getsockopt(zmq.RECONNECT_IVL)
                         for channel in (client.shell_channel, client.iopub_channel, client.control_channel)}
            run_sync(client.execute_interactive)("import os, sys; print(os.getpid(), os.environ['LIGHTNB_PROBE'], "
                                                 "os.environ['JPY_PARENT_PID'], sys.argv[1] == '-f')",
                                                 output_hook=collect, timeout=60)
        finally:
            client.stop_channels()
        process = kernel.manager.provisioner.process
    [early] = started
    assert reconnect == {RECONNECT_INTERVAL_MS}
    assert early.adopted and process is early.process
    assert "".join(shown).split() == [str(early.process.pid), "4d2", str(os.getpid()), "True"]
    assert early.process.poll() is not None  # it ended with the block


def test_an_early_kernel_process_is_adopted_only_for_the_same_launch(tmp_path: Path) -> None:
    from lightnb.rehearse import KERNEL_LAUNCHER, _kernel_env

    early, handle = _early(tmp_path)
    try:
        class Provisioner:
            connection_info: dict[str, str] = {}

        env = {**_kernel_env(tmp_path / KERNEL_LOG, None)}
        command = [sys.executable, "-c", KERNEL_LAUNCHER, "-f", str(tmp_path / "c.json")]
        # another Python, another launcher, another environment or folder: not this process's launch
        assert not early.adopt(Provisioner(), ["/other/python", *command[1:]], {"env": env, "cwd": str(tmp_path)})
        assert not early.adopt(Provisioner(), [sys.executable, "-m", "ipykernel_launcher", *command[3:]],
                               {"env": env, "cwd": str(tmp_path)})
        assert not early.adopt(Provisioner(), command, {"env": {**env, "X": "1"}, "cwd": str(tmp_path)})
        assert not early.adopt(Provisioner(), command, {"env": env, "cwd": str(tmp_path / "elsewhere")})
        assert not early.adopted and early.process.poll() is None
    finally:
        early.discard()  # not adopted: it is ended
        handle.close()
    assert early.process.poll() is not None


def test_an_early_kernel_process_ends_on_its_own_when_its_input_closes(tmp_path: Path) -> None:
    """As when the rehearsal's process dies before handing it the kernel's arguments: nothing is left running."""
    early, handle = _early(tmp_path)
    try:
        assert early.process.stdin is not None
        early.process.stdin.close()
        assert early.process.wait(timeout=60) == 0
    finally:
        handle.close()


def test_the_early_kernel_process_is_ended_when_the_kernel_cannot_start(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or an error) while jupyter_client loads and the kernel manager starts: the early process ends too."""
    started = _recording_early_launches(monkeypatch)

    with mock.patch.object(_Kernel, "_start", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        with _Kernel.started(tmp_path, tmp_path):
            pass  # pragma: no cover - never reached
    [early] = started
    assert not early.adopted and early.process.poll() is not None


def test_a_kernel_manager_without_the_launch_step_it_adopts_with_launches_the_kernel_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A jupyter_client whose launch no longer ends in the step the adoption uses: the kernel is launched as it
    launches it, and the early process is ended (the rehearsal works as without it)."""
    from jupyter_client.manager import KernelManager
    from jupyter_core.utils import run_sync


    owner = next(c for c in KernelManager.__mro__ if "_reconcile_connection_info" in vars(c))
    reconcile = vars(owner)["_reconcile_connection_info"]
    launch_kernel = KernelManager._async_launch_kernel

    async def launching(self, kernel_cmd, **kw):  # type: ignore[no-untyped-def]
        # that release's own launch, its last step under another name
        setattr(owner, "_reconcile_connection_info", reconcile)  # noqa: B010 - put back for its own launch only
        try:
            await launch_kernel(self, kernel_cmd, **kw)
        finally:
            delattr(owner, "_reconcile_connection_info")

    monkeypatch.setattr(KernelManager, "_async_launch_kernel", launching)
    monkeypatch.delattr(owner, "_reconcile_connection_info")
    started = _recording_early_launches(monkeypatch)

    with _Kernel.started(tmp_path, tmp_path) as kernel:
        [early] = started
        assert not early.adopted and early.process.poll() is not None  # ended once the manager launched its own
        client = kernel.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
        finally:
            client.stop_channels()
        assert kernel.manager.provisioner.process.pid != early.process.pid
