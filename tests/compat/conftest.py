"""Fixtures of the Rayforge compat tests: managers on tasker's manual scheduler or inline."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing import resource_tracker
from typing import Any

import pytest

from tasker.compat.rayforge import Task, TaskManager
from tasker.schedulers import ManualScheduler
from tasker.testing import LeakCheck


def run_inline(callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """The scheduler of Rayforge's own tests: run the callback at once, where it is produced."""
    callback(*args, **kwargs)


class RfHarness:
    """A compat TaskManager plus what its callbacks saw."""

    def __init__(self, scheduler: Any = None, **options: Any) -> None:
        self.scheduler = ManualScheduler() if scheduler is None else scheduler
        self.mgr = TaskManager(main_thread_scheduler=self.scheduler, **options)
        self.done: list[Task] = []
        self.done_threads: list[threading.Thread] = []
        self._cv = threading.Condition()
        self.updates: list[tuple[list[Task], float]] = []
        self.mgr.tasks_updated.connect(self._on_update, weak=False)

    def _on_update(self, sender: Any, tasks: list[Task], progress: float) -> None:
        self.updates.append((list(tasks), progress))

    def when_done(self, task: Task) -> None:
        with self._cv:
            self.done.append(task)
            self.done_threads.append(threading.current_thread())
            self._cv.notify_all()

    def pump_until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
        """Run main-thread callbacks (manual scheduler) until ``predicate()``."""
        assert isinstance(self.scheduler, ManualScheduler), "pump_until needs the manual scheduler"
        return self.scheduler.pump_until(predicate, timeout)

    def finish(self, task: Task, timeout: float = 20.0) -> Task:
        """Wait until ``when_done`` saw ``task`` (pumping the manual scheduler, if that is the one)."""
        if isinstance(self.scheduler, ManualScheduler):
            ended = self.scheduler.pump_until(lambda: task in self.done, timeout)
        else:
            with self._cv:
                ended = self._cv.wait_for(lambda: task in self.done, timeout)
        assert ended, f"{task!r} never ended"
        return task

    def pump(self) -> None:
        if isinstance(self.scheduler, ManualScheduler):
            self.scheduler.pump()


@pytest.fixture
def make_rf() -> Iterator[Callable[..., RfHarness]]:
    """Managers built by the test; afterwards every one is shut down and no process is left."""
    # multiprocessing's resource tracker (started by the first multiprocessing Manager,
    # e.g. for shared_state) lives as long as this process: start it before counting.
    if sys.platform != "win32":  # (Windows has no resource tracker process)
        resource_tracker.ensure_running()
    check = LeakCheck()
    made: list[RfHarness] = []

    def make(scheduler: Any = None, **options: Any) -> RfHarness:
        h = RfHarness(scheduler, **options)
        made.append(h)
        return h

    yield make
    for h in made:
        h.mgr.shutdown()
        h.pump()
    check_nothing_left(check)


def check_nothing_left(check: LeakCheck) -> None:
    """No worker or manager process, thread of tasker's or payload outlives the managers."""
    check.check(ignore_threads=("tasker-thread",))


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """For a test that makes its own managers (and shuts them down): check afterwards."""
    if sys.platform != "win32":  # (Windows has no resource tracker process)
        resource_tracker.ensure_running()
    check = LeakCheck()
    yield
    check_nothing_left(check)


@pytest.fixture
def rf(make_rf: Callable[..., RfHarness]) -> RfHarness:
    """A compat TaskManager on tasker's manual scheduler (callbacks run when the test pumps)."""
    return make_rf()
