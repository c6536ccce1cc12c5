"""Task status values."""

from __future__ import annotations

from enum import StrEnum


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

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED})

#: Values of a task's one-byte flag (``task.cancel_flag[0]``; ``ExecutionContext``
#: reads it): 0 while it may run, ``CANCELLED`` once cancellation was asked,
#: ``PAUSED`` while it is paused (cancel wins: a paused task that is cancelled reads 1).
CANCELLED = 1
PAUSED = 2


from ._public import public  # noqa: E402

public(TaskStatus)
