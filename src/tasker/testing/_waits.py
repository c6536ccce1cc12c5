"""Driving a manager from a test: managers on the manual scheduler, bounded waits.

A manager built by ``manual_task_manager`` runs its main-thread callbacks
(``when_done``, ``when_event``, signal handlers) only when the test pumps it, in
the test's thread. ``pump_until`` and ``wait_settled`` pump it for a
bounded time and, if that is not enough, fail with a message that lists the
live tasks and their states (and, with a ``FakeClock``, the timers waiting for
time to move), instead of hanging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._clock import FakeClock
from .._core._manager import TaskManager
from ..schedulers import ManualScheduler

if TYPE_CHECKING:
    from .._core._task import Task
    from ..schedulers import Scheduler

#: How long the waits give up after, by default (seconds of real time).
DEFAULT_TIMEOUT = 10.0


class WaitTimeout(AssertionError):
    """A bounded wait of a test ran out (an ``AssertionError``: the test fails)."""


WaitTimeout.__module__ = "tasker.testing"  # as tracebacks show it


class PinnedTaskManager(TaskManager):
    """A ``TaskManager`` whose ``configure`` changes every option but the scheduler and clock.

    Built by ``manual_task_manager``; application code that asks
    ``task_mgr.initialize(main_thread_scheduler="glib")`` while this manager serves
    ``task_mgr`` still gets its callbacks run by the test's pumping (and a fake
    clock stays the test's).
    """

    def configure(self, main_thread_scheduler: Any = None, **options: Any) -> None:
        if self.options.clock is not None:
            options.pop("clock", None)
        super().configure(None, **options)


PinnedTaskManager.__module__ = "tasker.testing"


def manual_task_manager(**options: Any) -> PinnedTaskManager:
    """A new manager on a new ``ManualScheduler``; ``options`` as ``TaskManager`` takes them.

    Its callbacks run only when the test pumps it (``pump``,
    ``pump_until``, ``wait_settled``), in the test's thread. Pass
    ``clock=FakeClock()`` to drive time too. ``main_thread_scheduler`` is ignored.
    """
    options.pop("main_thread_scheduler", None)
    return PinnedTaskManager(main_thread_scheduler=ManualScheduler(), **options)


def pump(manager: TaskManager, timeout: float = 0.0) -> None:
    """Run the main-thread callbacks queued so far, here (waiting up to ``timeout`` s for the first)."""
    manager.scheduler.pump(timeout)


def pump_until(manager: TaskManager, predicate: Callable[[], object], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Pump ``manager`` until ``predicate()`` is true; ``WaitTimeout`` after ``timeout`` s.

    The message names the predicate and lists the manager's live tasks.
    """
    scheduler = manager.scheduler
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if predicate():
                return
            raise WaitTimeout(
                f"pump_until: {_name(predicate)} still false after {timeout:g} s\n{describe_tasks(manager)}"
            )
        _pump_or_wait(scheduler, min(remaining, 0.05))


def wait_settled(manager: TaskManager, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait (pumping) until no task is live and every callback ran; ``WaitTimeout`` after ``timeout`` s."""
    if not manager.wait_until_settled(timeout):
        raise WaitTimeout(f"wait_settled: not settled after {timeout:g} s\n{describe_tasks(manager)}")


def describe_tasks(manager: TaskManager) -> str:
    """The live tasks of ``manager``, one per line, with what a failing test needs to know."""
    tasks = list(manager)
    lines = [plural(len(tasks), "live task") + (":" if tasks else "")]
    lines += [f"  {describe_task(task)}" for task in tasks]
    scheduler = manager.scheduler
    pending = getattr(scheduler, "pending", None)
    if callable(pending) and pending():
        lines.append(f"{plural(pending(), 'main-thread callback')} queued (pump the manager to run them)")
    clock = manager.options.clock
    if isinstance(clock, FakeClock) and clock.pending():
        lines.append(
            f"the fake clock is at {clock.now():g} s with {plural(clock.pending(), 'timer')} pending, the next one "
            f"due in {clock.next_due_in():g} s: time moves only when the test calls advance()"
        )
    return "\n".join(lines)


def describe_task(task: Task[Any]) -> str:
    """``#7 'render' (process) running 40 % 'frame 8 of 20', cancel requested``."""
    text = f"#{task.id} {task.name!r} ({task.kind}) {task.get_status()}"
    if task.get_progress():
        text += f" {task.get_progress():.0%}"
    if task.get_message() is not None:
        text += f" {task.get_message()!r}"
    if task.is_cancelled():
        text += ", cancel requested"
    if task.timeout is not None:
        text += f", timeout {task.timeout:g} s"
    return text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _name(predicate: Callable[[], object]) -> str:
    name = getattr(predicate, "__qualname__", None) or repr(predicate)
    self = getattr(predicate, "__self__", None)
    return f"{self!r}.{predicate.__name__}()" if self is not None else f"{name}()"


_NEVER = threading.Event()


def _pump_or_wait(scheduler: Scheduler, timeout: float) -> None:
    """Run callbacks for up to ``timeout`` s; a scheduler that cannot pump here is waited on."""
    if not scheduler.pump(timeout):
        _NEVER.wait(min(timeout, 0.005))
