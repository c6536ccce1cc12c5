"""The fault matrix.

Every fault in ``CASES``, for every kind of task where it applies, twice: once
left to end on its own, once with ``shutdown()`` called while it is in flight.
Each case checks the same contract (SPEC §4-§6): the task ends exactly once with
the right status and a clear error, ``when_done`` runs once on the main thread,
no event reaches ``when_event`` after ``when_done``, the pool heals and the next
task of that kind runs.

A case is a function ``(harness, kind) -> [Expect]`` that starts its task(s) and
drives them to the stage the case is about; the test functions at the bottom do
the waiting and the checking.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tasker import Task, TaskError, TaskTimeoutError, WorkerDiedError
from tasker.testing import FakeClock

from . import rjobs
from .support import RHarness
from conftest import children

pytestmark = pytest.mark.timeout(90)

KINDS = ("thread", "coroutine", "process")
NOTHING = object()
GRACE = 0.3  # cancel grace period of the matrix's managers


@dataclass
class Expect:
    task: Task[Any]
    statuses: frozenset[str]
    error: type[BaseException] | tuple[type[BaseException], ...] | None = None
    match: str | None = None
    result: Any = NOTHING


def expect(task: Task[Any], *statuses: str, **kw: Any) -> Expect:
    return Expect(task, frozenset(statuses), **kw)


@dataclass
class Case:
    name: str
    kinds: tuple[str, ...]
    run: Callable[[RHarness, str], list[Expect]]
    options: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {}


def case(*kinds: str, **options: Any) -> Callable[[Callable[[RHarness, str], list[Expect]]], Any]:
    def register(fn: Callable[[RHarness, str], list[Expect]]) -> Any:
        CASES[fn.__name__] = Case(fn.__name__, kinds or KINDS, fn, options)
        return fn

    return register


def running(h: RHarness, task: Task[Any]) -> None:
    assert h.pump_until(lambda: task.is_running() or task.is_final()), f"{task} never started"


# -- failures raised by the task's function ------------------------------------------
@case()
def exception(h: RHarness, kind: str) -> list[Expect]:
    return [expect(h.start(kind, "fail"), "failed", error=ValueError, match="boom")]


@case()
def system_exit(h: RHarness, kind: str) -> list[Expect]:
    return [expect(h.start(kind, "fail", SystemExit(3)), "failed", error=SystemExit)]


@case()
def keyboard_interrupt(h: RHarness, kind: str) -> list[Expect]:
    return [expect(h.start(kind, "fail", KeyboardInterrupt()), "failed", error=KeyboardInterrupt)]


@case()
def memory_error(h: RHarness, kind: str) -> list[Expect]:
    return [expect(h.start(kind, "memory_error"), "failed", error=MemoryError)]


# -- the worker process dies --------------------------------------------------------------
@case("process")
def os_exit(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "die", 3)
    return [expect(task, "failed", error=WorkerDiedError, match=r"exited with code 3")]


@case("process")
def sigkill_self(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "kill_self", signal.SIGKILL)
    return [expect(task, "failed", error=WorkerDiedError, match=r"killed by SIGKILL")]


@case("process")
def sigkill_from_outside(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "pid_then_wait")
    assert h.pump_until(lambda: any(e[0] is task for e in h.events))
    pid = next(e[2] for e in h.events if e[0] is task)
    import os

    os.kill(pid, signal.SIGKILL)
    return [expect(task, "failed", error=WorkerDiedError, match=rf"pid {pid}\) was killed by SIGKILL")]


@case("process")
def sigsegv(h: RHarness, kind: str) -> list[Expect]:
    return [expect(h.start(kind, "segfault"), "failed", error=WorkerDiedError, match=r"SIGSEGV")]


# -- what cannot be sent between processes -------------------------------------------------
@case("process")
def unpicklable_function(h: RHarness, kind: str) -> list[Expect]:
    lock = threading.Lock()

    def closure(ctx: object) -> object:
        return lock

    with pytest.raises(TypeError, match=r"the function .* cannot be sent to a worker process"):
        h.mgr.run_process(closure)
    assert not h.mgr.has_tasks()
    return []


@case("process")
def unpicklable_argument(h: RHarness, kind: str) -> list[Expect]:
    with pytest.raises(TypeError, match=r"argument 1 \(generator\) cannot be sent"):
        h.mgr.run_process(rjobs.takes_arg, (i for i in range(3)))
    assert not h.mgr.has_tasks()
    return []


@case("process")
def argument_fails_to_load_in_worker(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "takes_arg", rjobs.OneWay())
    return [expect(task, "failed", error=RuntimeError, match="cannot be rebuilt")]


@case("process")
def unpicklable_result(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "unpicklable_result")
    return [expect(task, "failed", error=TaskError, match=r"result of type lock cannot be sent back")]


@case("process")
def result_fails_to_load_in_parent(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "one_way_result")
    return [expect(task, "failed", error=TaskError, match=r"could not be unpickled.*cannot be rebuilt")]


@case("process")
def unpicklable_event(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "unpicklable_event")
    return [expect(task, "failed", error=TypeError, match=r"pickle")]


@case("process")
def event_fails_to_load_in_parent(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "one_way_event")
    return [expect(task, "failed", error=TaskError, match=r"could not be unpickled.*cannot be rebuilt")]


# -- cancellation, at every stage --------------------------------------------------------------
@case("thread", "process", max_threads=1, max_processes=1, spare_processes=0)
def cancel_pending(h: RHarness, kind: str) -> list[Expect]:
    blocker = h.start(kind, "until_canceled")
    queued = h.start(kind, "ok", 5)
    running(h, blocker)
    assert queued.get_status() == "pending"
    assert queued.cancel() is True
    assert queued.get_status() == "canceled", "a pending task ends at once"
    blocker.cancel()
    return [expect(blocker, "canceled"), expect(queued, "canceled")]


@case()
def cancel_starting(h: RHarness, kind: str) -> list[Expect]:
    # Nothing pumped, pool cold (processes): the task is canceled while starting.
    task = h.start(kind, "until_canceled", key="starting")
    assert h.mgr.cancel_task("starting") is True
    return [expect(task, "canceled")]


@case()
def cancel_running_uncooperative(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "stuck")
    running(h, task)
    task.cancel()
    return [expect(task, "canceled")]


@case("thread", "coroutine")
def cancel_finishing(h: RHarness, kind: str) -> list[Expect]:
    # The function has returned (or is returning) when the cancel arrives: it
    # ends completed (with its result) or canceled, once.
    out = []
    for i in range(30):
        returning = threading.Event()
        task = h.start(kind, "finishing", returning, i)
        assert returning.wait(10)
        task.cancel()
        out.append(expect(task, "completed", "canceled", result=i))
    return out


@case("process", max_pending_events=1)
def cancel_finishing_result_in_pipe(h: RHarness, kind: str) -> list[Expect]:
    # The reader blocks on the second event (back-pressure: nothing is pumped),
    # so the worker's result waits in the pipe while the cancel arrives.
    task = h.start(kind, "two_events_then_return", 9)
    assert h.scheduler.posted.wait(10), "the first event never reached the main-thread queue"
    task.cancel()
    return [expect(task, "completed", "canceled", result=9)]


@case()
def cancel_already_final(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "ok", 4, key="final")
    h.finish(task)
    assert task.cancel() is False
    assert h.mgr.cancel_task("final") is False
    assert task.get_status() == "completed"
    return [expect(task, "completed", result=8)]


@case()
def event_after_cancel(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "event_after_cancel")
    assert h.pump_until(lambda: any(e[0] is task for e in h.events))
    task.cancel()
    return [expect(task, "canceled")]


# -- replacement storms on one key ----------------------------------------------------------------
@case()
def replace_storm(h: RHarness, kind: str) -> list[Expect]:
    tasks = [h.start(kind, "until_canceled", key="storm") for _ in range(40)]
    last = h.start(kind, "sleep_then", 0.05, "last", key="storm")
    assert h.mgr.get_task("storm") is last
    assert all(t.is_cancelled() for t in tasks)
    return [*(expect(t, "canceled") for t in tasks), expect(last, "completed", result="last")]


@case()
def replace_storm_from_threads(h: RHarness, kind: str) -> list[Expect]:
    started: list[Task[Any]] = []
    lock = threading.Lock()
    go = threading.Barrier(4)

    def storm(n: int) -> None:
        go.wait(10)
        for i in range(10):
            task = h.start(kind, "sleep_then", 0.3, n * 100 + i, key="storm")
            with lock:
                started.append(task)

    threads = [threading.Thread(target=storm, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    survivor = h.mgr.get_task("storm")
    assert survivor is not None and len(started) == 40
    out = [expect(survivor, "completed", result=NOTHING)]
    out += [expect(t, "canceled", "completed") for t in started if t is not survivor]
    return out


# -- timeouts -----------------------------------------------------------------------------------
@case()
def timeout_uncooperative(h: RHarness, kind: str) -> list[Expect]:
    task = h.start(kind, "stuck", timeout=0.2)
    return [expect(task, "failed", error=TaskTimeoutError, match="timed out after 0.2 s")]


@case("thread", "process", max_threads=1, max_processes=1, spare_processes=0)
def timeout_while_pending(h: RHarness, kind: str) -> list[Expect]:
    blocker = h.start(kind, "until_canceled")
    queued = h.start(kind, "ok", 1, timeout=0.2)
    assert h.pump_until(queued.is_final, 10)
    assert queued.get_status() == "failed"
    blocker.cancel()
    return [expect(queued, "failed", error=TaskTimeoutError), expect(blocker, "canceled")]


@case(cancel_grace_period=1.0, fake_clock=True, update_rate=0)  # no throttle timer on fake time
def timeout_after_cancel(h: RHarness, kind: str) -> list[Expect]:
    # Canceled by the user first; its timeout passes while it is still stopping.
    # (Fake time: on a loaded machine a real 0.3 s could pass before the cancel.)
    clock = h.mgr.options.clock
    assert isinstance(clock, FakeClock)
    task = h.start(kind, "stuck", timeout=0.3)
    running(h, task)
    task.cancel()
    clock.advance(0.3)  # the timeout comes while the task is stopping: it changes nothing
    clock.advance(1.0)  # the grace period ends: the stuck task is ended anyway
    return [expect(task, "canceled")]


# -- the tests -------------------------------------------------------------------------------------
PARAMS = [pytest.param(name, kind, id=f"{name}-{kind}") for name, c in CASES.items() for kind in c.kinds]


def make(make_rh: Callable[..., RHarness], name: str) -> RHarness:
    options = {"cancel_grace_period": GRACE, "max_processes": 2, **CASES[name].options}
    if options.pop("fake_clock", False):
        options["clock"] = FakeClock()  # one per manager: a shut-down manager stops its clock
    return make_rh(**options)


def check_endings(h: RHarness, expects: list[Expect], shutting_down: bool = False) -> None:
    tasks = [e.task for e in expects]
    assert h.pump_until(lambda: all(t in h.done for t in tasks), 20), [t for t in tasks if t not in h.done]
    h.scheduler.pump()
    for e in expects:
        task = e.task
        status = str(task.get_status())
        assert h.done.count(task) == 1, f"when_done ran {h.done.count(task)} times for {task}"
        allowed = e.statuses | {"canceled"} if shutting_down else e.statuses
        assert status in allowed, f"{task}: {status}, expected one of {sorted(allowed)}"
        if status == "failed" and status in e.statuses and e.error is not None:
            error = task.exception()
            assert isinstance(error, e.error), f"{task}: {error!r} is not {e.error}"
            if e.match:
                assert re.search(e.match, str(error)), f"{error!r} does not match {e.match!r}"
        if status == "completed" and e.result is not NOTHING:
            assert task.result() == e.result
    main = h.scheduler.thread
    assert all(t is main for t in h.done_threads), "when_done ran off the main thread"
    for task in tasks:  # no event after the task's when_done
        entries = [what for what, t in h.log if t is task]
        if "done" in entries:
            assert "event" not in entries[entries.index("done") :], f"event after when_done for {task}"


@pytest.mark.parametrize(("name", "kind"), PARAMS)
def test_fault(make_rh: Callable[..., RHarness], name: str, kind: str) -> None:
    before = children()
    h = make(make_rh, name)
    expects = CASES[name].run(h, kind)
    check_endings(h, expects)
    # The pool heals: the next task of this kind runs, and the manager settles.
    after = h.start(kind, "ok", 21)
    assert h.finish(after).result() == 42
    h.settle()
    assert h.updates[-1] == ([], 1.0), "idle: tasks_updated says no task, progress 1.0"
    assert len(h.mgr) == 0 and not h.mgr.has_tasks()
    if kind == "process":
        bound = h.mgr.options.max_processes + h.mgr.options.spare_processes
        assert h.pump_until(lambda: len(children() - before) <= bound, 10), "the pool stays bounded"


@pytest.mark.parametrize(("name", "kind"), PARAMS)
def test_fault_then_shutdown(make_rh: Callable[..., RHarness], name: str, kind: str) -> None:
    before = children()
    h = make(make_rh, name)
    expects = CASES[name].run(h, kind)
    h.mgr.shutdown(timeout=0.5)  # returns (the test's timeout bounds it): never a hang
    check_endings(h, expects, shutting_down=True)
    assert all(t.is_final() for t in h.done)
    assert children() <= before, "shutdown leaves no worker process"
    with pytest.raises(RuntimeError, match="shut down"):
        h.start(kind, "ok")
