"""Qt (PySide6 or PyQt6): a queued signal carries callables to the GUI thread."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ._base import Scheduler


def qt_core() -> Any:
    """The QtCore module of the Qt binding already imported (PySide6 first)."""
    for name in ("PySide6.QtCore", "PyQt6.QtCore"):
        if name in sys.modules:
            return sys.modules[name]
    try:
        from PySide6 import QtCore
    except ImportError:
        from PyQt6 import QtCore  # type: ignore[no-redef]
    return QtCore


def qt_app_running() -> bool:
    """True if a Qt binding is imported and a QCoreApplication exists."""
    for name in ("PySide6.QtCore", "PyQt6.QtCore"):
        module = sys.modules.get(name)
        if module is not None and module.QCoreApplication.instance() is not None:
            return True
    return False


class QtScheduler(Scheduler):
    """Emits a signal whose receiver lives in the application's (GUI) thread."""

    name = "qt"

    def __init__(self) -> None:
        core = qt_core()
        app = core.QCoreApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication before tasker's Qt scheduler")
        signal = getattr(core, "Signal", None) or core.pyqtSignal
        slot = getattr(core, "Slot", None) or core.pyqtSlot

        class Poster(core.QObject):  # type: ignore[misc,name-defined]
            posted = signal(object)

            @slot(object)  # type: ignore[untyped-decorator]
            def run(self, fn: Callable[[], object]) -> None:
                fn()

        self._core = core
        self._poster = Poster()
        self._poster.moveToThread(app.thread())
        self._poster.posted.connect(self._poster.run, core.Qt.ConnectionType.QueuedConnection)

    def call_soon(self, fn: Callable[[], object]) -> None:
        self._poster.posted.emit(fn)

    def pump(self, timeout: float) -> bool:
        core = self._core
        app = core.QCoreApplication.instance()
        if app is None or core.QThread.currentThread() is not app.thread():
            return False
        app.processEvents(core.QEventLoop.ProcessEventsFlag.AllEvents, max(1, int(timeout * 1000)))
        return True
