"""Thread tasks: a bounded pool whose stuck threads can be abandoned."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._runner import CooperativePause
from .._core._status import PAUSE
from ._inprocess import end_after_fault, run_sync
from ._pending import PendingQueue

if TYPE_CHECKING:
    from .._core._options import Options
    from .._core._runner import Lifecycle
    from .._core._task import Task

logger = logging.getLogger("tasker")


class ThreadRunner(CooperativePause):
    """Up to ``max_threads`` daemon threads, started as work needs them.

    A thread whose task was canceled is *released* at once: it no longer
    counts against ``max_threads``, so queued work starts on a new thread
    while the canceled function is still stopping. When that function
    returns, the thread rejoins the pool if there is room and ends otherwise.
    At most ``max_threads`` released threads exist at a time; past that, a
    canceled task keeps its slot until it stops or its grace period ends
    (then it is released anyway: an abandoned thread must not hold a slot).

    ``_queue`` (a ``SimpleQueue``: idle threads block in C) holds one item per
    queued task (``False``: a thread must end). While every task has priority
    0 the item is the task itself (first in, first out: the fast path, no
    lock). Once a task with another priority comes (or a parked one goes back),
    the pool is *ordered* for good: tasks go into a ``PendingQueue`` (priority,
    then FIFO) under ``_lock`` and the item is a token (``True``); a thread that
    wakes takes the best queued task — a task item still in the queue from
    before is pushed into the heap first, and only newer priority-0 tasks can be
    behind it, so the choice stays right.

    ``_idle`` holds one token per thread that finished a task and goes back to
    ``_queue`` for the next one: ``submit`` takes a token instead of starting a
    thread. (``deque`` appends and pops are atomic, so no lock is taken for it:
    a ``Semaphore`` costs eight Python calls per task.)

    Pausing is cooperative (the function waits at its next context call); a
    paused task that is still queued is *parked* when a thread picks it, and
    queued again, in its place, when it is resumed.
    """

    kind = "thread"

    def __init__(self, lifecycle: Lifecycle, options: Options) -> None:
        self._lifecycle = lifecycle
        self._max = options.max_threads
        self._pending = PendingQueue()  # ordered mode only
        self._queue: queue.SimpleQueue[Task[Any] | bool] = queue.SimpleQueue()
        self._ordered = False
        self._idle: deque[None] = deque()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        # Invariant: _released ⊆ _threads; len(_threads) - len(_released) <= _max.
        self._released: set[threading.Thread] = set()
        self._parked: dict[int, Task[Any]] = {}  # paused while queued, by id
        self._count = 0
        self._closed = False

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def submit(self, task: Task[Any]) -> None:
        if task.priority or self._ordered:
            self._enqueue_ordered(task)
        else:
            self._queue.put(task)
        if self._idle:
            try:
                self._idle.pop()  # an idle thread takes it
                return
            except IndexError:
                pass  # another submit took the last token meanwhile
        with self._lock:
            thread = self._new_thread_locked() if len(self._threads) - len(self._released) < self._max else None
        if thread is not None:
            thread.start()  # not under _lock: the new thread takes it first thing

    def interrupt(self, task: Task[Any]) -> None:
        pass  # threads stop cooperatively: the context's flag is already set

    def release(self, task: Task[Any]) -> None:
        """The task was canceled: its thread's slot goes to queued work now."""
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

    def resume(self, task: Task[Any]) -> None:
        with self._lock:
            parked = self._parked.pop(task.id, None) is not None
            self._ordered = self._ordered or parked  # its place in the queue is kept: by id
        if parked and not task.is_final():
            self.submit(task)

    def _enqueue_ordered(self, task: Task[Any]) -> None:
        with self._lock:
            self._ordered = True
            self._pending.push(task)
        self._queue.put(True)

    def restart(self) -> None:
        pass  # threads have nothing to reload

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            threads = [t for t in self._threads if t not in self._released]
        for _ in threads:
            self._queue.put(False)
        for thread in threads:
            if thread is not threading.current_thread() and thread.ident is not None:  # (not started: it ends at once)
                thread.join(5.0)

    def _release(self, task: Task[Any], bounded: bool) -> None:
        thread = self._released_locked(task, bounded)
        if thread is not None:
            thread.start()

    def _released_locked(self, task: Task[Any], bounded: bool) -> threading.Thread | None:
        """Release the task's thread; a new thread to start if work is waiting for its slot."""
        with self._lock:  # with _run's end: the thread is still in this very task
            thread = task.handle
            if not isinstance(thread, threading.Thread) or thread not in self._threads or thread in self._released:
                return None
            if bounded and len(self._released) >= self._max:
                return None
            self._released.add(thread)
            return self._new_thread_locked() if not self._queue.empty() else None  # work waits for that slot

    def _new_thread_locked(self) -> threading.Thread:
        """A thread counted in the pool, to be started once ``_lock`` is released."""
        self._count += 1
        thread = threading.Thread(target=self._work, name=f"tasker-thread-{self._count}", daemon=True)
        self._threads.add(thread)
        return thread

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while (item := self._queue.get()) is not False:
                task = self._take(item)
                if task is not None:
                    try:
                        self._run(task, me)
                    except BaseException as fault:  # a pool thread never dies of tasker's own code
                        end_after_fault(self._lifecycle, task, fault)
                del item, task  # an idle thread holds no task (nor its result)
                if me in self._released and not self._rejoin(me):
                    return
                self._idle.append(None)
        finally:
            with self._lock:
                self._threads.discard(me)
                self._released.discard(me)

    def _take(self, item: Task[Any] | bool) -> Task[Any] | None:
        """The task to run for one item of ``_queue`` (None: it was paused, now parked)."""
        if item is True or self._ordered:
            with self._lock:
                if not isinstance(item, bool):
                    self._pending.push(item)  # a task queued before the pool became ordered
                return self._park_locked(self._pending.pop())
        assert not isinstance(item, bool)
        if item.control[0] == PAUSE:  # (is_paused(), without a call per task)
            with self._lock:
                return self._park_locked(item)
        return item

    def _park_locked(self, task: Task[Any]) -> Task[Any] | None:
        if task.control[0] == PAUSE:  # held until resumed (then queued again, in its place)
            self._parked[task.id] = task
            return None
        return task

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
