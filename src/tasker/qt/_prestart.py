"""``prestart_when_idle``: warm the worker pool once the Qt event loop first goes idle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._binding import QtCore

if TYPE_CHECKING:
    from .._core._manager import TaskManager


def prestart_when_idle(
    manager: TaskManager | None = None, *, processes: bool = True, cluster: bool = False, preload: tuple[str, ...] = ()
) -> None:
    """Call ``manager.prestart(processes=, cluster=, preload=)`` (default: ``task_mgr``) once, when Qt is idle.

    A zero-delay single-shot timer: Qt runs it once the events already queued
    (the window's first show and paint) have been handled.
    """
    from .. import task_mgr

    target_manager = manager if manager is not None else task_mgr

    def start() -> None:
        target_manager.prestart(processes=processes, cluster=cluster, preload=preload)

    QtCore.QTimer.singleShot(0, start)
