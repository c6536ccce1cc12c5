"""A canceled task that ignores is_cancelled() no longer holds back queued work.

Its thread (or worker process) leaves the pool's budget at once: the next
task starts on another thread (or the warm spare worker) while the old one
runs out its grace period. Bounded: at most the pool size of them at a time.
"""

from __future__ import annotations

from typing import Any

import pytest

import jobs
from conftest import Harness

pytestmark = pytest.mark.timeout(60)

LONG_GRACE = 30.0  # the stuck tasks outlive every assertion below


def _started(h: Harness, task: Any) -> None:
    assert h.pump_until(lambda: task.get_message() == "stuck", 20), f"{task} never started"


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_next_task_runs_while_the_canceled_one_is_still_stopping(make_harness, kind: str) -> None:
    h = make_harness(max_threads=1, max_processes=1, cancel_grace_period=LONG_GRACE)
    stuck = h.start(kind, "stuck", LONG_GRACE)
    _started(h, stuck)
    stuck.cancel()
    after = h.finish(h.start(kind, "ok", 21))
    assert after.result() == 42
    assert not stuck.is_final(), "the canceled task should still be stopping"
    jobs.RELEASE.set()  # a thread stops now; a process is killed at shutdown


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_replacing_by_key_starts_the_new_task_at_once(make_harness, kind: str) -> None:
    h = make_harness(max_threads=1, max_processes=1, cancel_grace_period=LONG_GRACE)
    old = h.start(kind, "stuck", LONG_GRACE, key="preview")
    _started(h, old)
    new = h.finish(h.start(kind, "ok", 5, key="preview"))
    assert new.result() == 10 and not old.is_final()
    jobs.RELEASE.set()


def test_released_threads_are_bounded_by_the_pool_size(make_harness) -> None:
    h = make_harness(max_threads=1, cancel_grace_period=LONG_GRACE)
    first = h.start("thread", "stuck", LONG_GRACE)
    _started(h, first)
    first.cancel()  # released: the one slot is free
    second = h.start("thread", "stuck", LONG_GRACE)
    _started(h, second)
    second.cancel()  # not released: one released thread is the bound
    waiting = h.start("thread", "ok", 3)
    runner = h.mgr._lifecycle.runners["thread"]
    assert len(runner._threads) == 2 and waiting.get_status() == "pending"
    jobs.RELEASE.set()
    assert h.finish(waiting).result() == 6
    h.finish(first)
    h.finish(second)
    assert [first.get_status(), second.get_status()] == ["canceled", "canceled"]


def test_draining_workers_are_bounded_by_the_pool_size(make_harness) -> None:
    h = make_harness(max_processes=1, spare_processes=1, cancel_grace_period=LONG_GRACE)
    first = h.start("process", "stuck", LONG_GRACE)
    _started(h, first)
    first.cancel()
    second = h.start("process", "stuck", LONG_GRACE)
    _started(h, second)  # it runs on the spare
    second.cancel()  # one worker drains already: this one keeps its slot
    runner = h.mgr._lifecycle.runners["process"]
    assert len(runner._draining) == 1
    waiting = h.start("process", "ok", 3)
    assert waiting.get_status() == "pending"
    assert len(runner._alive) <= 1 + 1 + 1  # max_processes + spare + one draining


def test_a_cooperative_cancel_brings_its_worker_back(make_harness) -> None:
    """No process churn: a worker whose canceled task stops rejoins the pool."""
    h = make_harness(max_processes=1, spare_processes=1, cancel_grace_period=LONG_GRACE)
    for i in range(5):
        task = h.start("process", "until_canceled", key="preview")
        assert h.pump_until(lambda t=task: t.get_message() == "looping", 20)
        task.cancel()
        h.finish(task)
        assert h.finish(h.start("process", "ok", i)).result() == 2 * i
    runner = h.mgr._lifecycle.runners["process"]
    assert runner._number == 2, f"{runner._number} workers started for 5 cancels (1 + the spare expected)"
    assert runner._draining == set()


def test_a_cooperative_thread_cancel_does_not_leave_extra_threads(make_harness) -> None:
    h = make_harness(max_threads=2, cancel_grace_period=LONG_GRACE)
    for _ in range(10):
        task = h.start("thread", "until_canceled")
        assert h.pump_until(lambda t=task: t.get_message() == "looping", 20)
        task.cancel()
        h.finish(task)
    h.finish(h.start("thread", "ok", 1))
    runner = h.mgr._lifecycle.runners["thread"]
    assert len(runner._threads) <= 2 and runner._released == set()


def test_an_idle_thread_takes_the_next_task_instead_of_a_new_thread(make_harness) -> None:
    h = make_harness(max_threads=4)
    runner = h.mgr._lifecycle.runners.get("thread") or h.mgr._lifecycle.runner("thread")
    names = []
    for value in range(5):
        task = h.finish(h.start("thread", "thread_name"))
        names.append(task.result())
        assert h.pump_until(lambda: len(runner._idle) == 1), "the thread never went back to the pool"
        assert value == 0 or len(runner._threads) == 1
    assert len(set(names)) == 1, names  # one thread ran them all: each submit took its idle token
