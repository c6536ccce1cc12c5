"""GTK 4 widgets for tasker (``pip install tasker-ui[gtk]``).

Importing this module imports GTK 4 (``gi.require_version("Gtk", "4.0")``);
importing ``tasker`` alone never does. In a GTK application tasker delivers
every callback on the GTK main thread by itself (``GLib.idle_add``), so these
widgets, like your own ``tasks_updated`` handlers, update widgets directly.

* ``TaskProgressBar`` — overall progress for a status bar.
* ``TaskListView`` — one row per live task, with a cancel button.
* ``TaskErrorBanner`` — shows failed tasks and their errors.
* ``inhibit_while_busy`` — no suspend or logout while visible tasks run.
* ``use_glib_asyncio`` — run asyncio on the GTK main loop (``await task``);
  ``glib_loop_factory`` — PyGObject's loop class for ``asyncio.Runner(loop_factory=...)``.
* ``save_png`` — render a widget or window to a PNG (screenshots).

See ``docs/gtk.md``.
"""

from __future__ import annotations

from .._widgets import format_duration
from ._asyncio import glib_loop_factory, use_glib_asyncio
from ._errors import TaskErrorBanner, describe_error
from ._inhibit import BusyInhibitor, inhibit_while_busy
from ._list import TaskListView, TaskRow
from ._prestart import prestart_when_idle
from ._progress import TaskProgressBar
from ._snapshot import save_png

__all__ = [
    "BusyInhibitor",
    "TaskErrorBanner",
    "TaskListView",
    "TaskProgressBar",
    "TaskRow",
    "describe_error",
    "format_duration",
    "glib_loop_factory",
    "inhibit_while_busy",
    "prestart_when_idle",
    "save_png",
    "use_glib_asyncio",
]
