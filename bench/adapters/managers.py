"""Task managers with an ExecutionContext: tasker, and Rayforge's tasker (the anchor).

Both deliver ``when_done(task)`` through ``main_thread_scheduler``, which is
the bench's main loop ``post``; the adapter only turns the task into a result
getter. Neither gets any help from the bench: what they post to the main
loop (status signals, progress, tasks_updated) is counted as UI load.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.adapters import rayforge_stub
from bench.adapters.base import CLUSTER, CORO, CPUS, PROCESS, THREAD, Adapter, Config, NotSupported, OnDone
from bench.mainloop import MainLoop
from bench.workloads import NULL_CTX

ALL_KINDS = frozenset({THREAD, CORO, PROCESS})
SHUTDOWN_TIMEOUT = 10.0


def _deliver(on_done: OnDone, task: Any) -> None:
    on_done(task.result)


class TaskerAdapter(Adapter):
    """This project: ``tasker.TaskManager`` as SPEC section 2 defines it."""

    name = "tasker"
    kinds = ALL_KINDS | {CLUSTER}
    ctx_kinds = ALL_KINDS | {CLUSTER}
    can_kill = None
    about = "this project (src/tasker), TaskManager(main_thread_scheduler=post)"

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        super().__init__(loop, cfg)
        from tasker import TaskManager

        options: dict[str, Any] = {
            "max_processes": cfg.processes,
            "max_threads": cfg.threads,
        }
        if cfg.grace is not None:
            options["cancel_grace_period"] = cfg.grace
        options.update(cfg.tasker_options)
        self.mgr = TaskManager(main_thread_scheduler=loop.post, **options)

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone,
        cancellable: bool = False,
    ) -> Any:
        start: Callable[..., Any] = self.mgr.run_process
        if kind == THREAD:
            start = self.mgr.run_thread
        elif kind == CORO:
            start = self.mgr.add_coroutine
        elif kind == CLUSTER:  # the embedded LocalCluster: max_processes one-thread workers
            start = self.mgr.run_on_cluster
        return start(fn, *args, when_done=partial(_deliver, on_done))

    def cancel(self, handle: Any) -> None:
        self.mgr.cancel_task(handle.key)

    def map(self, fn: Callable[..., Any], items: list[Any], *, on_done: OnDone, kind: str = PROCESS) -> Any:
        """``task_mgr.map`` in processes or on the embedded cluster (chunks automatic)."""
        tasker_kind = "cluster" if kind == CLUSTER else "process"
        return self.mgr.map(fn, items, kind=tasker_kind, when_done=partial(_deliver, on_done))

    def stream(self, n: int, on_value: Callable[[Any], None], on_done: OnDone) -> Any:
        """A generator task: each value to ``when_yield`` on the main loop (returns a starter)."""
        from bench.workloads import yield_values

        mgr = self.mgr

        class Go:
            def set(self) -> None:
                mgr.run_process(
                    yield_values, n, when_yield=lambda task, value: on_value(value),
                    when_done=partial(_deliver, on_done),
                )

        return Go()

    def prestart(self) -> None:
        """``TaskManager.prestart``: every worker starts now, importing the bench's task module."""
        self.mgr.prestart(preload=("bench.workloads",))

    def prestarted(self) -> bool:
        """Has the prestart finished (every worker and the spare READY)? Reads the pool's state."""
        pool = self.mgr._lifecycle.runners.get("process")
        if pool is None:
            return False
        with pool.lock:
            ready = sum(w.state.name == "READY" for w in pool.workers)
        return ready == self.cfg.processes + self.mgr.options.spare_processes

    def kill(self, handle: Any) -> None:
        """With cancel_grace_period=0 a cancel ends a stuck worker at once."""
        self.mgr.cancel_task(handle.key)

    def shutdown(self) -> None:
        self.mgr.shutdown(timeout=SHUTDOWN_TIMEOUT)


class TaskerBaseAdapter(TaskerAdapter):
    """tasker as it was before a change: ``python -m bench --baseline SRC`` puts that
    ``src`` first on the run's ``PYTHONPATH``, so both run side by side, paired."""

    name = "tasker-base"
    about = "tasker from --baseline SRC (before the change measured), same options"


class RayforgeAdapter(Adapter):
    """``rayforge.shared.tasker.TaskManager`` 1.13.1, the seed's implementation.

    Its pool size is ``os.cpu_count()`` capped by ``RAYFORGE_MAX_WORKERS``
    (it cannot go above the CPU count); its thread tasks run on the asyncio
    loop's default executor and their function gets no ExecutionContext.
    """

    name = "rayforge"
    kinds = ALL_KINDS
    ctx_kinds = frozenset({CORO, PROCESS})
    can_kill = "cancel never stops a worker stuck in code that does not check is_cancelled()"
    requires = ("rayforge", "blinker")
    about = "rayforge==1.13.1 rayforge.shared.tasker.TaskManager(main_thread_scheduler=post)"

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        super().__init__(loop, cfg)
        rayforge_stub.install()
        os.environ["RAYFORGE_MAX_WORKERS"] = str(cfg.processes)
        from rayforge.shared.tasker.manager import TaskManager

        self.mgr = TaskManager(main_thread_scheduler=loop.post)
        self._keys = itertools.count()

    @property
    def process_workers(self) -> int:
        return min(self.cfg.processes, CPUS)

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone,
        cancellable: bool = False,
    ) -> Any:
        when_done = partial(_deliver, on_done)
        if kind == THREAD:
            if cancellable:
                raise NotSupported("run_thread passes no ExecutionContext to the function")
            return self.mgr.run_thread(partial(fn, NULL_CTX), *args, when_done=when_done)
        if kind == CORO:
            key = ("bench", next(self._keys))  # add_coroutine returns None
            self.mgr.add_coroutine(fn, *args, key=key, when_done=when_done)
            return key
        return self.mgr.run_process(fn, *args, when_done=when_done)

    def cancel(self, handle: Any) -> None:
        self.mgr.cancel_task(getattr(handle, "key", handle))

    def shutdown(self) -> None:
        self.mgr.shutdown()
