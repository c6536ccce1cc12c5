"""``tasker.testing.FakeClock``: timed behaviour tested exactly, without waiting."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tasker import ExecutionContext, TaskManager, TaskTimeoutError
from tasker.schedulers import ManualScheduler
from tasker.testing import FakeClock

import jobs
from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(60)


def test_timers_run_in_order_at_their_time_in_the_calling_thread() -> None:
    clock = FakeClock()
    seen: list[tuple[str, float, str]] = []

    def at(name: str) -> Any:
        return lambda: seen.append((name, clock.now(), threading.current_thread().name))

    clock.call_later(3.0, at("c"))
    clock.call_later(1.0, at("a"))
    clock.call_later(2.0, at("b")).cancel()
    clock.call_later(2.0, at("b2"))
    clock.call_later(1.0, lambda: clock.call_later(0.5, at("set by a timer")))
    assert clock.advance(1.4) == 2 and clock.now() == 1.4
    assert clock.advance(10) == 3
    me = threading.current_thread().name
    assert seen == [("a", 1.0, me), ("set by a timer", 1.5, me), ("b2", 2.0, me), ("c", 3.0, me)]
    assert clock.pending() == 0 and clock.next_due_in() is None
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_a_failing_timer_is_logged_and_the_others_run(caplog: pytest.LogCaptureFixture) -> None:
    clock, seen = FakeClock(), []
    clock.call_later(1, lambda: 1 / 0)
    clock.call_later(2, lambda: seen.append("after"))
    clock.advance(5)
    assert seen == ["after"]
    assert any("timer callback failed" in r.getMessage() for r in caplog.records)


@pytest.fixture
def fake(make_harness) -> tuple[Harness, FakeClock]:
    clock = FakeClock()
    return make_harness(clock=clock, cancel_grace_period=2.0), clock


def test_grace_period_ends_a_stuck_thread_exactly(fake: tuple[Harness, FakeClock]) -> None:
    h, clock = fake
    task = h.start("thread", "stuck", 60)
    assert h.pump_until(lambda: task.get_message() == "stuck")
    task.cancel()
    clock.advance(1.999)
    h.scheduler.pump()
    assert not task.is_final()
    clock.advance(0.001)
    assert task.is_final() and task.get_status() == "canceled"
    h.finish(task)
    jobs.RELEASE.set()


def test_timeout_fails_the_task_at_its_time(fake: tuple[Harness, FakeClock]) -> None:
    h, clock = fake
    task = h.start("thread", "until_canceled", timeout=5.0)
    assert h.pump_until(lambda: task.get_message() == "looping")
    clock.advance(4.9)
    assert not task._cancel_requested
    clock.advance(0.1)
    h.finish(task)
    assert isinstance(task.exception(), TaskTimeoutError)


def test_delayed_calls_run_when_their_time_comes(fake: tuple[Harness, FakeClock]) -> None:
    h, clock = fake
    ran: list[str] = []
    h.mgr.schedule_delayed_on_main_thread(10.0, ran.append, "ten")
    canceled = h.mgr.schedule_delayed_on_main_thread(5.0, ran.append, "five")
    h.mgr.schedule_delayed_on_main_thread(1.0, ran.append, "one")
    canceled.cancel()
    clock.advance(9.0)
    h.scheduler.pump()
    assert ran == ["one"]
    clock.advance(1.0)
    h.scheduler.pump()
    assert ran == ["one", "ten"]


def test_throttle_coalesces_to_the_rate(make_harness) -> None:
    clock = FakeClock()
    h = make_harness(clock=clock, update_rate=8)  # every 1/8 s: binary fractions, exact sums
    gate, step = threading.Event(), threading.Event()
    reported = threading.Event()

    def paced(ctx: ExecutionContext) -> None:
        for i in range(1, 11):
            step.wait(10)
            step.clear()
            ctx.set_progress(i / 10)
            reported.set()
        gate.wait(10)

    task = h.mgr.run_thread(paced)
    h.scheduler.pump()
    first = len(h.updates)
    for _ in range(10):  # ten changes 1/32 s apart, starting right after the first emission
        step.set()
        assert reported.wait(10)
        reported.clear()
        clock.advance(1 / 32)
        h.scheduler.pump()
    # Coalesced: shown at 1/8 s (changes 1-4) and 2/8 s (5-8); 9 and 10 wait for 3/8 s.
    assert [progress for _, progress in h.updates[first:]] == [0.4, 0.8]
    clock.advance(1 / 8)
    h.scheduler.pump()
    assert h.updates[-1][1] == 1.0  # the last value is shown when the interval ends
    gate.set()
    assert h.pump_until(task.is_final)


def test_settling_shows_the_last_ending_without_waiting_for_the_throttle(
    make_harness: Any, kind: str, tmp_path: Any
) -> None:
    """On a fake clock a change the throttle holds back waits for an ``advance()``.
    When a task's ending came within 1/update_rate of the last emission, that
    emission's throttle held the ending back, and ``wait_until_settled`` waited for
    a fake time that never came (met on free-threaded CPython, in the pytest plugin's
    own test: ``advance(5)`` past a task's timeout, then ``wait_settled`` hung).
    The order that leads there, forced step by step: a change at 0 s after the
    emission at 0 s (the throttle arms a timer for 0.05 s); ``advance(5)`` runs that
    timer (a flush posted) and the timeout (the task asked to stop); the flush runs,
    an emission at 5 s; only then the ending, at 5 s too."""
    clock = FakeClock()
    h = make_harness(clock=clock)
    task = h.start(kind, "paced_stop", str(tmp_path), timeout=5.0)
    assert h.pump_until(lambda: bool(h.updates) and task.is_running(), 60)  # shown at 0 s
    h.scheduler.pump()
    (tmp_path / "go").touch()
    # The "waiting" change within the interval: a throttle timer beside the timeout's.
    assert wait_for(lambda: task.get_message() == "waiting" and clock.pending() == 2), repr(clock)
    assert clock.next_due_in() == pytest.approx(0.05)
    clock.advance(5.0)  # the throttle's flush posted, then the timeout: cancel asked
    assert wait_for((tmp_path / "stopping").exists)
    h.scheduler.pump()  # that flush: an emission at 5 s, the task still live
    assert h.updates[-1][0] == [task] and task.get_message() == "waiting"
    (tmp_path / "end").touch()
    assert task.wait(30)  # final: its ending is queued (the same critical section)
    assert h.mgr.wait_until_settled(10), f"not settled: {clock!r}, {list(h.mgr)!r}"
    assert h.updates[-1] == ([], 1.0)  # the last emission shows that nothing is live
    assert isinstance(task.exception(), TaskTimeoutError)
    assert h.done == [task]


def test_a_manager_takes_any_clock_only_before_it_starts() -> None:
    mgr = TaskManager(main_thread_scheduler=ManualScheduler())
    clock = FakeClock()
    mgr.configure(clock=clock)
    assert mgr.options.clock is clock
    with pytest.raises(TypeError, match="clock"):
        mgr.configure(clock="now")
    mgr.shutdown()
