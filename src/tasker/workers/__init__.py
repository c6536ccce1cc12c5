"""Runners: what executes a task of each kind.

A runner only executes. It calls ``manager._begin(task)`` right before running
the function and ``manager._conclude(task, result, error)`` once it stopped;
the manager owns every status change (see ``tasker._core._manager``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._options import Options
    from .._core._task import Task


class Runner(Protocol):
    kind: str

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Check/convert at the call (in the caller's thread); raise to refuse."""

    def submit(self, task: Task[Any]) -> None:
        """Start the task, or queue it (it stays pending)."""

    def interrupt(self, task: Task[Any]) -> None:
        """Cancellation was asked for (its flag is already set); the manager's lock is held."""

    def release(self, task: Task[Any]) -> None:
        """The running task was cancelled: free its slot for queued work now (no lock held)."""

    def abandon(self, task: Task[Any]) -> None:
        """The grace period is over: stop waiting for the task's function."""

    def restart(self) -> None:
        """Replace what the runner keeps warm (``restart_worker_pool``)."""

    def shutdown(self) -> None:
        """Stop every thread/process this runner started."""


def make_runner(kind: str, manager: TaskManager, options: Options) -> Runner:
    if kind == "thread":
        from ._threads import ThreadRunner

        return ThreadRunner(manager, options.max_threads)
    if kind == "coroutine":
        from ._coroutines import CoroutineRunner

        return CoroutineRunner(manager)
    from ._frozen import refuse_if_not_booted

    refuse_if_not_booted()  # a frozen app's worker that is running the app must not start more
    from ._processes import ProcessRunner

    return ProcessRunner(manager, options)
