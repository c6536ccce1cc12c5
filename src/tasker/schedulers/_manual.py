"""A scheduler for tests: nothing runs until the test calls ``pump()``."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from ._base import Scheduler


class ManualScheduler(Scheduler):
    """Queues callbacks; ``pump()`` runs them in the calling thread.

    The thread that pumps is the "main thread" of the test. Waiting is done on
    the queue with a bounded timeout, never by sleeping.
    """

    name = "manual"

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None  # the last thread that pumped
        self.calls = 0  # callbacks run so far (main-thread callbacks)

    def call_soon(self, fn: Callable[[], object]) -> None:
        self._queue.put(fn)

    def pending(self) -> int:
        return self._queue.qsize()

    def pump(self, timeout: float = 0.0) -> bool:
        """Run every queued callback; wait up to ``timeout`` s for the first."""
        self.thread = threading.current_thread()
        try:
            fn = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return True
        while True:
            self.calls += 1
            fn()
            try:
                fn = self._queue.get_nowait()
            except queue.Empty:
                return True

    def pump_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Pump until ``predicate()`` is true or ``timeout`` s pass; its last value."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return predicate()
            self.pump(min(remaining, 0.05))
        return True
