"""What every tasker Qt widget shares: the manager binding on Qt, a few helpers.

A widget follows its manager from the moment it is built until its C++ object
is destroyed (its window closed and deleted, ``deleteLater()``, its parent
deleted, or its last Python reference dropped). Receivers are bound methods
held weakly by the manager's signals; the ``destroyed`` handler holds the
widget only by a weak reference. Every callback first checks that the C++
object still exists (``is_alive``: ``shiboken6.isValid`` on PySide6, ``not
sip.isdeleted`` on PyQt6), so a task ending after the window closed touches
nothing (the classic "Internal C++ object already deleted").
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from .._widgets import ManagerBinding
from ._binding import API, QtCore, QtGui, QtWidgets, is_alive

__all__ = [
    "ElidedLabel", "KeyButton", "QtBinding", "QtCore", "QtGui", "QtWidgets", "SmoothBar", "announce", "dim",
    "split_parent",
]


def void_calls_drop_none() -> bool:
    """True for PySide6 6.12.0 on CPython 3.11: each call of a C++ method that
    returns nothing drops a reference to ``None`` (then the interpreter aborts,
    "deallocating None", after a few thousand widget updates)."""
    if sys.version_info >= (3, 12):  # None is immortal there
        return False
    probe = QtCore.QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 32


#: Checked once, at import, on PySide6 only: see ``void_calls_drop_none``.
BROKEN_BINDING = API == "pyside6" and void_calls_drop_none()
if BROKEN_BINDING:
    warnings.warn(
        "tasker.qt: this PySide6 drops a reference to None on every call of a method that returns "
        "nothing (PySide6 6.12.0 on Python 3.11), which aborts the interpreter after a few thousand "
        "widget updates; install another version: pip install 'PySide6-Essentials!=6.12.0'",
        RuntimeWarning,
        stacklevel=2,
    )


def split_parent(manager: Any, parent: Any) -> tuple[Any, Any]:
    """Accept ``Widget(parent)`` too: a QWidget given as the manager is the parent."""
    if parent is None and isinstance(manager, QtWidgets.QWidget):
        return None, manager
    return manager, parent


def dim(widget: QtWidgets.QWidget, amount: float = 0.62) -> None:
    """Draw ``widget``'s text between the window's text and background colours."""
    palette = widget.palette()
    text = palette.color(QtGui.QPalette.ColorRole.WindowText)
    back = palette.color(QtGui.QPalette.ColorRole.Window)
    mixed = QtGui.QColor(
        round(back.red() + (text.red() - back.red()) * amount),
        round(back.green() + (text.green() - back.green()) * amount),
        round(back.blue() + (text.blue() - back.blue()) * amount),
    )
    palette.setColor(QtGui.QPalette.ColorRole.WindowText, mixed)
    widget.setPalette(palette)


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that ends in "…" when it is too narrow (the full text as tooltip)."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self._elide()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(20, super().minimumSizeHint().height())

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        shown = metrics.elidedText(self._full, QtCore.Qt.TextElideMode.ElideRight, max(20, self.width()))
        self.setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class QtBinding(ManagerBinding):
    """``ManagerBinding`` on Qt: follows the manager until destroyed; a QTimer."""

    _timer: QtCore.QTimer
    _tick_fn: Callable[[], bool] | None

    def _bind_qt(self, manager: Any, show_after: float = 0.0) -> None:
        assert isinstance(self, QtCore.QObject)
        self._bind_manager(manager, show_after)
        self._tick_fn = None
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._qt_tick)
        self.destroyed.connect(partial(_destroyed, weakref.ref(self)))
        self._connect()

    def _alive(self) -> bool:
        return is_alive(self)

    def _start_timer(self, ms: int, fn: Callable[[], bool]) -> Any:
        self._tick_fn = fn
        self._timer.start(ms)
        return self._timer

    def _qt_tick(self) -> None:
        fn = self._tick_fn
        if fn is None or not fn():
            self._tick_fn = None
            if is_alive(self._timer):
                self._timer.stop()

    def _cancel_timer(self, handle: Any) -> None:
        self._tick_fn = None
        if is_alive(handle):
            handle.stop()


def _destroyed(ref: weakref.ref[QtBinding], *_: Any) -> None:
    widget = ref()
    if widget is not None:
        widget._disconnect()


class SmoothBar(QtWidgets.QProgressBar):
    """A ``QProgressBar`` whose *accessible* value and *drawn* fill are apart.

    ``value()`` — what Qt's accessibility reports (and sends a value-change
    event for) — moves only by ``AccessibleValue``'s rate rule (``publish``);
    the fill drawn moves on every ``show_fraction``, smoothly. Busy (range
    0..0) is both. ``SCALE`` steps make 1.0.
    """

    SCALE = 1000

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, self.SCALE)
        self.setTextVisible(False)
        self._shown = 0  # the fill drawn, in SCALE steps

    @property
    def shown_fraction(self) -> float:
        """The fraction the bar draws (0 while busy)."""
        return self._shown / self.SCALE if self.maximum() else 0.0

    def show_fraction(self, fraction: float) -> None:
        if self.maximum() == 0:
            self.setRange(0, self.SCALE)
        shown = round(fraction * self.SCALE)
        if shown != self._shown:
            self._shown = shown
            self.update()

    def show_busy(self) -> None:
        if self.maximum() != 0:
            self.setRange(0, 0)  # Qt's busy indicator animates by itself

    def publish(self, fraction: float | None) -> None:
        """The accessible value (``None``: none, the bar is busy)."""
        if fraction is None:
            self.show_busy()
            return
        if self.maximum() == 0:
            self.setRange(0, self.SCALE)
        self.setValue(round(fraction * self.SCALE))

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtWidgets.QStylePainter(self)
        option = QtWidgets.QStyleOptionProgressBar()
        self.initStyleOption(option)
        if self.maximum() != 0:
            option.progress = self._shown  # the smooth fill, not the accessible value
        painter.drawControl(QtWidgets.QStyle.ControlElement.CE_ProgressBar, option)


class KeyButton(QtWidgets.QToolButton):
    """A tool button that Tab reaches and Enter presses (Space does already)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setAutoRaise(True)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and self.isEnabled():
            self.animateClick()
            return
        super().keyPressEvent(event)


def announce(widget: QtWidgets.QWidget, text: str) -> bool:
    """Have a screen reader speak ``text`` (Qt >= 6.8: ``QAccessibleAnnouncementEvent``).

    The text also becomes ``widget``'s accessible description (where Qt has no
    announcements, what a screen reader reads when the user reaches it).
    Returns whether an announcement was sent.
    """
    widget.setAccessibleDescription(text)
    event_class = getattr(QtGui, "QAccessibleAnnouncementEvent", None)
    if event_class is None:
        return False
    QtGui.QAccessible.updateAccessibility(event_class(widget, text))
    return True
