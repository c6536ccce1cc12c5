"""A result or event whose unpickling hangs in the app (its ``__reduce__`` callable blocks).

The process runner's reader thread runs that code. It cannot hang ``shutdown()``
(which no longer waits for a reader stuck loading one message), and a task with a
``timeout=`` still fails with ``TaskTimeoutError`` at its timeout. The load is held
by an event the test controls (``jobs.LOAD_GATE``), opened before the test ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tasker import TaskTimeoutError
from tasker.runners.process import _pool
from tasker.testing import FakeClock

import jobs
from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(120)

JOBS = ["result_blocks_on_load", "event_blocks_on_load"]


@pytest.fixture(autouse=True)
def gate() -> Iterator[None]:
    jobs.LOADING.clear()
    jobs.LOAD_GATE.clear()
    yield
    jobs.LOAD_GATE.set()


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tasker-worker") and t.name.endswith("-reader")]


@pytest.mark.parametrize("job", JOBS)
def test_shutdown_does_not_wait_for_a_load_that_hangs(
    make_harness: object, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A healthy reader may take this long at shutdown: only the stuck load must not be waited for.
    monkeypatch.setattr(_pool, "JOIN_TIMEOUT_S", 120.0)
    h: Harness = make_harness()  # type: ignore[operator]
    task = h.start("process", job, "v", when_event=lambda *args: None)
    assert jobs.LOADING.wait(30), "the load never started"
    shutting = threading.Thread(target=h.mgr.shutdown, kwargs={"timeout": 0.2}, name="shutting-down")
    shutting.start()
    shutting.join(60)
    stuck = not jobs.LOAD_GATE.is_set()  # (nothing opened it: the load is still hanging)
    assert not shutting.is_alive() and stuck, "shutdown waited for the hanging load"
    assert h.pump_until(lambda: task in h.done)
    assert task.get_status() == "canceled" and h.done.count(task) == 1
    jobs.LOAD_GATE.set()  # the load returns; its reader sees its worker gone and ends
    assert wait_for(lambda: not _readers(), 30), _readers()


@pytest.mark.parametrize("job", JOBS)
def test_a_task_whose_result_hangs_loading_fails_at_its_timeout(make_harness: object, job: str) -> None:
    clock = FakeClock()  # the timeout passes when the test says so, not when the machine is slow
    h: Harness = make_harness(cancel_grace_period=0.2, clock=clock)  # type: ignore[operator]
    task = h.start("process", job, "v", timeout=0.5, when_event=lambda *args: None)
    assert jobs.LOADING.wait(30), "the load never started"
    clock.advance(0.5)  # timed out: canceled, its grace period starts
    clock.advance(0.2)  # grace over: its worker is killed, the task ends
    assert h.pump_until(lambda: task in h.done, 60)
    assert not jobs.LOAD_GATE.is_set()  # it ended while its load still hangs
    assert task.get_status() == "failed" and isinstance(task.exception(), TaskTimeoutError)
    jobs.LOAD_GATE.set()
    assert h.finish(h.start("process", "ok", 3)).result() == 6  # the pool goes on (a new worker)
