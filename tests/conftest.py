"""Shared fixtures: managers on the manual scheduler, task kinds, leak checks."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so worker processes import `jobs`

from tasker import Task, TaskManager
from tasker.schedulers import ManualScheduler

import jobs

KINDS = ("thread", "coroutine", "process")


class Harness:
    """A manager on the manual scheduler plus helpers to drive it exactly."""

    def __init__(self, **options: Any) -> None:
        self.scheduler = ManualScheduler()
        options.setdefault("max_processes", 2)
        options.setdefault("cancel_grace_period", 2.0)
        self.mgr = TaskManager(main_thread_scheduler=self.scheduler, **options)
        self.done: list[Task[Any]] = []
        self.done_threads: list[threading.Thread] = []
        self.updates: list[tuple[list[Task[Any]], float]] = []
        self.mgr.tasks_updated.connect(self._on_update, weak=False)

    def _on_update(self, sender: Any, tasks: list[Task[Any]], progress: float) -> None:
        self.updates.append((tasks, progress))

    def when_done(self, task: Task[Any]) -> None:
        self.done.append(task)
        self.done_threads.append(threading.current_thread())

    def start(self, kind: str, job: str, *args: Any, **kwargs: Any) -> Task[Any]:
        """Start ``jobs.<job>`` (or its async form) as a task of ``kind``."""
        kwargs.setdefault("when_done", self.when_done)
        if kind == "coroutine":
            return self.mgr.add_coroutine(jobs.ASYNC[job], *args, **kwargs)
        if kind == "thread":
            return self.mgr.run_thread(jobs.SYNC[job], *args, **kwargs)
        return self.mgr.run_process(jobs.SYNC[job], *args, **kwargs)

    def pump_until(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        return self.scheduler.pump_until(predicate, timeout)

    def settle(self, timeout: float = 15.0) -> None:
        assert self.mgr.wait_until_settled(timeout), f"not settled: {list(self.mgr)}"

    def finish(self, task: Task[Any], timeout: float = 15.0) -> Task[Any]:
        assert self.pump_until(lambda: task in self.done, timeout), f"{task} never ended"
        return task


def shut_down_and_check_leaks(harnesses: list[Harness], before: set[int]) -> None:
    """Shut the managers down; then no worker process, reader, clock or hub remains."""
    for h in harnesses:
        h.mgr.shutdown(timeout=1.0)
        h.scheduler.pump()
    assert children() <= before, "worker processes left behind"
    leftover = [t.name for t in tasker_threads() if not t.name.startswith("tasker-thread")]
    assert leftover == [], f"threads left behind: {leftover}"
    assert memfd_maps() == 0, "shared memory left mapped"


@pytest.fixture
def harness() -> Iterator[Harness]:
    before = children()
    h = Harness()
    yield h
    shut_down_and_check_leaks([h], before)


@pytest.fixture
def make_harness() -> Iterator[Callable[..., Harness]]:
    before = children()
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        h = Harness(**options)
        made.append(h)
        return h

    yield make
    shut_down_and_check_leaks(made, before)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _release_stuck_threads() -> Iterator[None]:
    jobs.RELEASE.clear()
    yield
    jobs.RELEASE.set()


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Like ``pump_until`` without pumping (the main thread must stay idle): its last value."""
    tick = threading.Event()  # never set: bounded waits between looks
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        tick.wait(0.002)
    return True


def children() -> set[int]:
    """PIDs of this process's live children (from /proc)."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry))
    return found


def memfd_maps() -> int:
    """Mappings of tasker's shared-memory payloads in this process."""
    with open("/proc/self/maps") as f:
        return sum("memfd:tasker-payload" in line for line in f)


def tasker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tasker-") and t.is_alive()]
