"""Worker recycling (max_tasks_per_worker, worker_max_memory) and the memory cap
(worker_memory_limit → WorkerMemoryError), with real worker processes."""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tasker import Task, TaskManager, WorkerDiedError, WorkerMemoryError

import control_jobs
from conftest import Harness

pytestmark = pytest.mark.timeout(90)

MiB = 1 << 20


def _run(h: Harness, func: Any, *args: Any, **kwargs: Any) -> Task[Any]:
    kwargs.setdefault("when_done", h.when_done)
    return h.mgr.run_process(func, *args, **kwargs)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _gone(pid: int) -> bool:
    if sys.platform == "win32":  # no /proc
        from tasker._platform._windows_procs import is_alive

        return not is_alive(pid)
    return not os.path.exists(f"/proc/{pid}") or _state(pid) == "Z"


def _warm(h: Harness) -> None:
    """Wait until no worker is starting and one is idle: the pool is as warm as it gets."""
    from tasker.runners.process._worker import WorkerState

    runner = h.mgr._lifecycle.runners["process"]
    assert h.pump_until(
        lambda: runner.idle and all(w.state is WorkerState.READY for w in runner.workers)
    ), "the pool never got warm"


def test_a_worker_is_replaced_after_max_tasks_and_the_spare_takes_over(make_harness: Any) -> None:
    h = make_harness(max_processes=1, spare_processes=1, max_tasks_per_worker=3)
    pids = [h.finish(_run(h, control_jobs.pid)).result()]
    for _ in range(9):
        _warm(h)  # a replacement had the time to start (tasks here take microseconds)
        task = _run(h, control_jobs.pid)
        assert task.get_status() != "pending", "a task waited for a worker to start"
        pids.append(h.finish(task).result())
    counts = Counter(pids)
    assert max(counts.values()) == 3 and len(counts) >= 4, pids  # each worker ran 3 tasks at most
    for pid, n in counts.items():  # a worker that ran its 3 is gone (it is told to stop)
        assert n < 3 or h.pump_until(lambda pid=pid: _gone(pid)), (pid, pids)


def test_without_max_tasks_a_worker_is_kept(make_harness: Any) -> None:
    h = make_harness(max_processes=1, spare_processes=1)
    pids = {h.finish(_run(h, control_jobs.pid)).result() for _ in range(8)}
    assert len(pids) == 1


def test_a_worker_above_max_memory_after_a_task_is_replaced(make_harness: Any) -> None:
    h = make_harness(max_processes=1, spare_processes=1, worker_max_memory=96 * MiB)
    lean = {h.finish(_run(h, control_jobs.pid)).result() for _ in range(5)}
    assert not any(_gone(pid) for pid in lean), "a lean worker is kept"
    _warm(h)
    leaked = h.finish(_run(h, control_jobs.hold, 160 * MiB)).result()
    after = _run(h, control_jobs.pid)
    assert after.get_status() != "pending", "the spare took the next task at once"
    assert h.finish(after).result() != leaked
    assert h.pump_until(lambda: _gone(leaked)), "the worker that leaked was not replaced"


def test_a_task_past_the_memory_limit_fails_and_everything_else_goes_on(make_harness: Any, tmp_path: Path) -> None:
    """A 2 GB allocation (in 16 MiB steps) under a 300 MiB cap."""
    limit = 300 * MiB
    h = make_harness(max_processes=2, spare_processes=1, worker_memory_limit=limit)
    go_on = tmp_path / "go on"
    neighbour = _run(h, control_jobs.count_up, str(go_on))
    hungry = _run(h, control_jobs.allocate, 2000 * MiB)
    gate = threading.Event()
    thread_task = h.mgr.run_thread(lambda ctx: gate.wait(30) and "thread ok", when_done=h.when_done)
    h.finish(hungry, 60)
    error = hungry.exception()
    assert isinstance(error, WorkerMemoryError) and isinstance(error, WorkerDiedError)
    assert error.limit == limit and limit < error.rss < 1000 * MiB, error.rss  # stopped long before 2 GB
    assert "worker_memory_limit=300 MiB" in str(error) and "RSS" in str(error)
    assert hungry.get_progress() < 0.5
    assert neighbour.is_running() and not thread_task.is_final(), "the other tasks go on"
    assert h.finish(_run(h, control_jobs.stamp, "next")).result()[0] == "next", "the pool healed"
    go_on.touch()
    gate.set()
    assert h.finish(neighbour).result() > 0 and h.finish(thread_task).result() == "thread ok"


def test_the_memory_cap_leaves_lean_tasks_alone(make_harness: Any) -> None:
    h = make_harness(max_processes=1, worker_memory_limit=200 * MiB)
    assert h.finish(_run(h, control_jobs.allocate, 64 * MiB)).result() == 64 * MiB
    assert h.finish(_run(h, control_jobs.pid)).get_status() == "completed"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_tasks_per_worker", 0),
        ("max_tasks_per_worker", 2.5),
        ("max_tasks_per_worker", True),
        ("worker_max_memory", 1000),
        ("worker_memory_limit", -1),
        ("worker_memory_limit", "300M"),
    ],
)
def test_bad_recycling_options_fail_at_once(option: str, value: Any) -> None:
    with pytest.raises(ValueError, match=option):
        TaskManager(**{option: value})


def test_recycling_options_default_to_off() -> None:
    options = TaskManager().options
    assert (options.max_tasks_per_worker, options.worker_max_memory, options.worker_memory_limit) == (None,) * 3
