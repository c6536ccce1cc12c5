"""What a test may leave behind: tasks, worker processes, tasker's threads, shared memory.

``LeakCheck()`` notes what exists when it is made; after the test,
``shut_down_and_check`` shuts the test's managers down and fails (an
``AssertionError``) listing everything new that is still there:

* live tasks the test did not wait for (checked before the shutdown ends them);
* child processes of this process (tasker's workers, and what they started);
* threads of tasker's (their names start with ``tasker-``);
* mappings of tasker's shared-memory payloads (results and events of 1 MiB and
  more travel through them; each must be gone once its data is dropped).

What the checks read is Linux's ``/proc`` (on Windows, processes from a Toolhelp
snapshot); elsewhere they see no process and no mapping. Things that are on their
way out get a bounded grace (threads are joined, processes waited for, garbage
collected) before they count.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._waits import describe_task, plural

if TYPE_CHECKING:
    from .._core._manager import TaskManager

#: Seconds given to what is on its way out before it counts as left behind.
GRACE = 2.0


class LeftBehindError(AssertionError):
    """A test left tasks, processes, threads or shared memory behind."""


LeftBehindError.__module__ = "tasker.testing"  # as tracebacks show it


def child_pids() -> set[int]:
    """PIDs of this process's live (not zombie) children."""
    if sys.platform == "win32":  # no /proc: a Toolhelp snapshot
        from .._platform._windows_procs import child_pids as windows_child_pids

        return windows_child_pids()
    me = os.getpid()
    found: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
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


def tasker_threads() -> list[threading.Thread]:
    """tasker's live threads in this process (named ``tasker-…``)."""
    return [t for t in threading.enumerate() if t.name.startswith("tasker-") and t.is_alive()]


def payload_mappings(pid: int | str = "self") -> int:
    """Mappings of tasker's shared-memory payloads in a process (0 if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return sum("tasker-payload" in line for line in f)  # memfd (Linux) or unlinked shm (POSIX)
    except OSError:
        return 0


class LeakCheck:
    """What exists now; ``leaks`` lists what is new and still there later."""

    def __init__(self) -> None:
        self.children = child_pids()
        self.threads = set(tasker_threads())
        self.mappings = payload_mappings()

    def leaks(self, *, ignore_threads: Iterable[str] = ()) -> list[str]:
        """One line per kind of thing left behind (empty: nothing).

        ``ignore_threads``: name prefixes of threads that do not count.
        """
        ignored = tuple(ignore_threads)
        deadline = time.monotonic() + GRACE
        found = []
        threads = self._new_threads(ignored, deadline)
        if threads:
            found.append(f"threads left behind: {', '.join(sorted(t.name for t in threads))}")
        processes = self._new_children(deadline)
        if processes:
            described = ", ".join(f"{pid} ({_command(pid)})" for pid in sorted(processes))
            found.append(f"processes left behind: {described}")
        mappings = payload_mappings()
        if mappings > self.mappings:
            gc.collect()  # an array whose last reference went in a cycle
            mappings = payload_mappings()
        if mappings > self.mappings:
            found.append(
                f"shared memory left mapped: {plural(mappings - self.mappings, 'tasker payload mapping')} "
                "(a large result or event still referenced?)"
            )
        return found

    def check(self, *, ignore_threads: Iterable[str] = ()) -> None:
        """Raise ``LeftBehindError`` listing ``leaks``, if any."""
        found = self.leaks(ignore_threads=ignore_threads)
        if found:
            raise LeftBehindError("\n".join(found))

    def _new_threads(self, ignored: tuple[str, ...], deadline: float) -> list[threading.Thread]:
        def new() -> list[threading.Thread]:
            return [t for t in tasker_threads() if t not in self.threads and not t.name.startswith(ignored)]

        for thread in new():
            thread.join(max(0.0, deadline - time.monotonic()))
        return new()

    def _new_children(self, deadline: float) -> set[int]:
        tick = threading.Event()  # never set: bounded looks while they exit
        while child_pids() - self.children and time.monotonic() < deadline:
            tick.wait(0.01)
        return child_pids() - self.children


def shut_down_and_check(
    managers: Iterable[TaskManager],
    check: LeakCheck,
    *,
    live_tasks_ok: bool = False,
    ignore_threads: Iterable[str] = (),
    timeout: float = 1.0,
) -> None:
    """Shut ``managers`` down, then raise ``LeftBehindError`` if anything was left behind.

    A task still live before the shutdown counts unless ``live_tasks_ok``;
    ``timeout`` is each shutdown's wait for tasks to stop. Queued main-thread
    callbacks are run (pumped) before and after each shutdown.
    """
    found = []
    for manager in managers:
        manager.scheduler.pump(0.0)
        live = list(manager)
        if live and not live_tasks_ok:
            found.append(
                f"{plural(len(live), 'task')} left running (wait for them, e.g. tasker.testing.wait_settled, "
                "or cancel them and wait):\n" + "\n".join(f"  {describe_task(task)}" for task in live)
            )
        manager.shutdown(timeout=timeout)
        manager.scheduler.pump(0.0)
    found += check.leaks(ignore_threads=ignore_threads)
    if found:
        raise LeftBehindError("\n".join(found))


def _command(pid: int) -> str:
    if sys.platform == "win32":  # no /proc: psutil (tasker's dependency there) reads it
        try:
            import psutil

            text = " ".join(psutil.Process(pid).cmdline())
        except Exception:  # gone meanwhile, or not ours to read
            return "?"
    else:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            return "?"
        text = " ".join(word.decode(errors="replace") for word in words if word)
    return text if len(text) <= 100 else text[:97] + "..."
