"""The manager's clock: order, cancellation, and waking up for a nearer timer."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from tasker._core import _clock
from tasker._core._clock import TimerThread as Clock

pytestmark = pytest.mark.timeout(30)


class _FrozenTime:
    """``time`` for the clock's module: ``monotonic()`` stands still while ``frozen`` is set."""

    def __init__(self) -> None:
        self.frozen: float | None = None

    def monotonic(self) -> float:
        return self.frozen if self.frozen is not None else time.monotonic()


def test_timers_fire_in_order_and_canceled_ones_never(monkeypatch: pytest.MonkeyPatch) -> None:
    # The four timers are set at one instant (time stands still meanwhile): their order
    # is their delays', however long setting them takes on a loaded machine.
    fake = _FrozenTime()
    monkeypatch.setattr(_clock, "time", fake)
    clock = Clock()
    fired: queue.SimpleQueue[str] = queue.SimpleQueue()
    try:
        fake.frozen = time.monotonic()
        clock.call_later(0.06, lambda: fired.put("c"))
        clock.call_later(0.02, lambda: fired.put("a"))
        clock.call_later(0.04, lambda: fired.put("b")).cancel()
        clock.call_later(0.04, lambda: fired.put("b2"))
        fake.frozen = None
        assert [fired.get(timeout=5) for _ in range(3)] == ["a", "b2", "c"]
        assert fired.empty()
    finally:
        clock.stop()


def test_a_nearer_timer_wakes_a_sleeping_clock() -> None:
    clock = Clock()
    fired: queue.SimpleQueue[float] = queue.SimpleQueue()
    try:
        clock.call_later(20.0, lambda: fired.put(20.0))  # the thread now sleeps ~20 s
        clock.call_later(0.01, lambda: fired.put(0.01))
        assert fired.get(timeout=10) == 0.01  # not woken, it would have slept 20 s: Empty
    finally:
        clock.stop()


class _SpyCondition(threading.Condition):
    """The clock's condition: counts ``notify()`` calls and says when its thread waits."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())
        self.notified = 0
        self.waiting = threading.Event()

    def notify(self, n: int = 1) -> None:
        self.notified += 1
        super().notify(n)

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def _asleep(clock: Clock, spy: _SpyCondition) -> float | None:
    """Wait until the clock's thread waits; the end of that wait."""
    assert spy.waiting.wait(10), "the clock's thread never waited"
    spy.waiting.clear()
    with spy:  # (held by the thread until it waits)
        return clock._sleeping_until


def _spied_clock(
    monkeypatch: pytest.MonkeyPatch, horizon: float
) -> tuple[_FrozenTime, Clock, _SpyCondition, queue.SimpleQueue[str]]:
    """A real Clock on frozen time whose condition counts wake-ups, and a queue its timers fill."""
    fake = _FrozenTime()
    monkeypatch.setattr(_clock, "time", fake)
    monkeypatch.setattr(_clock, "HORIZON_S", horizon)
    clock = Clock()
    spy = _SpyCondition()
    clock._cv = spy
    return fake, clock, spy, queue.SimpleQueue()


def test_a_timer_due_after_the_clocks_next_look_wakes_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancel's grace timer is set without a thread switch: the thread, used recently,
    looks at its timers every HORIZON_S anyway; a nearer timer still wakes it."""
    horizon = 100.0  # (a real wait that long: the thread never looks again by itself in the test)
    monkeypatch.setattr(_clock, "LINGER_S", 10 * horizon)
    fake, clock, spy, fired = _spied_clock(monkeypatch, horizon)
    try:
        start = fake.frozen = time.monotonic()
        clock.call_later(30 * horizon, lambda: fired.put("far"))  # starts the thread
        assert _asleep(clock, spy) == start + horizon
        clock.call_later(2 * horizon, lambda: fired.put("grace"))
        clock.call_later(horizon, lambda: fired.put("horizon"))
        assert spy.notified == 0, "a timer due after the thread's next look woke it"
        clock.call_later(horizon / 2, lambda: fired.put("near"))
        assert spy.notified == 1, "a timer due before the thread's next look must wake it"
        assert fired.empty()  # (time stands still: nothing is due yet)
        fake.frozen = start + 2 * horizon
        with spy:
            spy.notify()  # (the test's own: time moved while the thread slept)
        # Each timer fires, none before its time, the two set without a wake-up included.
        assert [fired.get(timeout=10) for _ in range(3)] == ["near", "horizon", "grace"]
        assert fired.empty()
    finally:
        clock.stop()


def test_a_clock_at_rest_sleeps_until_a_timer_wakes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """LINGER_S after its last timer was set, the thread no longer wakes every HORIZON_S:
    it waits without an end, and any new timer wakes it."""
    fake, clock, spy, fired = _spied_clock(monkeypatch, 0.01)  # (its rounds while it lingers: short)
    try:
        start = fake.frozen = time.monotonic()
        clock.call_later(0.0, lambda: fired.put("first"))
        assert fired.get(timeout=10) == "first"
        fake.frozen = start + _clock.LINGER_S  # at rest from its next look on
        while _asleep(clock, spy) != float("inf"):
            pass  # (each round is one HORIZON_S wait of the thread: bounded by the LINGER_S move)
        clock.call_later(5.0, lambda: fired.put("later"))
        assert spy.notified == 1, "a clock at rest must be woken by a new timer"
        fake.frozen = start + _clock.LINGER_S + 5.0
        assert fired.get(timeout=10) == "later"
    finally:
        clock.stop()
