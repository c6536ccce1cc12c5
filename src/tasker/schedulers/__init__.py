"""Main-thread schedulers: one small object per event loop.

``resolve_scheduler`` turns the ``main_thread_scheduler=`` option into one:
``None`` picks GLib in a GTK application, Qt where a ``QApplication`` exists,
Tk where a Tk root window exists, and the headless dispatcher otherwise;
a name picks that scheduler; a ``Scheduler`` is used as is; any other callable
``f(fn)`` is wrapped (``GLib.idle_add`` fits).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._base import CallableScheduler, Scheduler

if TYPE_CHECKING:
    from ._asyncio import AsyncioScheduler
    from ._glib import GLibScheduler
    from ._headless import HeadlessScheduler
    from ._manual import ManualScheduler
    from ._qt import QtScheduler
    from ._tk import TkScheduler

__all__ = [
    "AsyncioScheduler",
    "CallableScheduler",
    "GLibScheduler",
    "HeadlessScheduler",
    "ManualScheduler",
    "QtScheduler",
    "Scheduler",
    "TkScheduler",
    "resolve_scheduler",
]

#: scheduler name -> (module, class); toolkit modules are imported only when chosen.
_BY_NAME = {
    "headless": ("_headless", "HeadlessScheduler"),
    "manual": ("_manual", "ManualScheduler"),
    "glib": ("_glib", "GLibScheduler"),
    "gtk": ("_glib", "GLibScheduler"),
    "asyncio": ("_asyncio", "AsyncioScheduler"),
    "qt": ("_qt", "QtScheduler"),
    "tk": ("_tk", "TkScheduler"),
}


def resolve_scheduler(spec: Any) -> Scheduler:
    """The scheduler for a ``main_thread_scheduler=`` value (see module doc)."""
    if spec is None:
        return _detect()
    if isinstance(spec, Scheduler):
        return spec
    if isinstance(spec, str):
        return _by_name(spec)
    if callable(spec):
        return CallableScheduler(spec)
    raise TypeError(
        "main_thread_scheduler must be None, a Scheduler, one of "
        f"{', '.join(_BY_NAME)} or a callable f(fn); got {spec!r}"
    )


def _detect() -> Scheduler:
    if "gi.repository.Gtk" in sys.modules:
        return _by_name("glib")
    if "PySide6.QtCore" in sys.modules or "PyQt6.QtCore" in sys.modules:
        from ._qt import qt_app_running

        if qt_app_running():
            return _by_name("qt")
    tkinter = sys.modules.get("tkinter")
    if tkinter is not None and getattr(tkinter, "_default_root", None) is not None:
        return _by_name("tk")
    return _by_name("headless")


def _by_name(name: str) -> Scheduler:
    if name not in _BY_NAME:
        raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(_BY_NAME)}")
    scheduler: Scheduler = __getattr__(_BY_NAME[name][1])()
    return scheduler


def __getattr__(name: str) -> Any:
    """A scheduler class by name, its module imported on first use (toolkits only when chosen)."""
    for module, class_name in _BY_NAME.values():
        if class_name == name:
            return getattr(import_module(f".{module}", __name__), name)
    raise AttributeError(name)
