"""The worker's side of a task's context, for every remote runner: ``WorkerCell`` and ``Reporter``.

    task's thread                          reporter thread (one per worker process)
    ─────────────                          ────────────────────────────────────────
    context.set_progress(p)
      └─ cell._progress = p; _changed() ─► wake ─► for each live cell: tick(now)
         (writes an attribute: no send)              dirty and interval over ─► report()
                                                     ─► the transport's PROGRESS
    context.send_event / ask ─► the transport (each cell class: its ``_send_event``/``_ask``)
    the function returns ─► cell.live = False (no report after the outcome)

``ExecutionContext`` calls a cell's ``_changed``, ``_pause_point``, ``_flush``,
``_send_event``, ``_ask`` (the ``ProgressCell`` protocol). What every remote
cell does alike is here: the progress and message it holds, the throttle, the
reporter thread, the refusals of coroutine-only calls. A transport's cell class
(``process._link.Cell``, ``cluster._worker.Cell``) adds how it sends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from types import GeneratorType

from ..._core._stream import drain

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any, ClassVar


class WorkerCell:
    """One task's progress cell in a worker (see the module doc); a transport subclasses it."""

    #: The runner's name in error messages ("a process task calls context.ask()").
    runner: ClassVar[str] = "remote"
    #: How a task of the runner pauses (the text of ``checkpoint``'s refusal).
    pauses: ClassVar[str] = "it pauses in its context calls"

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._progress = 0.0
        self._message: str | None = None
        self._dirty = False  # changed since the last report
        self.live = True  # Invariant: False once the outcome is on its way (no report after it)
        self.reported_at = 0.0  # when the last report went (monotonic s): the throttle

    # -- ProgressCell ---------------------------------------------------------------------
    def _changed(self) -> None:
        self._dirty = True
        self._reporter.wake.set()

    def _pause_point(self) -> bool:
        return True  # the flag is set: canceled (a transport that pauses by the flag overrides)

    async def _checkpoint(self) -> None:
        raise TypeError(f"context.checkpoint() is for coroutine tasks; a {self.runner} task {self.pauses}")

    async def _ask_async(self, name: str, data: Any, timeout: float | None) -> Any:
        raise TypeError(f"context.ask_async() is for coroutine tasks; a {self.runner} task calls context.ask()")

    def _flush(self) -> None:
        self.report()

    def _send_event(self, name: str, data: Any) -> None:
        raise NotImplementedError

    def _ask(self, name: str, data: Any, timeout: float | None) -> Any:
        raise NotImplementedError

    def _send_yield(self, value: Any) -> None:
        """Send one value a generator task yielded (the transport's YIELD)."""
        raise NotImplementedError

    def _flush_yields(self) -> None:
        """Return once every value ``_send_yield`` took is written (a transport that batches them)."""

    def outcome(self, result: Any, flag: Any) -> Any:
        """The task function's result; a generator's is its return value, once each ``yield``
        went to the app in a YIELD (or YIELDS) message (``_core._stream.drain``)."""
        if result.__class__ is not GeneratorType:
            return result
        return drain(result, flag, self._pause_point, self._send_yield, self._flush_yields)

    # -- for the reporter -------------------------------------------------------------------
    def report(self) -> None:
        """Send the progress and message now (if live), and clear ``_dirty``."""
        raise NotImplementedError

    def tick(self, now: float, interval: float) -> float | None:
        """The reporter's look at this cell: report if due; else when to look again (None: idle)."""
        if self._dirty:
            at = self.reported_at + interval
            if now < at:
                return at
            self.reported_at = now
            self.report()
        return None


class Reporter:
    """The thread that sends the worker's changed cells, each at most once per ``interval`` s.

    ``cells()`` gives the live cells (called on the reporter's thread). A cell's
    transport failing (the app is gone) never ends the thread: the worker is
    ended by its transport (the process runner's lifeline; Dask's nanny).
    """

    def __init__(
        self, interval: float, cells: Callable[[], Iterable[WorkerCell]], name: str = "tasker-reporter"
    ) -> None:
        self.interval = interval
        self.cells = cells
        self.wake = threading.Event()  # a cell changed (waited for only while nothing is due)
        self.stopping = threading.Event()  # Invariant: once set, the thread ends at its next look
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (a worker process never needs to: it ends with the process)."""
        self.stopping.set()
        self.wake.set()
        if self.thread.ident is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def look(self, now: float) -> float | None:
        """One pass over the cells: report what is due; when the next one is (None: nothing waits)."""
        due: float | None = None
        for cell in list(self.cells()):
            try:
                at = cell.tick(now, self.interval)
            except Exception:  # the transport is closing
                continue
            if at is not None:
                due = at if due is None else min(due, at)
        return due

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wake.clear()  # before looking: a change made while we look wakes the next wait
            now = time.monotonic()
            due = self.look(now)
            if due is None:
                self.wake.wait()  # idle until a cell changes
            else:  # throttled: a task setting its progress in a loop must not wake us each time
                self.stopping.wait(max(0.0, due - now))
