"""Generator tasks: each ``yield`` reaches ``when_yield(task, value)`` on the main thread.

    process, cluster: the worker drains the generator (``drain``): each value a YIELD message,
    which the runner's reader passes to ``lifecycle.post_yield`` (``_remote._relay``); a process
    worker whose app is behind sends several in one YIELDS message (``_remote._yields``) ─►
    ``post_yields``: one main-thread call per batch, ``when_yield`` for each value in it.

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

from ._status import CANCEL

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:  # (asyncio is imported where a coroutine runs: a thread-only app never pays for it)
    import asyncio
    from typing import Any

    from ._task import Task


#: What a stream ended with: (result, error), as a task function's call gives.
Outcome = tuple["Any", BaseException | None]


def post_yield(lifecycle: Any, task: Task[Any], value: Any, window: Window | None = None) -> None:
    """Queue ``when_yield(task, value)`` for the main thread (any thread; waits for room but on the hub)."""
    if not task._status.is_final:
        lifecycle.delivery.event(_deliver, task, value, window)


def post_yields(lifecycle: Any, task: Task[Any], values: list[Any]) -> None:
    """``post_yield`` for each of ``values``, in order, as few main-thread calls: each call carries
    at most ``max_pending_events`` values and counts as that many events (the bound on values
    waiting for the main thread holds)."""
    if task._status.is_final:
        return
    step = max(1, lifecycle.options.max_pending_events)
    event = lifecycle.delivery.event
    for start in range(0, len(values), step):
        part = values[start:start + step] if len(values) > step else values
        event(_deliver_many, task, part, weight=len(part))


def _deliver_many(task: Task[Any], values: list[Any]) -> None:
    """On the main thread: ``when_yield`` for each value (each guarded: one that raises is logged)."""
    for value in values:
        handler = task._when_yield
        if handler is None or task._done_delivered:
            return
        try:
            handler(task, value)
        except Exception:
            import logging  # (here: a worker imports this module, and its boot does not need logging)

            logging.getLogger("tasker").exception("tasker: when_yield of %r raised (ignored)", task.name)


def _deliver(task: Task[Any], value: Any, window: Window | None) -> None:
    """On the main thread (guarded by the delivery: a ``when_yield`` that raises is logged)."""
    if window is not None:
        window.delivered()
    handler = task._when_yield
    if handler is not None and not task._done_delivered:
        handler(task, value)


def drain(
    gen: Generator[Any, Any, Any],
    flag: Any,
    pause_point: Callable[[], bool],
    send: Callable[[Any], object],
    flush: Callable[[], object] | None = None,
) -> Any:
    """A worker's side (process, cluster): ``send`` each value, in order; return the generator's value.

    Raises what the generator raised. A value ``send`` cannot send (it cannot
    be pickled) closes the generator and fails the task naming the value's type.
    ``flush`` (a transport that sends values later, in batches) returns once
    every value sent is written: it runs before the generator's return value or
    failure goes on its way, so that comes after the values.
    """
    while True:
        try:
            value = next(gen)
        except StopIteration as stop:
            _flush(flush, gen)
            return stop.value
        except BaseException:
            _flush(flush, gen)  # (the values yielded before the failure reach the app first)
            raise
        if flag[0] and pause_point():  # canceled (paused: held there where the transport pauses so)
            gen.close()  # its finally runs here
            _flush(flush, gen)
            return None
        try:
            send(value)
        except OSError:  # the channel to the app is gone: the worker ends
            raise
        except Exception as error:
            failure = _cannot_send(gen, type(value).__name__, error)
            raise failure from failure.__cause__


def _flush(flush: Callable[[], object] | None, gen: Generator[Any, Any, Any]) -> None:
    if flush is None:
        return
    try:
        flush()
    except OSError:
        raise
    except Exception as error:
        failure = _cannot_send(gen, "?", error)
        raise failure from failure.__cause__


def _cannot_send(gen: Generator[Any, Any, Any], type_name: str, error: Exception) -> Exception:
    """Close the generator (its ``finally`` runs); the task's failure naming the value's type.

    An error with a ``value_type`` (a value buffered earlier, sent in a batch: ``_remote._yields``)
    names that value, and its ``__cause__`` says why.
    """
    from ._errors import TaskError, error_text

    gen.close()
    named = getattr(error, "value_type", None)
    cause: BaseException = error.__cause__ if named is not None and error.__cause__ is not None else error
    failure = TaskError(
        f"a value of type {named or type_name} that the generator yielded cannot be sent from "
        f"the worker ({error_text(cause)}); yield picklable data (plain values, NumPy arrays, bytes)"
    )
    failure.__cause__ = cause
    return failure


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
