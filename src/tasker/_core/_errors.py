"""The exception tree.

    Exception
    ├── TaskError ........................ base of tasker's own task failures
    │   ├── WorkerDiedError .............. the worker process died under the task
    │   ├── TaskTimeoutError ............. the task ran past its ``timeout=``
    │   └── RemoteTaskError .............. a worker exception that could not be rebuilt
    └── InvalidStateError ................ e.g. ``result()`` of a task still running
    asyncio.CancelledError (BaseException)
    └── CancelledError ................... ``result()`` of a canceled task

``CancelledError`` subclasses :class:`asyncio.CancelledError`, so ``await task``
inside asyncio code behaves like awaiting any cancelled future. ``asyncio`` is
imported lazily (see ``tasker.__getattr__``) to keep ``import tasker`` cheap.
"""

from __future__ import annotations

import asyncio


class TaskError(Exception):
    """Base class of the failures tasker itself reports for a task."""


class WorkerDiedError(TaskError):
    """The worker process running the task exited or was killed."""

    def __init__(self, message: str, *, exitcode: int | None = None) -> None:
        super().__init__(message)
        #: ``Popen.returncode`` style: negative for a signal number.
        self.exitcode = exitcode


class TaskTimeoutError(TaskError, TimeoutError):
    """The task did not finish within its ``timeout=``."""


class RemoteTaskError(TaskError):
    """A worker raised an exception whose type cannot be rebuilt here."""


class InvalidStateError(Exception):
    """The task is not in a state that allows the operation."""


class CancelledError(asyncio.CancelledError):
    """The task was canceled (by ``cancel()``, a replacement or shutdown)."""


class RemoteTraceback(Exception):
    """Carries a worker's formatted traceback as ``__cause__`` of its error."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n\nTraceback in the worker:\n{self.tb}"
