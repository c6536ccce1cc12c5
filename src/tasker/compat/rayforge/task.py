"""Rayforge's ``Task`` (``rayforge.shared.tasker.task``), backed by a task of tasker's core.

A Rayforge ``Task`` is built by the caller (``Task(coro, *args, key=...)``) and
handed to ``TaskManager.add_task``; ``run_thread`` and ``run_process`` build
one too. Once added it is bound to a task of tasker's core, which owns its
lifecycle; this class presents that task with Rayforge's names and rules:

* statuses are plain strings: ``"pending"``, ``"running"``, ``"completed"``,
  ``"failed"``, ``"canceled"``; a process task is ``"running"`` from the start;
* a coroutine that returns normally although it was cancelled (it swallowed
  the ``CancelledError``, or it checked ``is_cancelled()`` and returned) ends
  ``"completed"`` with its value, as in Rayforge;
* a process task cancelled through the manager is ``"canceled"`` at once;
* ``get_progress()`` is 1.0 once completed;
* ``result()`` before the end raises ``asyncio.InvalidStateError``.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import CancelledError
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from blinker import Signal

if TYPE_CHECKING:
    import tasker

__all__ = ["CancelledError", "Task"]

logger = logging.getLogger("tasker.compat.rayforge")

_FINAL = ("completed", "failed", "canceled")


class Task:
    """One piece of background work, with Rayforge's attributes and signals.

    ``status_changed`` (``receiver(task)``) fires on the main thread when the
    status, progress or message changed; ``event_received``
    (``receiver(task, event_name=..., data=...)``) when a process task sent an
    event. ``when_done_callback`` is called once, when the task ends.
    """

    def __init__(
        self,
        coro: Callable[..., Any],
        *args: Any,
        key: Any = None,
        when_done: Callable[[Task], object] | None = None,
        task_type: str = "asyncio",
        **kwargs: Any,
    ) -> None:
        if not callable(coro):
            raise TypeError(f"Task() needs a coroutine function (or a function returning an awaitable), got {coro!r}")
        if when_done is not None and not callable(when_done):
            raise TypeError(f"when_done must be callable or None, got {when_done!r}")
        self.coro = coro
        self.args = args
        self.kwargs = kwargs
        self.key: Any = key if key is not None else id(self)
        self.id: int = id(self)
        self.task_type = task_type
        #: The asyncio task running the coroutine, once it runs (coroutine tasks).
        self._task: asyncio.Task[Any] | None = None
        self._task_result: Any = None
        self._status = "pending"
        self._progress = 0.0
        self._message: str | None = None
        self._cancel_requested = False
        self._visible = True
        self.status_changed = Signal()
        self.event_received = Signal()
        self.when_done_callback = when_done
        # -- binding to tasker's core (set by the manager) --
        self._core: tasker.Task[Any] | None = None
        self._added = False
        self._returned = False  # the coroutine returned normally (even after a cancel)
        self._zombie = False  # a process task cancelled by the manager: final already
        self._done_called = False  # when_done_callback has been called (or dropped)

    # -- reading state -------------------------------------------------------
    def get_status(self) -> str:
        """``"pending"``, ``"running"``, ``"completed"``, ``"failed"`` or ``"canceled"``."""
        if self._zombie:
            return "canceled"
        core = self._core
        if core is None:
            return self._status
        status = str(core.get_status())
        if status == "canceled" and self._returned:
            return "completed"
        if status == "pending" and self.task_type == "process":
            return "running"
        return status

    def get_progress(self) -> float:
        """Fraction done in [0, 1]; 1.0 once completed."""
        core = self._core
        if core is None or self._zombie:
            return self._progress
        if self.get_status() == "completed":
            return 1.0
        return core.get_progress()

    def get_message(self) -> str | None:
        core = self._core
        if core is None or self._zombie:
            return self._message
        return core.get_message()

    def is_final(self) -> bool:
        return self.get_status() in _FINAL

    def is_running(self) -> bool:
        return self.get_status() == "running"

    def is_cancelled(self) -> bool:
        """True once cancellation was requested (by ``cancel()``, the manager, a replacement)."""
        core = self._core
        return self._cancel_requested or (core is not None and core.is_cancelled())

    def result(self) -> Any:
        """The return value; re-raises the failure; ``CancelledError`` if canceled.

        Raises ``asyncio.InvalidStateError`` while the task has not ended.
        """
        status = self.get_status()
        if status == "completed":
            if self._returned:
                return self._task_result
            assert self._core is not None
            return self._core.result()
        if status == "failed":
            assert self._core is not None
            return self._core.result()  # raises the task's exception
        if status == "canceled":
            core = self._core
            if core is not None and core.is_final():
                return core.result()  # raises tasker.CancelledError (an asyncio.CancelledError)
            from tasker import CancelledError as TaskerCancelledError

            raise TaskerCancelledError("Task was cancelled.")
        raise asyncio.InvalidStateError(f"result is not available for task in state '{status}'")

    @property
    def _task_exception(self) -> BaseException | None:
        """The exception of a failed task, else None (Rayforge fills it for process tasks only)."""
        core = self._core
        if core is None or self.get_status() != "failed":
            return None
        return core.exception()

    # -- acting on it ----------------------------------------------------------
    def cancel(self) -> None:
        """Ask the task to stop; returns at once and does not change the status itself.

        A task cancelled before it is added never runs.
        """
        self._cancel_requested = True
        core = self._core
        if core is not None:
            core.cancel()

    def update(self, progress: float | None = None, message: str | None = None) -> None:
        """Set progress and/or message of a task that is not running, emitting ``status_changed``.

        Once a task runs, its function reports through its context; tasker's
        core then owns these values.
        """
        changed = False
        if progress is not None and self._progress != progress:
            self._progress = progress
            changed = True
        if message is not None and self._message != message:
            self._message = message
            changed = True
        if changed:
            self._emit_status_changed()

    def _emit_status_changed(self) -> None:
        if self.status_changed.receivers:
            self.status_changed.send(self)

    def __repr__(self) -> str:
        return f"<rayforge Task {self.key!r} {self.task_type} {self.get_status()} {self.get_progress():.0%}>"
