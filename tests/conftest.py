"""Shared fixtures: managers on the manual scheduler, task kinds, leak checks.

The leak checks and waits are tasker's own testing tools (``tasker.testing``,
what its pytest plugin uses): ``children``, ``memfd_maps`` and ``tasker_threads``
are re-exported here for the test modules.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so worker processes import `jobs`

from tasker import Task, TaskManager
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

#: Free-threaded CPython (``--disable-gil``) counts references per owner thread (biased
#: reference counting): an object made on one thread and dropped on another is freed
#: only when its owner thread runs Python code again (or a collection merges it). A
#: result or a task's call made on tasker's pool thread or a worker's reader thread,
#: which then waits in C for the next message, stays until that thread runs again:
#: measured on 3.13t, a result's shared segment was unmapped as soon as the reader
#: handled the next task, and a task freed when its pool thread ran again.
FREED_LATER_WITHOUT_GIL = pytest.mark.xfail(
    bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    reason="free-threaded CPython frees an object dropped on another thread than its maker's "
    "only when the maker runs again (biased reference counting); tasker's pool and reader "
    "threads wait in C meanwhile",
    strict=False,
)

#: Why a test cannot run on Windows (scripts/test-windows runs the suite on a real
#: Windows CPython under Wine; docs/windows.md lists what it skips and why).
POSIX_PROCESSES = (
    "it reads /proc, signals process groups or runs POSIX shells; tests/test_windows_engine.py "
    "checks the same on Windows (Job Objects, suspend, handles)"
)
POSIX_SIGNALS = (
    "it kills workers with POSIX signals (SIGKILL, SIGSEGV) and matches their names; on Windows "
    "test_windows_engine.py kills a worker from outside (TerminateProcess) and checks WorkerDiedError"
)
IDLE_BOOT = (
    "it reads the worker threads' scheduling policies from /proc (SCHED_IDLE); on Windows a prestarted worker "
    "boots in the IDLE priority class: test_windows_engine.py checks it"
)
NO_OS_NICE = (
    "it reads os.nice, which Windows lacks; worker_nice sets the worker's priority class there: "
    "test_windows_engine.py checks it"
)
POSIX_LAUNCH_FAULTS = "it fakes launch failures with POSIX calls (/bin/false, AF_UNIX, RLIMIT_NOFILE)"
#: The kinds of task whose tests are skipped there: ``kind`` parameters.
WINDOWS_SKIPPED_KINDS = {"cluster": "Dask is not installed in the Windows lane"}
#: Tests that cannot run there: by folder, module or test (a node id, with or
#: without its parameters), under tests/.
YIELD_BATCHES = (
    "a worker cannot ask its named pipe whether a write would block, so a generator's values "
    "go one per message on Windows and never in batches"
)
WINDOWS_SKIPPED: dict[str, str] = {
    "cluster": "Dask is not installed in the Windows lane, and the embedded cluster's workers are processes",
    "test_pause_process.py": POSIX_PROCESSES,
    "test_process_tree.py": POSIX_PROCESSES,
    "test_frozen.py": "PyInstaller is not in the Windows lane (and these tests build Linux bundles)",
    "test_bench_smoke.py": "the benchmarks measure the process engine and its Linux peers",
    "reliability/test_chaos.py": POSIX_SIGNALS,
    "reliability/test_security.py": "it checks Unix sockets and descriptors through /proc/<pid>/fd",
    "reliability/test_soak.py": "it counts /proc/self/fd (under Wine: the Wine process's own descriptors)",
    "reliability/test_regressions.py::test_worker_death_is_seen_although_a_process_it_started_lives_on": (
        POSIX_SIGNALS
    ),
    # (its tests that kill a worker with ``Worker.kill`` run there: TerminateJobObject)
    **{
        f"test_worker_start.py::{name}": POSIX_LAUNCH_FAULTS
        for name in (
            "test_launches_back_off_then_the_waiting_task_fails_with_the_cause_and_the_command",
            "test_every_task_waiting_fails_and_a_late_one_starts_a_fresh_series",
            "test_a_launch_failure_beside_a_running_worker_never_fails_the_queue",
            "test_an_app_out_of_file_descriptors_gets_a_clear_error_then_works_again",
        )
    },
    "test_errors.py::test_worker_death_fails_only_its_task[kill_self-args1-SIGKILL]": POSIX_SIGNALS,
    "test_errors.py::test_worker_death_fails_only_its_task[segfault-args2-SIGSEGV]": POSIX_SIGNALS,
    "test_stream.py::test_a_process_generator_batches_its_values_while_the_ui_is_behind": YIELD_BATCHES,
    "test_stream.py::test_a_value_that_cannot_be_sent_in_a_batch_fails_the_task_after_the_values_before_it": (
        YIELD_BATCHES
    ),
    "test_prestart.py::test_a_prestarted_pool_serves_the_first_task_on_a_worker_that_was_ready": IDLE_BOOT,
    "test_prestart.py::test_a_task_queued_for_a_worker_booting_idle_lifts_it_at_once": IDLE_BOOT,
    "test_prestart.py::test_a_task_arriving_while_the_worker_is_put_idle_still_lifts_it": IDLE_BOOT,
    "reliability/test_parent_death.py": (
        "it reads /proc/<pid>/environ and SIGKILLs the app; on Windows test_windows_engine.py kills an app "
        "(TerminateProcess) and checks that its worker and what the worker started die"
    ),
    "reliability/test_fault_matrix.py::test_fault[sigkill_self-process]": POSIX_SIGNALS,
    "reliability/test_fault_matrix.py::test_fault[sigkill_from_outside-process]": POSIX_SIGNALS,
    "reliability/test_fault_matrix.py::test_fault[sigsegv-process]": POSIX_SIGNALS,
    "reliability/test_fault_matrix.py::test_fault_then_shutdown[sigkill_self-process]": POSIX_SIGNALS,
    "reliability/test_fault_matrix.py::test_fault_then_shutdown[sigkill_from_outside-process]": POSIX_SIGNALS,
    "test_processes.py::test_queued_large_argument_is_released_when_canceled": (
        "it counts /proc/self/fd for the payload's shared memory; on Windows payloads travel in band"
    ),
    "test_processes.py::test_worker_nice_lowers_worker_priority": NO_OS_NICE,
    "test_processes.py::test_worker_nice_applies_from_the_first_task_on_not_to_the_boot_and_imports": NO_OS_NICE,
    "reliability/test_regressions.py::test_received_shared_memory_is_closed_when_the_peer_dies_mid_message": (
        "payloads travel in band over the pipe on Windows: there is no shared-memory segment to close"
    ),
}


def windows_skip_reason(item: pytest.Item) -> str | None:
    """Why this test cannot run on Windows, or None."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        reason = WINDOWS_SKIPPED_KINDS.get(str(callspec.params.get("kind")))
        if reason:
            return reason
    full = item.nodeid.removeprefix("tests/")
    node = full.split("[")[0]
    path, _, _ = node.partition("::")
    parts = path.split("/")
    for key in [full, node] + ["/".join(parts[:depth]) for depth in range(len(parts), 0, -1)]:
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


#: How long a Python process a test started may take to end after the test (Wine ends a
#: killed job's processes asynchronously; a loaded machine takes seconds).
LEFT_BEHIND_GRACE = 30.0


def _command_line(pid: int) -> str:
    try:
        import psutil

        return " ".join(psutil.Process(pid).cmdline())
    except Exception:  # psutil missing, the process gone, or a call Wine lacks
        return "(command line unknown)"


if sys.platform == "win32":

    @pytest.fixture(autouse=True)
    def _no_python_left_behind() -> Iterator[None]:
        """On Windows, a test fails when a Python process it started outlives it.

        (Linux tests run what can multiply processes in a PID namespace; on Windows a
        worker that outlived its app or ``shutdown()`` would live on unseen: this
        names the test that left it. Autouse, so torn down after the test's own fixtures.)
        """
        from tasker._platform import _windows_procs

        def pythons() -> dict[int, tuple[int, str]]:
            return {
                pid: entry
                for pid, entry in _windows_procs.processes().items()
                if entry[1].lower() == "python.exe" and pid != os.getpid()
            }

        before = set(pythons())
        yield
        new = {pid: entry for pid, entry in pythons().items() if pid not in before}
        left = {pid: entry for pid, entry in new.items() if not _windows_procs.wait_gone(pid, LEFT_BEHIND_GRACE)}
        if left:
            named = "; ".join(
                f"pid {pid} (parent {parent}, this test's process {os.getpid()}): {_command_line(pid)}"
                for pid, (parent, _) in sorted(left.items())
            )
            pytest.fail(f"a Python process this test started outlived it by {LEFT_BEHIND_GRACE:.0f} s: {named}")


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
