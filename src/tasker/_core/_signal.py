"""``tasks_updated``: a blinker signal whose receivers cannot break each other."""

from __future__ import annotations

import logging
from typing import Any

from blinker import Signal

logger = logging.getLogger("tasker")


class TasksSignal(Signal):
    """A ``blinker.Signal`` that logs a raising receiver and goes on.

    Receivers are called ``receiver(sender, tasks=[...], progress=float)`` on
    the main thread; weak references by default, as in blinker.
    """

    def send(self, sender: Any = None, /, *, _async_wrapper: Any = None, **kwargs: Any) -> list[tuple[Any, Any]]:
        results: list[tuple[Any, Any]] = []
        for receiver in self.receivers_for(sender):
            try:
                results.append((receiver, receiver(sender, **kwargs)))
            except Exception:
                logger.exception("tasker: a tasks_updated receiver raised (ignored): %r", receiver)
        return results
