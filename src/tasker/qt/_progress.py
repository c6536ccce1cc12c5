"""``TaskProgressBar``: overall progress of a manager, for a status bar (Qt)."""

from __future__ import annotations

from typing import Any

from .._widgets import StatusBarLogic
from ._base import ElidedLabel, QtBinding, SmoothBar, dim, split_parent
from ._binding import QtCore, QtWidgets


class TaskProgressBar(QtWidgets.QWidget, StatusBarLogic, QtBinding):
    """A status-bar strip: the newest task's message, a task count and a bar.

    * While tasks run, the bar shows the manager's overall progress and the
      label the newest task's message (or its name when it has none yet).
    * When no live task has reported any progress (work of unknown length), the
      bar becomes Qt's busy indicator instead.
    * When idle the bar fades out (``idle_mode="fade"``, the default) and the label
      shows ``idle_text``; with ``idle_mode="hide"`` the whole strip is hidden.
    * ``show_after=seconds``: a task counts once it has been live that long.

    ``manager`` defaults to the shared ``task_mgr``; pass any ``TaskManager``.
    ``parent`` is the usual Qt parent (``TaskProgressBar(parent)`` works too).
    Accessible: the bar is "Overall progress", described by the label's text;
    its value moves by ``AccessibleValue``'s rate rule.
    """

    def __init__(
        self,
        manager: Any = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        idle_text: str = "",
        idle_mode: str = "fade",
        show_count: bool = True,
        pulse_after: float = 0.3,
        show_after: float = 0.0,
    ) -> None:
        manager, parent = split_parent(manager, parent)
        super().__init__(parent)
        self._init_status(idle_text, idle_mode, show_count, pulse_after)
        self.setObjectName("taskerStatus")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(10)
        self._label = ElidedLabel(idle_text)
        self._count = QtWidgets.QLabel()
        dim(self._count)
        self._count.setVisible(show_count)
        self._bar = SmoothBar()
        self._bar.setAccessibleName("Overall progress")
        self._bar.setFixedWidth(180)
        self._bar.setMaximumHeight(14)
        self._opacity = QtWidgets.QGraphicsOpacityEffect(self._bar)
        self._opacity.setOpacity(0.0)
        self._bar.setGraphicsEffect(self._opacity)
        self._fade = QtCore.QPropertyAnimation(self._opacity, b"opacity", self)
        self._fade.setDuration(400)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._count)
        layout.addWidget(self._bar)
        if idle_mode == "hide":
            self.setVisible(False)
        self._bind_qt(manager, show_after)

    # -- read back (tests, accessibility) ---------------------------------------------
    @property
    def fraction(self) -> float:
        bar = self._bar
        return self._fraction if bar.maximum() == 0 else bar.shown_fraction

    @property
    def text(self) -> str:
        return self._label.full_text()

    @property
    def progress_bar(self) -> QtWidgets.QProgressBar:
        return self._bar

    @property
    def opacity(self) -> float:
        """The bar's opacity: 1 while busy, fading to 0 when idle."""
        return float(self._opacity.opacity())

    # -- drawing (StatusBarLogic decides) ----------------------------------------------
    def _show_idle(self) -> None:
        self._set_text(self._text)
        self._count.setText("")
        self._show_fraction(self._fraction)
        self._fade_to(0.0)
        if self._idle_mode == "hide":
            self.setVisible(False)

    def _show_busy(self) -> None:
        self._set_text(self._text)
        self._count.setText(self._count_text)
        self._fade_to(1.0)
        if self._idle_mode == "hide":
            self.setVisible(True)

    def _set_text(self, text: str) -> None:
        if text != self._label.full_text():
            self._label.set_full_text(text)
            self._bar.setAccessibleDescription(text)

    def _show_fraction(self, fraction: float) -> None:
        self._bar.show_fraction(fraction)

    def _show_pulse(self) -> None:
        self._bar.show_busy()

    def _publish_value(self, value: float | None) -> None:
        self._bar.publish(value)

    def _fade_to(self, opacity: float) -> None:
        fade = self._fade
        if fade.endValue() == opacity and fade.state() == fade.State.Running:
            return
        if self._opacity.opacity() == opacity:
            return
        fade.stop()
        if opacity == 1.0:  # appear at once, as work starts
            self._opacity.setOpacity(1.0)
            return
        fade.setStartValue(self._opacity.opacity())
        fade.setEndValue(opacity)
        fade.start()
