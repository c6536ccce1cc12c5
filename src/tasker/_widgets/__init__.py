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
* ``AccessibleValue`` — the rate rule of a bar's accessible value (a new 10 %
  step, at most once a second); ``ending_text`` and the buttons' accessible
  names (``cancel_label``, ``pause_label``, ``dismiss_label``);
* text helpers: ``format_duration``, ``describe_error``, ``count_text``, ``paused_text``.

Widget time (``show_after``, pulsing, time left, the accessible value's rate)
is the manager's clock (``clock=``; ``clock_now``), so ``FakeClock`` drives it.
"""

from __future__ import annotations

from ._a11y import AccessibleValue, cancel_label, dismiss_label, ending_text, pause_label
from ._binding import ManagerBinding, ShowAfter, clock_now, resolve_manager
from ._errors import ErrorBannerLogic, describe_error
from ._rows import RowLogic, RowState, TaskListLogic
from ._status import StatusBarLogic
from ._text import count_text, format_duration, paused_text

__all__ = [
    "AccessibleValue",
    "ErrorBannerLogic",
    "ManagerBinding",
    "RowLogic",
    "RowState",
    "ShowAfter",
    "StatusBarLogic",
    "TaskListLogic",
    "cancel_label",
    "clock_now",
    "count_text",
    "describe_error",
    "dismiss_label",
    "ending_text",
    "format_duration",
    "pause_label",
    "paused_text",
    "resolve_manager",
]
