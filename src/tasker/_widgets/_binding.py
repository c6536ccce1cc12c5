"""Following a manager: connection, invisible tasks, a self-stopping timer.

A widget connects with ``ManagerBinding._connect`` (GTK: when realized;
Qt and Tk: when built) and disconnects with ``ManagerBinding._disconnect``
(GTK: when unrealized; Qt: when its C++ object is destroyed; Tk: on
``destroy()``). Receivers are bound methods connected with ``weak=True``
(tasker's signals hold receivers strongly by default), so the manager never
keeps a widget alive. The toolkit supplies the timer (``_start_timer``,
``_cancel_timer``) and, where a widget can outlive its native object (Qt),
``_alive()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._task import Task


def resolve_manager(manager: Any) -> Any:
    """``manager`` itself, or the shared ``task_mgr`` when it is ``None``."""
    if manager is None:
        from .. import task_mgr

        return task_mgr
    return manager


class ManagerBinding:
    """Mixin for widgets that follow a manager's ``tasks_updated``.

    Subclasses call ``_bind_manager`` in ``__init__``, implement
    ``_update(tasks, progress)`` (and optionally ``_ended(task)``), and call
    ``_connect`` / ``_disconnect``. Optionally they implement ``_tick()``,
    called every ``tick_ms`` while ``_ticking()`` is true (pulsing bars).
    """

    _manager: Any
    _receiving: bool
    _tick_handle: Any
    tick_ms = 100

    def _bind_manager(self, manager: Any) -> None:
        self._manager = resolve_manager(manager)
        self._receiving = False
        self._tick_handle = None

    @property
    def manager(self) -> TaskManager:
        """The manager this widget follows (``task_mgr`` unless given one)."""
        return self._manager  # type: ignore[no-any-return]

    @property
    def is_receiving(self) -> bool:
        """True while connected to ``manager.tasks_updated``."""
        return self._receiving

    # -- connection ------------------------------------------------------------------
    def _connect(self) -> None:
        """Follow the manager (idempotent) and bring the widget up to date now."""
        if not self._receiving:
            self._manager.tasks_updated.connect(self._on_tasks_updated, weak=True)
            self._manager.task_ended.connect(self._on_task_ended, weak=True)
            self._receiving = True
        self.refresh()

    def _disconnect(self) -> None:
        """Stop following the manager and stop the timer (idempotent)."""
        if self._receiving:
            self._receiving = False
            self._manager.tasks_updated.disconnect(self._on_tasks_updated)
            self._manager.task_ended.disconnect(self._on_task_ended)
        self._stop_ticking()

    def refresh(self) -> None:
        """Bring the widget up to date with the manager now."""
        manager = self._manager
        self._update([t for t in manager if t.visible], manager.get_overall_progress())

    def _on_tasks_updated(self, sender: Any, *, tasks: list[Task[Any]], progress: float, **_: Any) -> None:
        if self._receiving and self._alive():
            self._update(tasks, progress)

    def _on_task_ended(self, sender: Any, *, task: Task[Any], **_: Any) -> None:
        # visible=False: never shown, not even failing.
        if self._receiving and task.visible and self._alive():
            self._ended(task)

    def _alive(self) -> bool:
        """False once the native widget is gone (then nothing is touched)."""
        return True

    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        raise NotImplementedError

    def _ended(self, task: Task[Any]) -> None:
        """A task ended (``manager.task_ended``); before its ``when_done``."""

    # -- animation -------------------------------------------------------------------
    def _ticking(self) -> bool:
        return False

    def _tick(self) -> None:
        """Called every ``tick_ms`` while ``_ticking()`` is true."""

    def _want_ticks(self) -> None:
        """Start the timer if ``_ticking()`` and connected; it stops by itself."""
        if self._tick_handle is None and self._receiving and self._ticking():
            self._tick_handle = self._start_timer(self.tick_ms, self._on_tick)

    def _on_tick(self) -> bool:
        if not self._receiving or not self._ticking() or not self._alive():
            self._tick_handle = None
            return False
        self._tick()
        return True

    def _stop_ticking(self) -> None:
        handle, self._tick_handle = self._tick_handle, None
        if handle is not None:
            self._cancel_timer(handle)

    def _start_timer(self, ms: int, fn: Callable[[], bool]) -> Any:
        """Call ``fn`` every ``ms`` until it returns False; returns a handle."""
        raise NotImplementedError

    def _cancel_timer(self, handle: Any) -> None:
        raise NotImplementedError
