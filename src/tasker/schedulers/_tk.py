"""Tk: a short ``after`` poll on the Tk main thread drains a queue.

Calling into Tcl from another thread blocks until the main loop answers (or
fails when it is not running), so worker threads never touch Tk: they only put
callables on a queue that the main thread polls.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ._base import Scheduler


class TkScheduler(Scheduler):
    """Drains posted callables every ``poll_ms`` on the Tk main loop."""

    name = "tk"

    def __init__(self, root: Any = None, poll_ms: int = 10) -> None:
        import tkinter

        root = root if root is not None else getattr(tkinter, "_default_root", None)
        if root is None:
            raise RuntimeError("create the Tk root window before tasker's Tk scheduler (or pass root=)")
        self._root = root
        self._poll_ms = poll_ms
        self._queue: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._thread = threading.current_thread()
        self._closed = False
        root.after(poll_ms, self._poll)

    def call_soon(self, fn: Callable[[], object]) -> None:
        self._queue.put(fn)

    def _drain(self) -> None:
        while True:
            try:
                fn = self._queue.get_nowait()
            except queue.Empty:
                return
            fn()

    def _poll(self) -> None:
        if self._closed:
            return
        try:
            self._drain()
        finally:
            self._root.after(self._poll_ms, self._poll)

    def pump(self, timeout: float) -> bool:
        if threading.current_thread() is not self._thread:
            return False
        deadline = time.monotonic() + timeout
        self._drain()
        while time.monotonic() < deadline and self._queue.empty():
            self._root.update()
            self._drain()
            if self._queue.empty():
                try:
                    fn = self._queue.get(timeout=min(0.005, max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    continue
                fn()
        return True
