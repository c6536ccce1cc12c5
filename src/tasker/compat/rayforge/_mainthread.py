"""The main-thread and waiting part of Rayforge's ``TaskManager`` (a mixin of ``manager``).

Rayforge's times are milliseconds; tasker's core takes seconds.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._checks import check_number

if TYPE_CHECKING:
    import tasker

    from ._registry import Registry


@runtime_checkable
class CancelHandle(Protocol):
    """What ``schedule_delayed_on_main_thread`` returns."""

    def cancel(self) -> Any: ...


class MainThread:
    """``wait_until_settled``, the ``schedule_*`` calls, ``loop`` and the executor helpers."""

    _core: tasker.TaskManager
    _registry: Registry

    def wait_until_settled(self, timeout: float) -> bool:
        """Wait up to ``timeout`` milliseconds until no visible task is live; True if none is.

        A task counts as ended as soon as its function stopped, whatever thread
        the main thread is; called on the main thread, queued callbacks run
        meanwhile when the scheduler can pump (tasker's manual, GLib, Qt, Tk).
        """
        check_number("wait_until_settled", "timeout", timeout, "milliseconds")
        deadline = time.monotonic() + max(0.0, timeout) / 1000.0
        scheduler = self._core.scheduler
        while True:
            live = self._registry.live_visible()
            if not live:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            step = min(remaining, 0.05)
            if not scheduler.pump(step):
                core = live[0]._core
                if core is not None:
                    core.wait(step)


    def schedule_on_main_thread(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Run ``callback(*args, **kwargs)`` on the main thread, after what is queued."""
        self._core.schedule_on_main_thread(callback, *args, **kwargs)

    def schedule_delayed_on_main_thread(
        self, delay_ms: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> CancelHandle:
        """Run ``callback(*args, **kwargs)`` on the main thread after ``delay_ms`` milliseconds.

        Returns a handle whose ``cancel()`` stops it if it has not run yet.
        """
        check_number("schedule_delayed_on_main_thread", "delay_ms", delay_ms, "milliseconds")
        handle: CancelHandle = self._core.schedule_delayed_on_main_thread(
            max(0.0, delay_ms) / 1000.0, callback, *args, **kwargs
        )
        return handle

    async def run_on_main_thread(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """From asyncio code: run ``func`` on the main thread, return (or raise) its outcome."""
        return await self._core.run_on_main_thread(func, *args, **kwargs)

    async def run_in_executor(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Await ``func(*args, **kwargs)`` run in the running loop's default thread pool."""
        call = functools.partial(func, **kwargs) if kwargs else func
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop coroutine tasks run on (``run_coroutine_threadsafe(coro, loop)``)."""
        return self._core.loop
