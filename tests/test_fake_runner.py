"""A runner written against the Runner protocol alone, driven by hand.

No thread and no process: the test plays the runner (it decides when a task
begins and how it ends), the manual scheduler plays the main thread and a
FakeClock plays time. Every ending of the lifecycle goes through the same
``Lifecycle`` calls a real runner makes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tasker
import tasker._core._cancelled
from tasker import CancelledError, Task, TaskManager, TaskTimeoutError
from tasker._core._ask import Question
from tasker._core._runner import RUNNERS, Lifecycle, register_runner
from tasker._core._status import CANCEL
from tasker.schedulers import ManualScheduler
from tasker.testing import FakeClock

pytestmark = pytest.mark.timeout(30)


class FakeRunner:
    """Records what the lifecycle asks of it; runs nothing by itself."""

    kind = "fake"

    def __init__(self, lifecycle: Lifecycle, options: Any) -> None:
        self.lifecycle = lifecycle
        self.submitted: list[Task[Any]] = []
        self.calls: list[tuple[str, int]] = []

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and args[0] == "refuse":
            raise TypeError("the fake runner refuses this call")
        return ("prepared", func)

    def submit(self, task: Task[Any]) -> None:
        self.submitted.append(task)

    def interrupt(self, task: Task[Any]) -> None:
        self.calls.append(("interrupt", task.id))

    def release(self, task: Task[Any]) -> None:
        self.calls.append(("release", task.id))

    def abandon(self, task: Task[Any]) -> None:
        self.calls.append(("abandon", task.id))

    def restart(self) -> None:
        self.calls.append(("restart", 0))

    def shutdown(self) -> None:
        self.calls.append(("shutdown", 0))


def work(ctx: Any, *args: Any) -> None:  # never called: the fake runs nothing
    raise AssertionError


class World:
    def __init__(self) -> None:
        self.scheduler, self.clock = ManualScheduler(), FakeClock()
        self.mgr = TaskManager(main_thread_scheduler=self.scheduler, clock=self.clock, cancel_grace_period=2.0)
        self.done: list[Task[Any]] = []
        self.events: list[tuple[str, Any]] = []

    @property
    def runner(self) -> FakeRunner:
        runner = self.mgr._lifecycle.runners["fake"]
        assert isinstance(runner, FakeRunner)
        return runner

    def start(self, *args: Any, **kwargs: Any) -> Task[Any]:
        kwargs.setdefault("when_done", self.done.append)
        kwargs.setdefault("when_event", lambda task, name, data: self.events.append((name, data)) or data)
        return self.mgr._submit("fake", work, args, kwargs)


@pytest.fixture
def world() -> Iterator[World]:
    register_runner("fake", FakeRunner, method="run_fake")
    threads_before = set(threading.enumerate())
    w = World()
    yield w
    w.mgr.shutdown(timeout=0)
    w.scheduler.pump()
    RUNNERS.pop("fake", None)
    assert set(threading.enumerate()) == threads_before, "the lifecycle alone started a thread"


def test_completed(world: World) -> None:
    task = world.start(1)
    assert world.runner.submitted == [task] and task.payload == ("prepared", work)
    assert task.get_status() == "pending"
    assert world.runner.lifecycle.begin(task) is True
    assert world.runner.lifecycle.begin(task) is False  # once
    world.runner.lifecycle.report(task, 0.5, "half")
    world.runner.lifecycle.post_event(task, "step", 1)
    world.runner.lifecycle.conclude(task, "value")
    assert world.runner.lifecycle.conclude(task, "again") is False  # once
    world.scheduler.pump()
    assert world.done == [task] and task.result() == "value"
    assert world.events == [("step", 1)]
    assert (task.get_progress(), task.get_message()) == (0.5, "half")


def test_failed(world: World) -> None:
    task = world.start()
    world.runner.lifecycle.begin(task)
    world.runner.lifecycle.conclude(task, error=KeyError("k"))
    world.scheduler.pump()
    assert world.done == [task] and isinstance(task.exception(), KeyError)


def test_canceled_while_pending_never_begins(world: World) -> None:
    task = world.start()
    assert task.cancel() is True
    assert world.runner.calls == [("interrupt", task.id)]  # no release: it held no slot
    assert world.runner.lifecycle.begin(task) is False
    world.scheduler.pump()
    assert world.done == [task] and task.get_status() == "canceled"


def test_canceled_while_running_stops_or_is_abandoned(world: World) -> None:
    quick, stuck = world.start(), world.start()
    for task in (quick, stuck):
        world.runner.lifecycle.begin(task)
        task.cancel()
        assert task.control[0] == CANCEL
    assert world.runner.calls == [("interrupt", quick.id), ("release", quick.id),
                                  ("interrupt", stuck.id), ("release", stuck.id)]  # fmt: skip
    world.runner.lifecycle.conclude(quick, "late result")  # the function saw the flag and returned
    world.clock.advance(1.999)
    assert not stuck.is_final()
    world.clock.advance(0.001)  # grace over
    assert ("abandon", stuck.id) in world.runner.calls and stuck.get_status() == "canceled"
    assert ("abandon", quick.id) not in world.runner.calls
    world.scheduler.pump()
    assert world.done == [quick, stuck]
    with pytest.raises(CancelledError):
        quick.result()  # the late result is discarded


def test_timed_out(world: World) -> None:
    task = world.start(timeout=5.0)
    world.runner.lifecycle.begin(task)
    world.clock.advance(5.0)
    assert task.control[0] == CANCEL and not task.is_final()  # asked to stop, grace running
    world.runner.lifecycle.conclude(task, error=RuntimeError("stopped"))
    world.scheduler.pump()
    assert isinstance(task.exception(), TaskTimeoutError)
    assert isinstance(task.exception().__cause__, RuntimeError)


def test_replaced_by_key(world: World) -> None:
    old = world.start(key="preview")
    world.runner.lifecycle.begin(old)
    new = world.start(key="preview")
    assert old.is_cancelled() and world.mgr.get_task("preview") is new
    world.runner.lifecycle.conclude(old)
    world.runner.lifecycle.begin(new)
    world.runner.lifecycle.conclude(new, 2)
    world.scheduler.pump()
    assert [t.get_status() for t in world.done] == ["canceled", "completed"]


def test_a_question_is_answered_by_the_handler(world: World) -> None:
    task = world.start()
    world.runner.lifecycle.begin(task)
    answers: list[Any] = []
    world.runner.lifecycle.post_question(task, Question("overwrite?", "a.txt", lambda v, e: answers.append((v, e))))
    world.scheduler.pump()
    assert answers == [("a.txt", None)]  # the when_event handler returns its data


def test_shutdown_ends_everything_and_stops_the_runner(world: World) -> None:
    running, pending = world.start(), world.start()
    world.runner.lifecycle.begin(running)
    world.mgr.shutdown(timeout=0)
    world.scheduler.pump()
    assert {t.get_status() for t in (running, pending)} == {"canceled"}
    assert world.done == [running, pending] or world.done == [pending, running]
    assert ("shutdown", 0) in world.runner.calls
    assert ("release", running.id) not in world.runner.calls  # nothing to free at shutdown


def test_prepare_refuses_at_the_call(world: World) -> None:
    with pytest.raises(TypeError, match="refuses"):
        world.start("refuse")
    assert world.runner.submitted == [] and not world.mgr.has_tasks()


def test_the_kind_name_is_used_in_errors(world: World) -> None:
    async def coro(ctx: Any) -> None: ...

    with pytest.raises(TypeError, match=r"run_fake\(\) got the coroutine function"):
        world.mgr._submit("fake", coro, (), {})
    with pytest.raises(ValueError, match="no runner for tasks of kind 'nope'"):
        world.mgr._submit("nope", work, (), {})


# -- tasks made of tasks, on the fake runner: no thread, every step by hand ---------------------
def test_a_chain_step_runs_in_the_runners_kind_and_shows_its_progress(world: World) -> None:
    up = world.start(1)
    chain = up.then(work, "extra", kind="fake", when_done=world.done.append)
    assert chain.get_status() == "pending" and world.runner.submitted == [up]
    lifecycle = world.runner.lifecycle
    lifecycle.begin(up)
    lifecycle.conclude(up, 20)
    step = world.runner.submitted[-1]
    assert step is not up and step.call[1] == (20, "extra") and not step.visible
    assert chain.get_status() == "running"
    lifecycle.begin(step)
    lifecycle.report(step, 0.25, "a quarter")
    assert (chain.get_progress(), chain.get_message()) == (0.25, "a quarter")
    lifecycle.conclude(step, "out")
    world.scheduler.pump()
    assert chain.result() == "out" and world.done[-1] is chain


def test_canceling_a_gather_cancels_its_tasks_and_nothing_runs_twice(world: World) -> None:
    import tasker

    a, b = world.start(), world.start()
    both = tasker.when_all(a, b, when_done=world.done.append)
    world.runner.lifecycle.begin(a)
    both.cancel()
    world.clock.advance(2.0)  # a's grace period: it never stopped, so it is abandoned
    world.scheduler.pump()
    assert [t.get_status() for t in (both, a, b)] == ["canceled"] * 3
    assert world.done.count(both) == 1
    assert ("interrupt", a.id) in world.runner.calls and ("abandon", a.id) in world.runner.calls


def test_a_batch_on_the_fake_runner_is_one_task_of_many_parts(world: World) -> None:
    seen: list[tuple[int, Any, Any]] = []
    batch = world.mgr.map(
        work, ["a", "b", "c"], kind="fake", chunksize=1, max_concurrency=2,
        when_item=lambda b, i, r, e: seen.append((i, r, e)), when_done=world.done.append,
    )
    lifecycle = world.runner.lifecycle
    first, second = world.runner.submitted
    assert [first.call[1][1], second.call[1][1]] == [["a"], ["b"]] and not (first.visible or second.visible)
    lifecycle.begin(first)
    lifecycle.report(first, 0.5, None)
    assert batch.get_progress() == pytest.approx(0.5 / 3)
    lifecycle.conclude(first, (["A"], None))  # a chunk: its values, its failures by offset
    third = world.runner.submitted[-1]  # its slot went to the next item
    assert third.call[1][1] == ["c"]
    lifecycle.begin(second)
    lifecycle.conclude(second, ([None], {0: KeyError("b")}))
    lifecycle.begin(third)
    lifecycle.conclude(third, (["C"], None))
    world.scheduler.pump()
    error = batch.exception()
    assert world.done == [batch] and batch.get_message() == "3 of 3 · 1 failed"
    assert isinstance(error, tasker.BatchError) and error.results == ["A", None, "C"]
    assert sorted(i for i, _, _ in seen) == [0, 1, 2]
