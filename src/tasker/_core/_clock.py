"""Time, for the manager: the throttle, grace periods, timeouts, delayed calls.

``Clock`` is what the manager needs of time: ``now()`` and ``call_later``.
Two implementations:

* ``TimerThread`` — the real one: ``time.monotonic`` and one small daemon
  thread, started on first use, that runs callbacks when they are due. Kept
  apart from the asyncio hub so that thread and process tasks never pay for
  importing or running asyncio.
* ``FakeClock`` — for tests (``tasker.testing.FakeClock``): time stands still
  until ``advance(seconds)``, which runs the timers that come due, in order, in
  the calling thread. With the manual scheduler, a test then drives the throttle,
  grace periods, timeouts and delayed calls exactly, without waiting.

Invariant (both): a timer runs at most once, never before its time, never after
``cancel()`` returned; timers due at the same time run in the order they were set.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from itertools import count
from typing import Protocol, runtime_checkable

from ._seconds import MAX_WAIT_S, check_delay

logger = logging.getLogger("tasker")

_Entry = tuple[float, int, "Timer", Callable[[], object]]


class Timer:
    """A pending ``call_later``; ``cancel()`` from any thread."""

    __slots__ = ("canceled",)

    def __init__(self) -> None:
        self.canceled = False

    def cancel(self) -> None:
        self.canceled = True


@runtime_checkable
class Clock(Protocol):
    """What the manager asks of time (see the module doc)."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    def call_later(self, delay: float, fn: Callable[[], object]) -> Timer:
        """Run ``fn()`` once, ``delay`` seconds from now, off the caller's stack."""
        ...

    def stop(self) -> None:
        """Drop every pending timer; later ``call_later`` calls do nothing."""
        ...


class _Heap:
    """Timers by due time; the two clocks share it. Callers hold their own lock."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self._seq = count()

    def push(self, when: float, fn: Callable[[], object]) -> tuple[Timer, bool]:
        """Add a timer; also True if it is now the first one due."""
        timer = Timer()
        entry = (when, next(self._seq), timer, fn)
        if len(self.entries) > 64 and self.entries[0][2].canceled:
            self._compact()
        heapq.heappush(self.entries, entry)
        return timer, self.entries[0] is entry

    def pop_due(self, now: float) -> Callable[[], object] | None:
        """The next live timer's callback if it is due, else None (canceled ones dropped)."""
        while self.entries:
            when, _, timer, fn = self.entries[0]
            if timer.canceled:
                heapq.heappop(self.entries)
                continue
            if when > now:
                return None
            heapq.heappop(self.entries)
            return fn
        return None

    def next_due(self) -> float | None:
        return self.entries[0][0] if self.entries else None

    def _compact(self) -> None:
        """Drop canceled timers (a long timeout that was canceled early)."""
        self.entries = [entry for entry in self.entries if not entry[2].canceled]
        heapq.heapify(self.entries)


def _run(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:
        logger.exception("tasker: a timer callback failed")


#: While the clock was used in the last ``LINGER_S`` s, its thread sleeps at most
#: ``HORIZON_S`` at a time: a timer due later than that (a cancel's grace period, 2 s
#: by default) is set without waking the thread. Waking it costs the moment that
#: sets the timer — a cancel, while the worker's answer comes in — a thread switch
#: and a hand-over of the GIL: up to milliseconds on a loaded machine (measured;
#: the ``cancel`` bench's first cancel). After ``LINGER_S`` with no timer set, the
#: thread sleeps until its next timer or a nearer one wakes it (no wake-up at rest).
HORIZON_S = 1.0
LINGER_S = 30.0


class TimerThread:
    """The real clock: runs callbacks on one daemon thread, started on first use.

    A new timer wakes the thread only if it is due before the end of the thread's
    current wait (``HORIZON_S``).
    """

    def __init__(self) -> None:
        self._cv = threading.Condition(threading.Lock())
        self._heap = _Heap()
        self._thread: threading.Thread | None = None
        self._stopped = False
        # Invariant (under _cv): the end of the thread's current wait (inf: until
        # notified), None while it is not waiting (it looks at the heap before it waits).
        self._sleeping_until: float | None = None
        self._set_at = float("-inf")  # (under _cv) when the last timer was set

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, fn: Callable[[], object]) -> Timer:
        check_delay(delay, "call_later")
        now = time.monotonic()
        when = now + delay
        with self._cv:
            if self._stopped:
                return Timer()
            timer, _ = self._heap.push(when, fn)
            self._set_at = now
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="tasker-clock", daemon=True)
                self._thread.start()
            elif self._sleeping_until is not None and when < self._sleeping_until:
                self._sleeping_until = None  # woken: it looks at the heap again
                self._cv.notify()
        return timer

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._heap.entries.clear()
            self._cv.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)

    def _loop(self) -> None:
        with self._cv:
            while not self._stopped:
                now = time.monotonic()
                fn = self._heap.pop_due(now)
                if fn is None:
                    due = self._heap.next_due()
                    until = float("inf") if due is None else due
                    if now - self._set_at < LINGER_S:
                        until = min(until, now + HORIZON_S)
                    self._sleeping_until = until
                    self._cv.wait(None if until == float("inf") else min(MAX_WAIT_S, max(0.0, until - now)))
                    self._sleeping_until = None
                    continue
                self._cv.release()
                try:
                    _run(fn)
                finally:
                    self._cv.acquire()


class FakeClock:
    """A clock that moves only when told: ``advance(seconds)`` runs what comes due.

    Timers set from any thread are kept; ``advance`` runs the due ones in the
    calling thread, in time order, each at its own time (``now()`` reads its due
    time while it runs), including timers that those callbacks set within the
    window. Give it to a manager as ``TaskManager(clock=FakeClock())``.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._lock = threading.RLock()
        self._now = float(start)
        self._heap = _Heap()
        self._stopped = False

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, fn: Callable[[], object]) -> Timer:
        check_delay(delay, "call_later")  # what the real clock would refuse
        with self._lock:
            if self._stopped:
                return Timer()
            return self._heap.push(self._now + max(0.0, delay), fn)[0]

    def advance(self, seconds: float) -> int:
        """Move time forward and run the timers due by then; how many ran."""
        if seconds < 0:
            raise ValueError(f"a clock only goes forward; advance({seconds!r})")
        with self._lock:
            end = self._now + seconds
        ran = 0
        while True:
            with self._lock:
                due = self._heap.next_due()
                fn = None
                if due is not None and due <= end:
                    self._now = max(self._now, due)
                    fn = self._heap.pop_due(self._now)
                if fn is None and (due is None or due > end):
                    self._now = end
                    return ran
            if fn is not None:
                _run(fn)
                ran += 1

    def pending(self) -> int:
        """Timers set and neither run nor canceled."""
        with self._lock:
            return sum(1 for entry in self._heap.entries if not entry[2].canceled)

    def next_due_in(self) -> float | None:
        """Seconds until the next live timer is due (None: no timer)."""
        with self._lock:
            self._heap.pop_due(float("-inf"))  # drop canceled ones at the front
            due = self._heap.next_due()
            return None if due is None else due - self._now

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._heap.entries.clear()

    def __repr__(self) -> str:
        return f"<FakeClock now={self._now:g} pending={self.pending()}>"
