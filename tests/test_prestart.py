"""``TaskManager.prestart``: the worker pool starts in the background before the first task."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tasker import TaskManager, _platform
from tasker.runners.process import _worker
from tasker.schedulers import ManualScheduler

from conftest import Harness, children, wait_for

SCHED_IDLE = 5  # (os.SCHED_IDLE; Linux)


def _pool(h: Harness) -> Any:
    assert wait_for(lambda: "process" in h.mgr._lifecycle.runners), "prestart built no process runner"
    return h.mgr._lifecycle.runners["process"]


def _ready(pool: Any) -> list[Any]:
    with pool.lock:
        return [w for w in pool.workers if w.state is _worker.WorkerState.READY]


def _policies(pid: int) -> set[int]:
    """The scheduling policy of every thread of a process (field 41 of /proc/.../stat)."""
    found = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as fh:
            found.add(int(fh.read().rsplit(")", 1)[1].split()[38]))
    return found


@pytest.fixture
def normal_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers boot at normal priority (prestart would boot them idle where it can be undone).

    Under SCHED_IDLE, a worker on a saturated machine gets almost no CPU until a
    task lifts it: a test that waits for prestarted workers to become READY with
    no task queued boots them at normal priority, as where idle boot is not
    supported. The idle boot itself is tested below without waiting for READY.
    """
    monkeypatch.setattr(_worker, "_idle_boot", False)


@pytest.fixture
def boot_gate(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Workers that preload ``boot_gate`` stay STARTING until the returned ``release()``."""
    path = tmp_path / "gate"
    os.mkfifo(path)
    held = [os.open(path, os.O_RDWR)]  # (Linux: opens at once; the worker's read waits for EOF)
    monkeypatch.setenv("TASKER_TEST_BOOT_GATE", str(path))

    def release() -> None:
        if held:
            os.close(held.pop())

    yield release
    release()


def _main_policy(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[38])


def _idle_boot_or_skip() -> None:
    if not _worker.idle_boot_supported():
        if _platform.current().name == "posix":  # the engine for macOS and the BSDs
            pytest.skip("the posix platform has no SCHED_IDLE: workers boot at normal priority")
        if os.environ.get("CI"):
            raise AssertionError("idle boot is required in CI (run as root or with RLIMIT_NICE >= 20)")
        pytest.skip("this process may not leave SCHED_IDLE again: workers boot at normal priority here")


def test_a_prestarted_pool_serves_the_first_task_on_a_worker_that_was_ready(make_harness, normal_boot) -> None:
    h = make_harness(max_processes=2, spare_processes=1)
    h.mgr.prestart()
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 3), "prestart brings up every worker and the spare"
    ready_pids = {w.proc.pid for w in _ready(pool)}
    started = pool._number
    task = h.finish(h.start("process", "pid"))
    assert task.result() in ready_pids, "the first task ran on a worker that was up before it was submitted"
    assert pool._number == started, "no worker was started for it"
    for pid in ready_pids:
        assert _policies(pid) == {0}, "every thread of a worker runs at normal priority once it is READY"


def test_prestart_starts_the_timer_thread_so_no_task_makes_the_callers_thread_wait_for_it(
    make_harness, normal_boot, monkeypatch
) -> None:
    """The manager's timer thread (the ``tasks_updated`` throttle's) starts on the prestart's thread.

    ``Thread.start`` waits until the new thread runs: started by the second change
    of the tasks within an interval, it would stall the main loop (or the reader
    delivering the first result) while a loaded machine schedules it.
    """
    starts: list[tuple[str, str]] = []
    start = threading.Thread.start

    def recording_start(thread: threading.Thread) -> None:
        starts.append((thread.name, threading.current_thread().name))
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", recording_start)
    h = make_harness(max_processes=1, spare_processes=0, update_rate=1.0)  # every later change is throttled
    h.mgr.prestart()
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 1)
    clocks = [by for name, by in starts if name == "tasker-clock"]
    assert clocks == ["tasker-prestart"], f"the timer thread was started by {clocks} (expected: the prestart's thread)"
    for _ in range(3):
        assert h.finish(h.start("process", "ok", 1)).result() == 2
    assert [by for name, by in starts if name == "tasker-clock"] == ["tasker-prestart"], "no task started it again"


def test_prestart_with_a_fake_clock_sets_it_no_timer() -> None:
    from tasker.testing import FakeClock

    clock = FakeClock()
    mgr = TaskManager(main_thread_scheduler=ManualScheduler(), max_processes=1, clock=clock)
    try:
        mgr.prestart()
        assert wait_for(lambda: "process" in mgr._lifecycle.runners)
        for over in list(mgr._prestarts):
            assert over.wait(10), "the prestart's thread ended"
        assert clock.advance(0.0) == 0, "a test's clock runs only the timers the test expects"
    finally:
        mgr.shutdown(timeout=2.0)


def test_prestart_twice_and_from_another_thread_is_harmless(make_harness, normal_boot) -> None:
    h = make_harness(max_processes=1, spare_processes=1)
    threads = [threading.Thread(target=h.mgr.prestart) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    h.mgr.prestart()
    assert len(h.mgr._prestarts) == 1, "one prestart, whatever the number of calls"
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 2)
    assert pool._number == 2, "no more workers than max_processes + spare_processes"
    assert h.finish(h.start("process", "ok", 1)).result() == 2


def test_prestart_then_shutdown_leaves_no_process() -> None:
    before = children()
    for wait_for_workers in (True, False):  # shut down once they run, and at once (the thread still importing)
        mgr = TaskManager(main_thread_scheduler=ManualScheduler(), max_processes=2)
        mgr.prestart()
        pids: set[int] = set()
        if wait_for_workers:  # both spawned (at once, at normal priority; the spare only once one is READY)
            assert wait_for(lambda: len(children() - before) >= 2)
            pids = children() - before
        mgr.shutdown(timeout=2.0)
        assert children() - before == set(), "every worker is reaped by shutdown"
        for pid in pids:
            assert not os.path.exists(f"/proc/{pid}"), f"worker {pid} still exists"
        mgr.prestart()  # after shutdown: nothing
        assert children() - before == set()


def test_a_task_queued_for_a_worker_booting_idle_lifts_it_at_once(make_harness, boot_gate) -> None:
    """Prestarted workers boot under SCHED_IDLE; a task the app submits must not wait behind that."""
    _idle_boot_or_skip()
    h = make_harness(max_processes=1, spare_processes=0)
    h.mgr.prestart(preload=["boot_gate"])  # the worker cannot become READY before release()
    pool = _pool(h)
    assert wait_for(lambda: any(w.booted_idle for w in list(pool.workers))), "the worker was put at idle priority"
    (worker,) = list(pool.workers)
    pid = worker.proc.pid
    assert _main_policy(pid) == SCHED_IDLE, "prestart boots the worker at the lowest priority"
    task = h.start("process", "pid")
    assert worker.state is _worker.WorkerState.STARTING, "the worker is still booting (held by the gate)"
    assert _main_policy(pid) == 0, "the task's arrival raised the booting worker to normal priority"
    assert not pool._idle_boot, "workers started from now on boot at normal priority"
    boot_gate()
    assert h.finish(task).result() == pid, "the task ran on that worker"
    assert _policies(pid) == {0}, "every thread of the worker runs at normal priority"


def test_a_task_arriving_while_the_worker_is_put_idle_still_lifts_it(make_harness, boot_gate, monkeypatch) -> None:
    """``promote`` running between start_process's check and its set_idle must not be lost."""
    _idle_boot_or_skip()
    platform = _platform.current()
    real = platform.set_idle
    h = make_harness(max_processes=1, spare_processes=0)

    def set_idle(tid: int, idle: bool) -> bool:
        if idle and tid:  # a worker about to be put idle: a task arrives right now
            pool = h.mgr._lifecycle.runners["process"]
            for worker in list(pool.workers):
                if worker.proc is not None and worker.proc.pid == tid:
                    worker.promote()
        return real(tid, idle)

    monkeypatch.setattr(platform, "set_idle", set_idle)
    h.mgr.prestart(preload=["boot_gate"])
    pool = _pool(h)
    assert wait_for(lambda: any(w.booted_idle for w in list(pool.workers)))
    (worker,) = list(pool.workers)
    assert _main_policy(worker.proc.pid) == 0, "the worker promoted while it was being put idle runs at normal priority"


def test_prestart_calls_each_runner_that_has_prestart_on_its_own_thread() -> None:
    from tasker._core import _runner

    seen: list[str] = []

    class Warm:
        kind = "warm"

        def __init__(self, lifecycle: Any, options: Any) -> None:
            pass

        def prestart(self, preload: list[str]) -> None:
            seen.append(threading.current_thread().name)

        def shutdown(self) -> None:
            pass

    _runner.register_runner("cluster", Warm)
    try:
        mgr = TaskManager(main_thread_scheduler=ManualScheduler())
        mgr.prestart(processes=False, cluster=True)
        assert wait_for(lambda: seen == ["tasker-prestart"])
        assert "process" not in mgr._lifecycle.runners
        mgr.shutdown(timeout=1.0)
    finally:
        _runner.register_runner("cluster", "tasker.runners.cluster:ClusterRunner")


def test_prestart_preloads_the_modules_it_is_given(make_harness, normal_boot) -> None:
    import probe_jobs

    h = make_harness(max_processes=1, spare_processes=0)
    with pytest.raises(TypeError, match="preload"):
        h.mgr.prestart(preload=[3])  # type: ignore[list-item]
    h.mgr.prestart(preload=["control_jobs"])
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 1)
    probe = h.mgr.run_process(probe_jobs.loaded, "control_jobs", when_done=h.when_done)
    assert h.finish(probe).result() is True, "the worker imported it before it reported ready"


def test_prestarted_workers_import_what_a_call_sent_by_value_needs(make_harness, normal_boot) -> None:
    """A lambda or a function of ``__main__`` is pickled by cloudpickle: the first such task imports nothing."""
    import probe_jobs

    h = make_harness(max_processes=1, spare_processes=0)
    h.mgr.prestart()
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 1)
    probe = h.mgr.run_process(probe_jobs.loaded, "cloudpickle", when_done=h.when_done)  # (by reference)
    assert h.finish(probe).result() is True, "the prestarted worker imported cloudpickle before it reported ready"


@pytest.mark.parametrize("built", [False, True], ids=["fresh-manager", "built-manager"])
def test_the_first_process_task_never_starts_a_process_on_the_callers_thread(
    make_harness, monkeypatch, built: bool
) -> None:
    """The caller (the UI thread) only queues: the worker's interpreter is spawned on another thread."""
    platform = _platform.current()
    real = platform.spawn
    spawned_on: list[str] = []

    def spawn(*args: Any, **kwargs: Any) -> Any:
        spawned_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(platform, "spawn", spawn)
    h = make_harness(max_processes=1, spare_processes=0)
    if built:
        assert h.finish(h.start("thread", "ok", 1)).result() == 2  # the lifecycle exists; no pool yet
    me = threading.current_thread().name
    task = h.start("process", "ok", 2)
    assert me not in spawned_on, "nothing was spawned inside run_process"
    assert h.finish(task).result() == 4
    assert spawned_on and me not in spawned_on, f"the worker was spawned on {spawned_on}, not the caller's thread"
