"""The app's side of every remote runner: a task's messages → lifecycle calls.

    transport's reader (process: a worker's reader thread; cluster: the events thread)
        │ decoded message of a task (``_messages.decode``)
        ▼
    Relay.progress   PROGRESS ──► lifecycle.report
    Relay.event      EVENT    ──► lifecycle.post_event            (waits while the UI is behind)
    Relay.yielded    YIELD    ──► lifecycle.post_yield            (the same, for a generator's values)
    Relay.yielded_many  YIELDS ──► lifecycle.post_yields          (several values at once, in order)
    Relay.question   QUESTION ──► lifecycle.post_question ─ answer ─► transport's ``answer``
    Relay.withdraw   WITHDRAW ──► the question is withdrawn
    Relay.log        LOG      ──► the app's logger of the record's name
    Relay.warning    WARNING  ──► lifecycle.post_warning (re-issued on the main thread)
    Relay.conclude   RESULT / FAILURE ──► lifecycle.conclude (the error rebuilt, ``_codec``)

A transport keeps what is its own: which task a message is for (the process
runner's task id, the cluster runner's signed token), ordering (the cluster's
``Inbox``), and what its pool does when a task ends (``ProcessRunner.finished``)
— then calls the Relay. The Relay holds no state but the questions it was
asked to track, in the dict the transport gives it (one per worker or task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..._core._ask import Question
from ._codec import Described, log_record, rebuild_error

if TYPE_CHECKING:
    from ..._core._runner import Lifecycle
    from ..._core._task import Task

#: How a transport sends the answer to a question back: (question number, value, error).
Answer = Callable[[int, Any, "BaseException | None"], None]


class Relay:
    """Turns one runner's decoded messages into calls of its lifecycle (any thread)."""

    __slots__ = ("lifecycle",)

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    def progress(self, task: Task[Any], progress: float, message: str | None) -> None:
        if not task.is_final():
            self.lifecycle.report(task, progress, message)

    def event(self, task: Task[Any], name: str, data: Any) -> None:
        self.lifecycle.post_event(task, name, data)

    def yielded(self, task: Task[Any], value: Any) -> None:
        self.lifecycle.post_yield(task, value)

    def yielded_many(self, task: Task[Any], values: list[Any]) -> None:
        self.lifecycle.post_yields(task, values)

    def question(
        self,
        task: Task[Any] | None,
        questions: dict[int, Question],
        number: int,
        name: str,
        data: Any,
        answer: Answer,
    ) -> None:
        """``context.ask`` in a worker: shown to the main thread; the answer goes back by ``answer``.

        ``task`` None: the task that asked is not running any more — the worker
        gets a ``CancelledError`` as its answer at once.
        """

        def deliver(value: Any, error: BaseException | None) -> None:
            questions.pop(number, None)
            answer(number, value, error)

        question = Question(name, data, deliver)
        if task is None:
            from ..._core._cancelled import CancelledError

            question.answer(error=CancelledError("the task that asked is no longer running"))
            return
        questions[number] = question
        self.lifecycle.post_question(task, question)

    def withdraw(self, questions: dict[int, Question], number: int) -> None:
        """The worker gave up waiting (its ask timed out): the dialog goes away unanswered."""
        question = questions.pop(number, None)
        if question is not None:
            question.withdraw()

    def log(self, fields: dict[str, Any]) -> None:
        log_record(fields)

    def warning(
        self, task: Task[Any] | None, module: str, qualname: str, text: str, filename: str, lineno: int
    ) -> None:
        self.lifecycle.post_warning(task, module, qualname, text, filename, lineno)

    def conclude(self, task: Task[Any], failed: bool, body: Any) -> None:
        """The function returned ``body`` (``failed`` False) or raised (``body``: a described error)."""
        if failed:
            described: Described = body
            self.lifecycle.conclude(task, error=rebuild_error(described))
        else:
            self.lifecycle.conclude(task, body)
