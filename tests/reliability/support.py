"""Shared pieces of the reliability suite: scale, resource probes, a recording harness."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from tasker import TaskManager
from tasker.schedulers import ManualScheduler

import jobs
from . import rjobs
from conftest import Harness, children, memfd_maps

#: ``TASKER_FULL=1`` runs the full-size version (see docs/reliability.md).
FULL = os.environ.get("TASKER_FULL", "") not in ("", "0")


def scale(ci: int, full: int) -> int:
    """A count: small in CI, the full figure in full mode (env overrides win)."""
    return full if FULL else ci


class NotifyingScheduler(ManualScheduler):
    """The manual scheduler, plus an event set whenever a callback is queued."""

    def __init__(self) -> None:
        super().__init__()
        self.posted = threading.Event()

    def call_soon(self, fn: Callable[[], object]) -> None:
        super().call_soon(fn)
        self.posted.set()


class RHarness(Harness):
    """The suite's harness: also records events, and the order of events and endings."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # Same manager, but on a scheduler that can tell when work was queued.
        self.mgr.shutdown()
        self.scheduler = NotifyingScheduler()
        options.setdefault("max_processes", 2)
        options.setdefault("cancel_grace_period", 2.0)
        self.mgr = TaskManager(main_thread_scheduler=self.scheduler, **options)
        self.mgr.tasks_updated.connect(self._on_update, weak=False)
        self.events: list[tuple[Any, str, Any]] = []
        self.log: list[tuple[str, Any]] = []  # ("event" | "done", task), main thread only

    def when_done(self, task: Any) -> None:
        super().when_done(task)
        self.log.append(("done", task))

    def when_event(self, task: Any, name: str, data: Any) -> None:
        self.events.append((task, name, data))
        self.log.append(("event", task))

    def start(self, kind: str, job: str, *args: Any, **kwargs: Any) -> Any:
        """Start ``rjobs.<job>`` (or ``jobs.<job>``) as a task of ``kind``."""
        kwargs.setdefault("when_done", self.when_done)
        kwargs.setdefault("when_event", self.when_event)
        sync = rjobs.SYNC.get(job) or jobs.SYNC[job]
        if kind == "coroutine":
            return self.mgr.add_coroutine(rjobs.ASYNC.get(job) or jobs.ASYNC[job], *args, **kwargs)
        if kind == "thread":
            return self.mgr.run_thread(sync, *args, **kwargs)
        return self.mgr.run_process(sync, *args, **kwargs)


# -- resource probes (this process) -------------------------------------------------
def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def memfd_fds(pid: int | str = "self") -> int:
    """Open shared-memory descriptors of tasker's in a process (one cancel-flag page per worker,
    payloads in flight): memfds (linux platform) or unlinked shm segments (posix platform)."""
    count = 0
    base = f"/proc/{pid}/fd"
    try:
        names = os.listdir(base)
    except OSError:
        return 0
    for name in names:
        try:
            link = os.readlink(f"{base}/{name}")
            if "tasker-flags" in link or "tasker-payload" in link:
                count += 1
        except OSError:
            pass
    return count


def payload_fds(pid: int | str = "self") -> int:
    """Open descriptors of shared-memory payloads (memfd, or unlinked shm) in a process."""
    base = f"/proc/{pid}/fd"
    count = 0
    for name in os.listdir(base):
        try:
            count += "tasker-payload" in os.readlink(f"{base}/{name}")
        except OSError:
            pass
    return count


def dev_shm() -> set[str]:
    """/dev/shm entries, but Python multiprocessing's semaphores (``sem.mp-*``).

    The directory is the whole machine's: another program's multiprocessing pool
    (a second test suite, a benchmark) creates ``sem.mp-*`` there while the soak
    runs. tasker creates no named semaphore and leaves nothing else there (its shared
    memory is memfd, or shm segments unlinked as they are made), so those names
    cannot be its own.
    """
    try:
        return {name for name in os.listdir("/dev/shm") if not name.startswith("sem.mp-")}
    except OSError:
        return set()


def snapshot() -> dict[str, float]:
    """Everything the soak test watches, at one moment."""
    return {
        "threads": threading.active_count(),
        "os_threads": os_threads(),
        "fds": fd_count(),
        "children": len(children()),
        "memfd_maps": memfd_maps(),
        "memfd_fds": memfd_fds(),
        "dev_shm": len(dev_shm()),
        "rss_mb": round(rss_mb(), 1),
    }


def process_state(pid: int) -> str | None:
    """The one-letter state of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def is_alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")
