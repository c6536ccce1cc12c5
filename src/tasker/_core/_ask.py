"""``context.ask``: a question from a task, answered on the main thread.

    task (thread / hub / worker reader)          main thread
    ───────────────────────────────────          ──────────────────────────────
    Question(name, data, deliver) ──► post_ask ──► when_event(task, name, data)
          ▲                             (an event: in order, back-pressure)
          │                                          │ returns the answer / raises
          └──────── deliver(value, error) ◄──────────┘
                    first answer wins: the handler's, a cancel's, a timeout's

A question is answered exactly once. Whoever answers first — the main thread
with the handler's result, ``cancel()`` with ``CancelledError``, the asker itself
giving up at its timeout — decides; later answers are ignored, and a question
already answered is never shown to the handler. ``deliver`` is how the answer
travels back: an event for a thread, ``call_soon_threadsafe`` for a coroutine, a
message to the worker for a process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Deliver = Callable[[Any, BaseException | None], object]

_lock = threading.Lock()  # answers are rare and tiny: one lock for all questions


class Question:
    """One ``ask``: its event name and data, and how its answer goes back."""

    __slots__ = ("_deliver", "answered", "data", "name")

    def __init__(self, name: str, data: Any, deliver: Deliver) -> None:
        self.name = name
        self.data = data
        self._deliver = deliver
        #: True once answered (by anyone); the handler is then never called.
        self.answered = False

    def answer(self, value: Any = None, error: BaseException | None = None) -> bool:
        """Send the answer (a value, or an error to raise at the ask); first one wins."""
        with _lock:
            if self.answered:
                return False
            self.answered = True
        self._deliver(value, error)
        return True

    def withdraw(self) -> bool:
        """The asker stopped waiting: nobody answers any more; True if it was open."""
        with _lock:
            if self.answered:
                return False
            self.answered = True
        return True


class Reply:
    """Where a thread waits for the answer to its question."""

    __slots__ = ("_done", "error", "value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def deliver(self, value: Any, error: BaseException | None) -> None:
        self.value, self.error = value, error
        self._done.set()

    def wait(self, timeout: float | None) -> bool:
        return self._done.wait(timeout)

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def check_timeout(timeout: float | None) -> float | None:
    if timeout is not None and (not isinstance(timeout, int | float) or not timeout > 0):
        raise ValueError(f"ask(): timeout must be a positive number of seconds or None, got {timeout!r}")
    return timeout
