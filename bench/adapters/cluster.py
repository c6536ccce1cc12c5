"""Raw Dask: ``client.submit`` on a LocalCluster like tasker's embedded one (the cluster peer).

Two worker processes with one thread each on 127.0.0.1, no dashboard, and
``allowed-failures: 0`` as tasker sets for its own cluster. A task's value is
fetched in Dask's callback thread (``future.result()``) and handed to the main
loop, as tasker does; the function gets a ``NullCtx`` (Dask has no progress or
cancel API). Dask cannot interrupt a running task: ``kill`` restarts the
task's worker (``client.restart_workers``), the only way a raw user has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.adapters.base import CLUSTER, Adapter, Config, OnDone
from bench.mainloop import MainLoop
from bench.workloads import NULL_CTX


def _value(value: Any) -> Any:
    return value


def _raise(error: BaseException) -> Any:
    raise error


class DaskAdapter(Adapter):
    name = "dask"
    kinds = frozenset({CLUSTER})
    can_kill = None
    requires = ("distributed",)
    scenarios = frozenset({"cluster", "cluster_map"})
    about = "distributed.Client.submit on LocalCluster(processes=True, threads_per_worker=1, host=127.0.0.1)"

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        super().__init__(loop, cfg)
        import dask
        from distributed import Client, LocalCluster

        dask.config.set({"distributed.scheduler.allowed-failures": 0})
        self.cluster = LocalCluster(
            n_workers=cfg.processes, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
        )
        self.client = Client(self.cluster, set_as_default=False)

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone, cancellable: bool = False
    ) -> Any:
        future = self.client.submit(fn, NULL_CTX, *args, pure=False)
        post = self.loop.post

        def done(f: Any) -> None:
            try:
                getter = _value, f.result()
            except BaseException as error:
                getter = _raise, error
            post(on_done, lambda: getter[0](getter[1]))

        future.add_done_callback(done)
        return future

    def map(self, fn: Callable[..., Any], items: list[Any], *, on_done: OnDone, kind: str = CLUSTER) -> Any:
        """``client.map`` (one Dask task per item: Dask has no chunksize), gathered on a helper
        thread and posted to the main loop once (as an app would)."""
        futures = self.client.map(partial(fn, NULL_CTX), items, pure=False)

        def collect() -> None:
            try:
                values = self.client.gather(futures)
            except BaseException as error:  # (reported through the getter)
                failure = error
                self.loop.post(on_done, lambda: _raise(failure))
            else:
                self.loop.post(on_done, lambda: values)

        threading.Thread(target=collect, daemon=True).start()
        return futures

    def kill(self, handle: Any) -> None:
        """Cancel the future and restart the worker it runs on (its value is dropped)."""
        processing = self.client.processing()
        workers = [w for w, keys in processing.items() if handle.key in keys]
        handle.cancel()
        if workers:
            self.client.restart_workers(workers)

    def shutdown(self) -> None:
        self.client.close(timeout=10)
        self.cluster.close(timeout=10)
