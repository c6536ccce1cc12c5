"""``TaskListView``: one row per live task, with progress, ETA and a cancel button."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._base import GObject, Gtk, ManagerBinding, format_duration

if TYPE_CHECKING:
    from .._core._task import Task

_ELLIPSIZE_END = 3  # Pango.EllipsizeMode.END (Pango itself is not needed)


class TaskRow(Gtk.ListBoxRow):  # type: ignore[misc]
    """The row of one task: name, kind, message, progress bar, ETA, cancel."""

    __gtype_name__ = "TaskerTaskRow"

    #: Progress needed, and seconds of observation, before an ETA is shown.
    ETA_MIN_PROGRESS = 0.03
    ETA_MIN_SECONDS = 1.0

    def __init__(self, task: Task[Any], *, cancellable: bool = True, show_kind: bool = True) -> None:
        super().__init__(activatable=False, selectable=False)
        self.task = task
        self.add_css_class("tasker-task-row")
        self._first_seen = time.monotonic()
        self._eta_origin: tuple[float, float] | None = None  # (time, progress) when progress began
        self._pulsing = False

        self.name_label = Gtk.Label(label=task.name, xalign=0.0, hexpand=True)
        self.name_label.add_css_class("tasker-task-name")
        self.name_label.set_ellipsize(_ELLIPSIZE_END)
        self.kind_label = Gtk.Label(label=task.kind, valign=Gtk.Align.CENTER)
        self.kind_label.add_css_class("tasker-kind")
        self.kind_label.set_visible(show_kind)
        self.eta_label = Gtk.Label(xalign=1.0)
        self.eta_label.add_css_class("tasker-dim")
        self.eta_label.add_css_class("numeric")
        self.message_label = Gtk.Label(xalign=0.0, hexpand=True)
        self.message_label.add_css_class("tasker-dim")
        self.message_label.set_ellipsize(_ELLIPSIZE_END)
        self.percent_label = Gtk.Label(xalign=1.0, width_chars=5)
        self.percent_label.add_css_class("tasker-dim")
        self.percent_label.add_css_class("numeric")
        self.progress_bar = Gtk.ProgressBar(hexpand=True, valign=Gtk.Align.CENTER)
        self.progress_bar.set_pulse_step(0.1)
        self.cancel_button = Gtk.Button.new_from_icon_name("process-stop-symbolic")
        self.cancel_button.set_valign(Gtk.Align.CENTER)
        self.cancel_button.set_tooltip_text(f"Cancel {task.name}")
        self.cancel_button.add_css_class("flat")
        self.cancel_button.add_css_class("circular")
        self.cancel_button.set_visible(cancellable)
        self.cancel_button.connect("clicked", _cancel_clicked)

        top = Gtk.Box(spacing=8)
        top.append(self.name_label)
        top.append(self.eta_label)
        top.append(self.kind_label)
        bar = Gtk.Box(spacing=8)
        bar.append(self.progress_bar)
        bar.append(self.percent_label)
        column = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4, hexpand=True)
        column.append(top)
        column.append(self.message_label)
        column.append(bar)
        outer = Gtk.Box(spacing=10)
        outer.append(column)
        outer.append(self.cancel_button)
        self.set_child(outer)
        self.update()

    # -- state ------------------------------------------------------------------
    @property
    def fraction(self) -> float:
        return float(self.progress_bar.get_fraction())

    @property
    def message(self) -> str:
        return str(self.message_label.get_text())

    @property
    def eta(self) -> str:
        return str(self.eta_label.get_text())

    @property
    def pulsing(self) -> bool:
        return self._pulsing

    def update(self) -> None:
        """Show the task's current progress, message and time left."""
        task = self.task
        now = time.monotonic()
        progress = task.get_progress()
        message = task.get_message()
        if task.is_cancelled():
            message = f"Cancelling… ({message})" if message else "Cancelling…"
            self.cancel_button.set_sensitive(False)
        elif task.get_status() == "pending":
            message = message or "Waiting for a free worker…"
        self.message_label.set_text(message or "")
        self.message_label.set_tooltip_text(message or None)
        if progress > 0.0:
            self._pulsing = False
            self.progress_bar.set_fraction(progress)
            self.percent_label.set_text(f"{progress:.0%}")
        else:
            self.percent_label.set_text("")
            self._pulsing = task.is_running() and now - self._first_seen >= 0.3
        self.eta_label.set_text(self._estimate(now, progress))

    def pulse(self) -> None:
        if self._pulsing:
            self.progress_bar.pulse()

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


def _cancel_clicked(button: Any) -> None:
    row = button.get_ancestor(TaskRow)
    if row is not None:
        row.task.cancel()
        row.update()


class TaskListView(Gtk.ListBox, ManagerBinding):  # type: ignore[misc]
    """A list of the manager's live tasks, one :class:`TaskRow` each.

    Rows appear when tasks are added and disappear when they end. Each row has
    the task's name and kind, its message, a progress bar (pulsing while the task
    has reported no progress), an estimate of the time left once progress allows
    one, and a cancel button (``cancellable=False`` hides it).

    Signals: ``task-ended(task)`` for every task that left the list, and
    ``task-failed(task)`` for those that ended ``failed`` — connect a
    :class:`TaskErrorBanner`'s ``report`` to it, or use ``TaskErrorBanner``
    on the same manager directly.

    Put it in a ``Gtk.ScrolledWindow`` when many tasks may run at once.
    """

    __gtype_name__ = "TaskerTaskListView"
    __gsignals__ = {
        "task-ended": (GObject.SignalFlags.RUN_LAST, None, (object,)),
        "task-failed": (GObject.SignalFlags.RUN_LAST, None, (object,)),
    }
    tick_ms = 100

    def __init__(
        self,
        manager: Any = None,
        *,
        cancellable: bool = True,
        show_kind: bool = True,
        placeholder: str | None = "No tasks running",
    ) -> None:
        super().__init__(selection_mode=Gtk.SelectionMode.NONE)
        self.add_css_class("rich-list")
        self._cancellable = cancellable
        self._show_kind = show_kind
        self._rows: dict[int, TaskRow] = {}
        if placeholder:
            label = Gtk.Label(label=placeholder, margin_top=18, margin_bottom=18)
            label.add_css_class("tasker-dim")
            self.set_placeholder(label)
        self._bind_manager(manager)

    def do_realize(self) -> None:
        Gtk.ListBox.do_realize(self)
        self._binding_realized()

    def do_unrealize(self) -> None:
        self._binding_unrealized()
        Gtk.ListBox.do_unrealize(self)

    # -- read back -----------------------------------------------------------------
    @property
    def rows(self) -> list[TaskRow]:
        """The rows, in task start order."""
        return list(self._rows.values())

    def get_row(self, task: Task[Any]) -> TaskRow | None:
        return self._rows.get(task.id)

    # -- updates ----------------------------------------------------------------------
    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        live = {task.id for task in tasks}
        for task_id in [i for i in self._rows if i not in live]:
            self.remove(self._rows.pop(task_id))
        for task in tasks:
            row = self._rows.get(task.id)
            if row is None:
                row = TaskRow(task, cancellable=self._cancellable, show_kind=self._show_kind)
                self._rows[task.id] = row
                self.append(row)  # start order == list order: new tasks are newest
            else:
                row.update()
        if any(row.pulsing or row.task.get_progress() <= 0.0 for row in self._rows.values()):
            self._want_ticks()

    def _ended(self, task: Task[Any]) -> None:
        self.emit("task-ended", task)
        if task.get_status() == "failed":
            self.emit("task-failed", task)

    def _ticking(self) -> bool:
        return any(row.task.get_progress() <= 0.0 for row in self._rows.values())

    def _tick(self) -> None:
        for row in self._rows.values():
            if row.task.get_progress() <= 0.0:
                row.update()
                row.pulse()
