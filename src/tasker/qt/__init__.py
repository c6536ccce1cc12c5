"""Qt widgets for tasker, on PySide6 (``pip install tasker-ui[qt]``) or PyQt6.

Importing this module imports the Qt binding (``tasker.qt._binding`` picks it:
``TASKER_QT_API=pyside6|pyqt6`` forces one; otherwise the binding already
imported, PySide6 first, else PySide6 if installed, else PyQt6); importing
``tasker`` alone imports neither.
In a Qt application (a ``QApplication`` exists when the first task starts)
tasker delivers every callback on the GUI thread by itself (a queued signal),
so these widgets, like your own ``tasks_updated`` handlers, update widgets directly.

* ``TaskProgressBar`` — overall progress for a status bar.
* ``TaskListView`` — one row per live task, with a cancel button.
* ``TaskErrorBanner`` — shows failed tasks and their errors.
* ``save_png`` — grab a widget or window to a PNG (screenshots).

They follow Qt's object ownership: each disconnects from the manager when its
C++ object is destroyed and never touches it afterwards. See ``docs/qt.md``.
"""

from __future__ import annotations

from .._widgets import describe_error, format_duration
from ._errors import TaskErrorBanner
from ._list import TaskListView, TaskRow
from ._prestart import prestart_when_idle
from ._progress import TaskProgressBar
from ._snapshot import save_png

__all__ = [
    "TaskErrorBanner",
    "TaskListView",
    "TaskProgressBar",
    "TaskRow",
    "describe_error",
    "format_duration",
    "prestart_when_idle",
    "save_png",
]
