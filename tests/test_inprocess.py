"""The in-process run template (``runners._inprocess``) on its own: no thread, no loop.

A coroutine task's context names it for warnings; once the task concluded the
name is reset (else context → task → asyncio task → context: a cycle). A
coroutine that the garbage collector closes later runs outside that context:
it must still conclude, and the reset must not raise there.
"""

from __future__ import annotations

import contextvars
from collections.abc import Generator
from typing import Any

import pytest

from tasker._core import _warn
from tasker._core._task import Task
from tasker.runners._inprocess import run_async, run_sync

pytestmark = pytest.mark.timeout(30)


class _Lifecycle:
    """Just what the template calls."""

    def __init__(self) -> None:
        self.concluded: list[tuple[Any, BaseException | None]] = []

    def begin(self, task: Task[Any]) -> bool:
        return True

    def conclude(self, task: Task[Any], result: Any = None, error: BaseException | None = None) -> bool:
        self.concluded.append((result, error))
        return True


class _Suspend:
    def __await__(self) -> Generator[None, None, None]:
        yield  # a bare yield: the driver below sees the coroutine suspend here


def _task(lifecycle: _Lifecycle, func: Any) -> Task[Any]:
    return Task(lifecycle, "coroutine", (func, (), {}), None, None, None, None)  # type: ignore[arg-type]


def test_a_finished_coroutine_resets_the_task_name_in_its_context() -> None:
    async def job(context: Any) -> str:
        assert _warn.current.get() is task
        return "done"

    lifecycle = _Lifecycle()
    task = _task(lifecycle, job)
    context = contextvars.copy_context()
    with pytest.raises(StopIteration):
        context.run(run_async(lifecycle, task).send, None)  # type: ignore[arg-type]
    assert lifecycle.concluded == [("done", None)]
    assert context.run(_warn.current.get) is None


def test_a_coroutine_closed_outside_its_context_still_concludes_and_does_not_raise() -> None:
    async def job(context: Any) -> None:
        await _Suspend()

    lifecycle = _Lifecycle()
    task = _task(lifecycle, job)
    template = run_async(lifecycle, task)  # type: ignore[arg-type]
    context = contextvars.copy_context()
    context.run(template.send, None)  # suspended inside the task, in its own context
    template.close()  # as the garbage collector would: here, not in that context
    [(result, error)] = lifecycle.concluded
    assert result is None and isinstance(error, GeneratorExit)


def test_a_thread_task_resets_the_name_and_passes_the_failure_on() -> None:
    def job(context: Any) -> None:
        assert _warn.current.get() is task
        raise ValueError("boom")

    lifecycle = _Lifecycle()
    task = _task(lifecycle, job)
    run_sync(lifecycle, task)  # type: ignore[arg-type]
    [(result, error)] = lifecycle.concluded
    assert result is None and isinstance(error, ValueError)
    assert _warn.current.get() is None
