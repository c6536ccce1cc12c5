"""A task's state fields and their rules (``_status``: ``may_move``, ``control_for``,
``state_faults``), on the fake runner driven by hand: every sequence of lifecycle
calls keeps every rule, and the check finds a broken one."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tasker._core._cancelled  # noqa: F401  (imported: the manager starts no warm-up thread)
from tasker import Task, TaskStatus
from tasker._core._runner import RUNNERS, register_runner
from tasker._core._status import CANCEL, PAUSE, RUN, control_for, may_move, state_faults

from test_fake_runner import FakeRunner, World

pytestmark = pytest.mark.timeout(60)

FINAL = [s for s in TaskStatus if s.is_final]


@pytest.fixture
def world() -> Iterator[World]:
    register_runner("fake", FakeRunner, method="run_fake")
    w = World()
    yield w
    w.mgr.shutdown(timeout=0)
    w.scheduler.pump()
    RUNNERS.pop("fake", None)


def test_status_moves_only_forward_and_ends_once() -> None:
    allowed = {(old, new) for old in TaskStatus for new in TaskStatus if may_move(old, new)}
    pending, running = TaskStatus.PENDING, TaskStatus.RUNNING
    assert allowed == {(pending, running)} | {(old, new) for old in (pending, running) for new in FINAL}


def test_cancel_wins_over_pause() -> None:
    assert [control_for(c, p) for c in (False, True) for p in (False, True)] == [RUN, PAUSE, CANCEL, CANCEL]


def _check(world: World, task: Task[Any]) -> None:
    with world.mgr._lifecycle.lock:
        assert state_faults(task) == [], (task, state_faults(task))


def _steps(world: World, task: Task[Any]) -> dict[str, Callable[[], object]]:
    lifecycle = world.runner.lifecycle
    return {
        "begin": lambda: lifecycle.begin(task),
        "report": lambda: lifecycle.report(task, 0.5, "half"),
        "pause": task.pause,
        "resume": task.resume,
        "cancel": task.cancel,
        "time passes": lambda: world.clock.advance(1.5),  # the timeout (3 s), the grace period (2 s)
        "complete": lambda: lifecycle.conclude(task, "value"),
        "fail": lambda: lifecycle.conclude(task, error=KeyError("k")),
        "deliver": world.scheduler.pump,
    }


@pytest.mark.parametrize("seed", range(40))
def test_every_sequence_of_lifecycle_calls_keeps_the_rules(world: World, seed: int) -> None:
    rng = random.Random(seed)
    task = world.start(timeout=3.0 if seed % 2 else None)
    steps = _steps(world, task)
    seen = [task.get_status()]
    for _ in range(12):
        name = rng.choice(list(steps))
        steps[name]()
        _check(world, task)
        if task.get_status() is not seen[-1]:
            assert may_move(seen[-1], task.get_status()), (name, seen, task.get_status())
            seen.append(task.get_status())
    world.mgr.shutdown(timeout=0)
    world.scheduler.pump()
    _check(world, task)
    assert task.is_final() and world.done == [task] and task._done_delivered


@pytest.mark.parametrize(
    "breaks",
    [
        lambda task: task.control.__setitem__(0, PAUSE),  # a byte that says pause, unpaused
        lambda task: setattr(task, "_paused", True),  # paused, byte says run
        lambda task: setattr(task, "_ending_queued", True),  # an ending queued while live
        lambda task: setattr(task, "_done_delivered", True),  # delivered with none queued
    ],
    ids=["byte", "paused", "ending", "delivered"],
)
def test_the_check_finds_a_broken_rule(world: World, breaks: Callable[[Task[Any]], object]) -> None:
    task = world.start()
    world.runner.lifecycle.begin(task)
    assert state_faults(task) == []
    breaks(task)
    assert state_faults(task) != []


def test_a_task_that_ends_while_paused_reads_run(world: World) -> None:
    """A paused task whose ending is not a cancel (its worker died): a pause point
    entered after the ending (an abandoned function going on) must not hold it."""
    task = world.start()
    world.runner.lifecycle.begin(task)
    assert task.pause() and task.control[0] == PAUSE
    world.runner.lifecycle.conclude(task, error=RuntimeError("the worker died"))
    assert task.get_status() == "failed" and not task.is_paused()
    assert task.control[0] == RUN
    assert task._pause_point() is False  # returns at once: nothing to wait for
    _check(world, task)
