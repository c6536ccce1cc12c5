"""Peers built on ``concurrent.futures`` futures: the stdlib pools, loky, pebble.

They have no ExecutionContext: task functions get ``NULL_CTX``, or a
``FlagCtx`` (one memory-mapped byte) when the scenario wants to cancel,
which is the cheapest cooperative-cancel idiom a user of these pools has.
Completion callbacks run on the pool's own thread and are posted to the
main loop, exactly as a GUI app would have to do.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

from bench.adapters.base import PROCESS, THREAD, Adapter, Config, NotSupported, OnDone
from bench.mainloop import MainLoop
from bench.workloads import NULL_CTX, FlagCtx, NullCtx


@dataclass
class PeerHandle:
    future: Future[Any]
    ctx: NullCtx = field(default=NULL_CTX)


class FuturesAdapter(Adapter):
    """Shared plumbing: flag contexts, done-callback posting, rebuild on break."""

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        super().__init__(loop, cfg)
        self._flags: list[FlagCtx] = []
        self.pool: Any = self._make_pool()

    def _make_pool(self) -> Any:
        raise NotImplementedError

    def _schedule(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        return self.pool.submit(fn, *args)  # type: ignore[no-any-return]

    def _post_done(self, on_done: OnDone, future: Future[Any]) -> None:
        self.loop.post(on_done, future.result)

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone,
        cancellable: bool = False,
    ) -> PeerHandle:
        if kind not in self.kinds:
            raise NotSupported(f"no {kind} tasks")
        ctx: NullCtx = NULL_CTX
        if cancellable:
            flag = FlagCtx.create()
            self._flags.append(flag)
            ctx = flag
        future = self._submit_or_rebuild(fn, (ctx, *args))
        future.add_done_callback(partial(self._post_done, on_done))
        return PeerHandle(future, ctx)

    def _submit_or_rebuild(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        """A broken pool (a worker died) is replaced, as its user must do."""
        try:
            return self._schedule(fn, args)
        except Exception:
            if not self._rebuild_on_break:
                raise
            self._discard_pool()
            self.pool = self._make_pool()
            return self._schedule(fn, args)

    _rebuild_on_break: ClassVar[bool] = False

    def _discard_pool(self) -> None:
        self.pool.shutdown(wait=False)

    def map(self, fn: Callable[..., Any], items: list[Any], *, on_done: OnDone, kind: str = PROCESS) -> Any:
        """The pool's own ``map`` with a good chunksize (about four chunks per worker), collected
        on a helper thread, the list posted to the main loop once (as an app would)."""
        if PROCESS not in self.kinds:
            raise NotSupported("no process pool")
        chunksize = max(1, math.ceil(len(items) / (4 * self.cfg.processes)))
        results = self._map(partial(fn, NULL_CTX), items, chunksize)

        def collect() -> None:
            try:
                values = list(results)
            except BaseException as error:  # (reported through the getter)
                failure = error
                self.loop.post(on_done, lambda: _raise(failure))
            else:
                self.loop.post(on_done, lambda: values)

        threading.Thread(target=collect, daemon=True).start()

    def _map(self, fn: Callable[..., Any], items: list[Any], chunksize: int) -> Any:
        return self.pool.map(fn, items, chunksize=chunksize)

    def cancel(self, handle: PeerHandle) -> None:
        if not isinstance(handle.ctx, FlagCtx):
            raise NotSupported("task was not submitted as cancellable")
        handle.ctx.set()

    def shutdown(self) -> None:
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            for flag in self._flags:
                flag.remove()


class ThreadPoolExecutorAdapter(FuturesAdapter):
    name = "ThreadPoolExecutor"
    kinds = frozenset({THREAD})
    about = "concurrent.futures.ThreadPoolExecutor"

    def _make_pool(self) -> Any:
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=self.cfg.threads)


class _ProcessPoolExecutorAdapter(FuturesAdapter):
    kinds = frozenset({PROCESS})
    start_method: ClassVar[str]
    _rebuild_on_break = True

    def _make_pool(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context(self.start_method)
        return ProcessPoolExecutor(max_workers=self.cfg.processes, mp_context=ctx)


class ForkserverPoolAdapter(_ProcessPoolExecutorAdapter):
    name = "ProcessPoolExecutor-forkserver"
    start_method = "forkserver"
    about = "concurrent.futures.ProcessPoolExecutor, mp_context forkserver"

    def stream(self, n: int, on_value: Callable[[Any], None], on_done: OnDone) -> Any:
        """The usual way to stream from a process: a ``multiprocessing.Queue`` read by a thread
        that posts each value to the main loop. The producer process is started (and
        waiting) before this returns; timing starts at ``go``."""
        from bench.workloads import queue_values

        ctx = multiprocessing.get_context(self.start_method)
        queue, go = ctx.Queue(), ctx.Event()
        producer = ctx.Process(target=queue_values, args=(queue, go, n), daemon=True)
        producer.start()

        def read() -> None:
            count = 0
            while (value := queue.get()) is not None:
                self.loop.post(on_value, value)
                count += 1
            producer.join(10)
            self.loop.post(on_done, lambda: count)

        threading.Thread(target=read, daemon=True).start()
        return go


class SpawnPoolAdapter(_ProcessPoolExecutorAdapter):
    name = "ProcessPoolExecutor-spawn"
    start_method = "spawn"
    about = "concurrent.futures.ProcessPoolExecutor, mp_context spawn"


class LokyAdapter(FuturesAdapter):
    name = "loky"
    kinds = frozenset({PROCESS})
    requires = ("loky",)
    about = "loky.get_reusable_executor (its own fork+exec start method)"
    _rebuild_on_break = True

    def _make_pool(self) -> Any:
        import loky

        return loky.get_reusable_executor(max_workers=self.cfg.processes)

    def _discard_pool(self) -> None:
        """get_reusable_executor() itself replaces a broken executor."""

    def shutdown(self) -> None:
        try:
            self.pool.shutdown(wait=True)  # loky's has no cancel_futures
        finally:
            for flag in self._flags:
                flag.remove()


class PebbleProcessAdapter(FuturesAdapter):
    name = "pebble-ProcessPool"
    kinds = frozenset({PROCESS})
    requires = ("pebble",)
    can_kill: ClassVar[str | None] = None
    about = "pebble.ProcessPool, context forkserver (SPEC 5: no plain fork next to a GUI)"

    def _make_pool(self) -> Any:
        import pebble

        ctx = multiprocessing.get_context("forkserver")
        return pebble.ProcessPool(max_workers=self.cfg.processes, context=ctx)

    def _schedule(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        return self.pool.schedule(fn, args=args)  # type: ignore[no-any-return]

    def _map(self, fn: Callable[..., Any], items: list[Any], chunksize: int) -> Any:
        return self.pool.map(fn, items, chunksize=chunksize).result()  # (pebble: a future of an iterator)

    def kill(self, handle: PeerHandle) -> None:
        """pebble terminates the worker running a canceled future."""
        handle.future.cancel()

    def shutdown(self) -> None:
        try:
            self.pool.stop()
            self.pool.join(timeout=10)
        finally:
            for flag in self._flags:
                flag.remove()


class PebbleThreadAdapter(PebbleProcessAdapter):
    name = "pebble-ThreadPool"
    kinds = frozenset({THREAD})
    can_kill = "cannot stop a running thread"
    about = "pebble.ThreadPool"

    def _make_pool(self) -> Any:
        import pebble

        return pebble.ThreadPool(max_workers=self.cfg.threads)

    def kill(self, handle: PeerHandle) -> None:
        raise NotSupported(self.can_kill or "")


def _raise(error: BaseException) -> Any:
    raise error

