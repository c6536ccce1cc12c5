"""Pause and resume: the lifecycle's transitions (exact, on a runner driven by hand),
thread tasks (at their next context call) and coroutines (at ``checkpoint``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import tasker._core._cancelled  # noqa: F401  (imported: the manager starts no warm-up thread)
from tasker import ExecutionContext, Task, TaskTimeoutError
from tasker._core._runner import RUNNERS, register_runner
from tasker._core._status import CANCEL, PAUSE, RUN

from conftest import Harness, wait_for
from test_fake_runner import FakeRunner, World

pytestmark = pytest.mark.timeout(60)


class PausingFakeRunner(FakeRunner):
    """The fake runner with the protocol's pause and resume, recorded."""

    def pause(self, task: Task[Any]) -> None:
        self.calls.append(("pause", task.id))

    def resume(self, task: Task[Any]) -> None:
        self.calls.append(("resume", task.id))


@pytest.fixture(params=[FakeRunner, PausingFakeRunner], ids=["no pause methods", "pause methods"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    register_runner("fake", request.param, method="run_fake")
    w = World()
    yield w
    w.mgr.shutdown(timeout=0)
    w.scheduler.pump()
    RUNNERS.pop("fake", None)


def _updates(world: World) -> list[int]:
    seen: list[int] = []
    world.mgr.tasks_updated.connect(lambda sender, tasks, progress: seen.append(len(tasks)), weak=False)
    return seen


# -- the lifecycle, exactly ----------------------------------------------------------------
def test_pause_and_resume_keep_the_status_and_show_the_change(world: World) -> None:
    task = world.start(key="export")
    world.runner.lifecycle.begin(task)
    world.runner.lifecycle.report(task, 0.4, "working")
    world.scheduler.pump()
    seen = _updates(world)
    progress = world.mgr.get_overall_progress()
    assert world.mgr.pause_task("export") is True
    assert task.is_paused() and task.get_status() == "running" and task.control[0] == PAUSE
    assert task.pause() is True  # already paused: still True, no second change
    world.clock.advance(1.0)
    world.scheduler.pump()
    assert seen == [1] and world.mgr.get_overall_progress() == progress == 0.4
    assert world.mgr.resume_task("export") is True
    assert not task.is_paused() and task.control[0] == RUN and task.resume() is False
    world.clock.advance(1.0)
    world.scheduler.pump()
    assert seen == [1, 1] and world.mgr.get_overall_progress() == 0.4
    if isinstance(world.runner, PausingFakeRunner):
        assert ("pause", task.id) in world.runner.calls and ("resume", task.id) in world.runner.calls
    world.runner.lifecycle.conclude(task, "done")
    world.scheduler.pump()
    assert task.result() == "done"


def test_paused_time_does_not_count_towards_the_timeout(world: World) -> None:
    task = world.start(timeout=5.0)
    world.runner.lifecycle.begin(task)
    world.clock.advance(3.0)
    task.pause()
    world.clock.advance(100.0)
    assert not task.is_cancelled() and task.control[0] == PAUSE
    task.resume()
    world.clock.advance(1.999)
    assert not task.is_cancelled()
    world.clock.advance(0.001)  # 5 s of running time in all
    assert task.is_cancelled() and task.control[0] == CANCEL
    world.runner.lifecycle.conclude(task)
    world.scheduler.pump()
    assert isinstance(task.exception(), TaskTimeoutError)


def test_pause_twice_counts_the_time_left_once(world: World) -> None:
    task = world.start(timeout=4.0)
    world.runner.lifecycle.begin(task)
    for _ in range(3):
        world.clock.advance(1.0)
        task.pause()
        world.clock.advance(50.0)
        task.resume()
    assert not task.is_cancelled()
    world.clock.advance(1.0)
    assert task.is_cancelled()


def test_cancel_wins_over_pause(world: World) -> None:
    running, pending = world.start(), world.start()
    world.runner.lifecycle.begin(running)
    running.pause()
    pending.pause()
    assert pending.get_status() == "pending" and pending.is_paused()
    assert running.cancel() and pending.cancel()
    assert running.control[0] == CANCEL and not running.is_paused()
    assert pending.get_status() == "canceled" and not pending.is_paused()
    assert running.pause() is False and running.resume() is False  # canceling: neither
    if isinstance(world.runner, PausingFakeRunner):  # told to let both go (to stop, or never start)
        assert ("resume", running.id) in world.runner.calls and ("resume", pending.id) in world.runner.calls
    world.clock.advance(2.0)  # grace over: abandoned
    world.scheduler.pump()
    assert {t.get_status() for t in (running, pending)} == {"canceled"}


def test_shutdown_ends_paused_tasks(world: World) -> None:
    running, pending = world.start(), world.start()
    world.runner.lifecycle.begin(running)
    running.pause()
    pending.pause()
    world.mgr.shutdown(timeout=0)
    world.scheduler.pump()
    assert {t.get_status() for t in (running, pending)} == {"canceled"}
    assert not running.is_paused() and not pending.is_paused()


def test_pause_of_what_is_not_live(world: World) -> None:
    assert world.mgr.pause_task("nobody") is False and world.mgr.resume_task("nobody") is False
    task = world.start()
    world.runner.lifecycle.begin(task)
    world.runner.lifecycle.conclude(task, 1)
    assert task.pause() is False and task.resume() is False and not task.is_paused()


def test_a_paused_task_that_ends_is_not_paused(world: World) -> None:
    task = world.start()
    world.runner.lifecycle.begin(task)
    task.pause()
    world.runner.lifecycle.conclude(task, error=RuntimeError("its worker died"))
    world.scheduler.pump()
    assert task.get_status() == "failed" and not task.is_paused()


# -- threads: they wait at their next context call -------------------------------------------
def counter(ctx: ExecutionContext, calls: str, gate: threading.Event | None = None) -> int:
    """Counts, making one kind of context call per step, until canceled or ``gate`` is set."""
    n = 0
    while not (gate is not None and gate.is_set()):
        n += 1
        if calls == "is_cancelled":
            if ctx.is_cancelled():
                return -n
        elif calls == "set_progress":
            ctx.set_progress(min(n / 1e7, 0.5))
        elif calls == "set_message":
            ctx.set_message(f"step {n}")
        elif calls == "send_event":
            ctx.send_event("step", n)
        if calls != "is_cancelled" and ctx.is_cancelled():
            return -n
    return n


def _waiting(task: Task[Any]) -> bool:
    """The function waits at its pause point (it registered to be woken)."""
    return bool(task._wakers)


@pytest.mark.parametrize("calls", ["is_cancelled", "set_progress", "set_message", "send_event"])
def test_a_thread_waits_at_its_next_context_call(make_harness: Any, calls: str) -> None:
    h = make_harness(update_rate=0)
    gate = threading.Event()
    task = h.mgr.run_thread(counter, calls, gate, when_done=h.when_done, when_event=lambda *a: None)
    assert h.pump_until(task.is_running)
    assert task.pause()
    # (pumping: a thread flooding events may first wait for room in the delivery queue)
    assert h.pump_until(lambda: _waiting(task)), "the thread did not stop at its next context call"
    assert task.get_status() == "running" and task.is_paused()
    gate.set()  # it would end now if it were not waiting
    h.scheduler.pump()
    assert not task.is_final() and _waiting(task)
    assert task.resume()
    assert h.finish(task).result() > 0


def test_cancel_wakes_a_paused_thread(harness: Harness) -> None:
    task = harness.mgr.run_thread(counter, "set_progress", when_done=harness.when_done)
    assert harness.pump_until(task.is_running)
    task.pause()
    assert wait_for(lambda: _waiting(task))
    task.cancel()
    assert harness.finish(task).get_status() == "canceled"


def test_shutdown_wakes_a_paused_thread(make_harness: Any) -> None:
    h = make_harness()
    seen: list[int] = []
    task = h.mgr.run_thread(lambda ctx: seen.append(counter(ctx, "is_cancelled")), when_done=h.when_done)
    assert h.pump_until(task.is_running)
    task.pause()
    assert wait_for(lambda: _waiting(task))
    h.mgr.shutdown(timeout=5.0)
    h.scheduler.pump()
    assert task.get_status() == "canceled" and seen and seen[0] < 0, "the function saw the cancel"


def test_a_pending_thread_task_waits_for_resume_without_holding_a_thread(make_harness: Any) -> None:
    h = make_harness(max_threads=1)
    gate = threading.Event()
    first = h.mgr.run_thread(lambda ctx: gate.wait(10), when_done=h.when_done)
    held = h.mgr.run_thread(lambda ctx: "ran", when_done=h.when_done)
    after = h.mgr.run_thread(lambda ctx: "after", when_done=h.when_done)
    assert held.pause() and held.get_status() == "pending"
    gate.set()
    assert h.finish(after).result() == "after"  # the one thread went past the paused task
    assert held.get_status() == "pending" and held.is_paused()
    assert held.resume()
    assert h.finish(held).result() == "ran"
    h.finish(first)


def test_a_timeout_on_a_paused_thread_waits_for_resume(make_harness: Any) -> None:
    from tasker.testing import FakeClock

    clock = FakeClock()
    h = make_harness(clock=clock)
    task = h.mgr.run_thread(counter, "set_progress", timeout=1.0, when_done=h.when_done)
    assert h.pump_until(task.is_running)
    task.pause()
    clock.advance(10.0)
    assert not task.is_cancelled()
    task.resume()
    clock.advance(1.0)
    assert h.finish(task).get_status() == "failed" and isinstance(task.exception(), TaskTimeoutError)


# -- coroutines: they wait at ``await context.checkpoint()``, never blocking the loop ------------
async def a_counter(ctx: ExecutionContext) -> int:
    n = 0
    while True:
        await ctx.checkpoint()
        n += 1
        ctx.set_progress(min(n / 1e6, 0.5))  # never waits in a coroutine
        assert not ctx.is_cancelled() or n < 0  # returns at once (False) even while paused
        await asyncio.sleep(0)


def test_a_coroutine_waits_at_checkpoint_and_the_loop_goes_on(harness: Harness) -> None:
    task = harness.mgr.add_coroutine(a_counter, when_done=harness.when_done)
    assert harness.pump_until(lambda: task.get_progress() > 0)
    assert task.pause()
    assert wait_for(lambda: _waiting(task)), "the coroutine did not stop at its checkpoint"
    other = harness.start("coroutine", "ok", 5)
    assert harness.finish(other).result() == 10  # tasker's loop runs on
    progress = task.get_progress()
    harness.scheduler.pump()
    assert task.get_progress() == progress and task.is_running()
    task.resume()
    assert harness.pump_until(lambda: task.get_progress() > progress)
    task.pause()
    assert wait_for(lambda: _waiting(task))
    task.cancel()  # cancel while paused: the checkpoint raises CancelledError
    assert harness.finish(task).get_status() == "canceled"


def test_checkpoint_returns_at_once_when_not_paused(harness: Harness) -> None:
    async def check(ctx: ExecutionContext) -> int:
        for _ in range(1000):
            await ctx.checkpoint()
        return 1

    assert harness.finish(harness.mgr.add_coroutine(check, when_done=harness.when_done)).result() == 1
