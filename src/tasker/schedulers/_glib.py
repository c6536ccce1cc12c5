"""GTK / GLib: callbacks go through ``GLib.idle_add`` onto the GLib main loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._base import Scheduler


class GLibScheduler(Scheduler):
    """Posts to the default GLib main context (the GTK main thread)."""

    name = "glib"

    def __init__(self, priority: int | None = None) -> None:
        from gi.repository import GLib

        self._glib: Any = GLib
        self._priority = GLib.PRIORITY_DEFAULT_IDLE if priority is None else priority

    def call_soon(self, fn: Callable[[], object]) -> None:
        self._glib.idle_add(_run_once, fn, priority=self._priority)

    def pump(self, timeout: float) -> bool:
        context = self._glib.MainContext.default()
        if not context.is_owner() and not context.acquire():
            return False
        try:
            deadline = time.monotonic() + timeout
            fired = [False]
            source = self._glib.timeout_add(max(1, int(timeout * 1000)), _set_true, fired)
            while not fired[0] and time.monotonic() < deadline + 0.05:
                context.iteration(True)
            if not fired[0]:
                self._glib.source_remove(source)
            return True
        finally:
            context.release()


def _run_once(fn: Callable[[], object]) -> bool:
    fn()
    return False


def _set_true(box: list[bool]) -> bool:
    box[0] = True
    return False
