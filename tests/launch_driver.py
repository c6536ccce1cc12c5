"""Drive a process pool whose workers cannot start, exactly, on a FakeClock.

Shared by ``test_worker_start.py`` and its app that runs out of file
descriptors (``launch_emfile_app.py``). ``Launches`` counts the workers the pool
makes (``_start``, in the caller's thread: a backoff timer that runs in
``FakeClock.advance`` makes its worker before ``advance`` returns) and the
workers whose reader has ended (``forget``: reaped, counted, retried or failed).
"""

from __future__ import annotations

import threading
from typing import Any

from tasker.runners.process._launch import LAUNCH_ATTEMPTS, LAUNCH_BACKOFF_S
from tasker.runners.process._pool import ProcessRunner
from tasker.testing import FakeClock

BOUND = 20.0  # seconds for any wait here


class Launches:
    def __init__(self) -> None:
        self.made = 0
        self.ended = 0
        self._cv = threading.Condition()
        self._real = (ProcessRunner._start, ProcessRunner.forget)
        start, forget = self._real

        def counting_start(pool: ProcessRunner, workers: list[Any]) -> None:
            with self._cv:
                self.made += len(workers)
            start(pool, workers)

        def counting_forget(pool: ProcessRunner, worker: Any) -> None:
            forget(pool, worker)
            with self._cv:
                self.ended += 1
                self._cv.notify_all()

        ProcessRunner._start = counting_start  # type: ignore[method-assign]
        ProcessRunner.forget = counting_forget  # type: ignore[method-assign]

    def restore(self) -> None:
        ProcessRunner._start, ProcessRunner.forget = self._real  # type: ignore[method-assign]

    def wait_ended(self, n: int) -> None:
        with self._cv:
            assert self._cv.wait_for(lambda: self.ended >= n, BOUND), f"{self.ended} of {n} workers ended"


def drive_to_failure(clock: FakeClock, launches: Launches, task: Any) -> dict[str, Any]:
    """One worker per attempt (max_processes=1, spare_processes=0): each attempt waits its backoff."""
    for attempt in range(1, LAUNCH_ATTEMPTS):
        launches.wait_ended(attempt)
        assert launches.made == attempt and not task.is_final(), (launches.made, task)
        delay = LAUNCH_BACKOFF_S * 2 ** (attempt - 1)
        clock.advance(delay * 0.99)
        assert launches.made == attempt, f"relaunched before its backoff ({delay} s) was over"
        clock.advance(delay * 0.02)
        assert launches.made == attempt + 1, f"not relaunched after its backoff ({delay} s)"
    launches.wait_ended(LAUNCH_ATTEMPTS)
    assert task.wait(BOUND), "the task is still waiting for a worker"
    error = task.exception()
    clock.advance(60.0)  # nothing more is tried: no timer is left to launch anything
    return {
        "made": launches.made,
        "status": str(task.get_status()),
        "error": type(error).__name__,
        "message": str(error),
        "command": getattr(error, "command", None),
        "cause": type(error.__cause__).__name__ if error is not None and error.__cause__ is not None else None,
    }
