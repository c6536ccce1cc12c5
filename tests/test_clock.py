"""The manager's clock: order, cancellation, and waking up for a nearer timer."""

from __future__ import annotations

import queue
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
