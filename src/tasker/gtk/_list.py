"""``TaskListView``: one row per live task, with progress, ETA and a cancel button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._widgets import RowLogic, RowState, TaskListLogic, cancel_label, pause_label
from ._a11y import AccessibleBar, announce, describing, relate
from ._base import GObject, Gtk, GtkBinding

if TYPE_CHECKING:
    from .._core._task import Task

_ELLIPSIZE_END = 3  # Pango.EllipsizeMode.END (Pango itself is not needed)
_PAUSE_ICON = "media-playback-pause-symbolic"
_RESUME_ICON = "media-playback-start-symbolic"


class TaskRow(Gtk.ListBoxRow, RowLogic):  # type: ignore[misc]
    """The row of one task: name, kind, message, progress bar, ETA, pause/resume, cancel.

    Accessible: the row is named after its task; the bar (``accessible_bar.twin``)
    is labelled by the name and described by the message, its value moves by
    ``AccessibleValue``'s rate rule; the buttons are "Cancel ‹task›" and
    "Pause ‹task›" / "Resume ‹task›".
    """

    __gtype_name__ = "TaskerTaskRow"

    #: Progress needed, and seconds of observation, before an ETA is shown.
    ETA_MIN_PROGRESS = RowState.ETA_MIN_PROGRESS
    ETA_MIN_SECONDS = RowState.ETA_MIN_SECONDS

    def __init__(
        self, task: Task[Any], *, cancellable: bool = True, show_kind: bool = True, pausable: bool = False
    ) -> None:
        super().__init__(activatable=False, selectable=False)
        self._init_row(task)
        self.add_css_class("tasker-task-row")
        #: The button that had the focus when the task was canceled (its row took the
        #: focus meanwhile); the next row's same button gets it when this row goes.
        self.refocus: str | None = None

        self.name_label = Gtk.Label(label=task.name, xalign=0.0, hexpand=True)
        self.name_label.add_css_class("tasker-task-name")
        self.name_label.set_ellipsize(_ELLIPSIZE_END)
        self.kind_label = Gtk.Label(label=task.kind, valign=Gtk.Align.CENTER)
        self.kind_label.add_css_class("tasker-kind")
        self.kind_label.add_css_class(f"tasker-kind-{task.kind}")  # e.g. tasker-kind-cluster
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
        self.accessible_bar = AccessibleBar(hexpand=True, valign=Gtk.Align.CENTER)
        self.progress_bar = self.accessible_bar.bar  # what is drawn (hidden from screen readers)
        self.progress_bar.set_pulse_step(0.1)
        self.cancel_button = _row_button("process-stop-symbolic", cancel_label(task.name), cancellable, _cancel_clicked)
        self.pause_button = _row_button(_PAUSE_ICON, pause_label(task.name, False), pausable, _pause_clicked)
        self.update_property([Gtk.AccessibleProperty.LABEL], [task.name])
        twin = self.accessible_bar.twin
        relate(twin, Gtk.AccessibleRelation.LABELLED_BY, self.name_label)
        relate(twin, Gtk.AccessibleRelation.DESCRIBED_BY, self.message_label)
        self.percent_label.update_state([Gtk.AccessibleState.HIDDEN], [True])  # the bar's value says it

        top = Gtk.Box(spacing=8)
        top.append(self.name_label)
        top.append(self.eta_label)
        top.append(self.kind_label)
        bar = Gtk.Box(spacing=8)
        bar.append(self.accessible_bar)
        bar.append(self.percent_label)
        column = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4, hexpand=True)
        column.append(top)
        column.append(self.message_label)
        column.append(bar)
        outer = Gtk.Box(spacing=10)
        outer.append(column)
        outer.append(self.pause_button)
        outer.append(self.cancel_button)
        self.set_child(outer)
        self.sync()

    @property
    def fraction(self) -> float:
        return float(self.progress_bar.get_fraction())

    def update(self) -> None:
        """Show the task's current progress, message and time left."""
        self.sync()

    def _show(self, state: RowState) -> None:
        if state.canceling and self.cancel_button.get_sensitive():
            if self.focus_within():  # a button losing its sensitivity would drop the focus
                self.refocus = self.focused_button()
                self.grab_focus()
            self.cancel_button.set_sensitive(False)
            self.pause_button.set_sensitive(False)
        if state.paused != self.has_css_class("tasker-paused"):
            label = pause_label(self.task.name, state.paused)
            self.pause_button.set_icon_name(_RESUME_ICON if state.paused else _PAUSE_ICON)
            self.pause_button.set_tooltip_text(label)
            self.pause_button.update_property([Gtk.AccessibleProperty.LABEL], [label])
            (self.add_css_class if state.paused else self.remove_css_class)("tasker-paused")
        if state.message != self.message_label.get_text():
            self.message_label.set_text(state.message)
            self.message_label.set_tooltip_text(state.message or None)
            describing(self.message_label, state.message)
        if state.percent:
            self.progress_bar.set_fraction(state.fraction)
        self.percent_label.set_text(state.percent)
        self.eta_label.set_text(state.eta)
        self.eta_label.set_visible(bool(state.eta))  # an empty label would be read as "GtkLabel"

    def _show_pulse(self) -> None:
        self.progress_bar.pulse()

    def _publish_value(self, value: float) -> None:
        self.accessible_bar.publish(value)

    def focused_button(self) -> str | None:
        """``"cancel"`` or ``"pause"`` when that button of this row has the focus."""
        root = self.get_root()
        focus = root.get_focus() if root is not None else None
        return "cancel" if focus is self.cancel_button else "pause" if focus is self.pause_button else None

    def focus_within(self) -> bool:
        """The keyboard focus is on this row or inside it."""
        root = self.get_root()
        focus = root.get_focus() if root is not None else None
        return focus is not None and (focus is self or focus.is_ancestor(self))

    def take_focus(self, button: str | None) -> bool:
        """Focus this row's ``"cancel"`` or ``"pause"`` button where it can, else the row."""
        widget = {"cancel": self.cancel_button, "pause": self.pause_button}.get(button or "")
        if widget is not None and widget.get_visible() and widget.get_sensitive() and widget.grab_focus():
            return True
        return bool(self.grab_focus())


def _row_button(icon: str, label: str, shown: bool, clicked: Any) -> Any:
    """A flat round icon button of a row (cancel, pause/resume), named ``label`` for screen readers."""
    button = Gtk.Button.new_from_icon_name(icon)
    button.update_property([Gtk.AccessibleProperty.LABEL], [label])
    button.set_valign(Gtk.Align.CENTER)
    button.set_tooltip_text(label)
    button.add_css_class("flat")
    button.add_css_class("circular")
    button.set_visible(shown)
    button.connect("clicked", clicked)
    return button


def _cancel_clicked(button: Any) -> None:
    row = button.get_ancestor(TaskRow)
    if row is not None:
        row.cancel()


def _pause_clicked(button: Any) -> None:
    row = button.get_ancestor(TaskRow)
    if row is not None:
        row.toggle_pause()


class TaskListView(Gtk.ListBox, TaskListLogic, GtkBinding):  # type: ignore[misc]
    """A list of the manager's live tasks, one ``TaskRow`` each.

    Rows appear when tasks are added and disappear when they end. Each row has
    the task's name and kind, its message, a progress bar (pulsing while the task
    has reported no progress), an estimate of the time left once progress allows
    one, and a cancel button (``cancellable=False`` hides it); with
    ``pausable=True`` also a pause/resume button (a paused row says
    "Paused — …"). ``show_after=seconds``: a task gets its row only once it has
    been live that long, so one that ends sooner never flickers into view.

    Signals: ``task-ended(task)`` for every task that left the list, and
    ``task-failed(task)`` for those that ended ``failed`` — connect a
    ``TaskErrorBanner``'s ``report`` to it, or use ``TaskErrorBanner``
    on the same manager directly.

    Put it in a ``Gtk.ScrolledWindow`` when many tasks may run at once.

    Keyboard: Tab reaches each row's buttons in row order, Enter or Space
    presses them; when a row holding the focus goes, the focus moves to the
    next row (the previous one when it was the last, else the list). A task's
    ending is announced once (``Gtk.Accessible.announce`` on GTK >= 4.14; on
    older GTK it becomes the list's accessible description): see
    docs/accessibility.md.
    """

    __gtype_name__ = "TaskerTaskListView"
    __gsignals__ = {
        "task-ended": (GObject.SignalFlags.RUN_LAST, None, (object,)),
        "task-failed": (GObject.SignalFlags.RUN_LAST, None, (object,)),
    }

    def __init__(
        self,
        manager: Any = None,
        *,
        cancellable: bool = True,
        show_kind: bool = True,
        placeholder: str | None = "No tasks running",
        pausable: bool = False,
        show_after: float = 0.0,
    ) -> None:
        super().__init__(selection_mode=Gtk.SelectionMode.NONE)
        self._init_list(cancellable, show_kind, pausable)
        self.add_css_class("rich-list")
        self.update_property([Gtk.AccessibleProperty.LABEL], ["Tasks"])
        if placeholder:
            label = Gtk.Label(label=placeholder, margin_top=18, margin_bottom=18)
            label.add_css_class("tasker-dim")
            self.set_placeholder(label)
        self._bind_manager(manager, show_after)

    def do_realize(self) -> None:
        Gtk.ListBox.do_realize(self)
        self._binding_realized()

    def do_unrealize(self) -> None:
        self._binding_unrealized()
        Gtk.ListBox.do_unrealize(self)

    def get_row(self, task: Task[Any]) -> TaskRow | None:
        row: TaskRow | None = self._rows.get(task.id)
        return row

    def _make_row(self, task: Task[Any]) -> TaskRow:
        return TaskRow(task, cancellable=self._cancellable, show_kind=self._show_kind, pausable=self._pausable)

    def _add_row(self, row: TaskRow) -> None:
        self.append(row)

    def _remove_row(self, row: TaskRow) -> None:
        had_focus = row.focus_within()
        button = row.focused_button() or row.refocus
        index = row.get_index()
        self.remove(row)
        if had_focus:  # the focus stays in the list: the next row, else the one before
            after = self.get_row_at_index(index) or (self.get_row_at_index(index - 1) if index else None)
            if not (isinstance(after, TaskRow) and after.take_focus(button)):
                self.grab_focus()

    def _announce(self, text: str) -> None:
        announce(self, text)

    def _emit_ended(self, task: Task[Any]) -> None:
        self.emit("task-ended", task)

    def _emit_failed(self, task: Task[Any]) -> None:
        self.emit("task-failed", task)
