"""The demo's Qt window (PySide6 or PyQt6, as ``tasker.qt`` picks): the same tasks, tour and test mode as the GTK one.

Every callback runs on the Qt GUI thread: tasker picks its Qt scheduler by
itself, since the ``QApplication`` exists before the first task starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..qt import TaskErrorBanner, TaskListView, TaskProgressBar, save_png
from ..qt._base import ElidedLabel, dim
from ..qt._binding import QtCore, QtGui, QtWidgets
from ._app import (
    OUTCOME_STYLE,
    PREVIEW_BACKGROUND,
    SUBTITLE,
    TITLE,
    DemoController,
    configure_manager,
    outcome_text,
    preview_caption,
    start_buttons,
)
from ._script import Outcome

PREVIEW_HEIGHT = 240


def _heading(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    dim(label, 0.8)
    return label


def _start_button(label: str, caption: str, start: Callable[[], object]) -> QtWidgets.QPushButton:
    button = QtWidgets.QPushButton()
    inner = QtWidgets.QVBoxLayout(button)
    inner.setContentsMargins(10, 5, 10, 5)
    inner.setSpacing(1)
    for text, small in ((label, False), (caption, True)):
        part = QtWidgets.QLabel(text)
        part.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        if small:
            font = part.font()
            font.setPointSizeF(font.pointSizeF() * 0.85)
            part.setFont(font)
            dim(part)
        inner.addWidget(part)
    button.setMinimumHeight(inner.sizeHint().height() + 4)
    button.setAccessibleName(label)  # its text is in child labels: without it, an unnamed button
    button.setAccessibleDescription(caption)
    button.clicked.connect(lambda: start())
    return button


class DemoWindow(QtWidgets.QWidget):
    def __init__(self, controller: QtDemo) -> None:
        super().__init__()
        self.controller = controller
        tasks = controller.make_tasks()
        self.setWindowTitle(TITLE)
        self.resize(1040, 760)
        self.banner = TaskErrorBanner(tasks.manager)
        tasks.on_failure = self.banner.when_done
        self.task_list = TaskListView(tasks.manager, pausable=True)
        self.status = TaskProgressBar(tasks.manager, idle_text="Ready")
        tasks.on_preview = self.show_preview

        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._header())
        outer.addWidget(self.banner)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(0)
        body.addWidget(self._sidebar())
        line = QtWidgets.QFrame()
        line.setFrameShape(QtWidgets.QFrame.Shape.VLine)
        line.setFrameShadow(QtWidgets.QFrame.Shadow.Sunken)
        body.addWidget(line)
        body.addLayout(self._main_area(), 1)
        outer.addLayout(body, 1)
        outer.addWidget(self._statusbar())
        self._heartbeat_timer = QtCore.QTimer(self)
        self._heartbeat_timer.timeout.connect(self._show_heartbeat)
        self._heartbeat_timer.start(400)

    def _header(self) -> QtWidgets.QWidget:
        header = QtWidgets.QFrame()
        header.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        row = QtWidgets.QHBoxLayout(header)
        row.setContentsMargins(10, 6, 10, 6)
        self.run_all_button = QtWidgets.QPushButton("Run tour")
        self.run_all_button.setToolTip("Start every demo task; cancel one; then the flood")
        self.run_all_button.setDefault(True)
        self.run_all_button.clicked.connect(lambda: self.controller.start_tour())
        self.cancel_all_button = QtWidgets.QPushButton("Cancel all")
        self.cancel_all_button.clicked.connect(lambda: self.controller.cancel_all())
        titles = QtWidgets.QVBoxLayout()
        titles.setSpacing(0)
        name = QtWidgets.QLabel(TITLE)
        font = name.font()
        font.setBold(True)
        name.setFont(font)
        sub = QtWidgets.QLabel(SUBTITLE)
        dim(sub)
        for label in (name, sub):
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            titles.addWidget(label)
        row.addWidget(self.run_all_button)
        row.addLayout(titles, 1)
        row.addWidget(self.cancel_all_button)
        return header

    def _sidebar(self) -> QtWidgets.QWidget:
        side = QtWidgets.QWidget()
        side.setFixedWidth(270)
        box = QtWidgets.QVBoxLayout(side)
        box.setContentsMargins(12, 14, 12, 14)
        box.setSpacing(8)
        box.addWidget(_heading("Start a task"))
        tasks = self.controller.tasks
        for label, caption, method in start_buttons(self.controller.args):
            box.addWidget(_start_button(label, caption, getattr(tasks, method)))
        box.addSpacing(10)
        box.addWidget(_heading("Finished"))
        self.log = QtWidgets.QVBoxLayout()
        self.log.setSpacing(3)
        box.addLayout(self.log)
        box.addStretch(1)
        return side

    def _main_area(self) -> QtWidgets.QVBoxLayout:
        area = QtWidgets.QVBoxLayout()
        area.setContentsMargins(14, 14, 14, 10)
        area.setSpacing(8)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(_heading("Preview"), 1)
        self.preview_caption = QtWidgets.QLabel("Press “Render image”")
        dim(self.preview_caption)
        top.addWidget(self.preview_caption)
        area.addLayout(top)
        self.picture = QtWidgets.QLabel()
        self.picture.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedHeight(PREVIEW_HEIGHT)
        self.picture.setStyleSheet(f"background-color: {PREVIEW_BACKGROUND}; border-radius: 6px;")
        area.addWidget(self.picture)
        area.addWidget(_heading("Running tasks"))
        area.addWidget(self.task_list, 1)
        return area

    def _statusbar(self) -> QtWidgets.QWidget:
        bar = QtWidgets.QFrame()
        bar.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.status, 1)
        self.heartbeat_label = QtWidgets.QLabel()
        self.heartbeat_label.setMinimumWidth(self.heartbeat_label.fontMetrics().horizontalAdvance("M" * 17))
        self.heartbeat_label.setToolTip("A 5 ms QTimer: the longest gap between two runs")
        dim(self.heartbeat_label)
        row.addWidget(self.heartbeat_label)
        return bar

    # -- callbacks (GUI thread) ------------------------------------------------------------
    def show_preview(self, task: Any, data: dict[str, Any]) -> None:
        rgba = data["rgba"]
        height, width = rgba.shape[:2]
        image = QtGui.QImage(rgba.tobytes(), width, height, width * 4, QtGui.QImage.Format.Format_RGBA8888)
        pixmap = QtGui.QPixmap.fromImage(image).scaledToHeight(
            PREVIEW_HEIGHT, QtCore.Qt.TransformationMode.SmoothTransformation
        )
        self.picture.setPixmap(pixmap)
        self.controller.preview_count += 1
        self.preview_caption.setText(preview_caption(data, self.controller.preview_count))

    def add_outcome(self, outcome: Outcome) -> None:
        label = ElidedLabel(outcome_text(outcome))
        label.setStyleSheet(f"color: {OUTCOME_STYLE[outcome.status][1]};")
        self.log.insertWidget(0, label)
        while self.log.count() > 8:
            item = self.log.takeAt(self.log.count() - 1)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    def _show_heartbeat(self) -> None:
        if self.controller.heartbeat is not None:
            self.heartbeat_label.setText(self.controller.heartbeat.text())


class QtDemo(DemoController):
    """The Qt window around the shared tour, test mode and screenshot."""

    toolkit = "qt"

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
        self._timers: list[QtCore.QTimer] = []
        self.window: DemoWindow

    def run(self) -> int:
        configure_manager(self.args.cluster)
        window = self.window = DemoWindow(self)
        self.banner, self.task_list = window.banner, window.task_list
        window.show()
        self.begin()
        status = self.app.exec()
        self.manager.shutdown(timeout=2.0)
        return self.exit_code or int(status)

    def after(self, ms: int, fn: Callable[[], bool]) -> object:
        timer = QtCore.QTimer()
        timer.setInterval(ms)

        def fire() -> None:
            if not fn():
                timer.stop()
                self._timers.remove(timer)

        timer.timeout.connect(fire)
        self._timers.append(timer)
        timer.start()
        return timer

    def quit(self) -> None:
        self.app.quit()

    def save_png(self, path: str) -> tuple[int, int]:
        return save_png(self.window, path)


    def tour_button(self, enabled: bool) -> None:
        self.window.run_all_button.setEnabled(enabled)


def run_qt(args: argparse.Namespace) -> int:
    return QtDemo(args).run()

