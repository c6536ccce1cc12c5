"""Task status values."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ._errors import TaskTimeoutError

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

#: Values of a task's one-byte flag (``task.cancel_flag[0]``; ``ExecutionContext``
#: reads it): 0 while it may run, ``CANCELLED`` once cancellation was asked,
#: ``PAUSED`` while it is paused (cancel wins: a paused task that is cancelled reads 1).
CANCELLED = 1
PAUSED = 2


def final_status(task: Task[Any], error: BaseException | None) -> tuple[TaskStatus, BaseException | None]:
    """How a task that stopped ends (a pure decision; the lifecycle applies it)."""
    if task._timed_out:
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


def _is_asyncio_cancel(error: BaseException) -> bool:
    # A CancelledError implies the module that defines it ran that far. Read the
    # class from there, not from ``asyncio``: another thread may be importing
    # asyncio right now, and the half-initialised package has no CancelledError
    # attribute yet (an AttributeError here would kill the pool thread).
    exceptions = sys.modules.get("asyncio.exceptions")
    cancelled = getattr(exceptions, "CancelledError", None)
    return cancelled is not None and isinstance(error, cancelled)


from ._public import public  # noqa: E402

public(TaskStatus)
