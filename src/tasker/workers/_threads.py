"""Thread tasks: a bounded pool whose stuck threads can be abandoned."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._context import ExecutionContext

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._task import Task

logger = logging.getLogger("tasker")


class ThreadRunner:
    """Up to ``max_threads`` daemon threads, started as work needs them.

    A thread whose task was abandoned (cancelled, grace period over) leaves
    the pool when its function finally returns, and a new thread takes its
    place at once, so the pool keeps its capacity.
    """

    kind = "thread"

    def __init__(self, manager: TaskManager, max_threads: int) -> None:
        self._manager = manager
        self._max = max_threads
        self._queue: queue.SimpleQueue[Task[Any] | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._abandoned: set[threading.Thread] = set()
        self._count = 0

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def submit(self, task: Task[Any]) -> None:
        self._queue.put(task)
        if self._idle.acquire(blocking=False):
            return
        with self._lock:
            if len(self._threads) - len(self._abandoned) < self._max:
                self._spawn_locked()

    def interrupt(self, task: Task[Any]) -> None:
        pass  # threads stop cooperatively: the context's flag is already set

    def abandon(self, task: Task[Any]) -> None:
        thread = task._handle
        if not isinstance(thread, threading.Thread):
            return
        logger.warning(
            "tasker: thread task %r did not stop within the grace period after "
            "cancellation; it is abandoned and its late result will be discarded "
            "(check context.is_cancelled() more often in its loop)",
            task.name,
        )
        with self._lock:
            if thread in self._threads and thread not in self._abandoned:
                self._abandoned.add(thread)
                self._spawn_locked()

    def shutdown(self) -> None:
        with self._lock:
            threads = [t for t in self._threads if t not in self._abandoned]
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(5.0)

    def _spawn_locked(self) -> None:
        self._count += 1
        thread = threading.Thread(target=self._work, name=f"tasker-thread-{self._count}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                task = self._queue.get()
                if task is None:
                    return
                self._run(task, me)
                if me in self._abandoned:
                    return
                self._idle.release()
        finally:
            with self._lock:
                self._threads.discard(me)
                self._abandoned.discard(me)

    def _run(self, task: Task[Any], me: threading.Thread) -> None:
        manager = self._manager
        func, args, kwargs = task._func, task._args, task._kwargs
        task._handle = me
        if not manager._begin(task):
            return
        context = ExecutionContext(task, task._cancel_flag)
        try:
            result = func(context, *args, **kwargs)
        except BaseException as error:  # the task's failure, whatever it is
            manager._conclude(task, error=error)
        else:
            manager._conclude(task, result)
        finally:
            task._handle = None
