"""``prestart_when_idle``: warm the worker pool once the GTK main loop first goes idle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gi.repository import GLib

if TYPE_CHECKING:
    from .._core._manager import TaskManager


def prestart_when_idle(
    manager: TaskManager | None = None, *, processes: bool = True, cluster: bool = False, preload: tuple[str, ...] = ()
) -> None:
    """Call ``manager.prestart(processes=, cluster=, preload=)`` (default: ``task_mgr``) once, when GTK is idle.

    An idle source at ``GLib.PRIORITY_LOW`` runs after everything GTK has
    pending, the window's first frame included: the workers boot while the
    user looks at the window, not while it is being drawn.
    """
    from .. import task_mgr

    target_manager = manager if manager is not None else task_mgr

    def start() -> bool:
        target_manager.prestart(processes=processes, cluster=cluster, preload=preload)
        return False  # GLib.SOURCE_REMOVE: once

    GLib.idle_add(start, priority=GLib.PRIORITY_LOW)
