"""The exception tree.

    Exception
    ├── TaskError ........................ base of tasker's own task failures
    │   ├── WorkerDiedError .............. the worker process died under the task
    │   │   └── WorkerMemoryError ........ killed past ``worker_memory_limit``
    │   ├── TaskTimeoutError ............. the task ran past its ``timeout=``
    │   │                                  (or ``context.ask`` past its own)
    │   ├── RemoteTaskError .............. a worker exception that could not be rebuilt
    │   └── UnsupportedPlatformError ..... this kind of task does not run on this
    │                                      platform (also a NotImplementedError)
    ├── InvalidStateError ................ e.g. ``result()`` of a task still running
    RuntimeError
    └── ManagerClosedError ............... a call to a manager after its ``shutdown()``
    asyncio.CancelledError (BaseException)
    └── CancelledError ................... ``result()`` of a canceled task

This module imports nothing, so that every ending (a failure rebuilt from a
worker, a worker's death, a timeout) can use it without paying for an import.
``CancelledError`` subclasses ``asyncio.CancelledError`` (``await task``
in asyncio code behaves like awaiting any cancelled future), so it lives in
``_cancelled``, which imports asyncio; it is reachable from here by name.
"""

from __future__ import annotations

from typing import Any


class TaskError(Exception):
    """Base class of the failures tasker itself reports for a task."""


class WorkerDiedError(TaskError):
    """The worker process running the task exited or was killed."""

    def __init__(self, message: str, *, exitcode: int | None = None) -> None:
        super().__init__(message)
        #: ``Popen.returncode`` style: negative for a signal number.
        self.exitcode = exitcode


class WorkerMemoryError(WorkerDiedError):
    """The task pushed its worker's memory (RSS) past ``worker_memory_limit``: it was killed."""

    def __init__(self, message: str, *, limit: int, rss: int, exitcode: int | None = None) -> None:
        super().__init__(message, exitcode=exitcode)
        #: the limit (bytes) and the resident memory seen when the worker was stopped (bytes).
        self.limit = limit
        self.rss = rss


class TaskTimeoutError(TaskError, TimeoutError):
    """The task did not finish within its ``timeout=``."""


class RemoteTaskError(TaskError):
    """A worker raised an exception whose type cannot be rebuilt here."""


class UnsupportedPlatformError(TaskError, NotImplementedError):
    """This kind of task does not run on this platform: raised by the call that starts one.

    E.g. ``run_process`` on Windows, where the process engine does not run yet
    (docs/windows.md): the call raises at once, so no task is left pending.
    """


class InvalidStateError(Exception):
    """The task is not in a state that allows the operation."""


class ManagerClosedError(RuntimeError):
    """The manager was shut down: it takes no new tasks or timers."""


class RemoteTraceback(Exception):
    """Carries a worker's formatted traceback as ``__cause__`` of its error."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n\nTraceback in the worker:\n{self.tb}"


def __getattr__(name: str) -> Any:
    if name == "CancelledError":
        from ._cancelled import CancelledError

        return CancelledError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from ._public import public  # noqa: E402

public(TaskError, WorkerDiedError, WorkerMemoryError, TaskTimeoutError, RemoteTaskError, UnsupportedPlatformError)
public(InvalidStateError, ManagerClosedError)
