"""``TaskManager.prestart``: the worker pool starts in the background before the first task."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from tasker import TaskManager
from tasker.runners.process import _worker
from tasker.schedulers import ManualScheduler

from conftest import Harness, children, wait_for


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


def test_a_prestarted_pool_serves_the_first_task_on_a_worker_that_was_ready(make_harness) -> None:
    h = make_harness(max_processes=2, spare_processes=1)
    h.mgr.prestart()
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 3), "prestart brings up every worker and the spare"
    ready_pids = {w.proc.pid for w in _ready(pool)}
    started = pool._number
    task = h.finish(h.start("process", "pid"))
    assert task.result() in ready_pids, "the first task ran on a worker that was up before it was submitted"
    assert pool._number == started, "no worker was started for it"
    if _worker.idle_boot_supported():  # booted under SCHED_IDLE, back to normal before READY
        assert all(w.booted_idle for w in _ready(pool))
    for pid in ready_pids:
        assert _policies(pid) == {0}, "every thread of a worker runs at normal priority once it is READY"


def test_prestart_twice_and_from_another_thread_is_harmless(make_harness) -> None:
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
        if wait_for_workers:
            assert wait_for(lambda: len(children() - before) == 3)
            pids = children() - before
        mgr.shutdown(timeout=2.0)
        assert children() - before == set(), "every worker is reaped by shutdown"
        for pid in pids:
            assert not os.path.exists(f"/proc/{pid}"), f"worker {pid} still exists"
        mgr.prestart()  # after shutdown: nothing
        assert children() - before == set()


def test_a_task_submitted_while_workers_boot_idle_lifts_them(make_harness) -> None:
    h = make_harness(max_processes=1, spare_processes=0)
    h.mgr.prestart()
    pool = _pool(h)
    task = h.start("process", "pid")  # at once: the worker is probably still booting
    assert not pool._idle_boot, "the first task ends idle booting"
    h.finish(task)
    assert _policies(task.result()) == {0}


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


def test_prestart_preloads_the_modules_it_is_given(make_harness) -> None:
    import probe_jobs

    h = make_harness(max_processes=1, spare_processes=0)
    with pytest.raises(TypeError, match="preload"):
        h.mgr.prestart(preload=[3])  # type: ignore[list-item]
    h.mgr.prestart(preload=["control_jobs"])
    pool = _pool(h)
    assert wait_for(lambda: len(_ready(pool)) == 1)
    probe = h.mgr.run_process(probe_jobs.loaded, "control_jobs", when_done=h.when_done)
    assert h.finish(probe).result() is True, "the worker imported it before it reported ready"
