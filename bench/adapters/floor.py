"""The machine's floor, driven like a pool so it fits the same scenarios.

- thread: one dedicated thread that runs the call and posts the result back
  (a queue hand-off each way, nothing else);
- coro: ``call_soon_threadsafe`` onto a loop thread, stepping the coroutine
  by hand (no ``asyncio.Task``), result posted back;
- process: one already-started child reading pickled calls from a pipe,
  replies read by one thread in the parent and posted back.

No peer can beat these by construction; they show how much of a latency is
the library and how much is Python and the OS.
"""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.adapters.base import CORO, PROCESS, THREAD, Adapter, Config, NotSupported, OnDone
from bench.floor_child import read_message, write_message
from bench.mainloop import MainLoop
from bench.workloads import NULL_CTX

Call = tuple[Callable[..., Any], tuple[Any, ...], OnDone]
JOIN_TIMEOUT = 5.0
CHILD_CODE = "from bench.floor_child import main; main()"


def _run_coroutine(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Step a coroutine that never suspends (a no-op) without a Task."""
    coro = fn(NULL_CTX, *args)
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise NotSupported("the floor only runs coroutines that never suspend")


def _getter(ok: bool, value: Any) -> Callable[[], Any]:
    def get() -> Any:
        if not ok:
            raise value
        return value

    return get


class FloorAdapter(Adapter):
    name = "floor"
    kinds = frozenset({THREAD, CORO, PROCESS})
    about = "machine floor: bare thread hand-off / loop hand-off / pipe to one running child"

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        super().__init__(loop, cfg)
        self._inbox: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._thread_main, daemon=True)
        self._thread.start()
        self._aloop = asyncio.new_event_loop()
        self._athread = threading.Thread(target=self._aloop.run_forever, daemon=True)
        self._athread.start()
        self._child: subprocess.Popen[bytes] | None = None
        self._pending: deque[OnDone] = deque()

    @property
    def process_workers(self) -> int:
        return 1

    def _thread_main(self) -> None:
        while (call := self._inbox.get()) is not None:
            fn, args, on_done = call
            self._finish(on_done, partial(fn, NULL_CTX, *args))

    def _finish(self, on_done: OnDone, run: Callable[[], Any]) -> None:
        try:
            get = _getter(True, run())
        except Exception as exc:
            get = _getter(False, exc)
        self.loop.post(on_done, get)

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone,
        cancellable: bool = False,
    ) -> None:
        if kind == THREAD:
            self._inbox.put((fn, args, on_done))
        elif kind == CORO:
            self._aloop.call_soon_threadsafe(
                self._finish, on_done, partial(_run_coroutine, fn, args))
        else:
            self._send_to_child(fn, args, on_done)

    def _send_to_child(self, fn: Callable[..., Any], args: tuple[Any, ...], on_done: OnDone) -> None:
        if self._child is None:
            self._start_child()
        self._pending.append(on_done)
        write_message(self._to_child, (fn, (NULL_CTX, *args)))

    def _start_child(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-c", CHILD_CODE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        assert self._child.stdin is not None and self._child.stdout is not None
        self._to_child = self._child.stdin.fileno()
        self._from_child = self._child.stdout.fileno()
        self._reader = threading.Thread(target=self._read_replies, daemon=True)
        self._reader.start()

    def _read_replies(self) -> None:
        while True:
            try:
                ok, value = read_message(self._from_child)
            except (EOFError, OSError):
                return
            self.loop.post(self._pending.popleft(), _getter(ok, value))

    def shutdown(self) -> None:
        self._inbox.put(None)
        self._thread.join(JOIN_TIMEOUT)
        self._aloop.call_soon_threadsafe(self._aloop.stop)
        self._athread.join(JOIN_TIMEOUT)
        if self._child is not None:
            assert self._child.stdin is not None and self._child.stdout is not None
            self._child.stdin.close()
            try:
                self._child.wait(JOIN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._child.kill()
            self._reader.join(JOIN_TIMEOUT)
            self._child.stdout.close()
