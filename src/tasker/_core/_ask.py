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
from collections.abc import Callable, Iterable

from ._errors import TaskTimeoutError
from ._seconds import timeout_seconds

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ._runner import Lifecycle
    from ._task import Task

Deliver = Callable[["Any", BaseException | None], object]

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
    """``ask(timeout=)``: None for none (``None``, ``inf``); ``ValueError`` past what can be waited."""
    return timeout_seconds(timeout, "ask(): timeout") if timeout is not None else None


def ask_timeout_error(name: str, timeout: float | None) -> TaskTimeoutError:
    return TaskTimeoutError(f"no answer to ask({name!r}) within {timeout} s")


def cancel_questions(task: Task[Any], questions: Iterable[Question]) -> None:
    """Wake every ask of a task that stops: it raises ``CancelledError`` there."""
    from ._cancelled import CancelledError

    for question in questions:
        why = f"task {task.name!r} was canceled while it waited in ask({question.name!r})"
        question.answer(error=CancelledError(why))


def ask_blocking(lifecycle: Lifecycle, task: Task[Any], name: str, data: Any, timeout: float | None) -> Any:
    """``context.ask`` in a thread task (a process task asks from its worker)."""
    if task.kind == "coroutine":
        raise RuntimeError(
            "context.ask() would block tasker's asyncio loop, which runs every coroutine "
            "task; in a coroutine use 'await context.ask_async(...)'"
        )
    reply = Reply()
    question = Question(name, data, reply.deliver)
    lifecycle.post_question(task, question)
    if not reply.wait(timeout):
        question.answer(error=ask_timeout_error(name, timeout))  # unless the answer just came
    return reply.get()


async def ask_async(lifecycle: Lifecycle, task: Task[Any], name: str, data: Any, timeout: float | None) -> Any:
    """``await context.ask_async`` in a coroutine task, on tasker's loop."""
    if task.kind != "coroutine":
        raise TypeError("context.ask_async() is for coroutine tasks; a thread or process task calls context.ask()")
    import asyncio

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def deliver(value: Any, error: BaseException | None) -> None:
        loop.call_soon_threadsafe(settle_future, future, value, error)

    question = Question(name, data, deliver)
    lifecycle.post_question(task, question)
    try:
        if timeout is None:
            return await future
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        question.answer()  # the handler is not asked any more
        raise ask_timeout_error(name, timeout) from None
    except BaseException:  # canceled: the question is withdrawn too
        question.answer()
        raise


def settle_future(future: Any, value: Any, error: BaseException | None) -> None:
    """Resolve an asyncio future from its loop, unless it is done (canceled) already."""
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
