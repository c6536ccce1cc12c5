"""The process engine on Windows: what only Windows does (``tasker._platform._windows``).

Runs only on Windows (``scripts/test-windows``: a real Windows CPython under Wine).
What the engine does the same everywhere (progress, events, ``ask``, failures
keeping their type, cooperative cancel, recycling, the memory cap, shutdown) is
tested by the suite's ``kind``-parametrised tests and test_recycling.py, which the
Windows lane runs with real workers too. Here: the Job Object (a stuck task's
subprocess dies with its worker; everything dies with the application), suspend
(a paused worker uses no CPU), a worker killed from outside, big payloads over the
pipe, and the channel's and job's own rules.

Every process a test learns of is held by a handle at once (never signalled by
pid alone) and waited for with a bound; every wait is bounded.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasker import Task, WorkerDiedError

import control_jobs
from conftest import Harness, children, wait_for

pytestmark = [
    pytest.mark.skipif(sys.platform != "win32", reason="the Windows process engine: only on Windows"),
    pytest.mark.timeout(120),
]

if sys.platform == "win32":
    from ctypes import wintypes

    from tasker._platform import _windows

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.WaitForSingleObject.argtypes = (wintypes.HANDLE, wintypes.DWORD)
    kernel32.TerminateProcess.argtypes = (wintypes.HANDLE, wintypes.UINT)
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)

BOUND = 60.0  # s: Wine starts a Windows process in ~0.1-3 s on a loaded machine
SYNCHRONIZE = 0x00100000
PROCESS_TERMINATE = 0x0001
WAIT_OBJECT_0 = 0
MiB = 1 << 20


class Held:
    """Handles on processes a test learned of; waits on them; terminates survivors at teardown."""

    def __init__(self) -> None:
        self.handles: dict[int, int] = {}

    def hold(self, pid: int) -> None:
        handle = kernel32.OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, False, pid)
        assert handle, f"process {pid} is already gone"
        self.handles[pid] = int(handle)

    def gone(self, pid: int, limit: float = BOUND) -> bool:
        return bool(kernel32.WaitForSingleObject(self.handles[pid], int(limit * 1000)) == WAIT_OBJECT_0)

    def terminate(self, pid: int, code: int = 1) -> None:
        assert kernel32.TerminateProcess(self.handles[pid], code), ctypes.get_last_error()

    def close(self) -> None:
        for handle in self.handles.values():
            if kernel32.WaitForSingleObject(handle, 0) != WAIT_OBJECT_0:
                kernel32.TerminateProcess(handle, 1)
            kernel32.CloseHandle(handle)


@pytest.fixture
def held() -> Iterator[Held]:
    h = Held()
    yield h
    h.close()


# -- task functions (the worker imports this module) ---------------------------------------
_KEEP: list[subprocess.Popen[bytes]] = []


def start_child_then_block(ctx: Any, seconds: float = 60.0) -> None:
    """Start a Python that waits for ever, report its pid and ours, then block without checking."""
    child = subprocess.Popen(
        [getattr(sys, "_base_executable", sys.executable), "-c", "import time; time.sleep(600)"],
        stdin=subprocess.DEVNULL,
    )
    _KEEP.append(child)
    ctx.send_event("tree", {"worker": os.getpid(), "child": child.pid})
    threading.Event().wait(seconds)  # never looks at cancellation


def start_child_then_report(ctx: Any, path: str) -> None:
    """As ``start_child_then_block``, the pids written to ``path`` (complete: renamed into place)."""
    child = subprocess.Popen(
        [getattr(sys, "_base_executable", sys.executable), "-c", "import time; time.sleep(600)"],
        stdin=subprocess.DEVNULL,
    )
    _KEEP.append(child)
    Path(path + ".part").write_text(json.dumps({"worker": os.getpid(), "child": child.pid}))
    os.replace(path + ".part", path)
    threading.Event().wait(600)


def count_into(ctx: Any, tag: str, seconds: float) -> None:
    """Counts into the shared memory ``tag`` names, never looking at the context."""
    import mmap
    import time

    counter = mmap.mmap(-1, 8, tagname=tag)
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        counter[:8] = n.to_bytes(8, "little")


class BootProbe:
    """What a frozen worker's ``spawn_main`` unpickles from the boot pipe: writes ``path`` when started."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _bootstrap(self, parent_sentinel: Any = None) -> int:
        Path(self.path).write_text(f"booted {parent_sentinel!r}")
        return 0


def report_then_block(ctx: Any, seconds: float = 60.0) -> None:
    ctx.send_event("pid", os.getpid())
    threading.Event().wait(seconds)


def echo_size(ctx: Any, data: bytes, size: int) -> bytes:
    assert len(data) == size and data[-1:] == b"\x07"
    return b"\x05" * (2 * size)


BOOT_CLASS: int | None = None  # the worker's priority class as its initializer ran (``note_boot_class``)


def own_class() -> int:
    import _winapi

    return _windows.priority_class(_winapi.GetCurrentProcess())


def note_boot_class() -> None:
    global BOOT_CLASS
    BOOT_CLASS = own_class()


def classes(ctx: Any) -> tuple[int | None, int]:
    """The worker's priority class at boot (its initializer) and now (the task)."""
    return BOOT_CLASS, own_class()


# -- helpers ----------------------------------------------------------------------------------
def _events(h: Harness, func: Any, *args: Any, **kwargs: Any) -> tuple[Task[Any], list[Any]]:
    got: list[Any] = []
    task = h.mgr.run_process(func, *args, when_done=h.when_done, when_event=lambda t, n, d: got.append(d), **kwargs)
    assert h.pump_until(lambda: bool(got), BOUND), "the task never reported"
    return task, got


# -- the tests ----------------------------------------------------------------------------------
def test_a_stuck_task_is_killed_after_the_grace_period_with_the_process_it_started(
    make_harness: Any, held: Held
) -> None:
    h = make_harness(max_processes=1, cancel_grace_period=0.2)
    task, got = _events(h, start_child_then_block)
    tree = got[0]
    held.hold(tree["worker"])
    held.hold(tree["child"])
    worker = task.handle
    assert worker.proc.pid == tree["worker"]
    assert _windows.job_pids(worker.proc) >= {tree["worker"], tree["child"]}, "the child joined the worker's job"
    task.cancel()
    h.finish(task, BOUND)
    assert task.get_status() == "canceled"
    assert held.gone(tree["worker"]) and held.gone(tree["child"]), "the worker's job was not killed"
    after = h.finish(h.mgr.run_process(control_jobs.pid, when_done=h.when_done), BOUND)
    assert after.result() != tree["worker"], "the pool went on with a new worker"


def test_a_worker_killed_from_outside_fails_its_task_with_worker_died_error(make_harness: Any, held: Held) -> None:
    h = make_harness(max_processes=1)
    task, got = _events(h, report_then_block)
    pid = got[0]
    assert pid == task.handle.proc.pid
    held.hold(pid)
    held.terminate(pid, 9)  # TerminateProcess, as Task Manager or another program would
    h.finish(task, BOUND)
    error = task.exception()
    assert isinstance(error, WorkerDiedError), repr(error)
    assert error.exitcode == 9 and "code 9" in str(error)
    assert h.finish(h.mgr.run_process(control_jobs.pid, when_done=h.when_done), BOUND).result() != pid


def test_a_paused_worker_uses_no_cpu_and_goes_on_after_resume(make_harness: Any) -> None:
    """A task that never checks counts in shared memory: paused, the count stands still.

    (The count is the proof: under Wine, ``GetProcessTimes`` of another process is
    not updated while it runs, so CPU time cannot tell a busy worker from a stopped one.)
    """
    import mmap
    import secrets

    tag = f"Local\\tasker-test-{os.getpid()}-{secrets.token_hex(8)}"
    counter = mmap.mmap(-1, 8, tagname=tag)
    tick = threading.Event()  # never set: bounded pauses between looks

    def count() -> int:
        return int.from_bytes(counter[:8], "little")

    def moves() -> bool:
        start = count()
        return wait_for(lambda: count() != start, BOUND)

    def stands_still() -> bool:  # NtSuspendProcess stops each thread at its next chance: settle first
        before = count()
        tick.wait(0.1)
        return count() == before

    try:
        h = make_harness(max_processes=1, cancel_grace_period=0.2, update_rate=0)
        task = h.mgr.run_process(count_into, tag, 120.0, when_done=h.when_done)
        assert h.pump_until(task.is_running, BOUND)
        assert moves(), "the task never ran"
        assert h.mgr.pause_task(task.key)
        assert task.handle.proc.suspended and task.is_paused() and task.get_status() == "running"
        assert wait_for(stands_still, BOUND), "the paused worker went on counting"
        frozen = count()
        tick.wait(0.5)  # the measuring window (not a synchronisation)
        assert count() == frozen, f"a paused worker counted {count() - frozen} more"
        assert h.mgr.resume_task(task.key)
        assert moves(), "the worker did not go on after resume"
        task.cancel()  # it never checks: killed after the grace period
        assert h.finish(task, BOUND).get_status() == "canceled"
    finally:
        counter.close()


def test_big_arguments_and_results_cross_the_pipe(harness: Harness) -> None:
    size = 16 * MiB
    data = b"\x00" * (size - 1) + b"\x07"
    task = harness.finish(harness.mgr.run_process(echo_size, data, size, when_done=harness.when_done), BOUND)
    value = task.result()
    assert len(value) == 2 * size and value[:1] == value[-1:] == b"\x05"


@pytest.mark.parametrize("round_", range(3))
def test_shutdown_leaves_no_process(make_harness: Any, held: Held, round_: int) -> None:
    before = children()  # (what earlier tests of the session may have left is not this test's)
    h = make_harness(max_processes=2, spare_processes=1)
    busy, got = _events(h, start_child_then_block)
    held.hold(got[0]["worker"])
    held.hold(got[0]["child"])
    assert h.finish(h.mgr.run_process(control_jobs.pid, when_done=h.when_done), BOUND).get_status() == "completed"
    assert children() - before, "the workers are this process's children"
    h.mgr.shutdown(timeout=1.0)
    assert held.gone(got[0]["worker"]) and held.gone(got[0]["child"])
    assert wait_for(lambda: not children() - before, BOUND), f"left after shutdown: {children() - before}"
    h.scheduler.pump()
    assert busy.get_status() == "canceled"


#: How an application ends (the app script below): it returns from its main module
#: without ``shutdown()``, calls ``os._exit``, or is killed from outside (``TerminateProcess``).
APP_ENDINGS = ("returns", "os_exit", "killed")
#: Rounds of each: a race between a worker's start and its job would show in some.
APP_ROUNDS = 3

APP = """
import os, sys, threading
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
from tasker import TaskManager
import test_windows_engine as jobs

report, ending, go = sys.argv[2], sys.argv[3], Path(sys.argv[4])
mgr = TaskManager(max_processes=1, spare_processes=1)  # (a spare is being started as the app ends)
mgr.run_process(jobs.start_child_then_report, report)
tick = threading.Event()  # never set: bounded waits between looks
while not go.exists():  # the test has held the worker and its child: end now
    tick.wait(0.01)
if ending == "os_exit":
    os._exit(3)
if ending == "killed":
    threading.Event().wait(600)  # TerminateProcess'ed by the test long before
# "returns": the main module ends, no shutdown(): the interpreter exits with the task running
"""


@pytest.mark.parametrize("round_", range(APP_ROUNDS))
@pytest.mark.parametrize("ending", APP_ENDINGS)
def test_the_apps_end_kills_its_workers_and_what_they_started(
    tmp_path: Path, held: Held, ending: str, round_: int
) -> None:
    """However the app ends, its job handles close: Windows kills every worker's job.

    (Every child of the app is held by handle before it ends. With a spare: a worker
    whose start the app's end interrupts, inside CreateProcess too, is in its job from
    its creation on; one this test could not hold is named by conftest's per-test check.)
    """
    app = tmp_path / "app.py"
    report = tmp_path / "tree.json"
    go = tmp_path / "go"
    app.write_text(APP)
    tests = str(Path(__file__).parent)
    python, extra = _windows.interpreter()  # the real interpreter: its pid is the app's (not a launcher's)
    proc = subprocess.Popen(
        [python, str(app), tests, str(report), ending, str(go)],
        stdin=subprocess.DEVNULL,
        env={**os.environ, **extra},
    )
    try:
        assert wait_for(lambda: report.exists() or proc.poll() is not None, BOUND * 2)
        assert report.exists(), f"the app ended ({proc.returncode}) before its task reported its processes"
        tree = json.loads(report.read_text())
        held.hold(tree["worker"])
        held.hold(tree["child"])
        workers = _children_of(proc.pid)
        assert tree["worker"] in workers
        for pid in workers:
            if pid not in held.handles:
                held.hold(pid)
        if ending == "killed":
            proc.kill()  # TerminateProcess: no code of the app runs any more
        else:
            go.write_text("go")
        code = proc.wait(BOUND)
        assert code == {"returns": 0, "os_exit": 3, "killed": 1}[ending]
        for pid in held.handles:
            assert held.gone(pid), (
                f"process {pid} outlived the app ({ending}): worker {tree['worker']}, child {tree['child']}"
            )
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(BOUND)


def _children_of(pid: int) -> set[int]:
    from tasker._platform import _windows_procs

    return {child for child, (parent, _) in _windows_procs.processes().items() if parent == pid}


def test_a_frozen_workers_boot_pipe_reaches_spawn_main(tmp_path: Path) -> None:
    """``frozen_boot``: what ``freeze_support()`` hands to ``spawn_main(pipe_handle=N)`` in a frozen app.

    (The lane has no PyInstaller: here a plain Python runs ``spawn.freeze_support()``,
    what CPython's ``freeze_support`` runs in a frozen app on Windows, with the
    arguments ``_frozen.command`` gives, started by the platform's ``spawn``.)
    """
    import pickle

    marker = tmp_path / "booted"
    data = pickle.dumps({}) + pickle.dumps(BootProbe(str(marker)))
    extra, pipe = _windows.PLATFORM.frozen_boot(data)
    assert len(extra) == 1 and extra[0].startswith("pipe_handle=")
    code = "from multiprocessing import spawn; spawn.freeze_support()"  # (what a frozen app's freeze_support runs)
    tests = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))}
    try:
        argv = [sys.executable, "-c", code, "--multiprocessing-fork", *extra]  # (_frozen.command's arguments)
        proc = _windows.PLATFORM.spawn(argv, pipe.inherit, env)
    finally:
        pipe.close()
    try:
        assert proc.wait(BOUND) == 0
        assert marker.read_text() == "booted None"  # no parent_pid: the handle was the worker's own
    finally:
        proc.kill_tree()
        proc.wait(BOUND)
        proc.release()


def test_the_channel_refuses_file_descriptors() -> None:
    parent, handle = _windows.open_channel()
    try:
        with pytest.raises(ValueError, match="in band"):
            parent.send(b"x", [3])
    finally:
        parent.close()
        _windows.close_handle(handle)


@pytest.mark.parametrize(("nice", "expected"), [(7, "BELOW_NORMAL"), (15, "IDLE"), (19, "IDLE")])
def test_worker_nice_sets_the_workers_priority_class_from_its_first_task_on(
    make_harness: Any, nice: int, expected: str
) -> None:
    """Windows has no ``nice``: ``worker_nice`` is the worker's priority class, below the UI's NORMAL.

    The initializer (the boot) runs at NORMAL; the task and a second task (lowered once)
    run lowered. (Windows gives a process started by a BELOW_NORMAL or IDLE one the same
    class; Wine 8 starts it at NORMAL, so the lane cannot show that.)
    """
    lowered = getattr(_windows, f"{expected}_PRIORITY_CLASS")
    h = make_harness(worker_nice=nice, max_processes=1, worker_initializer=note_boot_class)
    first = h.finish(h.mgr.run_process(classes, when_done=h.when_done), BOUND).result()
    assert first == (_windows.NORMAL_PRIORITY_CLASS, lowered), "(initializer, task) priority class"
    second = h.finish(h.mgr.run_process(classes, when_done=h.when_done), BOUND).result()
    assert second == first


def test_without_worker_nice_workers_run_at_normal_priority(harness: Harness) -> None:
    result = harness.finish(harness.mgr.run_process(classes, when_done=harness.when_done), BOUND).result()
    assert result == (None, _windows.NORMAL_PRIORITY_CLASS)


def test_a_prestarted_worker_boots_idle_and_runs_tasks_at_normal_priority(make_harness: Any) -> None:
    """``prestart()``: the worker boots in the IDLE class (set through the parent's handle
    before it gets its start-up data) and is NORMAL again before it reports ready."""
    from tasker.runners.process import _worker

    assert _worker.idle_boot_supported(), "a thread can go idle and back on Windows"
    h = make_harness(max_processes=1, spare_processes=0, worker_initializer=note_boot_class)
    h.mgr.prestart()
    runners = h.mgr._lifecycle.runners  # (the process runner is built on the prestart thread)
    assert wait_for(
        lambda: "process" in runners and any(w.state.name == "READY" for w in runners["process"].workers), BOUND
    )
    (worker,) = [w for w in runners["process"].workers if w.state.name == "READY"]
    assert worker.booted_idle
    assert _windows.priority_class(int(worker.proc._handle)) == _windows.NORMAL_PRIORITY_CLASS
    boot, now = h.finish(h.mgr.run_process(classes, when_done=h.when_done), BOUND).result()
    assert (boot, now) == (_windows.IDLE_PRIORITY_CLASS, _windows.NORMAL_PRIORITY_CLASS)


def test_set_idle_refuses_a_process_it_did_not_start() -> None:
    """Only a worker this process started (held by handle) or this process itself is touched."""
    python, extra = _windows.interpreter()
    other = subprocess.Popen(
        [python, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL, env={**os.environ, **extra}
    )
    try:
        assert _windows.PLATFORM.set_idle(other.pid, idle=True) is False
        assert _windows.priority_class(int(other._handle)) == _windows.NORMAL_PRIORITY_CLASS  # type: ignore[attr-defined]
    finally:
        other.kill()
        other.wait(BOUND)


HELD_SPAWN_APP = """
import sys, threading
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
import ctypes
from tasker import TaskManager
from tasker._platform import _windows

marker = Path(sys.argv[2])
get_pid = ctypes.WinDLL("kernel32").GetProcessId
get_pid.argtypes = (ctypes.c_void_p,)


def held(job, handle):  # the worker is started, not yet in its job: the app dies here
    Path(str(marker) + ".part").write_text(str(get_pid(handle)))
    Path(str(marker) + ".part").replace(marker)
    threading.Event().wait(600)


_windows._kernel32.AssignProcessToJobObject = held
_windows.one_step_jobs = False  # (the path of a Windows without PROC_THREAD_ATTRIBUTE_JOB_LIST)
mgr = TaskManager(max_processes=1)
mgr.run_process(print, "never runs")
threading.Event().wait(600)  # TerminateProcess'ed by the test long before
"""


def _the_app_dies_holding_its_worker(tmp_path: Path, held: Held, source: str) -> bool:
    """Run the app ``source`` until it reports its worker's pid, kill it there: is the worker gone?"""
    app = tmp_path / "app.py"
    marker = tmp_path / "worker-pid"
    app.write_text(source)
    python, extra = _windows.interpreter()
    proc = subprocess.Popen(
        [python, str(app), str(Path(__file__).parent), str(marker)],
        stdin=subprocess.DEVNULL,
        env={**os.environ, **extra},
    )
    try:
        assert wait_for(lambda: marker.exists() or proc.poll() is not None, BOUND * 2)
        assert marker.exists(), f"the app ended ({proc.returncode}) before it started its worker"
        worker = int(marker.read_text())
        held.hold(worker)
        proc.kill()  # the app dies at the point its source holds it
        proc.wait(BOUND)
        return held.gone(worker)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(BOUND)


def test_a_worker_whose_app_died_before_it_was_in_its_job_ends_by_itself(tmp_path: Path, held: Held) -> None:
    """Fixed: workers were started suspended, then put in their job and resumed; an app that
    died in between (killed, or exiting while a reader spawned) left a suspended worker for
    ever, which also held the handles it inherited (the lane's output pipe). A worker now runs
    from its start and, its app gone, reads the end of its channel and exits."""
    assert _the_app_dies_holding_its_worker(tmp_path, held, HELD_SPAWN_APP), (
        "the worker outlived its app (it was never in a job)"
    )


INSIDE_CREATE_PROCESS_APP = """
import sys, threading, _winapi
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
from tasker import TaskManager
from tasker._platform import _windows

marker = Path(sys.argv[2])
CREATE_SUSPENDED = 0x00000004


def report(pid):  # the worker exists, its first thread not yet resumed: the app dies here
    Path(str(marker) + ".part").write_text(str(pid))
    Path(str(marker) + ".part").replace(marker)
    threading.Event().wait(600)


# What CreateProcess is inside, whichever way the worker is started: the process made, its
# thread suspended until CreateProcess resumes it just before it returns.
create_in_job = _windows._kernel32.CreateProcessW
def held_in_job(exe, line, pattr, tattr, inherit, flags, env, cwd, info, created):
    if create_in_job(exe, line, pattr, tattr, inherit, flags | CREATE_SUSPENDED, env, cwd, info, created):
        report(created._obj.dwProcessId)
    return 0


create = _winapi.CreateProcess
def held(exe, line, pattr, tattr, inherit, flags, env, cwd, info):
    process, thread, pid, tid = create(exe, line, pattr, tattr, inherit, flags | CREATE_SUSPENDED, env, cwd, info)
    report(pid)


_windows._kernel32.CreateProcessW = held_in_job
_winapi.CreateProcess = held
mgr = TaskManager(max_processes=1)
mgr.run_process(print, "never runs")
threading.Event().wait(600)  # TerminateProcess'ed by the test long before
"""


def test_a_worker_whose_app_died_inside_create_process_dies_with_it(tmp_path: Path, held: Held) -> None:
    """Fixed: CreateProcess resumes the new process's thread just before it returns, and the
    worker went into its job only after: an app that died inside CreateProcess (a spare being
    started as it ended) left the worker suspended for ever, outside any job. Workers are now
    created inside their job (PROC_THREAD_ATTRIBUTE_JOB_LIST): the app's death kills them."""
    assert _the_app_dies_holding_its_worker(tmp_path, held, INSIDE_CREATE_PROCESS_APP), (
        "the worker outlived its app (suspended, outside any job)"
    )


def test_workers_are_created_inside_their_job(tmp_path: Path) -> None:
    """Under Wine 8 and Windows 10+ the one-step start is taken: the worker is in its job at once."""
    argv = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    proc = _windows.PLATFORM.spawn(argv, (), dict(os.environ))
    try:
        assert _windows.one_step_jobs is True
        assert proc.created_in_job
        assert proc.pid in _windows.job_pids(proc)
    finally:
        proc.kill_tree()
        proc.wait(BOUND)
        proc.release()


def test_the_environment_block_is_sorted_and_refuses_bad_names() -> None:
    block = _windows._environment_block({"b": "2", "A": "1", "=C:": "C:\\x"})
    assert block is not None and block[:] == "=C:=C:\\x\0A=1\0b=2\0\0\0"
    assert _windows._environment_block(None) is None
    assert _windows._environment_block({})[:] == "\0\0"  # type: ignore[index]
    for bad in ({"": "x"}, {"a=b": "x"}, {"a": "x\0y"}):
        with pytest.raises(ValueError, match="illegal environment"):
            _windows._environment_block(bad)
