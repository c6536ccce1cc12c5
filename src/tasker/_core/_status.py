"""Task status values."""

from __future__ import annotations

from enum import StrEnum

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ._task import Task


class TaskStatus(StrEnum):
    """Where a task is in its life; it only ever moves forward (``may_move``).

    ``pending -> running -> (completed | failed | canceled)``; a pending task
    may also end without running (canceled, timed out, or failed before it could
    start). ``TaskLifecycle.begin`` makes the first move; ``TaskLifecycle.conclude``
    the final one, as the pure ``final_status`` decides.
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

#: The states of a task's control byte (``task.control[0]``): what the app asks of
#: the task's code, which its ``ExecutionContext`` reads (in this process; a
#: cluster task's worker keeps a copy). Written only by the lifecycle, under its
#: lock, as ``control_for(task._cancel_requested, task._paused)``.
RUN = 0  # go on
CANCEL = 1  # stop: cancellation was asked (once set, it stays)
PAUSE = 2  # wait at the next pause point until resumed or canceled


def control_for(cancel_requested: bool, paused: bool) -> int:
    """The control byte of a task with these flags (pure): cancel wins over pause."""
    if cancel_requested:
        return CANCEL
    return PAUSE if paused else RUN


def may_move(old: TaskStatus, new: TaskStatus) -> bool:
    """May a task's status go from ``old`` to ``new``? (pure; see ``TaskStatus``)

    Only forward: ``pending -> running``, and from either to a final status,
    once; a final status never changes.
    """
    return not old.is_final and (new.is_final or (old is TaskStatus.PENDING and new is TaskStatus.RUNNING))


def state_faults(task: Task[Any]) -> list[str]:
    """The invariants of a task's state fields that do not hold now (pure; empty: all hold).

    Read under the lifecycle's lock (the lifecycle changes these fields only
    under it). The rules, next to the fields in ``Task.__init__``:

    * ``control[0] == control_for(_cancel_requested, _paused)``;
    * ``_paused`` only while the task is live and nobody asked it to stop;
    * ``_ending_queued`` exactly when the status is final;
    * ``_done_delivered`` only after its ending was queued.
    """
    faults = []
    status = task._status
    expected = control_for(task._cancel_requested, task._paused)
    if task.control[0] != expected:
        faults.append(f"control byte {task.control[0]}, expected {expected}")
    if task._paused and (status.is_final or task._cancel_requested):
        faults.append(f"paused while {status}{' and cancel asked' if task._cancel_requested else ''}")
    if task._ending_queued != status.is_final:
        faults.append(f"ending queued: {task._ending_queued}, status {status}")
    if task._done_delivered and not task._ending_queued:
        faults.append("when_done delivered but no ending queued")
    return faults


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
