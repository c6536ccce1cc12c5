"""Shared fixtures: managers on the manual scheduler, task kinds, leak checks.

The leak checks and waits are tasker's own testing tools (``tasker.testing``,
what its pytest plugin uses): ``children``, ``memfd_maps`` and ``tasker_threads``
are re-exported here for the test modules.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so worker processes import `jobs`

from tasker import Task, TaskManager, UnsupportedPlatformError
from tasker.schedulers import ManualScheduler
from tasker.testing import LeakCheck, shut_down_and_check, tasker_threads, wait_settled
from tasker.testing import child_pids as children
from tasker.testing import payload_mappings as memfd_maps

import jobs

try:  # no wall-clock bound in any test: hypothesis's per-example deadline (200 ms) fails a
    # correct example that a loaded machine merely descheduled
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("tasker", deadline=None)
    _hypothesis_settings.load_profile("tasker")
except ImportError:  # a lane without hypothesis runs no property test
    pass

__all__ = [
    "Harness", "children", "memfd_maps", "shut_down_and_check_leaks", "tasker_threads", "wait_for",
]

KINDS = ("thread", "coroutine", "process")

#: Why a test cannot run on Windows (scripts/test-windows runs the suite on a real
#: Windows CPython under Wine; docs/windows.md lists what it skips and why).
NO_PROCESS_ENGINE = "the process engine does not run on Windows yet (issue: platform seam)"
#: The kinds of task whose tests are skipped there: ``kind`` parameters.
WINDOWS_SKIPPED_KINDS = {"process": NO_PROCESS_ENGINE, "cluster": NO_PROCESS_ENGINE}
#: Tests that cannot run there: by folder, module or test (a node id without its
#: parameters), under tests/. Besides these and the kinds above, a test that starts
#: a process task, here or in a Python it runs, is skipped when ``run_process``
#: refuses (``pytest_runtest_makereport`` below).
WINDOWS_SKIPPED: dict[str, str] = {
    "cluster": "Dask is not installed in the Windows lane, and the embedded cluster's workers are processes",
    "test_processes.py": NO_PROCESS_ENGINE,
    "test_pause_process.py": NO_PROCESS_ENGINE,
    "test_process_tree.py": NO_PROCESS_ENGINE,
    "test_recycling.py": NO_PROCESS_ENGINE,
    "test_frozen.py": NO_PROCESS_ENGINE,
    "test_prestart.py": NO_PROCESS_ENGINE,
    "test_worker_start.py": NO_PROCESS_ENGINE,
    "test_bench_smoke.py": "the benchmarks measure the process engine and its Linux peers",
    "reliability/test_regressions.py::test_received_shared_memory_is_closed_when_the_peer_dies_mid_message": (
        NO_PROCESS_ENGINE
    ),
    # These run an app's test file whose tests start process tasks, and count its outcomes.
    "test_pytest_plugin.py::test_fixtures_run_every_kind_of_task_and_drive_fake_time": NO_PROCESS_ENGINE,
    "test_pytest_plugin.py::test_the_default_task_mgr_runs_on_the_manual_scheduler_for_a_test": NO_PROCESS_ENGINE,
    "test_pytest_plugin.py::test_what_a_test_leaves_behind_fails_it": NO_PROCESS_ENGINE,
}


def windows_skip_reason(item: pytest.Item) -> str | None:
    """Why this test cannot run on Windows, or None."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        reason = WINDOWS_SKIPPED_KINDS.get(str(callspec.params.get("kind")))
        if reason:
            return reason
    node = item.nodeid.split("[")[0].removeprefix("tests/")
    path, _, _ = node.partition("::")
    parts = path.split("/")
    for key in [node] + ["/".join(parts[:depth]) for depth in range(len(parts), 0, -1)]:
        reason = WINDOWS_SKIPPED.get(key)
        if reason:
            return reason
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.platform != "win32":
        return
    for item in items:
        reason = windows_skip_reason(item)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"on Windows: {reason}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On Windows, a test that starts a process task is skipped, not failed.

    ``run_process`` raises ``UnsupportedPlatformError`` there (tests/test_platform.py
    checks that); a test that needs it cannot run, whether it called ``run_process``
    itself or ran a Python that did (its failure then shows that child's traceback).
    """
    outcome = yield
    if sys.platform != "win32" or call.excinfo is None:
        return
    if not (
        call.excinfo.errisinstance(UnsupportedPlatformError)
        or f"{UnsupportedPlatformError.__module__}.UnsupportedPlatformError: process tasks" in str(call.excinfo.value)
    ):
        return
    report = outcome.get_result()  # type: ignore[attr-defined]
    report.outcome = "skipped"
    report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: on Windows: {NO_PROCESS_ENGINE}")


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
        wait_settled(self.mgr, timeout)

    def finish(self, task: Task[Any], timeout: float = 15.0) -> Task[Any]:
        assert self.pump_until(lambda: task in self.done, timeout), f"{task} never ended"
        return task


def shut_down_and_check_leaks(harnesses: list[Harness], check: LeakCheck) -> None:
    """Shut the managers down; then no worker process, reader, clock or hub remains.

    The check of tasker's pytest plugin (``tasker.testing``), without its rule on
    live tasks (tests here leave tasks running on purpose) and without the pool's
    threads (a stuck task's thread is released after the test: ``_release_stuck_threads``).
    """
    shut_down_and_check(
        [h.mgr for h in harnesses], check, live_tasks_ok=True, ignore_threads=("tasker-thread",)
    )


@pytest.fixture
def harness() -> Iterator[Harness]:
    check = LeakCheck()
    h = Harness()
    yield h
    shut_down_and_check_leaks([h], check)


@pytest.fixture
def make_harness() -> Iterator[Callable[..., Harness]]:
    check = LeakCheck()
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        h = Harness(**options)
        made.append(h)
        return h

    yield make
    shut_down_and_check_leaks(made, check)


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


# -- free-threaded CPython: the run must really have the GIL off ------------------------------
def _gil_state() -> str:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return "no free-threaded build" if is_enabled is None else f"enabled={is_enabled()}"


def pytest_report_header(config: pytest.Config) -> str:
    return f"GIL: {_gil_state()}"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("TASKER_EXPECT_NO_GIL") == "1" and _gil_state() != "enabled=False":
        raise pytest.UsageError(f"TASKER_EXPECT_NO_GIL=1 but the GIL is on ({_gil_state()})")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("TASKER_EXPECT_NO_GIL") == "1" and _gil_state() != "enabled=False":
        # An extension module imported during the run turned the GIL back on.
        print(f"\nTASKER_EXPECT_NO_GIL=1 but the GIL is on at the end of the run ({_gil_state()})")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
