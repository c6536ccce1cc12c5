"""``tasks_updated`` and ``task_ended``: blinker signals that suit a UI.

Two things differ from a plain ``blinker.Signal``:

* receivers are held **strongly** by default, as GObject's ``connect`` holds
  its handlers: a handler defined inside a function (the README's ``setup_ui``)
  or a lambda keeps working until it is disconnected. ``connect(fn, weak=True)``
  asks for blinker's weak reference instead;
* a receiver that raises is logged (logger ``tasker``) and the others still
  run: one broken handler cannot silence the rest of the UI.

A coroutine function is refused at ``connect`` (``TypeError``): receivers run on
the main thread and nothing would await it. Everything else is blinker's: ``disconnect``, ``connected_to``, ``muted``
(a muted signal calls nobody), ``connect_via``, the ``@signal.connect``
decorator, ``receivers``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from blinker import ANY, NamedSignal

from ._validate import is_async_callable

logger = logging.getLogger("tasker")

F = TypeVar("F", bound=Callable[..., Any])


class TasksSignal(NamedSignal):
    """A named ``blinker`` signal with strong receivers and guarded calls."""

    def connect(self, receiver: F, sender: Any = ANY, weak: bool = False) -> F:
        """Call ``receiver(sender, **kwargs)`` on every send, until disconnected.

        ``weak=True`` holds it by a weak reference instead: it is disconnected
        when nothing else refers to it (blinker's default, not tasker's).
        """
        if is_async_callable(receiver):
            raise TypeError(
                f"{self.name} receivers run on the main thread and must be plain functions, "
                f"got the coroutine function {getattr(receiver, '__qualname__', receiver)!r}; "
                "start the async work from a plain receiver (e.g. task_mgr.add_coroutine)"
            )
        return super().connect(receiver, sender, weak)

    def send(self, sender: Any = None, /, *, _async_wrapper: Any = None, **kwargs: Any) -> list[tuple[Any, Any]]:
        if self.is_muted:
            return []
        results: list[tuple[Any, Any]] = []
        for receiver in self.receivers_for(sender):
            try:
                results.append((receiver, receiver(sender, **kwargs)))
            except Exception:
                logger.exception("tasker: a %s receiver raised (ignored): %r", self.name, receiver)
        return results
