"""``TaskListView``: one row per live task, with progress, ETA and a cancel button (Qt)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._widgets import RowLogic, RowState, TaskListLogic, cancel_label, pause_label
from ._base import ElidedLabel, KeyButton, QtBinding, SmoothBar, announce, dim, split_parent
from ._binding import QtCore, QtWidgets, Signal

if TYPE_CHECKING:
    from .._core._task import Task

#: Glyphs, drawn in the palette's button text colour (the style's media icons are dark
#: whatever the palette, and vanish on a dark one). Two heavy bars: DejaVu has no U+23F8.
_PAUSE, _RESUME = "\u275a\u275a", "\u25b6"

_ROW_STYLE = """
QFrame#taskerTaskRow { border-bottom: 1px solid palette(midlight); }
QFrame#taskerTaskRow:focus { border: 1px solid palette(highlight); }
QLabel#taskerKind {
  border-radius: 8px; padding: 0px 7px; background-color: rgba(127, 127, 127, 45);
}
"""


class TaskRow(QtWidgets.QFrame, RowLogic):
    """The row of one task: name, kind, message, progress bar, ETA, pause/resume, cancel.

    Accessible: the row and its bar are named after the task, the bar is
    described by the message and its value moves by ``AccessibleValue``'s rate
    rule (``SmoothBar``); the buttons are "Cancel ‹task›" and "Pause ‹task›" /
    "Resume ‹task›", reached with Tab, pressed with Enter or Space.
    """

    def __init__(
        self, task: Task[Any], *, cancellable: bool = True, show_kind: bool = True, pausable: bool = False
    ) -> None:
        super().__init__()
        self._init_row(task)
        self.setObjectName("taskerTaskRow")
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.TabFocus)  # the focus can rest on the row (its task is named)
        self.setAccessibleName(task.name)
        self.name_label = ElidedLabel(task.name)
        bold = self.name_label.font()
        bold.setBold(True)
        self.name_label.setFont(bold)
        self.kind_label = QtWidgets.QLabel(task.kind)
        self.kind_label.setObjectName("taskerKind")
        small = self.kind_label.font()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        self.kind_label.setFont(small)
        self.kind_label.setVisible(show_kind)
        self.eta_label = QtWidgets.QLabel()
        self.eta_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.message_label = ElidedLabel()
        self.percent_label = QtWidgets.QLabel()
        self.percent_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.percent_label.setMinimumWidth(self.percent_label.fontMetrics().horizontalAdvance("100%") + 4)
        for label in (self.eta_label, self.message_label, self.percent_label):
            dim(label)
        self.progress_bar = SmoothBar()
        self.progress_bar.setMaximumHeight(12)
        self.progress_bar.setAccessibleName(task.name)
        self.cancel_button = KeyButton()
        self.cancel_button.setIcon(self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_BrowserStop))
        self.cancel_button.setToolTip(cancel_label(task.name))
        self.cancel_button.setAccessibleName(cancel_label(task.name))
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.clicked.connect(self.cancel)
        self.pause_button = KeyButton()
        self.pause_button.setVisible(pausable)
        metrics = self.pause_button.fontMetrics()  # one width for both glyphs: the row does not shift
        self.pause_button.setFixedWidth(max(metrics.horizontalAdvance(_PAUSE), metrics.horizontalAdvance(_RESUME)) + 14)
        self.pause_button.clicked.connect(self.toggle_pause)
        self._shown_paused: bool | None = None
        #: The button that had the focus when the task was canceled (the row took it
        #: meanwhile); the next row's same button gets it when this row goes.
        self.refocus: str | None = None

        top = QtWidgets.QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.eta_label)
        top.addWidget(self.kind_label)
        bar = QtWidgets.QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(self.progress_bar, 1)
        bar.addWidget(self.percent_label)
        column = QtWidgets.QVBoxLayout()
        column.setSpacing(4)
        column.addLayout(top)
        column.addWidget(self.message_label)
        column.addLayout(bar)
        outer = QtWidgets.QHBoxLayout(self)
        outer.setContentsMargins(10, 8, 10, 8)
        outer.setSpacing(10)
        outer.addLayout(column, 1)
        outer.addWidget(self.pause_button)
        outer.addWidget(self.cancel_button)
        self.sync()

    @property
    def fraction(self) -> float:
        bar = self.progress_bar
        return self._state.fraction if bar.maximum() == 0 else bar.shown_fraction

    def focused_button(self) -> str | None:
        """``"cancel"`` or ``"pause"`` when that button of this row has the focus."""
        focus = self.window().focusWidget()  # this window's, active or not
        return "cancel" if focus is self.cancel_button else "pause" if focus is self.pause_button else None

    def focus_within(self) -> bool:
        focus = self.window().focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    def take_focus(self, button: str | None) -> None:
        """Focus this row's ``"cancel"`` or ``"pause"`` button where it can, else the row."""
        widget = {"cancel": self.cancel_button, "pause": self.pause_button}.get(button or "")
        if widget is not None and widget.isVisibleTo(self) and widget.isEnabled():
            widget.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        else:
            self.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def _show(self, state: RowState) -> None:
        if state.canceling and self.cancel_button.isEnabled():
            if self.focus_within():  # a disabled button would pass the focus on to the next one
                self.refocus = self.focused_button()
                self.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
        if state.paused != self._shown_paused:
            self._shown_paused = state.paused
            self.pause_button.setText(_RESUME if state.paused else _PAUSE)
            self.pause_button.setToolTip(pause_label(self.task.name, state.paused))
            self.pause_button.setAccessibleName(pause_label(self.task.name, state.paused))
        if state.message != self.message_label.full_text():
            self.message_label.set_full_text(state.message)
            self.progress_bar.setAccessibleDescription(state.message)
        if state.percent:
            self.progress_bar.show_fraction(state.fraction)
        self.percent_label.setText(state.percent)
        self.eta_label.setText(state.eta)

    def _show_pulse(self) -> None:
        self.progress_bar.show_busy()

    def _publish_value(self, value: float) -> None:
        self.progress_bar.publish(value)


class TaskListView(QtWidgets.QScrollArea, TaskListLogic, QtBinding):
    """A scrolling list of the manager's live tasks, one ``TaskRow`` each.

    Rows appear when tasks are added and disappear when they end. Each row has
    the task's name and kind, its message, a progress bar (Qt's busy indicator
    while the task has reported no progress), an estimate of the time left once
    progress allows one, and a cancel button (``cancellable=False`` hides it);
    ``pausable=True`` adds a pause/resume button, ``show_after=seconds`` shows a
    task only once it has been live that long (see the GTK ``TaskListView``).

    Signals: ``task_ended(task)`` for every task that left the list, and
    ``task_failed(task)`` for those that ended ``failed``.

    Keyboard and screen readers: see the GTK ``TaskListView`` and
    docs/accessibility.md (a task's ending is announced with
    ``QAccessibleAnnouncementEvent`` on Qt >= 6.8, and becomes the list's
    accessible description).
    """

    task_ended = Signal(object)
    task_failed = Signal(object)

    def __init__(
        self,
        manager: Any = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        cancellable: bool = True,
        show_kind: bool = True,
        placeholder: str | None = "No tasks running",
        pausable: bool = False,
        show_after: float = 0.0,
    ) -> None:
        manager, parent = split_parent(manager, parent)
        super().__init__(parent)
        self._init_list(cancellable, show_kind, pausable)
        self.setWidgetResizable(True)
        self.setAccessibleName("Tasks")
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QtWidgets.QWidget()
        inner.setStyleSheet(_ROW_STYLE)
        self._layout = QtWidgets.QVBoxLayout(inner)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._placeholder = QtWidgets.QLabel(placeholder or "")
        self._placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setContentsMargins(0, 18, 0, 18)
        dim(self._placeholder)
        self._placeholder.setVisible(bool(placeholder))
        self._has_placeholder = bool(placeholder)
        self._layout.addWidget(self._placeholder)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self._bind_qt(manager, show_after)

    def get_row(self, task: Task[Any]) -> TaskRow | None:
        row: TaskRow | None = self._rows.get(task.id)
        return row

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(420, 240)

    def _make_row(self, task: Task[Any]) -> TaskRow:
        return TaskRow(task, cancellable=self._cancellable, show_kind=self._show_kind, pausable=self._pausable)

    def _add_row(self, row: TaskRow) -> None:
        self._layout.insertWidget(self._layout.count() - 1, row)  # before the stretch

    def _remove_row(self, row: TaskRow) -> None:
        had_focus = row.focus_within()
        button = row.focused_button() or row.refocus
        index = self._layout.indexOf(row)
        self._layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        if had_focus:  # the focus stays in the list: the next row, else the one before
            rows = [r for r in self._rows.values() if isinstance(r, TaskRow)]  # in list order
            after = [r for r in rows if self._layout.indexOf(r) >= index] or rows[-1:]
            if after:
                after[0].take_focus(button)
            else:
                self.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def _announce(self, text: str) -> None:
        announce(self, text)

    def _rows_changed(self) -> None:
        self._placeholder.setVisible(self._has_placeholder and not self._rows)

    def _emit_ended(self, task: Task[Any]) -> None:
        self.task_ended.emit(task)

    def _emit_failed(self, task: Task[Any]) -> None:
        self.task_failed.emit(task)
