"""Generator tasks: each ``yield`` reaches ``when_yield(task, value)`` on the main thread.

    process, cluster: the worker drains the generator (``drain``): each value a YIELD message,
    which the runner's reader passes to ``lifecycle.post_yield`` (``_remote._relay``).

    thread     value = next(gen)                      ─┐
    coroutine  value = await agen.__anext__()          ├─ flag byte set?  paused: hold here (pause point)
                                                       │                  canceled: close the generator
                                                       │                  (its ``finally`` runs), stop
                                                       └─► post_yield ──► delivery.event ──► when_yield
                                                                          (main thread, in order)
    ``return value`` (StopIteration.value) ─► the task's result; an async generator returns None.

Back-pressure: a thread waits in ``delivery.event`` while ``max_pending_events``
events and values wait for the main thread, as ``send_event`` does. tasker's
asyncio loop must never block, so a coroutine's values go through a ``Window``:
at most ``max_pending_events`` of this task's values undelivered, the
generator awaiting room past that.

What a generator raises (mid-stream too) is the task's failure; values yielded
before it were delivered first (the ending is queued after them).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any

from ._status import CANCEL

if TYPE_CHECKING:  # (asyncio is imported where a coroutine runs: a thread-only app never pays for it)
    import asyncio

    from ._task import Task

#: What a stream ended with: (result, error), as a task function's call gives.
Outcome = tuple[Any, BaseException | None]


def post_yield(lifecycle: Any, task: Task[Any], value: Any, window: Window | None = None) -> None:
    """Queue ``when_yield(task, value)`` for the main thread (any thread; waits for room but on the hub)."""
    if not task._status.is_final:
        lifecycle.delivery.event(_deliver, task, value, window)


def _deliver(task: Task[Any], value: Any, window: Window | None) -> None:
    """On the main thread (guarded by the delivery: a ``when_yield`` that raises is logged)."""
    if window is not None:
        window.delivered()
    handler = task._when_yield
    if handler is not None and not task._done_delivered:
        handler(task, value)


def drain(
    gen: Generator[Any, Any, Any], flag: Any, pause_point: Callable[[], bool], send: Callable[[Any], object]
) -> Any:
    """A worker's side (process, cluster): ``send`` each value, in order; return the generator's value.

    Raises what the generator raised. A value ``send`` cannot send (it cannot
    be pickled) closes the generator and fails the task naming the value's type.
    """
    from ._errors import TaskError, error_text

    while True:
        try:
            value = next(gen)
        except StopIteration as stop:
            return stop.value
        if flag[0] and pause_point():  # canceled (paused: held there where the transport pauses so)
            gen.close()  # its finally runs here
            return None
        try:
            send(value)
        except OSError:  # the channel to the app is gone: the worker ends
            raise
        except Exception as error:
            gen.close()
            raise TaskError(
                f"a value of type {type(value).__name__} that the generator yielded cannot be sent from "
                f"the worker ({error_text(error)}); yield picklable data (plain values, NumPy arrays, bytes)"
            ) from error


def drive(lifecycle: Any, task: Task[Any], gen: Generator[Any, Any, Any]) -> Outcome:
    """Run a generator task's generator to its end, in the calling thread."""
    flag = task.control
    try:
        while True:
            value = next(gen)
            if flag[0] and task._pause_point():  # held while paused; True: canceled
                gen.close()  # its finally runs here
                return None, None
            lifecycle.post_yield(task, value)
    except StopIteration as stop:
        return stop.value, None
    except BaseException as error:  # the generator's failure (the lifecycle decides the ending)
        return None, error


async def drive_async(lifecycle: Any, task: Task[Any], agen: AsyncGenerator[Any, Any]) -> Outcome:
    """Run an async generator task's generator to its end, on tasker's loop."""
    flag = task.control
    window = Window(lifecycle.options.max_pending_events)
    try:
        while True:
            try:
                value = await agen.__anext__()
            except StopAsyncIteration:
                return None, None
            if flag[0]:
                await task._checkpoint()  # held while paused (the loop goes on)
                if flag[0] == CANCEL:
                    await agen.aclose()
                    return None, None
            await window.room()
            post_yield(lifecycle, task, value, window)
    except BaseException as error:  # incl. asyncio cancellation while it waited: close it, so its finally runs
        try:
            await agen.aclose()
        except BaseException:  # (what its finally raised: the first error decides the ending)
            pass
        return None, error


class Window:
    """At most ``size`` values of one coroutine task on their way to the main thread.

    ``room()`` is awaited on tasker's loop before each value is posted;
    ``delivered()`` is called on the main thread as each is delivered.
    """

    __slots__ = ("_in_flight", "_lock", "_size", "_waiter")

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        # Invariant (under _lock): _in_flight = values posted and not delivered yet;
        # _waiter is set only while the producer awaits room.
        self._in_flight = 0
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    async def room(self) -> None:
        import asyncio

        while True:
            with self._lock:
                if self._in_flight < self._size:
                    self._in_flight += 1
                    return
                loop = asyncio.get_running_loop()
                future: asyncio.Future[None] = loop.create_future()
                self._waiter = (loop, future)
            await future

    def delivered(self) -> None:
        with self._lock:
            self._in_flight -= 1
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            loop, future = waiter
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:  # the loop is closed (shutdown): nobody waits any more
                pass


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
