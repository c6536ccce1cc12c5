"""Workers that cannot start: back off, then fail the waiting work with ``WorkerStartError``.

A launch fails when the worker's process cannot be started (``start_process``
raises: too many open files, no memory, a missing interpreter, a platform
without ``AF_UNIX``) or when it ends before its handshake (``READY``: e.g. the
interpreter cannot import tasker, or crashes) — but not when it was SIGKILLed
(from outside, like any worker: replaced at once). The pool then makes no new worker for a
while, on the manager's clock (``clock=``: ``FakeClock`` in tests)::

    launch ─fails─► failures < LAUNCH_ATTEMPTS: hold; after backoff(failures) the pool grows again
              │       backoff(n) = LAUNCH_BACKOFF_S · 2^(n-1), at most LAUNCH_BACKOFF_MAX_S
              │     failures = LAUNCH_ATTEMPTS and no worker is up: every queued process task
              │       fails with WorkerStartError (the cause, the command); the count starts
              │       over and nothing is held: the next run_process tries again
              │     (some worker is up: it serves the queue; the pool keeps trying, backed off)
           READY ──► the count starts over

The workers made in one *attempt* (several at once when several tasks wait)
usually fail together: only the first failure of an attempt counts, and starts
the next attempt. Logging: one warning for the first failure of a series, one
error with the traceback when the work fails; the rest at debug level.
"""

from __future__ import annotations

import logging
import shlex
import signal
import sys
from typing import TYPE_CHECKING

from ..._core._errors import WorkerStartError

if TYPE_CHECKING:
    from ..._core._clock import Timer
    from ._worker import Worker

logger = logging.getLogger("tasker")

#: Launch failures in a row (attempts) before the waiting tasks fail.
LAUNCH_ATTEMPTS = 3
#: The pause after the first failed attempt (s); it doubles after each one.
LAUNCH_BACKOFF_S = 0.1
#: The longest pause between attempts (s), while some worker is up and the pool keeps trying.
LAUNCH_BACKOFF_MAX_S = 10.0


class LaunchGuard:
    """The pool's count of failed launches (its fields change under the pool's lock)."""

    def __init__(self) -> None:
        # Invariants (under the pool's lock): a worker made now carries ``attempt``;
        # ``failures`` counts the attempts in a row that failed (0 after a READY);
        # while ``holding``, the pool makes no worker (a backoff timer is set, or the
        # failure is being concluded).
        self.attempt = 1
        self.failures = 0
        self.holding = False
        self.timer: Timer | None = None

    def failed_locked(self, worker: Worker) -> bool:
        """``worker`` ended before READY: True if that counts (a new attempt, held meanwhile)."""
        if worker.attempt != self.attempt:
            return False  # its attempt has failed already (a sibling), or was given up
        self.failures += 1
        self.attempt += 1
        self.holding = True
        return True

    def ready_locked(self) -> None:
        self.failures = 0

    def give_up_locked(self, some_worker_up: bool) -> bool:
        """After a counted failure: True if the waiting tasks must fail now (the count starts over)."""
        if self.failures < LAUNCH_ATTEMPTS or some_worker_up:
            return False
        self.failures = 0
        self.holding = False
        return True

    def backoff(self) -> float:
        """The pause after ``failures`` failed attempts in a row (s)."""
        return min(LAUNCH_BACKOFF_S * 2.0 ** (max(1, self.failures) - 1), LAUNCH_BACKOFF_MAX_S)

    def release_locked(self) -> None:
        """The backoff is over (or the pool closed): the pool may grow again."""
        self.holding = False
        self.timer = None

    def cancel_locked(self) -> None:
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()


def cause_of(worker: Worker, error: BaseException | None, code: int | None) -> str:
    """Why ``worker`` did not start, in one line."""
    if worker.proc is None:  # never spawned
        return f"{type(error).__name__}: {error}" if error is not None else "it could not be started"
    if code is None:
        how = "it ended"
    elif code < 0:
        try:
            how = f"it was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"it was killed by signal {-code}"
    else:
        how = f"it exited with code {code}"
    also = f" ({type(error).__name__}: {error})" if error is not None else ""
    return f"{how} before it was ready{also}; its error output (stderr) may say why"


def start_error(worker: Worker, cause: str, error: BaseException | None) -> WorkerStartError:
    if worker.command is not None:
        command = shlex.join(worker.command)
    else:
        command = f"not built yet (the failure came first; the interpreter would be {sys.executable})"
    problem = WorkerStartError(
        f"no worker process could be started ({LAUNCH_ATTEMPTS} attempts in a row failed; the last: "
        f"{worker.name}): {cause}. Command: {command}",
        command=worker.command,
    )
    if error is not None:
        problem.__cause__ = error
    return problem
