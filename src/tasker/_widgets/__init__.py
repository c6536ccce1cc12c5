"""What tasker's widgets share, whatever the toolkit (GTK, Qt, Tk).

Nothing here imports a toolkit. ``tasker.gtk``, ``tasker.qt`` and ``tasker.tk``
build their widgets from these pieces and add only what is drawn:

* ``ManagerBinding`` — following a manager's ``tasks_updated`` and
  ``task_ended`` (weakly), invisible tasks left out, a self-stopping tick timer,
  ``show_after`` (``ShowAfter``);
* ``StatusBarLogic`` — the status strip: newest message, task count,
  overall fraction, pulsing when nothing reports progress, idle state;
* ``TaskListLogic`` and ``RowLogic`` — one row per live task: rows
  added and removed, message, fraction, percentage, pulsing, time left, paused
  (a pause/resume button with ``pausable=True``);
* ``ErrorBannerLogic`` — the failures shown, once per task, at most
  ``max_entries``, dismiss and clear;
* text helpers: ``format_duration``, ``describe_error``, ``count_text``, ``paused_text``.
"""

from __future__ import annotations

from ._binding import ManagerBinding, ShowAfter, resolve_manager
from ._errors import ErrorBannerLogic, describe_error
from ._rows import RowLogic, RowState, TaskListLogic
from ._status import StatusBarLogic
from ._text import count_text, format_duration, paused_text

__all__ = [
    "ErrorBannerLogic",
    "ManagerBinding",
    "RowLogic",
    "RowState",
    "ShowAfter",
    "StatusBarLogic",
    "TaskListLogic",
    "count_text",
    "describe_error",
    "format_duration",
    "paused_text",
    "resolve_manager",
]
