"""Worker recycling and the memory cap (``Options``; every check off by default).

* ``max_tasks_per_worker=N``: a worker is replaced after N tasks (a leaky C
  extension gets a fresh interpreter); none is sent ahead to it for its last one.
* ``worker_max_memory=BYTES``: a worker whose resident memory (RSS) is above it
  after a task is replaced before its next task (the worker reads its own RSS
  and sends it with the result, so the parent's reader thread pays nothing).
* ``worker_memory_limit=BYTES``: a hard cap. ``MemoryWatch``, one thread, reads
  the RSS of every worker that runs a task every ``POLL_S`` and kills one past
  the limit (its process group, SIGKILL); its task fails with
  ``WorkerMemoryError`` naming the limit and the RSS seen — long before the
  system's out-of-memory killer would pick the application itself.

A retired or killed worker is replaced at once, and the warm spare
(``spare_processes``, default 1) takes the next task meanwhile: no task waits
for a cold start. The RSS is read by the platform (``WorkerProcess.rss``: on
Linux ``/proc/<pid>/statm`` through a descriptor kept open, one ``pread``; on
other systems psutil). Processes a task started are not counted: only the worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..._core._errors import WorkerMemoryError

if TYPE_CHECKING:
    from ..._core._options import Options
    from ._worker import Worker

logger = logging.getLogger("tasker")

#: How often the memory cap looks at the running workers (s).
POLL_S = 0.02


def read_rss(worker: Worker) -> int | None:
    """The worker's resident set size in bytes, or None (not started, gone, or unreadable)."""
    proc = worker.proc
    return None if proc is None else proc.rss()


class Recycling:
    """What the pool asks after each task, and the memory watch it may run."""

    def __init__(self, options: Options) -> None:
        self.max_tasks = options.max_tasks_per_worker
        self.max_memory = options.worker_max_memory
        self.limit = options.worker_memory_limit
        self.active = self.max_tasks is not None or self.max_memory is not None
        self.watch: MemoryWatch | None = None
        self._lock = threading.Lock()

    def retire_after(self, worker: Worker, rss: int = 0) -> str | None:
        """After a task (counted here): why the worker must go, or None. Reader thread.

        ``rss``: what the worker reported with its result (0: read it here).
        """
        worker.tasks_done += 1
        if self.max_tasks is not None and worker.tasks_done >= self.max_tasks:
            return f"it ran {worker.tasks_done} tasks (max_tasks_per_worker={self.max_tasks})"
        if self.max_memory is not None:
            seen = rss or read_rss(worker)
            if seen is not None and seen > self.max_memory:
                return f"its RSS is {_mb(seen)} (worker_max_memory={_mb(self.max_memory)})"
        return None

    def last_task(self, worker: Worker) -> bool:
        """Will the worker retire after the task it runs? (Then nothing is sent ahead to it.)"""
        return self.max_tasks is not None and worker.tasks_done + 1 >= self.max_tasks

    def task_started(self, busy: Callable[[], Iterable[Worker]], lock: threading.Lock) -> None:
        """A task went to a worker: the memory watch runs while any does."""
        if self.limit is None:
            return
        with self._lock:
            if self.watch is None:
                self.watch = MemoryWatch(self.limit, busy, lock)
            watch = self.watch
        watch.wake()

    def stop(self) -> None:
        with self._lock:
            watch, self.limit = self.watch, None  # (no new watch after shutdown)
        if watch is not None:
            watch.stop()


class MemoryWatch:
    """The thread behind ``worker_memory_limit``: polls while workers run tasks."""

    def __init__(self, limit: int, busy: Callable[[], Iterable[Worker]], lock: threading.Lock) -> None:
        self.limit = limit
        self._busy = busy  # the workers running a task (called with ``lock`` held)
        self._lock = lock
        self._cv = threading.Condition()
        self._woken = False
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name="tasker-memory", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        with self._cv:
            self._woken = True
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()
        if self.thread is not threading.current_thread():
            self.thread.join(5.0)

    def _run(self) -> None:
        while True:
            with self._cv:
                if self._stopped:
                    return
                self._woken = False
            if not self.check():
                with self._cv:  # nothing runs: sleep until a task starts
                    while not (self._woken or self._stopped):
                        self._cv.wait()
                continue
            with self._cv:
                if not self._stopped:
                    self._cv.wait(POLL_S)

    def check(self) -> bool:
        """Kill every busy worker past the limit; False if no worker runs a task."""
        over: list[tuple[Worker, int]] = []
        with self._lock:  # the pool's: no worker is closed while it is read
            workers = list(self._busy())
            for worker in workers:
                rss = read_rss(worker)
                if rss is not None and rss > self.limit and worker.memory_kill is None:
                    worker.memory_kill = (self.limit, rss)
                    over.append((worker, rss))
        for worker, rss in over:
            logger.warning(
                "tasker: %s reached %s, past worker_memory_limit=%s: killed (its task fails)",
                worker.name, _mb(rss), _mb(self.limit),
            )
            worker.kill()
        return bool(workers)


def memory_error(worker: Worker, task_name: str, code: int | None) -> WorkerMemoryError | None:
    """The error for a task whose worker the memory cap killed (None: it was not that)."""
    if worker.memory_kill is None:
        return None
    limit, rss = worker.memory_kill
    pid = worker.proc.pid if worker.proc is not None else "?"
    return WorkerMemoryError(
        f"task {task_name!r} was stopped: its worker process {worker.name} (pid {pid}) used "
        f"{_mb(rss)} ({rss} bytes RSS), past worker_memory_limit={_mb(limit)} ({limit} bytes)",
        limit=limit,
        rss=rss,
        exitcode=code,
    )


def _mb(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.0f} MiB"
