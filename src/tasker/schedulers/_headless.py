"""The default for scripts: one dispatcher thread plays the main thread."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from ._base import Scheduler

logger = logging.getLogger("tasker")
_STOP = object()


class HeadlessScheduler(Scheduler):
    """Runs callbacks serially on one daemon thread, started on first use."""

    name = "headless"

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def call_soon(self, fn: Callable[[], object]) -> None:
        self._queue.put(fn)
        if self._thread is None:
            self._start()

    def pump(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        """Run what is queued, then stop the thread (a later call restarts it)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        if thread is not threading.current_thread():
            thread.join(10.0)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tasker-main", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is _STOP:
                return
            try:
                fn()  # type: ignore[operator]
            except BaseException:
                logger.exception("tasker: a main-thread callback raised (ignored)")
