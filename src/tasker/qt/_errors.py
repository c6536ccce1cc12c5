"""``TaskErrorBanner``: tells the user that a task failed, and why (Qt)."""

from __future__ import annotations

import weakref
from functools import partial
from typing import TYPE_CHECKING, Any

from .._widgets import ErrorBannerLogic, dismiss_label
from ._base import ElidedLabel, KeyButton, QtBinding, split_parent
from ._binding import QtCore, QtWidgets

if TYPE_CHECKING:
    from .._core._task import Task


#: A red tint laid over whatever the theme's window colour is (light, dark, high
#: contrast), and the theme's own text colour: no fixed colour that vanishes on another theme.
_STYLE = """
QFrame#taskerErrorBanner { background-color: rgba(224, 27, 36, 40); border-bottom: 1px solid rgba(224, 27, 36, 150); }
QFrame#taskerErrorBanner QLabel { color: palette(window-text); background: transparent; }
"""


class _Entry(QtWidgets.QWidget):
    def __init__(self, title: str, detail: str, task: Task[Any] | None) -> None:
        super().__init__()
        self.task = task
        self.title = title
        self.detail = detail
        style = self.style()
        icon = QtWidgets.QLabel()
        icon.setPixmap(style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(20, 20))
        icon.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.title_label = ElidedLabel(title)
        bold = self.title_label.font()
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.detail_label = ElidedLabel(detail)
        self.detail_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.setToolTip(detail)
        self.dismiss_button = KeyButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.setAccessibleName(dismiss_label(title))
        self.setAccessibleName(title)
        self.setAccessibleDescription(detail)
        icon.setAccessibleName("Error")
        text = QtWidgets.QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title_label)
        text.addWidget(self.detail_label)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        row.addWidget(icon)
        row.addLayout(text, 1)
        row.addWidget(self.dismiss_button)


class TaskErrorBanner(QtWidgets.QFrame, ErrorBannerLogic, QtBinding):
    """A dismissible banner listing failed tasks with their error messages (Qt).

    It follows ``manager.task_ended`` (``follow=True``) and ``report(task)`` /
    ``report_error(title, error)`` / ``when_done=banner.when_done``; see
    ``tasker._widgets.ErrorBannerLogic`` for what it shows, and docs/qt.md.
    """

    def __init__(
        self,
        manager: Any = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        follow: bool = True,
        max_entries: int = 3,
    ) -> None:
        manager, parent = split_parent(manager, parent)
        super().__init__(parent)
        self._init_banner(follow, max_entries)
        self.setObjectName("taskerErrorBanner")
        self.setStyleSheet(_STYLE)
        self._box = QtWidgets.QVBoxLayout(self)
        self._box.setContentsMargins(10, 6, 10, 6)
        self._box.setSpacing(6)
        self.setVisible(False)
        self._revealed = False
        self._bind_manager(manager)
        if follow:
            self._bind_qt(manager)

    @property
    def revealed(self) -> bool:
        """True while the banner shows at least one entry."""
        return self._revealed

    def _make_entry(self, title: str, detail: str, task: Task[Any] | None) -> _Entry:
        entry = _Entry(title, detail, task)
        # Weak references only: a connection holding the banner would keep it alive.
        entry.dismiss_button.clicked.connect(partial(_dismiss, weakref.ref(self), weakref.ref(entry)))
        return entry

    def _add_entry(self, entry: _Entry) -> None:
        self._box.addWidget(entry)

    def _remove_entry(self, entry: _Entry) -> None:
        focus = self.window().focusWidget()
        had_focus = focus is not None and entry.isAncestorOf(focus)
        index = self._box.indexOf(entry)
        self._box.removeWidget(entry)
        entry.hide()
        entry.deleteLater()
        if had_focus and self._box.count():  # keyboard users stay in the banner
            item = self._box.itemAt(min(index, self._box.count() - 1))
            after = item.widget() if item is not None else None
            if isinstance(after, _Entry):
                after.dismiss_button.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def _reveal(self, shown: bool) -> None:
        self._revealed = shown
        self.setVisible(shown)


def _dismiss(banner: weakref.ref[TaskErrorBanner], entry: weakref.ref[_Entry], *_: Any) -> None:
    b, e = banner(), entry()
    if b is not None and e is not None:
        b.dismiss(e)
