"""Every ending of SPEC §4, for every kind of task, on the manual scheduler."""

from __future__ import annotations

import threading

import pytest

from tasker import CancelledError, InvalidStateError, TaskStatus, TaskTimeoutError

from conftest import FREED_LATER_WITHOUT_GIL, Harness

pytestmark = pytest.mark.timeout(60)


def assert_ended_once(h: Harness, task: object) -> None:
    h.scheduler.pump()
    assert h.done.count(task) == 1
    main = h.scheduler.thread
    assert all(t is main for t in h.done_threads), "when_done ran off the main thread"


def test_completed(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "ok", 21)
    assert task.kind == kind
    harness.finish(task)
    assert task.get_status() == "completed"
    assert task.result() == 42
    assert task.exception() is None and task._task_exception is None
    assert task.is_final() and not task.is_running()
    assert_ended_once(harness, task)


def test_failed_keeps_exception_type(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "fail")
    harness.finish(task)
    assert task.get_status() == TaskStatus.FAILED
    assert isinstance(task.exception(), ValueError)
    assert task._task_exception is task.exception()
    with pytest.raises(ValueError, match="boom"):
        task.result()
    assert_ended_once(harness, task)


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt()])
def test_base_exceptions_fail_the_task(harness: Harness, kind: str, exc: BaseException) -> None:
    task = harness.start(kind, "fail", exc)
    harness.finish(task)
    assert task.get_status() == "failed"
    assert type(task.exception()) is type(exc)
    again = harness.start(kind, "ok", 1)
    assert harness.finish(again).result() == 2


def test_cancel_running_cooperative(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "until_canceled", key="job")
    assert harness.pump_until(task.is_running)
    assert harness.mgr.cancel_task("job") is True
    assert task.is_cancelled()
    harness.finish(task)
    assert task.get_status() == "canceled"
    with pytest.raises(CancelledError):
        task.result()
    assert isinstance(CancelledError(), __import__("asyncio").CancelledError)
    assert task.exception() is None
    assert harness.mgr.cancel_task("job") is False
    assert_ended_once(harness, task)


def test_cancel_pending_never_runs(make_harness, kind: str) -> None:
    h = make_harness(max_processes=1, max_threads=1, spare_processes=0)
    blocker = h.start(kind, "until_canceled")
    queued = h.start(kind, "ok", 5)
    if kind != "coroutine":  # coroutines do not queue
        assert queued.get_status() == "pending"
        assert queued.cancel() is True
        assert queued.get_status() == "canceled"  # at once: it never started
    blocker.cancel()
    h.finish(blocker)
    if kind != "coroutine":
        h.finish(queued)
        assert queued.get_status() == "canceled"
        assert h.done.count(queued) == 1


def test_replace_on_same_key(harness: Harness, kind: str) -> None:
    old = harness.start(kind, "until_canceled", key="preview")
    assert harness.pump_until(old.is_running)
    new = harness.start(kind, "sleep_then", 0.3, 8, key="preview")
    assert harness.mgr.get_task("preview") is new
    assert old.is_cancelled() and not new.is_cancelled()
    harness.finish(old)
    harness.finish(new)
    assert old.get_status() == "canceled"
    assert new.result() == 8
    assert harness.mgr.get_task("preview") is None


def test_timeout_fails_with_task_timeout_error(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "until_canceled", timeout=0.2)
    harness.finish(task)
    assert task.get_status() == "failed"
    assert isinstance(task.exception(), TaskTimeoutError)
    assert "timed out" in str(task.exception())


def test_timeout_not_reached(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "ok", 1, timeout=30)
    assert harness.finish(task).result() == 2


def test_uncooperative_task_ends_after_grace(make_harness, kind: str) -> None:
    h = make_harness(cancel_grace_period=0.3)
    task = h.start(kind, "stuck")
    assert h.pump_until(task.is_running)
    task.cancel()
    h.finish(task)
    assert task.get_status() == "canceled"
    after = h.start(kind, "ok", 3)  # the pool goes on
    assert h.finish(after).result() == 6


def test_result_before_final_raises(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "until_canceled")
    with pytest.raises(InvalidStateError, match="final"):
        task.result()
    task.cancel()
    harness.finish(task)


def test_status_only_moves_forward(harness: Harness, kind: str) -> None:
    seen: list[str] = []
    task = harness.start(kind, "sleep_then", 0.05)
    order = ["pending", "running", "completed"]
    while not task.is_final():
        status = str(task.get_status())
        if not seen or seen[-1] != status:
            seen.append(status)
        harness.scheduler.pump(0.001)
    seen.append(str(task.get_status()))
    indices = [order.index(s) for s in seen]
    assert indices == sorted(indices)


def test_wait_from_another_thread(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "sleep_then", 0.05, "v")
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(task.wait(10)))
    waiter.start()
    waiter.join(15)
    assert result == [True] and task.result() == "v"
    assert task.wait(0) is True


def test_shutdown_ends_every_kind_and_leaves_nothing(make_harness) -> None:
    from conftest import children, tasker_threads

    before_children = children()
    h = make_harness(cancel_grace_period=0.5)
    tasks = [h.start(k, job) for k in ("thread", "coroutine", "process") for job in ("until_canceled", "stuck")]
    tasks += [h.start("process", "ok", i) for i in range(6)]  # some stay pending
    assert h.pump_until(lambda: all(t.is_running() for t in tasks[:6]), 20)
    h.mgr.shutdown(timeout=0.5)
    h.scheduler.pump()
    assert all(t.is_final() for t in tasks)
    assert sorted(h.done, key=id) == sorted(tasks, key=id), "when_done must run once for every task"
    assert children() <= before_children
    stuck_threads = [t for t in tasker_threads() if t.name.startswith("tasker-thread")]
    assert len(stuck_threads) <= 1  # only the abandoned 'stuck' thread may linger
    with pytest.raises(RuntimeError, match="shut down"):
        h.start("thread", "ok")
    h.mgr.shutdown()  # idempotent


@FREED_LATER_WITHOUT_GIL
def test_a_finished_task_is_freed_by_reference_counting_alone(harness: Harness, kind: str) -> None:
    """No reference cycle through a task: with the garbage collector off, it goes once dropped.

    (A coroutine task's asyncio context named the task for warnings and was
    never reset: context → task → ``task.handle`` → asyncio task → context.)
    """
    import gc
    import weakref

    ended = threading.Event()
    gc.disable()
    try:
        task = harness.start(kind, "ok", 1, when_done=lambda t: ended.set(), visible=False)
        assert harness.pump_until(ended.is_set)
        harness.settle()
        ref = weakref.ref(task)
        del task
        assert harness.pump_until(lambda: ref() is None, timeout=5.0), gc.get_referrers(ref())
    finally:
        gc.enable()
