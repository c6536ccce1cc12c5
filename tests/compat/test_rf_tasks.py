"""Coroutine and thread tasks, the main thread and the manager's state, Rayforge's way.

Patterns from Rayforge's own tests and call sites: ``add_coroutine`` + ``when_done``,
replacing a task by key, ``run_thread`` returning a value, ``cancel_task``,
``wait_until_settled(ms)``, ``schedule_delayed_on_main_thread(ms)``,
``run_coroutine_threadsafe(coro, task_mgr.loop)``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tasker.compat.rayforge import CancelledError, ExecutionContext, Task

from .conftest import RfHarness, run_inline

pytestmark = pytest.mark.timeout(60)


async def steps(
    context: ExecutionContext, n: int = 4, result: Any = "coro_done", gate: threading.Event | None = None
) -> Any:
    if gate is not None:
        await asyncio.to_thread(gate.wait, 20)
    context.set_total(n)
    for i in range(n):
        context.set_progress(i + 1)
        context.set_message(f"Step {i + 1}")
        await asyncio.sleep(0)
    return result


async def wait_for(context: ExecutionContext, gate: threading.Event, started: threading.Event | None = None) -> str:
    if started is not None:
        started.set()
    while not gate.is_set():
        await asyncio.sleep(0.005)  # yields to the loop: asyncio cancellation lands here
    return "released"


def ended(rf: RfHarness, key: Any) -> Task:
    """The task with this key, once its when_done ran (add_coroutine returns None)."""
    assert rf.pump_until(lambda: any(t.key == key for t in rf.done)), f"no task {key!r} ended"
    return next(t for t in rf.done if t.key == key)


# -- coroutines ------------------------------------------------------------------------
def test_add_coroutine_completes_with_rayforge_state(rf: RfHarness) -> None:
    gate = threading.Event()
    assert rf.mgr.add_coroutine(steps, key="test1", when_done=rf.when_done, gate=gate) is None  # as Rayforge
    task = rf.mgr.get_task("test1")
    assert isinstance(task, Task) and task.key == "test1"
    assert "test1" in rf.mgr._tasks and len(rf.mgr) == 1 and rf.mgr.has_tasks() and list(rf.mgr) == [task]
    gate.set()
    rf.finish(task)
    assert task.get_status() == "completed" and type(task.get_status()) is str
    assert task.get_progress() == 1.0
    assert task.get_message() == "Step 4"
    assert task.result() == "coro_done"
    assert task.is_final() and not task.is_running() and not task.is_cancelled()
    assert task._task_exception is None
    assert rf.done_threads == [threading.current_thread()]  # the manual scheduler's main thread
    assert not rf.mgr._tasks and len(rf.mgr) == 0 and not rf.mgr.has_tasks() and list(rf.mgr) == []


def test_context_is_rayforges_and_reports_through_tasker(rf: RfHarness) -> None:
    seen: dict[str, Any] = {}

    async def probe(context: ExecutionContext, x: int, *, y: int) -> int:
        seen["context"] = context
        seen["loop"] = asyncio.get_running_loop()
        context.set_total(0)  # Rayforge: a total <= 0 means "already normalized"
        context.set_progress(0.5)
        seen["half"] = seen["context"].task.get_progress()
        child = context.sub_context(0.5, 0.5, total=10)
        grandchild = child.sub_context(0.5, 0.5, total=1.0)
        grandchild.set_progress(0.5)  # 0.5 + 0.5 * (0.5 + 0.5 * 0.5)
        seen["nested"] = context.task.get_progress()
        child.set_progress(20)  # clamped to the child's end
        seen["clamped"] = context.task.get_progress()
        context.set_message(None)  # type: ignore[arg-type]  # ignored, as in Rayforge
        seen["cancelled"] = context.is_cancelled()
        return x + y

    task = Task(probe, 1, y=2, key="probe")
    rf.mgr.add_task(task, when_done=rf.when_done)
    rf.finish(task)
    assert task.result() == 3
    assert seen["context"].task is task
    assert isinstance(seen["context"], ExecutionContext)
    assert seen["loop"] is rf.mgr.loop
    assert seen["half"] == 0.5
    assert seen["nested"] == pytest.approx(0.875)
    assert seen["clamped"] == 1.0
    assert seen["cancelled"] is False


def test_a_lambda_returning_a_coroutine_is_a_coroutine_task(rf: RfHarness) -> None:
    """Rayforge's call sites: ``add_coroutine(lambda ctx: self.machine.sync(), key=...)``."""

    async def sync_from_device() -> str:
        return "synced"

    rf.mgr.add_coroutine(lambda ctx: sync_from_device(), key=("machine", "sync"), when_done=rf.when_done)
    assert ended(rf, ("machine", "sync")).result() == "synced"


def test_a_plain_function_given_as_coroutine_fails_the_task_clearly(rf: RfHarness) -> None:
    rf.mgr.add_coroutine(lambda ctx: 42, key="not-async", when_done=rf.when_done)
    task = ended(rf, "not-async")
    assert task.get_status() == "failed"
    with pytest.raises(TypeError, match="not an awaitable"):
        task.result()


def test_failure(rf: RfHarness, caplog: pytest.LogCaptureFixture) -> None:
    async def failing(context: ExecutionContext) -> None:
        raise ValueError("Coroutine failed intentionally")

    rf.mgr.add_coroutine(failing, key="fail1", when_done=rf.when_done)
    task = ended(rf, "fail1")
    assert task.get_status() == "failed"
    with pytest.raises(ValueError, match="Coroutine failed intentionally"):
        task.result()
    assert isinstance(task._task_exception, ValueError)
    assert "Unhandled exception in managed task 'fail1'" in caplog.text
    assert not rf.mgr._tasks


def test_cancel_task_cancels_a_running_coroutine(rf: RfHarness) -> None:
    gate, started = threading.Event(), threading.Event()
    rf.mgr.add_coroutine(wait_for, gate, started, key="cancel_me", when_done=rf.when_done)
    task = rf.mgr.get_task("cancel_me")
    assert task is not None
    assert started.wait(10)
    assert task.get_status() == "running"
    assert rf.mgr.cancel_task("cancel_me") is None
    assert task.is_cancelled()
    rf.finish(task)
    assert task.get_status() == "canceled"
    with pytest.raises(asyncio.CancelledError):
        task.result()
    with pytest.raises(CancelledError):
        task.result()
    assert not rf.mgr._tasks
    rf.mgr.cancel_task("cancel_me")  # no live task: nothing happens
    rf.mgr.cancel_task("never-there")


def test_a_coroutine_that_returns_after_a_cancel_is_completed(rf: RfHarness) -> None:
    """Rayforge's rule: a coroutine that swallows the cancel and returns has completed."""
    started = threading.Event()

    async def stubborn(context: ExecutionContext) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "cleaned up"
        return "slept"

    rf.mgr.add_coroutine(stubborn, key="stubborn", when_done=rf.when_done)
    one = rf.mgr.get_task("stubborn")
    assert one is not None and started.wait(10)
    rf.mgr.cancel_task("stubborn")
    rf.finish(one)
    assert one.get_status() == "completed" and one.result() == "cleaned up" and one.get_progress() == 1.0
    assert one.is_cancelled()  # the request is remembered



def test_replacing_a_task_by_key(rf: RfHarness) -> None:
    gate, started = threading.Event(), threading.Event()
    statuses: dict[str, str] = {}

    first = Task(wait_for, gate, started, key="shared_key")
    rf.mgr.add_task(first, when_done=lambda t: statuses.setdefault("first", t.get_status()))
    assert started.wait(10)
    gate2 = threading.Event()
    rf.mgr.add_coroutine(
        steps, key="shared_key", gate=gate2, when_done=lambda t: statuses.setdefault("second", t.get_status())
    )
    second = rf.mgr.get_task("shared_key")
    assert second is not None and second is not first
    assert first.is_cancelled()
    assert list(rf.mgr) == [second]  # the old one is never listed again, even while it stops
    gate2.set()
    assert rf.pump_until(lambda: len(statuses) == 2)
    assert statuses == {"first": "canceled", "second": "completed"}
    assert not rf.mgr._tasks


def test_add_task_with_a_task_built_by_the_caller(rf: RfHarness) -> None:
    task = Task(steps, 2, key="mine", result="built")
    assert task.get_status() == "pending" and task.get_progress() == 0.0 and task.get_message() is None
    assert task.coro is steps and task.args == (2,) and task.kwargs == {"result": "built"}
    assert task.task_type == "asyncio" and task.id == id(task)
    with pytest.raises(asyncio.InvalidStateError):
        task.result()
    assert rf.mgr.add_task(task, when_done=rf.when_done) is None
    assert task.when_done_callback == rf.when_done
    rf.finish(task)
    assert task.result() == "built"
    with pytest.raises(RuntimeError, match="already added"):
        rf.mgr.add_task(task)


def test_default_key_is_the_task_id(rf: RfHarness) -> None:
    gate = threading.Event()
    task = Task(steps, gate=gate)
    assert task.key == id(task) == task.id
    rf.mgr.add_task(task, when_done=rf.when_done)
    assert rf.mgr.get_task(task.id) is task
    gate.set()
    rf.finish(task)


def test_a_task_cancelled_before_it_is_added_never_runs(rf: RfHarness) -> None:
    ran = threading.Event()

    async def body(context: ExecutionContext) -> None:
        ran.set()

    task = Task(body, key="early")
    task.cancel()
    assert task.is_cancelled() and task.get_status() == "pending"  # cancel() alone changes no status
    rf.mgr.add_task(task, when_done=rf.when_done)
    rf.finish(task)
    assert task.get_status() == "canceled" and not ran.is_set()


def test_task_update_and_status_changed(rf: RfHarness) -> None:
    task = Task(steps, 3, key="signals")
    seen: list[tuple[str, float]] = []
    threads: set[threading.Thread] = set()

    def on_change(sender: Task) -> None:
        seen.append((sender.get_status(), sender.get_progress()))
        threads.add(threading.current_thread())

    task.status_changed.connect(on_change)
    task.update(progress=0.25, message="queued")
    task.update(progress=0.25)  # no change: no signal
    assert seen == [("pending", 0.25)] and task.get_message() == "queued"
    rf.mgr.add_task(task, when_done=rf.when_done)
    rf.finish(task)
    assert seen[-1] == ("completed", 1.0)
    assert threads == {threading.current_thread()}


# -- threads --------------------------------------------------------------------------
def test_run_thread_calls_the_function_without_a_context(rf: RfHarness) -> None:
    seen: dict[str, Any] = {}

    def work(a: int, b: int = 0, *, timeout: float = 0.0) -> int:
        seen["thread"] = threading.current_thread()
        seen["timeout"] = timeout  # a tasker-reserved name reaches the function, as in Rayforge
        return a + b

    task = rf.mgr.run_thread(work, 1, b=2, timeout=5.0, key="thread_worker", when_done=rf.when_done)
    assert isinstance(task, Task) and task.task_type == "asyncio"
    rf.finish(task)
    assert task.get_status() == "completed" and task.result() == 3 and task.get_progress() == 1.0
    assert seen["thread"] is not threading.current_thread() and seen["timeout"] == 5.0


def test_cancelling_a_thread_task_ends_it_at_once(rf: RfHarness) -> None:
    """A blocked thread cannot see the cancel; the task ends canceled anyway (the thread runs on)."""
    gate, started = threading.Event(), threading.Event()

    def blocked() -> str:
        started.set()
        gate.wait(30)
        return "late"

    task = rf.mgr.run_thread(blocked, key="blocked", when_done=rf.when_done)
    try:
        assert started.wait(10)
        rf.mgr.cancel_task("blocked")
        rf.finish(task, timeout=5)
        assert task.get_status() == "canceled"
        assert not rf.mgr.has_tasks()
    finally:
        gate.set()


def test_run_thread_failure(rf: RfHarness) -> None:
    def boom() -> None:
        raise KeyError("missing")

    task = rf.mgr.run_thread(boom, when_done=rf.when_done)
    rf.finish(task)
    assert task.get_status() == "failed"
    with pytest.raises(KeyError):
        task.result()


# -- overall progress and tasks_updated --------------------------------------------------
def test_overall_progress_follows_rayforges_batch(rf: RfHarness) -> None:
    assert rf.mgr.get_overall_progress() == 1.0
    gates = [threading.Event() for _ in range(4)]
    reached = [threading.Event() for _ in range(4)]

    async def stepped(context: ExecutionContext, base: int) -> None:
        context.set_total(2)
        for i in range(2):
            await asyncio.to_thread(gates[base + i].wait, 20)
            context.set_progress(i + 1)
            reached[base + i].set()

    rf.mgr.add_coroutine(stepped, 0, key="c1", when_done=rf.when_done)
    rf.mgr.add_coroutine(stepped, 2, key="c2", when_done=rf.when_done)
    assert rf.mgr.get_overall_progress() == 0.0
    gates[0].set()
    assert reached[0].wait(10)
    assert rf.mgr.get_overall_progress() == pytest.approx(0.25)  # (0.5 + 0) / 2
    gates[1].set()
    assert rf.pump_until(lambda: len(rf.done) == 1)
    assert rf.mgr.get_overall_progress() == pytest.approx(0.5)  # c1 ended: it counts as 1.0
    gates[2].set()
    assert reached[2].wait(10)
    assert rf.mgr.get_overall_progress() == pytest.approx(0.75)
    gates[3].set()
    assert rf.pump_until(lambda: len(rf.done) == 2)
    assert rf.mgr.get_overall_progress() == 1.0
    gate = threading.Event()
    rf.mgr.add_coroutine(wait_for, gate, key="c3", when_done=rf.when_done)
    assert rf.mgr.get_overall_progress() == 0.0  # a new batch: the old tasks count no more
    gate.set()
    assert rf.pump_until(lambda: len(rf.done) == 3)


def test_tasks_updated_lists_rayforge_tasks_and_ends_idle(rf: RfHarness) -> None:
    gate = threading.Event()
    rf.mgr.add_coroutine(steps, key="sig_test", gate=gate, when_done=rf.when_done)
    task = rf.mgr.get_task("sig_test")
    assert rf.pump_until(lambda: bool(rf.updates))
    assert rf.updates[0] == ([task], 0.0)
    gate.set()
    rf.finish(task)
    assert rf.pump_until(lambda: rf.updates[-1] == ([], 1.0))
    assert all(isinstance(t, Task) for tasks, _ in rf.updates for t in tasks)


def test_tasks_updated_holds_receivers_weakly_like_blinker(rf: RfHarness) -> None:
    calls: list[float] = []

    def make_receiver() -> Any:
        def receiver(sender: Any, tasks: list[Task], progress: float) -> None:
            calls.append(progress)

        return receiver

    rf.mgr.tasks_updated.connect(make_receiver())  # nothing else refers to it: it is gone
    kept = make_receiver()
    rf.mgr.tasks_updated.connect(kept)
    rf.mgr.add_coroutine(steps, key="weak", when_done=rf.when_done)
    ended(rf, "weak")
    assert rf.pump_until(lambda: bool(calls) and calls[-1] == 1.0)
    assert len(calls) == len(rf.updates)  # one receiver of the two was called


# -- wait_until_settled ---------------------------------------------------------------------
def test_wait_until_settled_takes_milliseconds(rf: RfHarness) -> None:
    assert rf.mgr.wait_until_settled(1000) is True  # idle
    gate = threading.Event()
    rf.mgr.add_coroutine(wait_for, gate, key="long", when_done=rf.when_done)
    t0 = time.monotonic()
    assert rf.mgr.wait_until_settled(0) is False
    assert rf.mgr.wait_until_settled(100) is False
    assert time.monotonic() - t0 >= 0.099
    gate.set()
    assert rf.mgr.wait_until_settled(10_000) is True
    assert not rf.mgr.has_tasks()
    rf.pump()
    assert [t.key for t in rf.done] == ["long"]


def test_wait_until_settled_with_the_inline_scheduler(make_rf: Any) -> None:
    h = make_rf(run_inline)
    for i in range(3):
        h.mgr.add_coroutine(steps, 3, key=f"multi_task_{i}", when_done=h.when_done)
    assert h.mgr.wait_until_settled(10_000) is True
    assert not h.mgr.has_tasks() and h.mgr.get_overall_progress() == 1.0


# -- the main thread --------------------------------------------------------------------------
def test_schedule_on_main_thread_and_run_on_main_thread(rf: RfHarness) -> None:
    got: list[tuple[Any, ...]] = []
    rf.mgr.schedule_on_main_thread(lambda *a, **k: got.append((a, k, threading.current_thread())), 1, b=2)
    rf.pump()
    assert got == [((1,), {"b": 2}, threading.current_thread())]

    async def from_task(context: ExecutionContext) -> Any:
        value = await rf.mgr.run_on_main_thread(lambda a, c=0: (a + c, threading.current_thread()), 1, c=2)
        try:
            await rf.mgr.run_on_main_thread(_raise_value_error)
        except ValueError as error:
            return value, str(error)
        return value, None

    task = Task(from_task, key="main")
    rf.mgr.add_task(task, when_done=rf.when_done)
    rf.finish(task)
    (total, thread), error = task.result()
    assert total == 3 and thread is threading.current_thread() and error == "boom"


def _raise_value_error() -> None:
    raise ValueError("boom")


def test_schedule_delayed_on_main_thread_takes_milliseconds(rf: RfHarness) -> None:
    ran: list[tuple[str, float]] = []
    t0 = time.monotonic()
    cancelled = rf.mgr.schedule_delayed_on_main_thread(20, lambda: ran.append(("cancelled", 0.0)))
    cancelled.cancel()
    rf.mgr.schedule_delayed_on_main_thread(
        100, lambda a, kwarg1=None: ran.append((f"{a}{kwarg1}", time.monotonic() - t0)), "a", kwarg1="c"
    )
    zero = rf.mgr.schedule_delayed_on_main_thread(0, lambda: ran.append(("zero", time.monotonic() - t0)))
    assert hasattr(zero, "cancel")
    assert rf.pump_until(lambda: len(ran) == 2)
    assert [name for name, _ in ran] == ["zero", "ac"]  # the cancelled one (20 ms) never ran
    assert ran[1][1] >= 0.099


def test_run_coroutine_threadsafe_on_the_managers_loop(rf: RfHarness) -> None:
    async def where() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    loop = rf.mgr.loop
    assert loop.is_running()
    assert asyncio.run_coroutine_threadsafe(where(), loop).result(10) is loop


def test_run_in_executor_from_a_task(rf: RfHarness) -> None:
    async def offload(context: ExecutionContext) -> tuple[int, bool]:
        value = await rf.mgr.run_in_executor(lambda a, b: a * b, 6, 7)
        other = await rf.mgr.run_in_executor(threading.current_thread)
        return value, other is not threading.current_thread()

    task = Task(offload)
    rf.mgr.add_task(task, when_done=rf.when_done)
    assert rf.finish(task).result() == (42, True)


# -- shutdown and bad input ----------------------------------------------------------------------
def test_shutdown_cancels_and_refuses_new_work(rf: RfHarness) -> None:
    gate = threading.Event()
    rf.mgr.add_coroutine(wait_for, gate, key="at-shutdown", when_done=rf.when_done)
    task = rf.mgr.get_task("at-shutdown")
    assert task is not None
    rf.mgr.shutdown()
    rf.mgr.shutdown()  # idempotent
    rf.finish(task)
    assert task.get_status() == "canceled"
    with pytest.raises(RuntimeError, match="shut down"):
        rf.mgr.add_coroutine(steps)
    with pytest.raises(RuntimeError, match="shut down"):
        rf.mgr.run_thread(print)


def test_bad_input_fails_at_the_call(rf: RfHarness) -> None:
    async def coro(context: ExecutionContext) -> None:
        pass

    with pytest.raises(TypeError, match="coroutine function"):
        rf.mgr.run_thread(coro)
    with pytest.raises(TypeError, match="callable"):
        rf.mgr.run_thread(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Task"):
        Task(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="when_done"):
        rf.mgr.add_coroutine(coro, when_done="not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hashable"):
        rf.mgr.add_coroutine(coro, key=["a", "list"])
    with pytest.raises(TypeError, match="add_task"):
        rf.mgr.add_task(coro)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="milliseconds"):
        rf.mgr.wait_until_settled("1000")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="milliseconds"):
        rf.mgr.schedule_delayed_on_main_thread(None, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        rf.mgr.schedule_delayed_on_main_thread(10, "print")  # type: ignore[arg-type]
    assert not rf.mgr.has_tasks() and not rf.mgr._tasks


def test_an_ended_task_is_not_kept_alive_by_the_manager(rf: RfHarness) -> None:
    """The batch keeps an ended task's progress, not the task (nor its result).

    (The first coroutine task of a manager is started from the hub thread's backlog,
    whose loop variable keeps it referenced: a warm-up task takes that place.)
    """
    import gc
    import weakref

    class Result:
        pass

    async def make(context: ExecutionContext) -> Result:
        return Result()

    rf.mgr.add_coroutine(steps, key="warm-up", when_done=rf.when_done)  # the hub's first task: see below
    ended(rf, "warm-up")
    gate = threading.Event()
    rf.mgr.add_coroutine(wait_for, gate, key="still-running", when_done=rf.when_done)  # the batch goes on
    ended_ = threading.Event()
    refs: list[weakref.ref[Any]] = []
    rf.mgr.add_coroutine(make, key="big", when_done=lambda t: (refs.append(weakref.ref(t.result())), ended_.set()))
    assert rf.pump_until(ended_.is_set)
    gc.collect()
    assert refs[0]() is None
    assert rf.mgr.get_overall_progress() == pytest.approx(0.5)
    gate.set()
    assert rf.pump_until(lambda: len(rf.done) == 2)
