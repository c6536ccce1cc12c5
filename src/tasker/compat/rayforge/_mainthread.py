"""The main-thread and waiting part of Rayforge's ``TaskManager`` (a mixin of ``manager``).

Rayforge's times are milliseconds; tasker's core takes seconds.

``schedule_on_main_thread`` / ``schedule_delayed_on_main_thread``, as Rayforge's::

    application's scheduler is a plain callable f(fn, *args, **kwargs)   (GLib.idle_add)
        schedule_on_main_thread(cb, *a, **k) ─────────────► f(cb, *a, **k)
        schedule_delayed_on_main_thread(ms, cb, *a, **k)
            └─ the core's clock, ms later (unless cancelled) ─► f(cb, *a, **k)
    anything else (a tasker Scheduler, a scheduler name, automatic)
        └─► tasker's core: its delivery queue, in order with tasker's own callbacks
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._checks import check_number

if TYPE_CHECKING:
    import tasker
    from tasker._core._clock import Timer

    from ._registry import Registry


@runtime_checkable
class CancelHandle(Protocol):
    """What ``schedule_delayed_on_main_thread`` returns."""

    def cancel(self) -> Any: ...


class _DelayedPost:
    """What ``schedule_delayed_on_main_thread`` returns when it posts to the application's scheduler."""

    __slots__ = ("_call", "_lock", "_timer")

    def __init__(self, post: Callable[..., object], fn: Callable[..., object], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        # Invariant: None once posted or cancelled (either happens once).
        self._call: tuple[Callable[..., object], Callable[..., object], tuple[Any, ...], dict[str, Any]] | None = (
            post, fn, args, kwargs)
        self._timer: Timer | None = None

    def cancel(self) -> None:
        """Stop the call if it has not been handed to the scheduler yet."""
        with self._lock:
            self._call = None
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:  # on the core's clock thread
        with self._lock:
            call, self._call = self._call, None
        if call is not None:
            post, fn, args, kwargs = call
            post(fn, *args, **kwargs)


class MainThread:
    """``wait_until_settled``, the ``schedule_*`` calls, ``loop`` and the executor helpers."""

    _core: tasker.TaskManager
    _registry: Registry
    #: The application's ``main_thread_scheduler`` when it is a plain callable
    #: ``f(fn, *args, **kwargs)``: the ``schedule_*`` calls hand it the callback and
    #: its arguments, as Rayforge's do. None for a tasker scheduler (name, object, automatic).
    _post: Callable[..., object] | None

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
        """Run ``callback(*args, **kwargs)`` on the main thread, after what is queued.

        With a plain-callable ``main_thread_scheduler`` it is called as
        ``main_thread_scheduler(callback, *args, **kwargs)``, as in Rayforge.
        """
        if self._post is not None:
            if not callable(callback):
                raise TypeError(f"schedule_on_main_thread needs a callable, got {callback!r}")
            self._post(callback, *args, **kwargs)
            return
        self._core.schedule_on_main_thread(callback, *args, **kwargs)

    def schedule_delayed_on_main_thread(
        self, delay_ms: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> CancelHandle:
        """Run ``callback(*args, **kwargs)`` on the main thread after ``delay_ms`` milliseconds.

        Returns a handle whose ``cancel()`` stops it if it has not run yet. With a
        plain-callable ``main_thread_scheduler``, ``delay_ms`` later it is called as
        ``main_thread_scheduler(callback, *args, **kwargs)`` (from the core's clock
        thread), as in Rayforge.
        """
        check_number("schedule_delayed_on_main_thread", "delay_ms", delay_ms, "milliseconds")
        if self._post is not None:
            if not callable(callback):
                raise TypeError(f"schedule_delayed_on_main_thread needs a callable, got {callback!r}")
            delayed = _DelayedPost(self._post, callback, args, kwargs)
            # The core's clock (a FakeClock in tests that give one): no thread of our own.
            delayed._timer = self._core._clock.call_later(max(0.0, delay_ms) / 1000.0, delayed._fire)
            return delayed
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
