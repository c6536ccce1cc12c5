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

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._task import Task


def clock_now(owner: Any) -> Callable[[], float]:
    """The ``now`` of the clock that times ``owner`` (a manager, or a task).

    A manager's ``clock=`` option (``tasker.testing.FakeClock`` in tests) times
    its widgets too: ``show_after``, pulsing, time left and the accessible
    value's rate. Anything else (a look-alike manager) gets ``time.monotonic``.
    """
    clock = getattr(owner, "_clock", None)  # TaskManager
    if clock is None:
        clock = getattr(getattr(owner, "_lifecycle", None), "clock", None)  # Task
    now = getattr(clock, "now", None)
    return now if callable(now) else time.monotonic


def resolve_manager(manager: Any) -> Any:
    """``manager`` itself, or the shared ``task_mgr`` when it is ``None``."""
    if manager is None:
        from .. import task_mgr

        return task_mgr
    return manager


class ShowAfter:
    """``show_after=seconds``: a task is shown once it has been live that long.

    A task that ends sooner never appears (no flicker, as QProgressDialog's
    ``minimumDuration``). Its age counts from when the widget first saw it.
    """

    def __init__(self, seconds: float) -> None:
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not seconds >= 0:
            raise ValueError(f"show_after must be a number of seconds >= 0, got {seconds!r}")
        self.seconds = float(seconds)
        self._first_seen: dict[int, float] = {}

    def pick(self, tasks: list[Task[Any]], now: float) -> tuple[list[Task[Any]], float | None]:
        """The tasks old enough to show, and seconds until the next one is (None: none waits)."""
        if not self.seconds:
            return tasks, None
        seen = self._first_seen
        live = {task.id for task in tasks}
        for task_id in [i for i in seen if i not in live]:
            del seen[task_id]
        shown, wait = [], None
        for task in tasks:
            left = seen.setdefault(task.id, now) + self.seconds - now
            if left <= 0:
                shown.append(task)
            elif wait is None or left < wait:
                wait = left
        return shown, wait

    def first_seen(self, task: Task[Any]) -> float | None:
        return self._first_seen.get(task.id)


class ManagerBinding:
    """Mixin for widgets that follow a manager's ``tasks_updated``.

    Subclasses call ``_bind_manager`` in ``__init__``, implement
    ``_update(tasks, progress)`` (and optionally ``_ended(task)``), and call
    ``_connect`` / ``_disconnect``. Optionally they implement ``_tick()``,
    called every ``tick_ms`` while ``_ticking()`` is true (pulsing bars).
    With ``show_after``, ``_update`` only gets the tasks live for that long;
    the same timer (every ``tick_ms``) brings the next one in once it is due.
    """

    _manager: Any
    _receiving: bool
    _tick_handle: Any
    _reveal_at: float | None
    _show_after: ShowAfter
    tick_ms = 100

    def _bind_manager(self, manager: Any, show_after: float = 0.0) -> None:
        self._show_after = ShowAfter(show_after)
        self._manager = resolve_manager(manager)
        self._receiving = False
        self._tick_handle = None
        self._reveal_at = None  # when the next task waiting for show_after is due

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
        self._deliver([t for t in manager if t.visible], manager.get_overall_progress())

    def _on_tasks_updated(self, sender: Any, *, tasks: list[Task[Any]], progress: float, **_: Any) -> None:
        if self._receiving and self._alive():
            self._deliver(tasks, progress)

    def _deliver(self, tasks: list[Task[Any]], progress: float) -> None:
        now = self._now()
        shown, wait = self._show_after.pick(tasks, now)
        self._reveal_at = None if wait is None else now + wait
        self._update(shown, progress)
        if wait is not None:
            self._want_ticks()

    def _now(self) -> float:
        """The manager's clock: the time ``show_after``, pulsing and the accessible value count in."""
        return clock_now(self._manager)()

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
        """Start the timer if ``_ticking()`` (or a task waits for ``show_after``) and
        connected; it stops by itself."""
        if self._tick_handle is None and self._receiving and (self._ticking() or self._reveal_at is not None):
            self._tick_handle = self._start_timer(self.tick_ms, self._on_tick)

    def _on_tick(self) -> bool:
        if not self._receiving or not self._alive():
            self._tick_handle = None
            return False
        if self._reveal_at is not None and self._now() >= self._reveal_at:
            self.refresh()  # shows the tasks now due (and notes when the next one is)
        ticking = self._ticking()
        if ticking:
            self._tick()
        elif self._reveal_at is None:
            self._tick_handle = None
            return False
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
