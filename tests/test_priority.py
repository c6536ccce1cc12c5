"""priority=: pending work starts highest first, FIFO within a priority, in every pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tasker
from tasker import Task

import control_jobs
from conftest import Harness

pytestmark = pytest.mark.timeout(60)

POOLS = ("thread", "process")


def _start(h: Harness, kind: str, func: Any, *args: Any, **kwargs: Any) -> Task[Any]:
    kwargs.setdefault("when_done", h.when_done)
    run = h.mgr.run_thread if kind == "thread" else h.mgr.run_process
    return run(func, *args, **kwargs)


def _one_slot(make_harness: Any, kind: str) -> Harness:
    return make_harness(max_threads=1, max_processes=1, spare_processes=0)


def _gate(h: Harness, kind: str, tmp_path: Path) -> tuple[Task[Any], Any]:
    """A task holding the only slot, and how to let it through."""
    if kind == "thread":
        control_jobs.GATE.clear()
        gate = _start(h, kind, control_jobs.wait_gate)
        release = control_jobs.GATE.set
    else:
        path = tmp_path / "open"
        gate = _start(h, kind, control_jobs.wait_gate, str(path))
        release = path.touch
    assert h.pump_until(lambda: gate.get_message() == "at the gate"), "the gate task did not start"
    return gate, release


def _order(h: Harness, tasks: list[Task[Any]]) -> list[Any]:
    assert h.pump_until(lambda: all(t.is_final() for t in tasks), 30)
    return [label for label, _ in sorted((t.result() for t in tasks), key=lambda r: r[1])]


@pytest.mark.parametrize("kind", POOLS)
def test_one_slot_starts_pending_work_by_priority_then_fifo(make_harness: Any, kind: str, tmp_path: Path) -> None:
    h = _one_slot(make_harness, kind)
    gate, release = _gate(h, kind, tmp_path)
    plan = [("a", 0), ("b", 5), ("c", 0), ("d", 5), ("e", -1), ("f", 5), ("g", 0), ("h", 10)]
    tasks = [_start(h, kind, control_jobs.stamp, label, priority=p) for label, p in plan]
    assert all(t.get_status() == "pending" for t in tasks)
    assert [t.priority for t in tasks] == [p for _, p in plan]
    release()
    assert _order(h, tasks) == ["h", "b", "d", "f", "a", "c", "g", "e"]
    assert h.finish(gate).result() == "through"


@pytest.mark.parametrize("kind", POOLS)
def test_plain_tasks_queued_before_the_first_priority_keep_their_order(
    make_harness: Any, kind: str, tmp_path: Path
) -> None:
    """The thread pool is first in, first out until a priority shows up (its fast path)."""
    h = _one_slot(make_harness, kind)
    _, release = _gate(h, kind, tmp_path)
    plan = [("a", 0), ("b", 0), ("c", 0), ("d", 5), ("e", 0), ("f", -1), ("g", 5)]
    tasks = [_start(h, kind, control_jobs.stamp, label, priority=p) for label, p in plan]
    release()
    assert _order(h, tasks) == ["d", "g", "a", "b", "c", "e", "f"]


@pytest.mark.parametrize("kind", POOLS)
def test_equal_priorities_never_starve(make_harness: Any, kind: str, tmp_path: Path) -> None:
    """Many tasks of one priority: strictly first in, first out."""
    h = _one_slot(make_harness, kind)
    _, release = _gate(h, kind, tmp_path)
    tasks = [_start(h, kind, control_jobs.stamp, i, priority=3) for i in range(40)]
    release()
    assert _order(h, tasks) == list(range(40))


@pytest.mark.parametrize("kind", POOLS)
def test_replace_on_key_keeps_the_new_tasks_priority(make_harness: Any, kind: str, tmp_path: Path) -> None:
    h = _one_slot(make_harness, kind)
    _, release = _gate(h, kind, tmp_path)
    old = _start(h, kind, control_jobs.stamp, "old", key="preview", priority=0)
    other = _start(h, kind, control_jobs.stamp, "other", priority=1)
    new = _start(h, kind, control_jobs.stamp, "new", key="preview", priority=9)
    assert h.pump_until(lambda: old.is_final())
    assert old.get_status() == "canceled" and new.priority == 9
    release()
    assert _order(h, [other, new]) == ["new", "other"]


def test_a_running_task_is_never_preempted(make_harness: Any, tmp_path: Path) -> None:
    h = _one_slot(make_harness, "process")
    gate, release = _gate(h, "process", tmp_path)
    urgent = _start(h, "process", control_jobs.stamp, "urgent", priority=100)
    h.scheduler.pump()
    assert gate.is_running() and urgent.get_status() == "pending"
    release()
    h.finish(gate)
    assert h.finish(urgent).result()[0] == "urgent"


def test_coroutines_take_a_priority_and_all_start_at_once(harness: Harness) -> None:
    tasks = [harness.start("coroutine", "ok", i, priority=p) for i, p in enumerate((0, 7, -2))]
    assert harness.pump_until(lambda: all(t.is_final() for t in tasks))
    assert [t.result() for t in tasks] == [0, 2, 4] and [t.priority for t in tasks] == [0, 7, -2]


@pytest.mark.parametrize("bad", ["high", 1.5, True, None])
@pytest.mark.parametrize("method", ["run_thread", "run_process"])
def test_a_priority_that_is_not_an_int_fails_at_the_call(harness: Harness, method: str, bad: Any) -> None:
    with pytest.raises(TypeError, match="priority must be an int"):
        getattr(harness.mgr, method)(control_jobs.stamp, "x", priority=bad)
    assert not harness.mgr.has_tasks()


def test_priority_is_reserved() -> None:
    assert "priority" in tasker.RESERVED_KWARGS


class _T:
    def __init__(self, task_id: int, priority: int = 0) -> None:
        self.id, self.priority = task_id, priority


def test_the_pending_queue_keeps_fifo_as_a_deque_and_order_as_a_heap() -> None:
    from tasker.runners._pending import PendingQueue

    queue = PendingQueue()
    a, b, c, d, e = _T(1), _T(2), _T(3), _T(4, priority=2), _T(5, priority=-1)
    for task in (b, c):
        queue.push(task)  # type: ignore[arg-type]
    queue.push(a)  # type: ignore[arg-type]  (back to the front: still a deque)
    assert queue._fifo is not None and [t.id for t in queue] == [1, 2, 3]
    assert queue.pop() is a
    queue.push(e)  # type: ignore[arg-type]  (a priority: a heap from now on)
    queue.push(d)  # type: ignore[arg-type]
    queue.push(a)  # type: ignore[arg-type]  (put back: its place by id)
    assert queue._fifo is None and len(queue) == 5
    assert [t.id for t in queue] == [4, 1, 2, 3, 5]
    assert [queue.pop().id for _ in range(2)] == [4, 1] and queue.first() is b
    assert [t.id for t in queue.take_all()] == [2, 3, 5] and not queue and queue.first() is None


def test_the_pending_queue_first_is_none_when_empty_in_both_forms() -> None:
    from tasker.runners._pending import PendingQueue

    queue = PendingQueue()
    assert queue.first() is None
    queue.push(_T(1, priority=3))  # type: ignore[arg-type]  (a heap from now on)
    assert queue._fifo is None and queue.first() is not None
    queue.pop()
    assert queue.first() is None and not queue
