"""Manager API for real apps: visible=False, delayed calls, the loop, cancel by id."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tasker import DelayedCall, ExecutionContext, Task, TaskManager
from tasker.schedulers import ManualScheduler

import jobs
from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(60)


# -- visible=False ---------------------------------------------------------------------
def test_invisible_task_gets_every_callback_but_is_not_shown(make_harness, kind: str) -> None:
    h = make_harness(update_rate=0)
    events: list[Any] = []
    ended: list[Task[Any]] = []
    h.mgr.task_ended.connect(lambda sender, task: ended.append(task))
    hidden = h.start(kind, "report", 5, visible=False, when_event=lambda t, n, d: events.append(d["i"]))
    shown = h.start(kind, "sleep_then", 0.05, "shown")
    h.finish(hidden)
    h.finish(shown)
    h.settle()
    assert hidden.visible is False and shown.visible is True
    assert hidden.result() == 5 and events == [0, 1, 2, 3, 4]
    assert hidden in ended and shown in ended
    assert hidden.get_progress() == 1.0 and hidden.get_message() == "step 5"
    listed = {t.id for tasks, _ in h.updates for t in tasks}
    assert hidden.id not in listed and shown.id in listed


def test_invisible_tasks_do_not_count_in_overall_progress(make_harness) -> None:
    h = make_harness(update_rate=0)
    gate = threading.Event()

    def half(ctx: ExecutionContext) -> None:
        ctx.set_progress(0.5)
        gate.wait(10)

    hidden = h.mgr.run_thread(half, visible=False)
    assert h.pump_until(lambda: hidden.get_progress() == 0.5)
    h.scheduler.pump()
    assert h.mgr.get_overall_progress() == 1.0  # nothing visible is live: idle for the UI
    assert all(tasks == [] for tasks, _ in h.updates)
    shown = h.mgr.run_thread(half)
    assert h.pump_until(lambda: bool(h.updates) and h.updates[-1] == ([shown], 0.5))
    assert h.mgr.get_overall_progress() == 0.5
    # The core still lists both as live work.
    assert len(h.mgr) == 2 and h.mgr.has_tasks() and set(h.mgr) == {hidden, shown}
    gate.set()
    h.settle()
    assert h.updates[-1] == ([], 1.0)


def test_visible_must_be_a_bool(harness: Harness) -> None:
    with pytest.raises(TypeError, match="visible"):
        harness.mgr.run_thread(jobs.ok, visible="no")


# -- schedule_delayed_on_main_thread -------------------------------------------------------
def test_delayed_call_runs_on_the_main_thread_after_its_delay(harness: Harness) -> None:
    ran: list[tuple[Any, ...]] = []
    handle = harness.mgr.schedule_delayed_on_main_thread(
        0.02, lambda *a, **k: ran.append((a, k, threading.current_thread())), 1, x=2
    )
    assert isinstance(handle, DelayedCall)
    assert harness.pump_until(lambda: bool(ran))
    assert ran == [((1,), {"x": 2}, threading.current_thread())]
    assert handle.cancel() is False  # too late: it ran


def test_canceled_delayed_call_never_runs(harness: Harness) -> None:
    ran: list[str] = []
    early = harness.mgr.schedule_delayed_on_main_thread(0.01, ran.append, "canceled one")
    assert early.cancel() is True and early.cancelled()
    assert early.cancel() is True  # idempotent
    harness.mgr.schedule_delayed_on_main_thread(0.05, ran.append, "marker")
    assert harness.pump_until(lambda: "marker" in ran)
    assert ran == ["marker"]  # the earlier timer was due first and did not run


def test_delayed_call_canceled_after_its_timer_fired_does_not_run(harness: Harness) -> None:
    ran: list[str] = []
    handle = harness.mgr.schedule_delayed_on_main_thread(0.0, ran.append, "late")
    assert wait_for(lambda: harness.scheduler.pending() > 0), "the timer never fired"
    handle.cancel()  # queued for the main thread already, not run yet
    harness.scheduler.pump()
    assert ran == []


def test_delayed_call_bad_input(harness: Harness) -> None:
    with pytest.raises(ValueError, match="delay"):
        harness.mgr.schedule_delayed_on_main_thread(-1, print)
    with pytest.raises(TypeError, match="callable"):
        harness.mgr.schedule_delayed_on_main_thread(1.0, "print")  # type: ignore[arg-type]
    harness.mgr.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        harness.mgr.schedule_delayed_on_main_thread(1.0, print)


# -- the loop ------------------------------------------------------------------------------
async def _which_loop(ctx: ExecutionContext) -> Any:
    return asyncio.get_running_loop()


def test_loop_runs_coroutines_threadsafe(harness: Harness) -> None:
    loop = harness.mgr.loop
    assert loop.is_running()

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    future = asyncio.run_coroutine_threadsafe(add(2, 3), loop)
    assert future.result(10) == 5
    task = harness.finish(harness.mgr.add_coroutine(_which_loop, when_done=harness.when_done))
    assert task.result() is loop  # the same loop coroutine tasks run on


def test_the_loop_is_handed_out_only_once_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # The hub thread used to mark its loop ready just before run_forever(): a thread that
    # asked for mgr.loop could get it while it did not run yet (free-threaded CPython,
    # where the asking thread runs at once). Here: was the loop already handed out, the
    # moment run_forever() begins?
    seen: list[bool] = []
    real = asyncio.SelectorEventLoop.run_forever

    def run_forever(loop: Any) -> None:
        seen.append(mgr._lifecycle.runner("coroutine")._hub._ready.is_set())
        real(loop)

    monkeypatch.setattr(asyncio.SelectorEventLoop, "run_forever", run_forever)
    mgr = TaskManager(main_thread_scheduler=ManualScheduler())
    try:
        assert mgr.loop.is_running()
        assert seen == [False], "the loop was handed out before it ran"
    finally:
        mgr.shutdown()


def test_loop_after_shutdown_raises() -> None:
    mgr = TaskManager(main_thread_scheduler=ManualScheduler())
    assert mgr.loop.is_running()
    mgr.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        mgr.loop  # noqa: B018


# -- cancel_task_by_id -------------------------------------------------------------------------
def test_cancel_task_by_id(harness: Harness, kind: str) -> None:
    first = harness.start(kind, "until_canceled", key="same")
    assert harness.pump_until(first.is_running)
    assert harness.mgr.cancel_task_by_id(first.id) is True
    harness.finish(first)
    assert first.get_status() == "canceled"
    assert harness.mgr.cancel_task_by_id(first.id) is False  # not live any more
    assert harness.mgr.cancel_task_by_id(-1) is False
