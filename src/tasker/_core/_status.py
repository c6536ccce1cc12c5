"""Task status values."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._task import Task


class TaskStatus(StrEnum):
    """Where a task is in its life; it only ever moves forward.

    ``pending -> running -> (completed | failed | canceled)``; a pending task
    may also go straight to ``canceled`` (it then never runs).
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    #: True for ``completed``, ``failed`` and ``canceled``: the task is over.
    #: (A plain attribute of each member, not a property: it is read on every
    #: status check of every task.)
    is_final: bool

    def __init__(self, value: str) -> None:
        self.is_final = value in ("completed", "failed", "canceled")

#: Values of a task's one-byte flag (``task.control[0]``; ``ExecutionContext``
#: reads it): 0 while it may run, ``CANCEL`` once cancellation was asked,
#: ``PAUSE`` while it is paused (cancel wins: a paused task that is cancelled reads 1).
CANCEL = 1
PAUSE = 2


def final_status(task: Task[Any], error: BaseException | None) -> tuple[TaskStatus, BaseException | None]:
    """How a task that stopped ends (a pure decision; the lifecycle applies it)."""
    if task._timed_out:  # (rare: ``_errors`` is imported here, not by a fresh manager's first call)
        from ._errors import TaskTimeoutError

        timeout_error = TaskTimeoutError(f"task {task.name!r} timed out after {task.timeout} s")
        timeout_error.__cause__ = error
        return TaskStatus.FAILED, timeout_error
    if task._cancel_requested:
        return TaskStatus.CANCELED, None
    if error is None:
        return TaskStatus.COMPLETED, None
    if _is_asyncio_cancel(error):
        return TaskStatus.CANCELED, None
    return TaskStatus.FAILED, error


#: Where ``asyncio.CancelledError`` is defined, as the class itself says it.
_ASYNCIO_CANCEL = ("asyncio.exceptions", "CancelledError")


def _is_asyncio_cancel(error: BaseException) -> bool:
    """Is ``error`` an ``asyncio.CancelledError`` (tasker's own ``CancelledError`` included)?

    Decided from the error's own classes, never from ``sys.modules["asyncio"]``:
    while another thread imports asyncio, that module is there but
    half-initialised (no ``CancelledError`` yet), and reading it would raise in
    the middle of an ending. A class that exists is complete, and so are its
    name and module. ``asyncio.CancelledError`` is a ``BaseException`` and not an
    ``Exception``: the common failure costs one ``issubclass``.
    """
    kind = type(error)
    if issubclass(kind, Exception):
        return False
    return any((cls.__module__, cls.__qualname__) == _ASYNCIO_CANCEL for cls in kind.__mro__)


from ._public import public  # noqa: E402

public(TaskStatus)
