"""The task list (``TaskListView``): rows, time left, pulsing — toolkit-neutral."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._a11y import AccessibleValue, ending_text
from ._binding import ManagerBinding, clock_now
from ._text import format_duration, paused_text

if TYPE_CHECKING:
    from .._core._task import Task


class RowState:
    """What the row of one task shows, computed from the task by ``compute``."""

    #: Progress needed, and seconds of observation, before a time left is shown.
    ETA_MIN_PROGRESS = 0.03
    ETA_MIN_SECONDS = 1.0
    #: A running task without progress pulses after this many seconds.
    PULSE_AFTER = 0.3

    def __init__(self, task: Task[Any], now: float | None = None) -> None:
        self.task = task
        self.first_seen = clock_now(task)() if now is None else now
        self._eta_origin: tuple[float, float] | None = None  # (time, progress) when progress began
        self.fraction = 0.0
        self.percent = ""
        self.message = ""
        self.eta = ""
        self.pulsing = False
        self.canceling = False
        self.paused = False

    def compute(self, now: float | None = None) -> None:
        task = self.task
        now = clock_now(task)() if now is None else now
        progress = task.get_progress()
        message = task.get_message()
        self.paused = False
        if task.is_cancelled():
            message = f"Canceling… ({message})" if message else "Canceling…"
            self.canceling = True
        elif task.is_paused():
            message = paused_text(message)
            self.paused = True
        elif task.get_status() == "pending":
            message = message or "Waiting for a free worker…"
        self.message = message or ""
        if progress > 0.0:
            self.pulsing = False
            self.fraction = progress
            self.percent = f"{progress:.0%}"
        else:
            self.percent = ""
            self.pulsing = task.is_running() and not self.paused and now - self.first_seen >= self.PULSE_AFTER
        if self.paused:  # paused time is not work time: measure again once it goes on
            self._eta_origin = None
            self.eta = ""
        else:
            self.eta = self._estimate(now, progress)

    def _estimate(self, now: float, progress: float) -> str:
        if progress <= 0.0 or progress >= 1.0:
            return ""
        if self._eta_origin is None:
            # Measure from the first progress seen: queueing time is not work time.
            self._eta_origin = (now, progress)
            return ""
        t0, p0 = self._eta_origin
        elapsed, done = now - t0, progress - p0
        if elapsed < self.ETA_MIN_SECONDS or progress < self.ETA_MIN_PROGRESS or done <= 0.0:
            return ""
        left = (1.0 - progress) * elapsed / done
        return f"{format_duration(left)} left"


class RowLogic:
    """Mixin for the row widget of one task; the toolkit implements ``_show(state)``
    and ``_show_pulse()``, and calls ``_init_row(task)`` then ``sync()``.

    ``state.paused`` says whether to show the pause button as "resume"; the
    button (``pausable=True``) calls ``toggle_pause``. The bar's accessible
    value follows ``AccessibleValue``'s rate rule: ``_publish_value(value)``
    (a toolkit without a separate accessible value ignores it).
    """

    task: Task[Any]
    _state: RowState
    _value: AccessibleValue
    _clock: Callable[[], float]

    def _init_row(self, task: Task[Any]) -> None:
        self.task = task
        self._clock = clock_now(task)  # the manager's clock (FakeClock in tests)
        self._state = RowState(task, self._clock())
        self._value = AccessibleValue()

    @property
    def accessible_value(self) -> float | None:
        """The value a screen reader gets for the bar (``None``: none published yet)."""
        return self._value.value

    @property
    def value_held(self) -> bool:
        """A new 10 % step waits for its second (``value_due`` publishes it)."""
        return self._value.holding

    @property
    def fraction(self) -> float:
        return self._state.fraction

    @property
    def message(self) -> str:
        return self._state.message

    @property
    def eta(self) -> str:
        """``"about 40 s left"`` once progress allows an estimate, else ``""``."""
        return self._state.eta

    @property
    def pulsing(self) -> bool:
        return self._state.pulsing

    @property
    def paused(self) -> bool:
        """The row shows its task paused."""
        return self._state.paused

    def sync(self) -> None:
        """Show the task's current progress, message and time left."""
        now = self._clock()
        state = self._state
        state.compute(now)
        self._show(state)
        if state.percent:
            value = self._value.offer(state.fraction, now)
            if value is not None:
                self._publish_value(value)

    def value_due(self) -> None:
        """Publish a held accessible value once its second is over (the list's timer calls it)."""
        value = self._value.due(self._clock())
        if value is not None:
            self._publish_value(value)

    def pulse(self) -> None:
        if self._state.pulsing:
            self._show_pulse()

    def cancel(self) -> None:
        """What the cancel button does: ask the task to stop, show "Canceling…"."""
        self.task.cancel()
        self.sync()

    def toggle_pause(self) -> None:
        """What the pause/resume button does (``pausable=True``): pause, or resume, the task."""
        if self.task.is_paused():
            self.task.resume()
        else:
            self.task.pause()
        self.sync()

    def _show(self, state: RowState) -> None:
        raise NotImplementedError

    def _show_pulse(self) -> None:
        raise NotImplementedError

    def _publish_value(self, value: float) -> None:
        """Give the bar's accessible value (0..1); by ``AccessibleValue``'s rate rule."""


class TaskListLogic(ManagerBinding):
    """Mixin: one row per live task, in start order, added and removed as tasks
    come and go; ``task_ended`` / ``task_failed`` as tasks end.

    The toolkit implements ``_make_row(task)``, ``_add_row(row)``,
    ``_remove_row(row)``, ``_emit_ended(task)`` and ``_emit_failed(task)``, and
    may override ``_rows_changed()`` (e.g. to show a placeholder) and
    ``_announce(text)`` (a task's ending, once: ``ending_text``). Rows get a
    pause/resume button with ``pausable=True``; with ``show_after`` a task gets
    its row once it has been live that long (see ``ShowAfter``), and a task
    that never got one is not announced unless it failed.
    """

    tick_ms = 100
    _rows: dict[int, Any]

    def _init_list(self, cancellable: bool, show_kind: bool, pausable: bool = False) -> None:
        self._cancellable = cancellable
        self._show_kind = show_kind
        self._pausable = pausable
        self._rows = {}
        # Invariant: the ids of live tasks that have had a row (announced when they end).
        self._had_row: set[int] = set()
        self.announcements: list[str] = []  # what was announced, oldest first (read back)

    @property
    def rows(self) -> list[Any]:
        """The rows, in task start order."""
        return list(self._rows.values())

    def get_row(self, task: Task[Any]) -> Any:
        """The row of ``task``, or ``None``."""
        return self._rows.get(task.id)

    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        live = {task.id for task in tasks}
        changed = False
        for task_id in [i for i in self._rows if i not in live]:
            self._remove_row(self._rows.pop(task_id))
            changed = True
        for task in tasks:
            row = self._rows.get(task.id)
            if row is None:
                row = self._rows[task.id] = self._make_row(task)
                self._had_row.add(task.id)
                self._add_row(row)  # start order == list order: new tasks are newest
                changed = True
            else:
                row.sync()
        if changed:
            self._rows_changed()
        if self._ticking():
            self._want_ticks()

    def _ended(self, task: Task[Any]) -> None:
        failed = task.get_status() == "failed"
        had_row = task.id in self._had_row
        self._had_row.discard(task.id)
        if had_row or failed or not self._show_after.seconds:
            text = ending_text(task)
            self.announcements.append(text)
            del self.announcements[:-20]
            self._announce(text)
        self._emit_ended(task)
        if failed:
            self._emit_failed(task)

    def _ticking(self) -> bool:
        return any(row.task.get_progress() <= 0.0 or row.value_held for row in self._rows.values())

    def _tick(self) -> None:
        for row in self._rows.values():
            if row.task.get_progress() <= 0.0:
                row.sync()
                row.pulse()
            elif row.value_held:
                row.value_due()

    def _rows_changed(self) -> None:
        """Rows were added or removed."""

    def _announce(self, text: str) -> None:
        """Have a screen reader speak ``text`` (a task's ending), where the toolkit can."""

    def _make_row(self, task: Task[Any]) -> Any:
        raise NotImplementedError

    def _add_row(self, row: Any) -> None:
        raise NotImplementedError

    def _remove_row(self, row: Any) -> None:
        raise NotImplementedError

    def _emit_ended(self, task: Task[Any]) -> None:
        raise NotImplementedError

    def _emit_failed(self, task: Task[Any]) -> None:
        raise NotImplementedError
