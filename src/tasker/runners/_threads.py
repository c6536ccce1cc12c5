"""Thread tasks: a bounded pool whose stuck threads can be abandoned."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._inprocess import run_sync
from ._pending import PendingQueue

if TYPE_CHECKING:
    from .._core._options import Options
    from .._core._runner import Lifecycle
    from .._core._task import Task

logger = logging.getLogger("tasker")


class ThreadRunner:
    """Up to ``max_threads`` daemon threads, started as work needs them.

    A thread whose task was cancelled is *released* at once: it no longer
    counts against ``max_threads``, so queued work starts on a new thread
    while the cancelled function is still stopping. When that function
    returns, the thread rejoins the pool if there is room and ends otherwise.
    At most ``max_threads`` released threads exist at a time; past that, a
    cancelled task keeps its slot until it stops or its grace period ends
    (then it is released anyway: an abandoned thread must not hold a slot).

    Queued tasks wait in a ``PendingQueue`` (priority, then FIFO) under
    ``_lock``; ``_tokens`` holds one token per queued task (``False``: a thread
    must end), so an idle thread blocks in C (``SimpleQueue.get``) and takes
    the best task there is when it wakes.
    """

    kind = "thread"

    def __init__(self, lifecycle: Lifecycle, options: Options) -> None:
        self._lifecycle = lifecycle
        self._max = options.max_threads
        self._pending = PendingQueue()
        self._tokens: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        # Invariant: _released ⊆ _threads; len(_threads) - len(_released) <= _max.
        self._released: set[threading.Thread] = set()
        self._count = 0
        self._closed = False

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def submit(self, task: Task[Any]) -> None:
        with self._lock:
            self._pending.push(task)
        self._tokens.put(True)
        if self._idle.acquire(blocking=False):
            return
        with self._lock:
            if len(self._threads) - len(self._released) < self._max:
                self._spawn_locked()

    def interrupt(self, task: Task[Any]) -> None:
        pass  # threads stop cooperatively: the context's flag is already set

    def release(self, task: Task[Any]) -> None:
        """The task was cancelled: its thread's slot goes to queued work now."""
        self._release(task, bounded=True)

    def abandon(self, task: Task[Any]) -> None:
        thread = task.handle
        if not isinstance(thread, threading.Thread):
            return
        logger.warning(
            "tasker: thread task %r did not stop within the grace period after "
            "cancellation; it is abandoned and its late result will be discarded "
            "(check context.is_cancelled() more often in its loop)",
            task.name,
        )
        self._release(task, bounded=False)

    def restart(self) -> None:
        pass  # threads have nothing to reload

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            threads = [t for t in self._threads if t not in self._released]
        for _ in threads:
            self._tokens.put(False)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(5.0)

    def _release(self, task: Task[Any], bounded: bool) -> None:
        with self._lock:  # with _run's end: the thread is still in this very task
            thread = task.handle
            if not isinstance(thread, threading.Thread) or thread not in self._threads or thread in self._released:
                return
            if bounded and len(self._released) >= self._max:
                return
            self._released.add(thread)
            if self._pending:  # work is waiting for that slot
                self._spawn_locked()

    def _spawn_locked(self) -> None:
        self._count += 1
        thread = threading.Thread(target=self._work, name=f"tasker-thread-{self._count}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while self._tokens.get():
                with self._lock:
                    task = self._pending.pop() if self._pending else None
                if task is not None:
                    self._run(task, me)
                if me in self._released and not self._rejoin(me):
                    return
                self._idle.release()
        finally:
            with self._lock:
                self._threads.discard(me)
                self._released.discard(me)

    def _rejoin(self, me: threading.Thread) -> bool:
        """A released thread whose task is over: back in the pool if there is room."""
        with self._lock:
            if not self._closed and len(self._threads) - len(self._released) < self._max:
                self._released.discard(me)
                return True
            return False

    def _run(self, task: Task[Any], me: threading.Thread) -> None:
        task.handle = me
        try:
            run_sync(self._lifecycle, task)
        finally:
            with self._lock:
                task.handle = None
