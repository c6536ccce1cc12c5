"""SPEC §3: delivery to the main thread — order, coalescing, back-pressure."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tasker import ExecutionContext, TaskManager
from tasker.schedulers import CallableScheduler, HeadlessScheduler, ManualScheduler, resolve_scheduler
from tasker.testing import FakeClock

import jobs
from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(60)


def test_events_in_order_and_before_when_done(harness: Harness, kind: str) -> None:
    got: list[Any] = []
    task = harness.start(
        kind,
        "report",
        50,
        when_event=lambda t, name, data: got.append((name, data["i"])),
        when_done=lambda t: got.append("done"),
    )
    assert harness.pump_until(task.is_final)
    harness.settle()
    assert got == [("step", i) for i in range(50)] + ["done"]
    assert task.get_progress() == 1.0 and task.get_message() == "step 50"


def test_tasks_updated_shape_and_idle_state(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "sleep_then", 0.2)
    assert harness.pump_until(lambda: any(task in tasks for tasks, _ in harness.updates))
    harness.settle()
    tasks, progress = harness.updates[-1]
    assert tasks == [] and progress == 1.0
    assert all(0.0 <= progress <= 1.0 for _, progress in harness.updates)


def test_batch_progress_counts_finished_tasks(make_harness) -> None:
    h = make_harness(update_rate=0)
    release = threading.Event()

    def wait(ctx: ExecutionContext) -> None:
        ctx.set_progress(0.5)
        release.wait(10)

    slow = h.mgr.run_thread(wait)
    quick = h.mgr.run_thread(jobs.ok, 1)
    assert h.pump_until(lambda: quick.is_final() and slow.get_progress() == 0.5)
    assert h.mgr.get_overall_progress() == pytest.approx((1.0 + 0.5) / 2)
    release.set()
    h.settle()
    assert h.mgr.get_overall_progress() == 1.0
    assert h.updates[-1] == ([], 1.0)


def test_progress_is_coalesced(make_harness) -> None:
    clock = FakeClock()
    h = make_harness(update_rate=20, clock=clock)

    gate = threading.Event()

    def flood(ctx: ExecutionContext, n: int) -> int:
        gate.wait(30)
        ctx.set_total(n)
        for i in range(n):
            ctx.set_progress(i + 1)
        return n

    tasks = [h.mgr.run_thread(flood, 200_000, when_done=h.when_done) for _ in range(4)]
    # The leading edge first, while the tasks wait at their gate (on a loaded machine the
    # main thread's first pump could otherwise come after they all ended).
    assert h.pump_until(lambda: len(h.updates) == 1, 30)
    gate.set()
    assert h.pump_until(lambda: all(t in h.done for t in tasks), 30)
    # Time stood still: 800k progress calls and 4 endings after the leading edge gave
    # no emission; they wait for the interval's end.
    assert len(h.updates) == 1
    clock.advance(0.05)
    h.scheduler.pump()
    assert len(h.updates) == 2 and h.updates[-1] == ([], 1.0)


def test_flush_bypasses_throttle(make_harness) -> None:
    h = make_harness(update_rate=0.01)  # one emission per 100 s at most
    gate = threading.Event()

    def job(ctx: ExecutionContext) -> None:
        ctx.set_progress(0.25)
        ctx.set_message("quarter")
        ctx.flush()
        gate.wait(10)

    task = h.mgr.run_thread(job)
    assert h.pump_until(lambda: any(t and t[0].get_message() == "quarter" for t, _ in h.updates))
    gate.set()
    assert h.pump_until(task.is_final)


def test_schedule_on_main_thread_keeps_order(harness: Harness) -> None:
    got: list[int] = []
    for i in range(100):
        harness.mgr.schedule_on_main_thread(got.append, i)
    harness.scheduler.pump()
    assert got == list(range(100))
    assert harness.scheduler.calls == 1, "queued calls share one main-thread callback"


def test_run_on_main_thread_from_coroutine(harness: Harness) -> None:
    main_ident: list[int] = []

    def on_main(x: int) -> int:
        main_ident.append(threading.get_ident())
        return x + 1

    async def job(ctx: ExecutionContext) -> int:
        return await harness.mgr.run_on_main_thread(on_main, 41)

    task = harness.mgr.add_coroutine(job, when_done=harness.when_done)
    harness.finish(task)
    assert task.result() == 42
    assert main_ident == [threading.get_ident()]


def test_run_on_main_thread_propagates_errors(harness: Harness) -> None:
    async def job(ctx: ExecutionContext) -> None:
        await harness.mgr.run_on_main_thread(lambda: 1 / 0)

    task = harness.mgr.add_coroutine(job, when_done=harness.when_done)
    harness.finish(task)
    assert isinstance(task.exception(), ZeroDivisionError)


def test_coroutine_events_never_block_tasker_loop_and_are_all_delivered(make_harness) -> None:
    """Coroutines share tasker's loop, so their events queue instead of waiting."""
    h = make_harness(max_pending_events=10)
    got: list[int] = []
    task = h.mgr.add_coroutine(jobs.a_report, 500, when_event=lambda t, name, data: got.append(data["i"]))
    assert task.wait(10), "the coroutine must not wait for the main thread"
    h.settle()
    assert got == list(range(500))


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_back_pressure_slows_sender_never_drops(make_harness, kind: str) -> None:
    h = make_harness(max_pending_events=10)
    got: list[int] = []

    def burst(ctx: ExecutionContext, n: int) -> int:
        for i in range(n):
            ctx.send_event("n", i)
        return n

    start = h.mgr.run_thread if kind == "thread" else h.mgr.run_process
    fn = burst if kind == "thread" else jobs.report
    task = start(fn, 500, when_event=lambda t, name, data: got.append(data if kind == "thread" else data["i"]))
    # Nobody pumps: the sender fills the queue to its bound, then is held back.
    delivery = h.mgr._lifecycle.delivery
    assert wait_for(lambda: delivery._events_queued == 10), "the queue never filled"
    assert not task.is_final() and delivery._events_queued == 10  # never past the bound
    assert h.pump_until(task.is_final, 30)
    h.settle()
    assert got == list(range(500))


def test_await_task_from_asyncio_main_loop() -> None:
    async def main() -> Any:
        mgr = TaskManager(main_thread_scheduler="asyncio")
        try:
            task = mgr.run_thread(jobs.ok, 20)
            return await task, threading.current_thread() is threading.main_thread()
        finally:
            mgr.shutdown()

    assert asyncio.run(main()) == (40, True)


def test_headless_default_runs_callbacks_on_one_thread() -> None:
    mgr = TaskManager()
    threads: set[str] = set()
    try:
        for i in range(20):
            mgr.run_thread(jobs.ok, i, when_done=lambda t: threads.add(threading.current_thread().name))
        assert mgr.wait_until_settled(10)
    finally:
        mgr.shutdown()
    assert threads == {"tasker-main"}
    assert isinstance(mgr.scheduler, HeadlessScheduler)


def test_callable_scheduler_accepts_idle_add_style() -> None:
    posted: list[Any] = []
    sched = resolve_scheduler(lambda fn, *a: posted.append(fn))
    assert isinstance(sched, CallableScheduler)
    ran: list[int] = []
    sched.call_soon(lambda: ran.append(1))
    assert posted[0]() is False, "a GLib source must run once"
    assert ran == [1]
    assert isinstance(resolve_scheduler("manual"), ManualScheduler)
    with pytest.raises(ValueError, match="unknown scheduler"):
        resolve_scheduler("wx")
    with pytest.raises(TypeError):
        resolve_scheduler(3)


def test_task_ended_signal_precedes_when_done_for_every_ending(harness: Harness) -> None:
    order: list[str] = []

    def ended(sender: object, task: object) -> None:
        order.append(f"ended {task.name}")  # type: ignore[attr-defined]

    harness.mgr.task_ended.connect(ended)
    done = lambda t: order.append(f"done {t.name}")  # noqa: E731
    quick = harness.mgr.run_thread(jobs.fail, key="quick", when_done=done)
    slow = harness.mgr.run_thread(jobs.until_canceled, key="slow", when_done=done)
    assert harness.pump_until(slow.is_running)
    slow.cancel()
    assert harness.pump_until(lambda: quick.is_final() and slow.is_final() and len(order) == 4)
    harness.settle()
    assert order.index("ended quick") + 1 == order.index("done quick")
    assert order.index("ended slow") + 1 == order.index("done slow")


def _delivery(rate: float = 20.0) -> tuple[Any, ManualScheduler, FakeClock, list[int]]:
    from tasker._core._delivery import Delivery

    scheduler, clock, emits = ManualScheduler(), FakeClock(1000.0), []
    delivery = Delivery(
        get_scheduler=lambda: scheduler,
        clock=clock,
        emit=lambda: emits.append(1),
        update_rate=rate,
        max_pending_events=10,
        on_idle=lambda: None,
    )
    return delivery, scheduler, clock, emits


def test_first_change_after_a_quiet_interval_is_shown_on_the_next_iteration() -> None:
    delivery, scheduler, clock, emits = _delivery(rate=20.0)
    delivery.mark_dirty()
    assert scheduler.pending() == 1 and clock.pending() == 0  # leading edge: no timer
    scheduler.pump()
    assert len(emits) == 1
    # Within the interval: coalesced until its end, however many changes come.
    clock.advance(0.010)
    for _ in range(100):
        delivery.mark_dirty()
    assert scheduler.pending() == 0
    assert clock.pending() == 1 and clock.next_due_in() == pytest.approx(0.040)
    clock.advance(0.040)
    scheduler.pump()
    assert len(emits) == 2
    # Quiet for longer than an interval: the next change goes out at once again.
    clock.advance(5.0)
    delivery.mark_dirty()
    assert scheduler.pending() == 1 and clock.pending() == 0
    scheduler.pump()
    assert len(emits) == 3


def test_rate_is_bounded_under_a_steady_stream() -> None:
    delivery, scheduler, clock, emits = _delivery(rate=20.0)
    for _ in range(1000):  # one change every millisecond for one second of fake time
        clock.advance(0.001)
        delivery.mark_dirty()
        scheduler.pump()
    assert len(emits) == 20


def test_a_new_managers_first_task_is_shown_without_waiting_for_the_throttle(make_harness) -> None:
    h = make_harness(update_rate=1)  # an interval of a whole second
    gate = threading.Event()
    task = h.mgr.run_thread(lambda ctx: gate.wait(10))
    # The flush is queued already: no timer stands between the change and the UI.
    assert h.scheduler.pending() >= 1
    h.scheduler.pump()
    assert h.updates and task in h.updates[0][0]
    gate.set()
    h.settle()


def test_shutdown_after_the_asyncio_loop_closed_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    """Fixed: each callback for a closed loop logged a traceback ('Event loop is closed')."""
    holder: dict[str, Any] = {}

    async def main() -> None:
        mgr = holder["mgr"] = TaskManager(main_thread_scheduler="asyncio")
        holder["task"] = mgr.run_thread(jobs.until_canceled)
        await asyncio.sleep(0)

    asyncio.run(main())
    with caplog.at_level("WARNING", logger="tasker"):
        holder["mgr"].shutdown(timeout=5)
    assert holder["task"].get_status() == "canceled"
    messages = [r.getMessage() for r in caplog.records if r.name == "tasker"]
    assert [m for m in messages if "loop that runs main-thread callbacks is closed" in m] != []
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"
    assert sum("is closed" in m for m in messages) == 1


def test_wait_until_settled_waits_for_a_callback_that_is_still_running() -> None:
    """Fixed: settled was reported while the last when_done was still running on the
    dispatcher thread (its queue was empty already), so a script's last print could
    interleave with what it printed after wait_until_settled()."""
    mgr = TaskManager(main_thread_scheduler="headless", update_rate=0)  # no throttle left pending
    entered, release = threading.Event(), threading.Event()

    def when_done(task: Any) -> None:
        entered.set()
        release.wait(20)

    try:
        mgr.run_thread(jobs.ok, 1, when_done=when_done)
        assert entered.wait(20)
        assert mgr.wait_until_settled(0.2) is False  # when_done has not returned
        release.set()
        assert mgr.wait_until_settled(20) is True
    finally:
        release.set()
        mgr.shutdown()


def test_an_event_of_several_values_waits_until_they_all_fit() -> None:
    delivery, scheduler, _clock, _emits = _delivery()  # max_pending_events=10
    got: list[Any] = []
    for i in range(4):
        delivery.event(got.append, i)
    done = threading.Event()

    def send_six() -> None:  # 4 + 6 = 10: fits
        delivery.event(got.extend, [4, 5, 6, 7, 8, 9], weight=6)
        delivery.event(got.extend, [10, 11], weight=2)  # 12 > 10: waits for a flush
        done.set()

    sender = threading.Thread(target=send_six, daemon=True)
    sender.start()
    assert wait_for(lambda: delivery._events_queued == 10), "the six values did not fit with the four"
    assert wait_for(lambda: _waits_for_room(sender)), "the two values did not wait for room"
    assert not done.is_set() and got == []
    scheduler.pump()  # the main thread takes what was queued: room again
    assert done.wait(30)
    sender.join(30)
    scheduler.pump()
    assert got == list(range(12))


def test_an_event_heavier_than_the_bound_goes_alone_when_nothing_waits() -> None:
    delivery, scheduler, _clock, _emits = _delivery()  # max_pending_events=10
    got: list[Any] = []
    sender = threading.Thread(target=lambda: delivery.event(got.extend, list(range(15)), weight=15), daemon=True)
    sender.start()
    sender.join(30)
    assert not sender.is_alive() and delivery._events_queued == 15
    scheduler.pump()
    assert got == list(range(15))


def _waits_for_room(thread: threading.Thread) -> bool:
    import sys

    frame = sys._current_frames().get(thread.ident or -1)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return "_enqueue" in names and "wait" in names
