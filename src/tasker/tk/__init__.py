"""Tk widgets for tasker (ttk; Tk ships with Python).

Importing this module imports ``tkinter``; importing ``tasker`` alone never
does. Tk is not thread-safe: tasker's Tk scheduler (picked by itself when a Tk
root window exists as the first task starts) polls a queue every 10 ms on the
Tk main loop, so every callback — these widgets' too — runs on the Tk thread.

* ``TaskProgressBar`` — overall progress for a status bar.
* ``TaskListView`` — one row per live task, with a cancel button.
* ``TaskErrorBanner`` — shows failed tasks and their errors.
* ``save_png`` — a PNG of a window (X11, ImageMagick's ``import``).

Each widget disconnects from the manager when it is destroyed (``destroy()``,
its parent's or its window's). See ``docs/tk.md``.
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
