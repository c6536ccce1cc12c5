"""``TaskManager``'s calls onto the main thread (a mixin, to keep ``_manager`` short).

    schedule_on_main_thread / schedule_delayed_on_main_thread / run_on_main_thread
        └─► delivery.call (in order with every other callback; delayed: the manager's clock)
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any, TypeVar

    from ..schedulers import Scheduler
    from ._clock import Clock
    from ._delivery import DelayedCall
    from ._lifecycle import TaskLifecycle

    R = TypeVar("R")


class MainThreadCalls:
    """Mixin of ``TaskManager``: run functions on the application's main thread."""

    _lifecycle: TaskLifecycle
    _clock: Clock

    if TYPE_CHECKING:  # TaskManager's

        def _get_scheduler(self) -> Scheduler: ...
        def _check_open(self) -> None: ...

    def schedule_on_main_thread(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on the main thread, after what is queued."""
        if not callable(fn):
            raise TypeError(f"schedule_on_main_thread needs a callable, got {fn!r}")
        self._get_scheduler()
        self._lifecycle.delivery.call(fn, *args, **kwargs)

    def schedule_delayed_on_main_thread(
        self, delay: float, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> DelayedCall:
        """Run ``fn(*args, **kwargs)`` on the main thread after ``delay`` seconds.

        Returns a handle whose ``cancel()`` stops it if it has not run yet.
        """
        if not callable(fn):
            raise TypeError(f"schedule_delayed_on_main_thread needs a callable, got {fn!r}")
        if not isinstance(delay, int | float) or not delay >= 0:
            raise ValueError(f"delay must be a number of seconds >= 0, got {delay!r}")
        from ._seconds import check_delay  # (here: building a manager imports neither module)

        check_delay(float(delay), "schedule_delayed_on_main_thread")
        self._check_open()
        self._get_scheduler()
        from ._delivery import DelayedCall

        call = DelayedCall(fn, args, kwargs)
        delivery = self._lifecycle.delivery
        call._timer = self._clock.call_later(float(delay), lambda: delivery.call(call._run))
        return call

    async def run_on_main_thread(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """From asyncio code: run ``fn`` on the main thread and return its result."""
        import asyncio

        from ._ask import settle_future

        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()

        def call() -> None:
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting coroutine
                loop.call_soon_threadsafe(settle_future, future, None, exc)
            else:
                loop.call_soon_threadsafe(settle_future, future, value, None)

        self._lifecycle.delivery.call(call)
        return await future
