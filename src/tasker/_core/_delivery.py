"""The one way anything reaches the main thread.

    worker threads / hub / pool readers            main thread
    ─────────────────────────────────────          ───────────────────────────
    call(fn)  ── when_done, events, user calls ─┐
    mark_dirty(cell) ── progress, add, start ───┤  scheduler.call_soon(flush)
        quiet ≥ 1/rate s: post now (leading edge)│        │
        else: arm one timer for the interval end ┘        ▼
                                   flush(): emit tasks_updated (throttled),
                                            then run queued calls in order
    settling, no task live: show_held_back() ─► a held-back change posted now

Calls run in the order they were queued, one at a time, each guarded: a callback
that raises is logged and changes nothing else. Progress and messages only mark
the state *dirty*; the throttle turns any number of them into at most ``rate``
``tasks_updated`` emissions per second: the first change after a quiet interval
is shown on the main loop's next iteration, later ones at the interval's end,
together. Once no task is live, settling (``wait_until_settled``) shows a change
the throttle still holds back at once: nothing more can join it. Queued events are
bounded: a sender past ``max_pending_events`` waits (back-pressure) unless it runs
on a thread that must never block (the main thread, tasker's hub).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import error_text

if TYPE_CHECKING:
    from ..schedulers import Scheduler
    from ._clock import Clock, Timer
    from ._task import Task

logger = logging.getLogger("tasker")

Call = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any] | None]

#: A throttle timer that fires this much before the interval's end (float
#: rounding of ``last + interval``) still emits instead of re-arming.
_TIMER_SLACK = 1e-6
#: A scheduler that refused a callback is asked again after this long, doubling up to the max (s).
RETRY_FIRST_S = 0.01
RETRY_MAX_S = 1.0


class Delivery:
    """Queues calls and change notices, and flushes them on the main thread."""

    def __init__(
        self,
        get_scheduler: Callable[[], Scheduler],
        clock: Clock,
        emit: Callable[[], object],
        update_rate: float,
        max_pending_events: int,
        on_idle: Callable[[], object],
    ) -> None:
        self._get_scheduler = get_scheduler
        self._emit = emit
        self._on_idle = on_idle
        self.configure(update_rate, max_pending_events, clock)
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._calls: deque[Call] = deque()
        self._events_queued = 0
        self._dirty_cells: list[Task[Any]] = []
        self._changed = False
        self._flush_posted = False
        self._flushing = False  # a flush is running its calls (the work is not done yet)
        self._timer_armed = False
        self._last_emit = float("-inf")
        self._blocking = True
        self._no_block_threads: set[int] = set()
        self._refusals = 0  # the scheduler's call_soon raised this many times in a row

    def configure(self, update_rate: float, max_pending_events: int, clock: Clock) -> None:
        """``update_rate``: emissions per second at most (0: no throttle)."""
        self._interval = 1.0 / update_rate if update_rate > 0 else 0.0
        self._max_events = max_pending_events
        self._now = clock.now
        self._call_later = clock.call_later

    # -- from any thread ---------------------------------------------------
    def call(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on the main thread, after what is queued."""
        self._enqueue((fn, args, kwargs or None))

    def ending(self, fn: Callable[..., object], *args: Any, show: bool = True) -> None:
        """``call`` for a task's ending, which is also a change to show (if ``show``)."""
        self._enqueue((fn, args, None), changed=show)

    def ending_unposted(self, fn: Callable[..., object], *args: Any, show: bool = True) -> bool:
        """``ending``, but the flush it needs is left to the caller: True if the caller must
        call ``post_flush()`` (at once, whatever happens: nothing else posts it meanwhile).

        The ending thread does its own remaining work (a pool thread's bookkeeping, a reader's)
        before it wakes the main thread, which otherwise wakes only to wait for the GIL.
        """
        return self._queue((fn, args, None), changed=show)

    def post_flush(self) -> None:
        """Post the flush that ``ending_unposted`` left to its caller."""
        self._post()

    def event(self, fn: Callable[..., object], *args: Any, weight: int = 1) -> None:
        """Like ``call`` for a task event, waiting while too many are queued.

        ``weight``: how many events the call carries (several values of a
        stream): it waits until they all fit, or nothing else is queued.
        """
        self._enqueue((fn, args, None), event=weight)

    def _enqueue(self, call: Call, changed: bool = False, event: int = 0) -> None:
        if self._queue(call, changed, event):
            self._post()

    def _queue(self, call: Call, changed: bool = False, event: int = 0) -> bool:
        """Queue ``call``; True if the caller must post the flush (it claimed it)."""
        with self._lock:
            if event:
                if self._may_block():
                    while (
                        self._events_queued and self._events_queued + event > self._max_events and self._blocking
                    ):
                        self._room.wait(1.0)
                self._events_queued += event
            self._calls.append(call)
            if changed:  # the flush posted for the call shows it (or arms the timer)
                self._changed = True
            return self._claim_flush()

    def mark_dirty(self, cell: Task[Any] | None = None) -> None:
        """Note a change to show in the next (throttled) ``tasks_updated``.

        Leading edge: after a quiet interval the change is shown on the main
        loop's next iteration; within an interval of the last emission it
        waits for the interval's end, with every other change made meanwhile.
        """
        with self._lock:
            if cell is not None:
                self._dirty_cells.append(cell)
            self._changed = True
            if self._flush_posted or self._timer_armed:
                return  # the flush or the timer on its way shows this change too
            wait = self._last_emit + self._interval - self._now()
            if wait <= 0.0:
                post = self._claim_flush()
            else:
                post = False
                self._timer_armed = True
                self._call_later(wait, self._timer_fired)
        if post:
            self._post()

    def flush_soon(self) -> None:
        """Emit pending changes as soon as possible, past the throttle."""
        with self._lock:
            self._last_emit = float("-inf")
            self._changed = True
            post = self._claim_flush()
        if post:
            self._post()

    def show_held_back(self) -> None:
        """Show now a change that only the throttle still holds back (for settling).

        When nothing is queued, posted or running and a change waits for the
        interval's end, a flush is posted that emits it past the throttle. Settling
        asks this once no task is live: nothing more can come to join that change,
        and "settled" (the last ``tasks_updated`` shows the final state) must not
        wait for time to pass: on a ``FakeClock``, for an ``advance()`` that may
        never come.
        """
        with self._lock:
            if not self._changed or self._calls or self._flush_posted or self._flushing:
                return  # nothing held back, or a flush on its way (it asks again after)
            self._last_emit = float("-inf")
            post = self._claim_flush()
        if post:
            self._post()

    def is_idle(self) -> bool:
        """Nothing queued, nothing posted or running, no change waiting to be shown."""
        with self._lock:
            return not (self._calls or self._flush_posted or self._changed or self._flushing)

    def never_block(self, thread_id: int) -> None:
        """Senders on this thread never wait for room (e.g. tasker's hub)."""
        self._no_block_threads.add(thread_id)

    def must_not_block(self) -> bool:
        """Is the calling thread one that must never wait (``never_block``)?"""
        return threading.get_ident() in self._no_block_threads

    def stop_blocking(self) -> None:
        """Release every waiting sender for good (shutdown)."""
        with self._lock:
            self._blocking = False
            self._room.notify_all()

    # -- internals -----------------------------------------------------------
    def _may_block(self) -> bool:
        return (
            self._blocking
            and threading.get_ident() not in self._no_block_threads
            and threading.current_thread() is not threading.main_thread()
        )

    def _claim_flush(self) -> bool:
        """With the lock held: True if the caller must post a flush."""
        if self._flush_posted:
            return False
        self._flush_posted = True
        return True

    def _post(self) -> None:
        try:
            self._get_scheduler().call_soon(self._flush)
        except BaseException as problem:
            self._post_refused(problem)
            if not isinstance(problem, Exception):
                raise
        else:
            if self._refusals:
                self._refusals = 0

    def _post_refused(self, problem: BaseException) -> None:
        """The scheduler raised: try again later (what is queued must still run: endings are in it).

        Retries back off from ``RETRY_FIRST_S`` to ``RETRY_MAX_S``; the first
        refusal of a streak is logged.
        """
        with self._lock:
            self._flush_posted = False
            self._refusals += 1
            refusals = self._refusals
        delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** min(refusals - 1, 16))
        if refusals == 1:
            logger.error(
                "tasker: the main-thread scheduler refused a callback (%s); trying again in %g s",
                error_text(problem), delay, exc_info=(type(problem), problem, problem.__traceback__),
            )
        try:
            self._call_later(delay, self._retry_post)
        except Exception:  # the clock is stopped (shutdown): nothing more can be delivered
            logger.debug("tasker: no retry of the refused callback: the clock is stopped")

    def _retry_post(self) -> None:
        with self._lock:
            post = bool(self._calls or self._changed) and self._claim_flush()
        if post:
            self._post()

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer_armed = False
            post = self._changed and self._claim_flush()
        if post:
            self._post()

    def _flush(self) -> None:
        """On the main thread: show changes (throttled), then run queued calls."""
        with self._lock:
            self._flush_posted = False
            self._flushing = True
            calls, self._calls = self._calls, deque()
            if self._events_queued:
                self._events_queued = 0
                self._room.notify_all()
        try:
            self._maybe_emit()
            while calls:
                fn, args, kwargs = calls.popleft()
                try:
                    _run_guarded(fn, args, kwargs)
                except BaseException:
                    self._requeue(calls)  # KeyboardInterrupt/SystemExit: keep the rest
                    raise
        finally:
            with self._lock:
                self._flushing = False
                idle = not (self._calls or self._flush_posted or self._changed)
        if idle:
            self._on_idle()

    def _requeue(self, calls: deque[Call]) -> None:
        with self._lock:
            calls.extend(self._calls)
            self._calls = calls
            post = bool(calls) and self._claim_flush()
        if post:
            self._post()

    def _maybe_emit(self) -> None:
        now = self._now()
        with self._lock:
            if not self._changed:
                return
            if now - self._last_emit < self._interval - _TIMER_SLACK:
                if not self._timer_armed:
                    self._timer_armed = True
                    self._call_later(self._last_emit + self._interval - now, self._timer_fired)
                return
            self._changed = False
            self._last_emit = now
            cells, self._dirty_cells = self._dirty_cells, []
        for cell in cells:
            cell._dirty = False  # its next report is forwarded again (and marks it)
        for cell in cells:  # a hidden part's reports since its first: its row takes them now
            parent = cell._parent
            if parent is not None:
                parent._part_shown(cell)
        _run_guarded(self._emit, (), None)


def _run_guarded(
    fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> None:
    try:
        if kwargs is None:
            fn(*args)
        else:
            fn(*args, **kwargs)
    except Exception:
        logger.exception("tasker: a main-thread callback raised (ignored): %r", fn)


class DelayedCall:
    """A call waiting to run on the main thread (``schedule_delayed_on_main_thread``)."""

    __slots__ = ("_args", "_fn", "_kwargs", "_state", "_timer")

    _lock = threading.Lock()  # state changes are rare: one lock for every handle

    def __init__(self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._fn: Callable[..., object] | None = fn
        self._args = args
        self._kwargs = kwargs
        self._state = "waiting"  # -> "ran" | "canceled", once
        self._timer: Timer | None = None

    def cancel(self) -> bool:
        """Stop the call if it has not run yet; True if it is now stopped for good."""
        with self._lock:
            if self._state != "waiting":
                return self._state == "canceled"
            self._state = "canceled"
            self._fn, self._args, self._kwargs = None, (), {}
        if self._timer is not None:
            self._timer.cancel()
        return True

    def cancelled(self) -> bool:
        return self._state == "canceled"

    def _run(self) -> None:
        with self._lock:
            if self._state != "waiting":
                return
            self._state = "ran"
            fn, args, kwargs = self._fn, self._args, self._kwargs
            self._fn, self._args, self._kwargs = None, (), {}
        assert fn is not None
        fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<DelayedCall {self._state}>"


from ._public import public  # noqa: E402

public(DelayedCall)
