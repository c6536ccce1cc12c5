"""Raw ``asyncio.run_coroutine_threadsafe`` onto a loop in a background thread.

This is the floor of what a coroutine task manager can cost: no bookkeeping,
no context, just the hand-off to the loop thread and the done callback
posted back to the main loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from bench.adapters.base import CORO, Adapter, Config, NotSupported, OnDone
from bench.mainloop import MainLoop
from bench.workloads import NULL_CTX

START_TIMEOUT = 10.0


class AsyncioAdapter(Adapter):
    name = "asyncio-threadsafe"
    kinds = frozenset({CORO})
    about = "asyncio.run_coroutine_threadsafe onto a loop in a background thread"

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        super().__init__(loop, cfg)
        self._aloop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name="bench-asyncio", daemon=True
        )
        self._thread.start()
        if not started.wait(START_TIMEOUT):
            raise RuntimeError("asyncio loop thread did not start")

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._aloop)
        self._aloop.call_soon(started.set)
        self._aloop.run_forever()

    def _post_done(self, on_done: OnDone, future: Future[Any]) -> None:
        self.loop.post(on_done, future.result)

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone,
        cancellable: bool = False,
    ) -> Future[Any]:
        if kind != CORO:
            raise NotSupported(f"no {kind} tasks")
        future = asyncio.run_coroutine_threadsafe(fn(NULL_CTX, *args), self._aloop)
        future.add_done_callback(partial(self._post_done, on_done))
        return future

    def shutdown(self) -> None:
        self._aloop.call_soon_threadsafe(self._aloop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._aloop.close()
