"""``prestart_when_idle``: warm the worker pool once the Tk main loop first goes idle."""

from __future__ import annotations

import tkinter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._core._manager import TaskManager


def prestart_when_idle(
    manager: TaskManager | None = None,
    *,
    processes: bool = True,
    cluster: bool = False,
    preload: tuple[str, ...] = (),
    widget: tkinter.Misc | None = None,
) -> None:
    """Call ``manager.prestart(processes=, cluster=, preload=)`` (default: ``task_mgr``) once, when Tk is idle.

    ``after_idle`` on ``widget`` (default: the root window): Tk runs it once its
    event queue is empty, after the window has been mapped and drawn.
    """
    from .. import task_mgr

    target_manager = manager if manager is not None else task_mgr
    target = widget if widget is not None else getattr(tkinter, "_default_root", None)
    if target is None:
        raise RuntimeError("prestart_when_idle needs a Tk root window: create tkinter.Tk() first, or pass widget=")

    def start() -> None:
        target_manager.prestart(processes=processes, cluster=cluster, preload=preload)

    target.after_idle(start)
