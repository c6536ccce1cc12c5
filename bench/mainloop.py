"""A stand-in for the GUI main loop, and a done-callback recorder.

A desktop app's main loop runs posted callables one at a time; here a
``queue.SimpleQueue`` of callables plays that role, drained by the thread
that submits the tasks. Every implementation posts its completion callbacks
here, so latencies are "submit -> callback ran on the main thread", and the
loop counts how many callables it ran and for how long (UI cost).
"""

from __future__ import annotations

import queue
import traceback
from collections.abc import Callable
from time import perf_counter
from typing import Any

Getter = Callable[[], Any]


class MainLoop:
    """Runs posted callables in the calling thread, with bounded waits only."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]
        self._queue = queue.SimpleQueue()
        self.calls = 0
        self.busy = 0.0
        self.errors: list[str] = []

    def post(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """The ``main_thread_scheduler``: callable from any thread."""
        self._queue.put((fn, args, kwargs))

    def _run_next(self, timeout: float) -> None:
        try:
            fn, args, kwargs = self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return
        start = perf_counter()
        try:
            fn(*args, **kwargs)
        except Exception:  # a library's callback failing must not stop the loop
            if len(self.errors) < 5:
                self.errors.append(traceback.format_exc(limit=3))
        self.busy += perf_counter() - start
        self.calls += 1

    def run_until(self, done: Callable[[], bool], timeout: float, what: str = "") -> None:
        """Run callables until ``done()``; raise TimeoutError past ``timeout`` s."""
        deadline = perf_counter() + timeout
        while not done():
            left = deadline - perf_counter()
            if left <= 0:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what or 'tasks'}")
            self._run_next(left)

    def run_for(self, seconds: float) -> None:
        """Run callables for a fixed window (used to measure UI load)."""
        deadline = perf_counter() + seconds
        while (left := deadline - perf_counter()) > 0:
            self._run_next(left)


class Tracker:
    """The ``on_done`` callback given to adapters: records each outcome.

    Adapters call it on the main thread with a getter that returns the
    task's result or raises its error. The time stamp is taken after the
    getter, so a lazily materialised result is paid for.
    """

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.done = 0
        self.last = 0.0
        self.values: list[Any] = []
        self.failures: list[BaseException] = []

    def __call__(self, get: Getter) -> None:
        try:
            value = get()
            if self.keep:
                self.values.append(value)
        except BaseException as exc:  # canceled/dead tasks raise on purpose
            self.failures.append(exc)
        self.last = perf_counter()
        self.done += 1

    def check(self) -> None:
        """Raise the first failure when none was expected."""
        if self.failures:
            exc = self.failures[0]
            raise RuntimeError(f"task failed: {type(exc).__name__}: {exc}") from exc

    def wait(self, loop: MainLoop, count: int, timeout: float) -> None:
        loop.run_until(lambda: self.done >= count, timeout, f"{count} done callbacks")
