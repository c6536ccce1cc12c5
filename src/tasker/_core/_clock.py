"""The manager's clock: one small timer thread for throttle, grace periods, timeouts.

Kept apart from the asyncio hub so that thread and process tasks never pay for
importing or running asyncio.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from itertools import count

logger = logging.getLogger("tasker")


class Timer:
    """A pending ``call_later``; ``cancel()`` from any thread."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """Runs callbacks after a delay on one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._cv = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Timer, Callable[[], object]]] = []
        self._seq = count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def call_later(self, delay: float, fn: Callable[[], object]) -> Timer:
        timer = Timer()
        entry = (time.monotonic() + delay, next(self._seq), timer, fn)
        with self._cv:
            if self._stopped:
                return timer
            if len(self._heap) > 64 and self._heap[0][2].cancelled:
                self._compact_locked()
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tasker-clock", daemon=True)
                self._thread.start()
            elif self._heap[0] is entry:
                self._cv.notify()
        return timer

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._heap.clear()
            self._cv.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)

    def _compact_locked(self) -> None:
        """Drop cancelled timers (a long timeout that was cancelled early)."""
        self._heap = [entry for entry in self._heap if not entry[2].cancelled]
        heapq.heapify(self._heap)

    def _run(self) -> None:
        with self._cv:
            while not self._stopped:
                if not self._heap:
                    self._cv.wait()
                    continue
                when, _, timer, fn = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cv.wait(delay)
                    continue
                heapq.heappop(self._heap)
                if timer.cancelled:
                    continue
                self._cv.release()
                try:
                    fn()
                except Exception:
                    logger.exception("tasker: a timer callback failed")
                finally:
                    self._cv.acquire()
