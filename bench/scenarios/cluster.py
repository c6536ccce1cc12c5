"""Scenarios 14 and 18: tasks on a Dask cluster — run_on_cluster against raw client.submit, and
tasker's ``map(kind="cluster")`` against Dask's ``client.map``.

Both sides start the same cluster in their fresh interpreter: a LocalCluster
of two one-thread worker processes on 127.0.0.1 (tasker's embedded
``cluster="local"`` with ``max_processes=2``; the peer builds its own). Timing
is from the submitting call to the done callback on the main loop.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from time import perf_counter

from bench.adapters.base import CLUSTER, Adapter
from bench.mainloop import Tracker
from bench.scenarios.base import TASK_TIMEOUT, Measured, Metric, RunCtx, Scenario, burst, latencies
from bench.workloads import Beacon, cpu_item, map_noop, measure_calls, noop, note_cancel, stuck

WORKERS = 2
START_TIMEOUT = 120.0  # the cluster starts with the first task
SPIN_LIMIT_S = 30.0
STUCK_SLEEP_S = 60.0


def _one(ad: Adapter, ctx: RunCtx, fn: object, *args: object) -> object:
    tracker = Tracker(keep=True)
    ad.submit(CLUSTER, fn, *args, on_done=tracker)  # type: ignore[arg-type]
    tracker.wait(ctx.loop, 1, START_TIMEOUT)
    tracker.check()
    return tracker.values[0]


def _cancel_observed(ad: Adapter, ctx: RunCtx) -> tuple[float, float]:
    """(cancel → the task saw it, cancel → its done callback), seconds."""
    beacon = Beacon.create()
    folder = tempfile.mkdtemp(prefix="bench-cluster-")
    path = os.path.join(folder, "seen")
    try:
        tracker = Tracker()
        handle = ad.submit(CLUSTER, note_cancel, beacon, path, SPIN_LIMIT_S, on_done=tracker, cancellable=True)
        if beacon.wait(1, START_TIMEOUT) < 1:
            raise TimeoutError("the cooperative task did not start")
        _until_running(handle)
        start = time.monotonic()
        ad.cancel(handle)
        tracker.wait(ctx.loop, 1, TASK_TIMEOUT)
        done = time.monotonic()
        with open(path) as seen:
            return float(seen.read()) - start, done - start
    finally:
        beacon.close()


def _until_running(handle: object) -> None:
    """tasker: the app has heard that the task started (a cancel before that ends it at once)."""
    status = getattr(handle, "get_status", None)
    deadline = perf_counter() + START_TIMEOUT
    while status is not None and status() != "running":
        if perf_counter() > deadline:
            raise TimeoutError("the task never showed as running")
        time.sleep(0.0005)


def _stuck_then_next(ad: Adapter, ctx: RunCtx) -> float:
    """Every worker stuck in time.sleep(60); all killed; time until one more no-op is done."""
    beacon = Beacon.create()
    try:
        stuck_done = Tracker()
        handles = [ad.submit(CLUSTER, stuck, beacon, STUCK_SLEEP_S, on_done=stuck_done) for _ in range(WORKERS)]
        if beacon.wait(WORKERS, START_TIMEOUT) < WORKERS:
            raise TimeoutError("the stuck tasks did not all start")
        for handle in handles:
            _until_running(handle)
        start = perf_counter()
        for handle in handles:
            ad.kill(handle)
        after = Tracker()
        ad.submit(CLUSTER, noop, on_done=after)
        after.wait(ctx.loop, 1, TASK_TIMEOUT)
        after.check()
        return after.last - start
    finally:
        beacon.close()


def run_cluster(ctx: RunCtx) -> Measured:
    out = Measured()
    ad = ctx.adapter(processes=WORKERS)
    _one(ad, ctx, noop)  # the cluster starts
    burst(ad, ctx.loop, CLUSTER, noop, 4 * WORKERS)  # every worker has run something
    latencies(ad, ctx.loop, CLUSTER, noop, 10)  # warm-up, discarded
    samples = latencies(ad, ctx.loop, CLUSTER, noop, ctx.size(100, 20))
    out.metrics["latency_ms"] = statistics.median(samples) * 1e3
    figures = burst(ad, ctx.loop, CLUSTER, noop, ctx.size(2000, 200))
    out.metrics["burst_tasks_per_s"] = figures["tasks_per_s"]
    out.extra["submit_us_per_task"] = figures["submit_us_per_task"]
    if CLUSTER in ad.ctx_kinds:
        calls = _one(ad, ctx, measure_calls, 0.05 if ctx.quick else 0.2)
        assert isinstance(calls, dict)
        out.metrics["is_cancelled_ns"] = calls["is_cancelled_ns"]
        out.metrics["set_progress_ns"] = calls["set_progress_ns"]
        runs = [_cancel_observed(ad, ctx) for _ in range(ctx.size(10, 3))]
        out.metrics["cancel_seen_ms"] = statistics.median(seen for seen, _ in runs) * 1e3
        out.metrics["cancel_done_ms"] = statistics.median(done for _, done in runs) * 1e3
    else:
        for key in ("is_cancelled_ns", "set_progress_ns", "cancel_seen_ms", "cancel_done_ms"):
            out.na[key] = "Dask has no progress or cancel API for a running task"
    out.metrics["stuck_next_done_ms"] = _stuck_then_next(ad, ctx) * 1e3
    return out


def _map(ad: Adapter, ctx: RunCtx, fn: object, n: int) -> tuple[float, float]:
    """(items/s, main-loop callables per item) of one map of ``n`` items, call → results on the loop."""
    tracker = Tracker(keep=True)
    calls0 = ctx.loop.calls
    start = perf_counter()
    ad.map(fn, list(range(n)), on_done=tracker, kind=CLUSTER)  # type: ignore[arg-type]
    tracker.wait(ctx.loop, 1, TASK_TIMEOUT * 4)
    elapsed = tracker.last - start
    tracker.check()
    got = tracker.values[0]
    if len(got) != n:
        raise ValueError(f"the map gave {len(got)} results, expected {n}")
    return n / elapsed, (ctx.loop.calls - calls0) / n


def run_cluster_map(ctx: RunCtx) -> Measured:
    out = Measured()
    ad = ctx.adapter(processes=WORKERS)
    _one(ad, ctx, noop)  # the cluster starts
    burst(ad, ctx.loop, CLUSTER, noop, 4 * WORKERS)  # every worker has run something
    _map(ad, ctx, map_noop, 2 * WORKERS)  # the map's own first-time costs (imports), discarded
    out.metrics["noop_items_per_s"], out.metrics["calls_per_item"] = _map(ad, ctx, map_noop, ctx.size(2000, 200))
    out.metrics["cpu_items_per_s"], _ = _map(ad, ctx, cpu_item, ctx.size(100, 20))
    return out


SCENARIOS = [
    Scenario(
        "cluster", "Tasks on a Dask cluster: run_on_cluster against raw client.submit",
        "A LocalCluster of 2 one-thread worker processes on 127.0.0.1 in each run. No-op latency "
        "(median of 100; quick 20), a burst of 2,000 no-ops (quick 200), the cost of is_cancelled() / "
        "set_progress() in a cluster task, cancel → the task saw it (its own CLOCK_MONOTONIC) and → "
        "when_done (median of 10; quick 3), and both workers stuck in time.sleep(60): kill → the next "
        "no-op done (tasker: cancel, default 2 s grace, then the worker is killed through its nanny; "
        "raw Dask: future.cancel() + client.restart_workers).",
        "dask",
        (Metric("latency_ms", "no-op latency", "ms"),
         Metric("burst_tasks_per_s", "2,000-task burst", "tasks/s", "higher"),
         Metric("is_cancelled_ns", "is_cancelled()", "ns", ratio=False),
         Metric("set_progress_ns", "set_progress()", "ns", ratio=False),
         Metric("cancel_seen_ms", "cancel → task saw it", "ms", ratio=False),
         Metric("cancel_done_ms", "cancel → when_done", "ms", ratio=False),
         Metric("stuck_next_done_ms", "stuck workers → next done", "ms")),
        run_cluster, lambda cls: None if CLUSTER in cls.kinds else "no cluster tasks",
        only=frozenset({"tasker", "dask"}),
    ),
    Scenario(
        "cluster_map", "Map on a Dask cluster: map(kind=\"cluster\") against client.map",
        "A LocalCluster of 2 one-thread worker processes on 127.0.0.1 in each run (as in `cluster`). "
        "A map of 2,000 no-op items (quick 200), then of 100 items of about 20 ms of CPU (quick 20): "
        "items/s from the call to the list of results on the main loop, after the cluster started and a "
        "first small map. tasker: `map(fn, items, kind=\"cluster\")` (chunks automatic); Dask: "
        "`client.map` (one Dask task per item), gathered on a helper thread and posted once.",
        "dask",
        (Metric("noop_items_per_s", "no-op items", "items/s", "higher"),
         Metric("calls_per_item", "UI callables/item (no-op)", "", ratio=False),
         Metric("cpu_items_per_s", "20 ms CPU items", "items/s", "higher")),
        run_cluster_map, lambda cls: None if CLUSTER in cls.kinds else "no cluster tasks",
        only=frozenset({"tasker", "dask"}),
    ),
]
