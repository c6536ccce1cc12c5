"""An asyncio loop owned by the main thread (``asyncio.run`` apps, gi.events)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._base import Scheduler


class AsyncioScheduler(Scheduler):
    """Posts with ``loop.call_soon_threadsafe`` to the given (or running) loop."""

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()

    def call_soon(self, fn: Callable[[], object]) -> None:
        self.loop.call_soon_threadsafe(fn)
