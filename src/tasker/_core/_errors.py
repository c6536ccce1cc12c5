"""The exception tree.

    Exception
    ├── TaskError ........................ base of tasker's own task failures
    │   ├── WorkerDiedError .............. the worker process died under the task
    │   │   └── WorkerMemoryError ........ killed past ``worker_memory_limit``
    │   ├── WorkerStartError ............. no worker process could be started for the task
    │   ├── TaskTimeoutError ............. the task ran past its ``timeout=``
    │   │                                  (or ``context.ask`` past its own)
    │   ├── UpstreamError ................ a ``then``/``when_all``/``when_any`` task whose
    │   │                                  upstream failed (that failure is its __cause__)
    │   ├── RemoteTaskError .............. a worker exception that could not be rebuilt
    │   │                                  (or whose __str__ or pickling raised)
    │   └── UnsupportedPlatformError ..... this kind of task does not run on this
    │                                      platform (also a NotImplementedError)
    ├── InvalidStateError ................ e.g. ``result()`` of a task still running
    ExceptionGroup
    └── BatchError ....................... a ``map`` whose items failed (``.failures``, ``.results``)
    RuntimeError
    └── ManagerClosedError ............... a call to a manager after its ``shutdown()``
    asyncio.CancelledError (BaseException)
    └── CancelledError ................... ``result()`` of a canceled task

This module imports nothing, so that every ending (a failure rebuilt from a
worker, a worker's death, a timeout) can use it without paying for an import.
``CancelledError`` subclasses ``asyncio.CancelledError`` (``await task``
in asyncio code behaves like awaiting any canceled future), so it lives in
``_cancelled``, which imports asyncio; it is reachable from here by name.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
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


class WorkerStartError(TaskError):
    """No worker process could be started: a few launches in a row failed, the task never ran.

    The message names the cause (the exception, or how the process ended before it
    was ready) and the command; ``__cause__`` is the exception when there was one.
    The next ``run_process`` tries to start a worker again.
    """

    def __init__(self, message: str, *, command: list[str] | None = None) -> None:
        super().__init__(message)
        #: The worker's command line (None: the launch failed before it was built).
        self.command = command


class TaskTimeoutError(TaskError, TimeoutError):
    """The task did not finish within its ``timeout=``."""


class RemoteTaskError(TaskError):
    """A worker raised an exception that cannot be rebuilt here (its message says why when its
    ``__str__``, ``__repr__`` or pickling raised)."""


class UnsupportedPlatformError(TaskError, NotImplementedError):
    """This kind of task does not run on this platform: raised by the call that starts one.

    A runner that cannot run where it is loaded refuses in its factory
    (docs/architecture.md): the call raises at once, so no task is left pending.
    """


class UpstreamError(TaskError):
    """A task made by ``then``, ``when_all`` or ``when_any`` did not run: a task it waits on failed.

    That task's exception is this one's ``__cause__``; ``upstream`` is that task.
    """

    def __init__(self, message: str, upstream: Any = None) -> None:
        super().__init__(message)
        self.upstream = upstream


class BatchError(ExceptionGroup[Exception]):
    """``result()`` of a ``map`` whose items failed: an ``ExceptionGroup`` of their exceptions.

    ``failures``: input index -> that item's exception; ``results``: the list of
    results in input order, ``None`` where an item failed or did not run.
    """

    failures: dict[int, Exception]
    results: list[Any]

    def __new__(cls, message: str, failures: dict[int, Exception], results: list[Any]) -> BatchError:
        self = super().__new__(cls, message, list(failures.values()))
        self.failures = failures
        self.results = results
        return self

    def __init__(self, message: str, failures: dict[int, Exception], results: list[Any]) -> None:
        super().__init__(message, list(failures.values()))

    def derive(self, excs: Any) -> Any:  # (a plain group: .failures and .results go with the whole)
        return ExceptionGroup(self.message, excs)


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


def error_text(error: BaseException) -> str:
    """``"Type: message"`` for logs and messages, whatever the error's ``__str__`` does.

    An exception is the application's object: its ``__str__`` (or ``__repr__``)
    may raise. What could not be read is said instead, so an ending or a report
    never fails on it.
    """
    kind = type(error).__name__
    try:
        text = str(error)
    except BaseException as problem:  # (even KeyboardInterrupt: it is the object's, not a signal)
        text = f"<str() of the error raised {type(problem).__name__}>"
    return f"{kind}: {text}" if text else kind


def import_cancelled_error() -> None:
    """Import ``CancelledError`` (``_cancelled``: asyncio, tens of milliseconds in a fresh
    process) now, on a thread that has time for it, so that the first ``result()`` of a
    canceled task does not pay for it on the main thread. Never raises: a warm-up only
    (the ending imports it when needed, or says why it cannot)."""
    import sys

    if "tasker._core._cancelled" in sys.modules:
        return
    try:
        from . import _cancelled  # noqa: F401
    except Exception:
        import logging

        logging.getLogger("tasker").debug("tasker: importing CancelledError ahead failed", exc_info=True)


def __getattr__(name: str) -> Any:
    if name == "CancelledError":
        from ._cancelled import CancelledError

        return CancelledError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from ._public import public  # noqa: E402

public(TaskError, WorkerDiedError, WorkerMemoryError, WorkerStartError, TaskTimeoutError, RemoteTaskError)
public(UnsupportedPlatformError)
public(InvalidStateError, ManagerClosedError, UpstreamError, BatchError)
