"""A fresh manager's first ``run_process``: checked and pickled at the call, handed over by a starter thread.

The starter is held (its build waits for an event) so that every test sees the
window between the call and the hand-off, whatever the machine's speed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tasker import ManagerClosedError, Task, TaskManager, UnsupportedPlatformError
from tasker._core import _firststart, _runner
from tasker._core._firststart import Soon
from tasker.runners import process
from tasker.schedulers import CallableScheduler, ManualScheduler

import jobs
from conftest import children, wait_for


class Held:
    """A manager whose starter thread waits for ``release()`` before it builds anything."""

    def __init__(self, **options: Any) -> None:
        self.scheduler = ManualScheduler()
        self.mgr = TaskManager(main_thread_scheduler=self.scheduler, max_processes=1, **options)
        self.gate = threading.Event()
        self.building = threading.Event()
        real = self.mgr._new_lifecycle

        def held() -> Any:
            if threading.current_thread().name == "tasker-start":
                self.building.set()
                assert self.gate.wait(30), "never released"
            return real()

        self.mgr._new_lifecycle = held  # type: ignore[method-assign]
        self.done: list[Task[Any]] = []

    def when_done(self, task: Task[Any]) -> None:
        self.done.append(task)

    def release(self) -> None:
        self.gate.set()

    def finish(self, *tasks: Task[Any]) -> None:
        assert self.scheduler.pump_until(lambda: all(t in self.done for t in tasks), 30), self.done


@pytest.fixture
def held() -> Iterator[Held]:
    before = children()
    made = Held()
    yield made
    made.release()
    made.mgr.shutdown(timeout=2.0)
    assert children() - before == set(), "no worker outlives shutdown"


def test_the_first_task_is_queued_and_handed_over_in_order(held: Held) -> None:
    first = held.mgr.run_process(jobs.ok, 1, key="k", when_done=held.when_done)
    assert held.building.wait(10), "the starter thread builds the manager"
    assert isinstance(first._lifecycle, Soon) and first.get_status() == "pending"
    second = held.mgr.run_process(jobs.ok, 2, key="k", when_done=held.when_done)  # replaces it, in order
    third = held.mgr.run_process(jobs.ok, 3, when_done=held.when_done)
    assert held.mgr._first is not None and held.mgr._first.queued == [first, second, third]
    held.release()
    held.finish(first, second, third)
    assert first.get_status() == "canceled", "the second task with its key replaced it"
    assert (second.result(), third.result()) == (jobs.ok(None, 2), jobs.ok(None, 3))
    assert held.done.count(first) == held.done.count(second) == held.done.count(third) == 1


def test_anything_needing_the_lifecycle_waits_for_the_hand_off(held: Held) -> None:
    task = held.mgr.run_process(jobs.ok, 1, key="k", when_done=held.when_done)
    assert held.building.wait(10)
    seen: dict[str, Any] = {}

    def meanwhile() -> None:
        seen["get_task"] = held.mgr.get_task("k")
        seen["thread"] = held.mgr.run_thread(jobs.ok, 5, when_done=held.when_done)

    other = threading.Thread(target=meanwhile)
    other.start()
    other.join(0.2)
    assert other.is_alive(), "it waits for the hand-off"
    held.release()
    other.join(30)
    assert seen["get_task"] is task, "the queued task is live once handed over"
    held.finish(task, seen["thread"])
    assert seen["thread"].result() == jobs.ok(None, 5) and task.result() == jobs.ok(None, 1)


def test_a_queued_task_canceled_before_the_hand_off_ends_once(held: Held) -> None:
    task = held.mgr.run_process(jobs.ok, 1, when_done=held.when_done)
    assert held.building.wait(10)
    canceller = threading.Thread(target=task.cancel)
    canceller.start()
    held.release()
    canceller.join(30)
    held.finish(task)
    assert task.get_status() in ("canceled", "completed")  # (the worker may have finished it first)
    assert held.done.count(task) == 1


def test_a_bad_argument_fails_at_the_first_call() -> None:
    mgr = TaskManager(main_thread_scheduler=ManualScheduler())
    with pytest.raises(TypeError):
        mgr.run_process(jobs.ok, threading.Lock())
    with pytest.raises(TypeError, match="add_coroutine"):
        mgr.run_process(jobs.ASYNC["ok"])
    assert mgr._first is None and mgr._ready_lifecycle is None, "nothing queued, nothing started"
    mgr.shutdown(timeout=1.0)


def test_shutdown_while_tasks_are_queued_ends_each_once(held: Held) -> None:
    tasks = [held.mgr.run_process(jobs.ok, i, when_done=held.when_done) for i in range(3)]
    assert held.building.wait(10)
    closer = threading.Thread(target=held.mgr.shutdown, kwargs={"timeout": 2.0})
    closer.start()
    held.release()
    closer.join(30)
    assert not closer.is_alive()
    held.scheduler.pump_until(lambda: len(held.done) == 3, 30)
    assert sorted(t.id for t in held.done) == sorted(t.id for t in tasks), "every task ended once"
    assert all(t.is_final() for t in tasks)
    with pytest.raises(ManagerClosedError):
        held.mgr.run_process(jobs.ok, 1)


def test_a_pool_that_cannot_start_fails_the_queued_tasks() -> None:
    def broken(lifecycle: Any, options: Any) -> Any:
        raise RuntimeError("no pool here")

    _runner.register_runner("process", broken)
    try:
        scheduler = ManualScheduler()
        mgr = TaskManager(main_thread_scheduler=scheduler)
        done: list[Task[Any]] = []
        task = mgr.run_process(jobs.ok, 1, when_done=done.append)
        assert scheduler.pump_until(lambda: done == [task], 30)
        assert task.get_status() == "failed" and "no pool here" in str(task.exception())
        with pytest.raises(RuntimeError, match="no pool here"):
            mgr.run_process(jobs.ok, 1)  # later: at the call, as before
        mgr.shutdown(timeout=1.0)
    finally:
        _runner.register_runner("process", "tasker.runners.process:ProcessRunner")


def test_the_first_call_itself_does_not_build_the_manager() -> None:
    mgr = TaskManager(main_thread_scheduler=ManualScheduler(), max_processes=1)
    task = mgr.run_process(jobs.ok, 1)
    assert wait_for(lambda: mgr._ready_lifecycle is not None)
    assert mgr._first is not None and mgr._first.done.wait(30), "the starter thread is over"
    assert task._lifecycle is mgr._lifecycle
    mgr.shutdown(timeout=2.0)


def test_a_starter_that_fails_to_build_leaves_the_hand_over_to_the_next_user() -> None:
    """The starter thread's build raising (tasker's own modules broken) must not strand its tasks."""
    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1)
    real = mgr._new_lifecycle
    calls = []

    def flaky() -> Any:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            raise ImportError("broken once")
        return real()

    mgr._new_lifecycle = flaky  # type: ignore[method-assign]
    done: list[Task[Any]] = []
    task = mgr.run_process(jobs.ok, 1, when_done=done.append)
    assert mgr._first is not None and mgr._first.done.wait(30)
    assert mgr.get_task(task.key) is task, "the next user built the manager and handed the task over"
    assert scheduler.pump_until(lambda: done == [task], 30) and task.result() == 2
    assert calls == ["tasker-start", "MainThread"]
    mgr.shutdown(timeout=2.0)


def _module_level(ctx: Any) -> None:
    """A function ``plain_call`` accepts (module-level, found again by its name)."""


class _Text(str):
    pass


@pytest.mark.parametrize(
    ("args", "kwargs", "plain"),
    [
        ((), {}, True),
        ((1, 2.5, "s", b"b", None, True, 1j), {"x": (1, ("a", None))}, True),
        (([1],), {}, False),  # a list: the caller may change it after the call
        ((), {"x": {"a": 1}}, False),
        (((1, [2]),), {}, False),  # a tuple holding something mutable
        ((tuple(range(100)),), {}, False),  # long: not searched
        ((_Text("s"),), {}, False),  # a subclass may pickle its own way
        ((threading.Lock(),), {}, False),  # cannot be pickled: must fail at the call
    ],
)
def test_plain_call_is_only_what_pickles_the_same_later(args: Any, kwargs: Any, plain: bool) -> None:
    assert process.plain_call(_module_level, args, kwargs) is plain


def test_plain_call_needs_a_function_pickle_finds_by_name() -> None:
    def nested(ctx: Any) -> None:
        pass

    assert not process.plain_call(nested, (), {})
    assert not process.plain_call(lambda ctx: None, (), {})
    assert not process.plain_call(print, (), {})  # not a Python function: pickled at the call
    assert process.plain_call(jobs.ok, (), {})
    copy = type(jobs.ok)(jobs.ok.__code__, jobs.ok.__globals__, "ok")  # same name, another object
    assert not process.plain_call(copy, (), {})
    main = type(jobs.ok)(jobs.ok.__code__, {"__name__": "__main__"}, "ok")
    assert not process.plain_call(main, (), {})  # cloudpickle copies code from __main__


def test_a_plain_first_call_is_pickled_by_the_starter_thread(held: Held) -> None:
    task = held.mgr.run_process(jobs.ok, 21, when_done=held.when_done)
    assert held.building.wait(10)
    assert task.payload is None, "nothing pickled at the call"
    held.release()
    held.finish(task)
    assert task.result() == 42 and held.done.count(task) == 1


def test_a_mutable_first_argument_is_pickled_at_the_call(held: Held) -> None:
    items = [1, 2]
    task = held.mgr.run_process(jobs.sleep_then, 0, items, when_done=held.when_done)
    assert task.payload is not None, "pickled at the call"
    items.append(3)  # after the call: the worker must not see it
    held.release()
    held.finish(task)
    assert task.result() == [1, 2]


def test_a_callable_scheduler_is_resolved_off_the_caller() -> None:
    posted: list[Any] = []
    gate, building = threading.Event(), threading.Event()
    mgr = TaskManager(main_thread_scheduler=posted.append, max_processes=1)
    real = mgr._new_lifecycle

    def held() -> Any:
        building.set()
        assert gate.wait(30), "never released"
        return real()

    mgr._new_lifecycle = held  # type: ignore[method-assign]
    done = threading.Event()
    task = mgr.run_process(jobs.ok, 1, when_done=lambda task: done.set())
    assert building.wait(10)
    assert mgr._scheduler is None, "a plain callable is wrapped later, on any thread"
    gate.set()
    assert mgr._first is not None and mgr._first.done.wait(30)
    assert isinstance(mgr.scheduler, CallableScheduler)
    while not done.is_set():  # the when_done reached the callable
        assert wait_for(lambda: bool(posted))
        posted.pop(0)()
    assert task.result() == 2
    mgr.shutdown(timeout=2.0)


def test_a_scheduler_by_name_is_chosen_at_the_call() -> None:
    mgr = TaskManager(main_thread_scheduler="manual", max_processes=1)
    mgr.run_process(jobs.ok, 1)
    assert isinstance(mgr._scheduler, ManualScheduler), "names may need the caller's thread (Qt, Tk, asyncio)"
    mgr.shutdown(timeout=2.0)


def test_where_the_engine_cannot_run_a_plain_first_call_still_raises_at_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(process, "SUPPORTED", False)
    monkeypatch.setattr(_firststart, "PLAIN_FIRST", set())  # (as set where no process can start)
    mgr = TaskManager(main_thread_scheduler=ManualScheduler())
    with pytest.raises(UnsupportedPlatformError):
        mgr.run_process(jobs.ok, 1, key="p")
    assert mgr._first is None and mgr._ready_lifecycle is None, "nothing queued, nothing started"
    mgr.shutdown(timeout=1.0)


def test_start_thread_runs_the_target_on_a_named_thread_and_signals_its_end() -> None:
    seen: list[str] = []
    def note(value: str) -> None:
        seen.append(threading.current_thread().name + value)

    over = _firststart.start_thread("tasker-test", note, "!")
    assert over.wait(30)
    assert seen == ["tasker-test!"]


def test_start_thread_runs_the_target_even_when_no_named_thread_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    ran = threading.Event()
    over = _firststart.start_thread("tasker-test", ran.set)
    assert over.wait(30) and ran.is_set(), "the target ran (on the bare thread) and its end is signalled"


def test_start_thread_leaves_no_dummy_thread_behind() -> None:
    """The bare thread only starts the named one: code on it that asks threading who it is
    (logging does) must not make threading list a ``_DummyThread`` as alive for good."""
    over = _firststart.start_thread("tasker-test", lambda: threading.current_thread())
    assert over.wait(30)
    alive = threading.enumerate()
    assert not [t for t in alive if isinstance(t, threading._DummyThread)], alive
