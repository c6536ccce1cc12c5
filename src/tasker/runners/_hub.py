"""The hub: tasker's own asyncio loop on one background thread.

It runs coroutine tasks. It starts with the first coroutine; ``asyncio`` is
imported on the hub thread itself so that the caller never waits for that import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio


class Hub:
    """Owns the loop thread; ``call_soon``/``call_later`` work from any thread."""

    def __init__(self, on_start: Callable[[int], object]) -> None:
        self._on_start = on_start
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog: list[tuple[Callable[..., object], tuple[Any, ...]]] = []
        self._thread: threading.Thread | None = None
        self._stopped = False
        # Invariant: set once the loop runs (from a callback on it), or once it never will;
        # get_loop hands the loop out only then.
        self._ready = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def get_loop(self, timeout: float = 30.0) -> asyncio.AbstractEventLoop:
        """The loop, starting the hub thread if needed; raises once stopped."""
        if self._stopped:
            raise RuntimeError("this TaskManager was shut down: its asyncio loop is closed")
        if not self._ready.is_set():  # (the loop may exist already, not run yet)
            with self._lock:
                self._start_locked()
            self._ready.wait(timeout)
        loop = self._loop
        if loop is None:
            raise RuntimeError("tasker's asyncio loop is not running (the manager is shutting down?)")
        return loop

    def in_hub(self) -> bool:
        return self._thread is threading.current_thread()

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            with self._lock:
                loop = self._loop
                if loop is None:
                    if self._stopped:
                        return
                    self._backlog.append((fn, args))
                    self._start_locked()
                    return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed during shutdown: nothing left to run
            pass

    def _start_locked(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tasker-hub", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        import asyncio

        # Not asyncio.new_event_loop(): an application's event-loop policy (e.g.
        # PyGObject's GLib policy) must not decide what runs tasker's own loop.
        loop = asyncio.SelectorEventLoop()
        self._on_start(threading.get_ident())
        with self._lock:
            if self._stopped:  # stop() came while this thread was starting: do not run
                self._backlog.clear()
                loop.close()
                self._ready.set()
                return
            self._loop = loop
            backlog, self._backlog = self._backlog, []
        # Not a loop in this frame: its variables would keep the first tasks alive
        # for as long as the loop runs.
        _schedule_all(loop, backlog)
        del backlog
        loop.call_soon(self._ready.set)  # the loop is handed out once it runs
        try:
            loop.run_forever()
        finally:
            self._ready.set()  # (never ran: get_loop does not wait on)
            _cancel_all(loop)
            loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop (pending coroutines are canceled) and join the thread."""
        with self._lock:
            self._stopped = True
            loop, thread = self._loop, self._thread
        if loop is not None:
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def _schedule_all(loop: asyncio.AbstractEventLoop, calls: list[tuple[Callable[..., object], tuple[Any, ...]]]) -> None:
    for fn, args in calls:
        loop.call_soon(fn, *args)
    calls.clear()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    import asyncio

    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
