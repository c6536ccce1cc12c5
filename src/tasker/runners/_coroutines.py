"""Coroutine tasks: asyncio tasks on tasker's own loop (the hub, ``_hub``).

The hub's thread starts with the first coroutine task (or the first use of
``TaskManager.loop``); events sent from it never wait for room in the
delivery queue, since one blocked coroutine would block them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._runner import CooperativePause
from .._core._status import PAUSE
from ._hub import Hub
from ._inprocess import end_after_fault, run_async

if TYPE_CHECKING:
    import asyncio

    from .._core._options import Options
    from .._core._runner import Lifecycle
    from .._core._task import Task

logger = logging.getLogger("tasker")


class CoroutineRunner(CooperativePause):
    """Wraps each coroutine in an asyncio task; cancel = ``asyncio`` cancel.

    Pausing: a running coroutine waits at its next ``await context.checkpoint()``
    (``Task._checkpoint``); one paused before it started is parked on the hub
    and started when it is resumed.
    """

    kind = "coroutine"

    def __init__(self, lifecycle: Lifecycle, options: Options) -> None:
        self._lifecycle = lifecycle
        self._hub = Hub(on_start=lifecycle.never_block)
        self._parked: dict[int, Task[Any]] = {}  # paused before they started (hub thread only)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The hub's loop, started on first use (``TaskManager.loop``)."""
        return self._hub.get_loop()

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def submit(self, task: Task[Any]) -> None:
        self._hub.call_soon(self._start, task)

    def interrupt(self, task: Task[Any]) -> None:
        self._hub.call_soon(self._cancel_handle, task)

    def release(self, task: Task[Any]) -> None:
        pass  # coroutines hold no slot: the loop runs every one of them

    def abandon(self, task: Task[Any]) -> None:
        logger.warning(
            "tasker: coroutine task %r kept running after cancellation (does it "
            "swallow asyncio.CancelledError?); it is abandoned",
            task.name,
        )

    def resume(self, task: Task[Any]) -> None:
        self._hub.call_soon(self._unpark, task)

    def restart(self) -> None:
        pass

    def shutdown(self) -> None:
        self._hub.stop()  # cancels what is left on the loop

    def _start(self, task: Task[Any]) -> None:
        loop = self._hub.loop
        if task.is_final() or loop is None:
            return
        if task.control[0] == PAUSE:  # (is_paused(), without a call per task)
            self._parked[task.id] = task
            return
        try:
            task.handle = loop.create_task(run_async(self._lifecycle, task))
        except BaseException as fault:  # e.g. the app's task factory raised: the task still ends
            end_after_fault(self._lifecycle, task, fault)

    def _unpark(self, task: Task[Any]) -> None:
        if self._parked.pop(task.id, None) is not None:
            self._start(task)

    def _cancel_handle(self, task: Task[Any]) -> None:
        handle = task.handle
        if handle is not None:
            handle.cancel()
