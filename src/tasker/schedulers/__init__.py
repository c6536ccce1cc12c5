"""Main-thread schedulers: one small object per event loop.

``resolve_scheduler`` turns the ``main_thread_scheduler=`` option into one:
``None`` picks GLib in a GTK application and the headless dispatcher otherwise;
a name picks that scheduler; a ``Scheduler`` is used as is; any other callable
``f(fn)`` is wrapped (``GLib.idle_add`` fits).
"""

from __future__ import annotations

import sys
from typing import Any

from ._base import CallableScheduler, Scheduler
from ._headless import HeadlessScheduler
from ._manual import ManualScheduler

__all__ = [
    "AsyncioScheduler",
    "CallableScheduler",
    "GLibScheduler",
    "HeadlessScheduler",
    "ManualScheduler",
    "Scheduler",
    "resolve_scheduler",
]

_NAMES = ("headless", "manual", "glib", "gtk", "asyncio")


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
        f"{', '.join(_NAMES)} or a callable f(fn); got {spec!r}"
    )


def _detect() -> Scheduler:
    if "gi.repository.Gtk" in sys.modules:
        return _by_name("glib")
    return HeadlessScheduler()


def _by_name(name: str) -> Scheduler:
    if name == "headless":
        return HeadlessScheduler()
    if name == "manual":
        return ManualScheduler()
    if name in ("glib", "gtk"):
        from ._glib import GLibScheduler

        return GLibScheduler()
    if name == "asyncio":
        from ._asyncio import AsyncioScheduler

        return AsyncioScheduler()
    raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(_NAMES)}")


def __getattr__(name: str) -> Any:
    if name == "GLibScheduler":
        from ._glib import GLibScheduler

        return GLibScheduler
    if name == "AsyncioScheduler":
        from ._asyncio import AsyncioScheduler

        return AsyncioScheduler
    raise AttributeError(name)
