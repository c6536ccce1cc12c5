"""``timeout=`` values: ``inf`` means none; past what a thread can wait, refused where given.

``threading.TIMEOUT_MAX`` is the limit (about 292 years): a wait longer than that
raises ``OverflowError`` deep in a pool, reader or clock thread, so tasker refuses
such values at the call with a ``ValueError`` that names the limit.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tasker import Task
from tasker.testing import FakeClock

from conftest import Harness

pytestmark = pytest.mark.timeout(60)

INF = float("inf")
HUGE = (10**100, 1e300, threading.TIMEOUT_MAX * 2)


def test_an_infinite_task_timeout_means_none(harness: Harness, kind: str) -> None:
    task = harness.start(kind, "ok", 5, timeout=INF)
    assert task.timeout is None
    assert harness.finish(task).result() == 10


@pytest.mark.parametrize("timeout", HUGE)
def test_a_task_timeout_past_the_limit_is_refused_at_the_call(harness: Harness, kind: str, timeout: float) -> None:
    with pytest.raises(ValueError, match="TIMEOUT_MAX") as refused:
        harness.start(kind, "ok", 1, timeout=timeout)
    assert "float('inf')" in str(refused.value)  # it says how to ask for none
    assert not harness.mgr.has_tasks()


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "10", True])
def test_a_task_timeout_that_is_no_duration_is_refused(harness: Harness, kind: str, timeout: Any) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        harness.start(kind, "ok", 1, timeout=timeout)


def test_ask_with_an_infinite_timeout_waits_for_the_answer(harness: Harness, kind: str) -> None:
    def answer(task: Task[Any], name: str, data: Any) -> Any:
        return f"yes to {data}"

    task = harness.finish(harness.start(kind, "ask", "q", INF, when_event=answer))
    assert task.result() == "yes to q"


@pytest.mark.parametrize("timeout", HUGE)
def test_ask_with_a_timeout_past_the_limit_raises_at_the_ask(harness: Harness, kind: str, timeout: float) -> None:
    shown: list[Any] = []
    task = harness.finish(harness.start(kind, "ask", "q", timeout, when_event=lambda *a: shown.append(a)))
    error = task.exception()
    assert task.get_status() == "failed" and isinstance(error, ValueError), repr(error)
    assert "TIMEOUT_MAX" in str(error) and "ask()" in str(error)
    assert shown == []  # refused before it was asked
    assert harness.finish(harness.start(kind, "ok", 2)).result() == 4  # the thread / worker goes on


@pytest.mark.parametrize("make_clock", [FakeClock, None], ids=["FakeClock", "TimerThread"])
def test_clocks_refuse_a_delay_past_the_limit(make_clock: Any) -> None:
    from tasker._core._clock import TimerThread

    clock = make_clock() if make_clock is not None else TimerThread()
    try:
        for delay in (*HUGE, INF, float("nan")):
            with pytest.raises(ValueError, match="TIMEOUT_MAX"):
                clock.call_later(delay, lambda: None)
        ran: list[int] = []
        clock.call_later(threading.TIMEOUT_MAX, lambda: ran.append(1)).cancel()  # the limit itself is fine
        assert ran == []
    finally:
        clock.stop()


def test_a_delayed_call_past_the_limit_is_refused(harness: Harness) -> None:
    with pytest.raises(ValueError, match=r"schedule_delayed_on_main_thread.*TIMEOUT_MAX"):
        harness.mgr.schedule_delayed_on_main_thread(1e100, lambda: None)
