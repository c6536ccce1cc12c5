"""An asyncio loop owned by the main thread (``asyncio.run`` apps, gi.events)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ._base import Scheduler

logger = logging.getLogger("tasker")


class AsyncioScheduler(Scheduler):
    """Posts with ``loop.call_soon_threadsafe`` to the given (or running) loop.

    Once that loop is closed (``asyncio.run`` returned), nothing can run on it:
    callbacks are dropped, with one warning that says why.
    """

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._warned = False

    def call_soon(self, fn: Callable[[], object]) -> None:
        if self.loop.is_closed():
            self._dropped()
            return
        try:
            self.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # closed between the check and the call
            self._dropped()

    def _dropped(self) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "tasker: the asyncio loop that runs main-thread callbacks is closed; they are dropped "
                "(shut the TaskManager down before the loop ends, e.g. at the end of main())"
            )
