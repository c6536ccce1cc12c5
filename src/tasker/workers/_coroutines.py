"""Coroutine tasks: asyncio tasks on the manager's hub loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._context import ExecutionContext

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._task import Task

logger = logging.getLogger("tasker")


class CoroutineRunner:
    """Wraps each coroutine in an asyncio task; cancel = ``asyncio`` cancel."""

    kind = "coroutine"

    def __init__(self, manager: TaskManager) -> None:
        self._manager = manager
        self._hub = manager._hub

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def submit(self, task: Task[Any]) -> None:
        self._hub.call_soon(self._start, task)

    def interrupt(self, task: Task[Any]) -> None:
        self._hub.call_soon(self._cancel_handle, task)

    def release(self, task: Task[Any]) -> None:
        pass  # coroutines hold no slot: the loop runs every one of them

    def restart(self) -> None:
        pass

    def abandon(self, task: Task[Any]) -> None:
        logger.warning(
            "tasker: coroutine task %r kept running after cancellation (does it "
            "swallow asyncio.CancelledError?); it is abandoned",
            task.name,
        )

    def shutdown(self) -> None:
        pass  # the hub cancels what is left when it stops

    def _start(self, task: Task[Any]) -> None:
        loop = self._hub.loop
        if task._status.is_final or loop is None:
            return
        task._handle = loop.create_task(self._run(task))

    def _cancel_handle(self, task: Task[Any]) -> None:
        handle = task._handle
        if handle is not None:
            handle.cancel()

    async def _run(self, task: Task[Any]) -> None:
        manager = self._manager
        func, args, kwargs = task._func, task._args, task._kwargs
        if not manager._begin(task):
            return
        context = ExecutionContext(task, task._cancel_flag)
        try:
            result = await func(context, *args, **kwargs)
        except BaseException as error:  # incl. CancelledError: the manager decides
            manager._conclude(task, error=error)
        else:
            manager._conclude(task, result)
