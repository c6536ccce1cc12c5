"""Scenarios 5, 6, 8, 9: calls inside tasks, cancellation, UI flood, worker death."""

from __future__ import annotations

import statistics
from time import perf_counter
from typing import Any

from bench.adapters.base import PROCESS, THREAD, Adapter, NotSupported
from bench.mainloop import Tracker
from bench.scenarios.base import (
    TASK_TIMEOUT,
    Measured,
    Metric,
    RunCtx,
    Scenario,
    latencies,
    median_us,
    needs_kinds,
    warm_processes,
)
from bench.workloads import Beacon, FloorCtx, die, flood, measure_calls, noop, spin_until_canceled, stuck

START_TIMEOUT = 60.0  # a task must start within this (cold pools included)
SPIN_LIMIT_S = 30.0  # a cooperative task that is never canceled gives up
STUCK_SLEEP_S = 60.0


def _one_result(ad: Adapter, ctx: RunCtx, kind: str, fn: Any, *args: Any) -> Any:
    tracker = Tracker(keep=True)
    ad.submit(kind, fn, *args, on_done=tracker)
    tracker.wait(ctx.loop, 1, TASK_TIMEOUT * 2)
    tracker.check()
    return tracker.values[0]


def run_call_cost(ctx: RunCtx) -> Measured:
    """Loops of N calls timed inside the task, an empty loop subtracted."""
    target = 0.05 if ctx.quick else 0.2
    out = Measured()
    ad = None if ctx.impl == "floor" else ctx.adapter()
    for kind in (PROCESS, THREAD):
        if ad is None:  # floor: a flag byte read and an attribute write, in-process
            floor_ctx = FloorCtx.create()
            try:
                res = measure_calls(floor_ctx, target)
            finally:
                floor_ctx.remove()
        elif kind not in ad.ctx_kinds:
            out.na[f"is_cancelled_{kind}_ns"] = f"{kind} tasks get no ExecutionContext"
            out.na[f"set_progress_{kind}_ns"] = f"{kind} tasks get no ExecutionContext"
            continue
        else:
            res = _one_result(ad, ctx, kind, measure_calls, target)
        out.metrics[f"is_cancelled_{kind}_ns"] = res["is_cancelled_ns"]
        out.metrics[f"set_progress_{kind}_ns"] = res["set_progress_ns"]
        out.extra[f"calls_{kind}"] = res["calls"]
    return out


def _cancel_once(ad: Adapter, ctx: RunCtx, kind: str) -> tuple[float, str]:
    beacon = Beacon.create()
    try:
        tracker = Tracker(keep=True)
        handle = ad.submit(kind, spin_until_canceled, beacon, SPIN_LIMIT_S,
                           on_done=tracker, cancellable=True)
        if beacon.wait(1, START_TIMEOUT) < 1:
            raise TimeoutError("cooperative task did not start")
        start = perf_counter()
        ad.cancel(handle)
        tracker.wait(ctx.loop, 1, TASK_TIMEOUT)
        ending = (type(tracker.failures[0]).__name__ if tracker.failures
                  else repr(tracker.values[0]))
        return tracker.last - start, ending
    finally:
        beacon.close()


def run_cancel(ctx: RunCtx) -> Measured:
    out = Measured()
    ad = ctx.adapter()
    if PROCESS in ad.kinds:
        warm_processes(ad, ctx.loop)
    for kind in (PROCESS, THREAD):
        key = f"coop_{kind}_ms"
        if kind not in ad.kinds:
            out.na[key] = f"no {kind} tasks"
            continue
        try:
            runs = [_cancel_once(ad, ctx, kind) for _ in range(ctx.size(10, 3))]
        except NotSupported as exc:
            out.na[key] = str(exc)
            continue
        out.metrics[key] = statistics.median(t for t, _ in runs) * 1e3
        # This interpreter's first cancel (each run is a fresh process): what a user
        # waits for the first time, imports and first-use costs included.
        out.metrics[f"first_{key}"] = runs[0][0] * 1e3
        out.extra[f"{kind}_ending"] = sorted({e for _, e in runs})
    return out


def run_stuck_cancel(ctx: RunCtx) -> Measured:
    """Every worker sleeps in a task; cancel all (grace 0); one more task."""
    return _stuck_then_next(ctx, ctx.adapter(grace=0.0))


def run_stuck_cancel_grace(ctx: RunCtx) -> Measured:
    """The same with the default grace period: a warm spare must take the next task."""
    return _stuck_then_next(ctx, ctx.adapter())


def _stuck_then_next(ctx: RunCtx, ad: Adapter) -> Measured:
    warm_processes(ad, ctx.loop)
    beacon = Beacon.create()
    try:
        stuck_done = Tracker()
        workers = ad.process_workers
        handles = [ad.submit(PROCESS, stuck, beacon, STUCK_SLEEP_S, on_done=stuck_done)
                   for _ in range(workers)]
        if beacon.wait(workers, START_TIMEOUT) < workers:
            raise TimeoutError("stuck tasks did not all start")
        start = perf_counter()
        for handle in handles:
            ad.kill(handle)
        after = Tracker()
        ad.submit(PROCESS, noop, on_done=after)
        after.wait(ctx.loop, 1, TASK_TIMEOUT)
        stuck_done.wait(ctx.loop, workers, TASK_TIMEOUT)
        after.check()
    finally:
        beacon.close()
    return Measured(
        metrics={"next_done_ms": (after.last - start) * 1e3,
                 "stuck_done_ms": (stuck_done.last - start) * 1e3},
        extra={"stuck_endings": sorted({type(e).__name__ for e in stuck_done.failures})},
    )


def _flood_kind(ad: Adapter, ctx: RunCtx, kind: str, seconds: float) -> dict[str, float]:
    running = min(4, ad.process_workers) if kind == PROCESS else 4
    beacon = Beacon.create()
    try:
        tracker = Tracker(keep=True)
        for _ in range(4):
            ad.submit(kind, flood, beacon, seconds, on_done=tracker)
        if beacon.wait(running, START_TIMEOUT) < running:
            raise TimeoutError("flood tasks did not start")
        loop = ctx.loop
        calls0, busy0, start = loop.calls, loop.busy, perf_counter()
        loop.run_for(seconds * 0.75)
        window = perf_counter() - start
        figures = {"cb_per_s": (loop.calls - calls0) / window,
                   "busy_pct": (loop.busy - busy0) / window * 100}
        tracker.wait(loop, 4, TASK_TIMEOUT + 4 * seconds)
        tracker.check()
        figures["progress_calls_per_s"] = sum(tracker.values) / (4 * seconds)
        return figures
    finally:
        beacon.close()


def run_ui_flood(ctx: RunCtx) -> Measured:
    seconds = 0.5 if ctx.quick else 2.0
    out = Measured()
    ad = ctx.adapter(processes=4, threads=4)
    for kind in (PROCESS, THREAD):
        if kind not in ad.ctx_kinds:
            out.na[f"{kind}_cb_per_s"] = f"{kind} tasks get no ExecutionContext"
            out.na[f"{kind}_busy_pct"] = f"{kind} tasks get no ExecutionContext"
            continue
        if kind == PROCESS:
            warm_processes(ad, ctx.loop)
        figures = _flood_kind(ad, ctx, kind, seconds)
        out.metrics[f"{kind}_cb_per_s"] = figures["cb_per_s"]
        out.metrics[f"{kind}_busy_pct"] = figures["busy_pct"]
        out.extra[f"{kind}_progress_calls_per_s_per_task"] = figures["progress_calls_per_s"]
    return out


def run_worker_death(ctx: RunCtx) -> Measured:
    """One worker (so the next task needs a live one); it calls os._exit(1)."""
    ad = ctx.adapter(processes=1)
    warm_processes(ad, ctx.loop)
    dead = Tracker()
    start = perf_counter()
    ad.submit(PROCESS, die, on_done=dead)
    dead.wait(ctx.loop, 1, TASK_TIMEOUT)
    died_ms = (dead.last - start) * 1e3
    nxt = latencies(ad, ctx.loop, PROCESS, noop, 1)[0] * 1e3
    warm = median_us(latencies(ad, ctx.loop, PROCESS, noop, 5))
    ending = type(dead.failures[0]).__name__ if dead.failures else "completed (no error!)"
    return Measured(
        metrics={"death_done_ms": died_ms, "next_task_ms": nxt},
        extra={"ending": ending, "warm_latency_after_us": warm},
    )


SCENARIOS = [
    Scenario(
        "call_cost", "Cost of is_cancelled() / set_progress() inside a task",
        "A loop of N calls timed inside one process task and one thread task, minus an "
        "empty loop of N; ns per call.",
        "rayforge",
        (Metric("is_cancelled_process_ns", "is_cancelled (process)", "ns"),
         Metric("set_progress_process_ns", "set_progress (process)", "ns"),
         Metric("is_cancelled_thread_ns", "is_cancelled (thread)", "ns", ratio=False),
         Metric("set_progress_thread_ns", "set_progress (thread)", "ns", ratio=False)),
        run_call_cost, needs_kinds(PROCESS, THREAD, ctx=True), floor=True,
        notes={"floor": "a memory-mapped flag byte read / an attribute write, in-process"},
    ),
    Scenario(
        "cancel", "Cooperative cancel",
        "A task spinning on is_cancelled() (peers: a memory-mapped flag byte) is canceled; "
        "time from the cancel call to its done callback on main (median of 10; quick: 3).",
        "ProcessPoolExecutor-forkserver",
        (Metric("coop_process_ms", "process", "ms"),
         Metric("coop_thread_ms", "thread", "ms", reference="ThreadPoolExecutor"),
         Metric("first_coop_process_ms", "process, first", "ms"),
         Metric("first_coop_thread_ms", "thread, first", "ms", reference="ThreadPoolExecutor")),
        run_cancel, needs_kinds(PROCESS, THREAD),
        notes={"rayforge": "cancel_task() calls when_done at once, before the worker stopped"},
    ),
    Scenario(
        "stuck_cancel", "Cancel of a task stuck in time.sleep(60)",
        "One such task per worker, all canceled with grace period 0 (pebble: future.cancel(), "
        "which kills the worker), then one no-op submitted: time until it is done.",
        "pebble-ProcessPool",
        (Metric("next_done_ms", "next task done", "ms"),
         Metric("stuck_done_ms", "stuck tasks' callbacks", "ms")),
        run_stuck_cancel,
        lambda cls: None if PROCESS in cls.kinds and cls.can_kill is None
        else (cls.can_kill or "no process tasks") if PROCESS in cls.kinds else "no process tasks",
    ),
    Scenario(
        "stuck_cancel_grace", "Cancel of stuck tasks, default grace period",
        "As above, but tasker keeps its default 2 s grace period (the stuck workers are killed "
        "only then) and pebble's future.cancel() kills at once: time until the next no-op is done.",
        "pebble-ProcessPool",
        (Metric("next_done_ms", "next task done", "ms"),
         Metric("stuck_done_ms", "stuck tasks' callbacks", "ms")),
        run_stuck_cancel_grace,
        lambda cls: None if PROCESS in cls.kinds and cls.can_kill is None
        else (cls.can_kill or "no process tasks") if PROCESS in cls.kinds else "no process tasks",
    ),
    Scenario(
        "ui_flood", "UI flood: four workers calling set_progress() flat out",
        "Four tasks loop on set_progress(); once all run, the main loop is watched for 75% "
        "of their 2 s (quick: 0.5 s): callables run per second, and % of time busy.",
        "rayforge",
        (Metric("process_cb_per_s", "process: UI callbacks", "/s"),
         Metric("process_busy_pct", "process: UI busy", "%"),
         Metric("thread_cb_per_s", "thread: UI callbacks", "/s", ratio=False),
         Metric("thread_busy_pct", "thread: UI busy", "%", ratio=False)),
        run_ui_flood, needs_kinds(PROCESS, THREAD, ctx=True),
        notes={"rayforge": "pool capped at os.cpu_count() workers, so only 2 of 4 run at once"},
    ),
    Scenario(
        "worker_death", "Worker death",
        "One-worker pool, warm; a task calls os._exit(1): time to its done callback; then "
        "the next no-op's latency (a cold start shows here).",
        "ProcessPoolExecutor-forkserver",
        (Metric("death_done_ms", "death → callback", "ms"),
         Metric("next_task_ms", "next task", "ms")),
        run_worker_death, needs_kinds(PROCESS),
        notes={"ProcessPoolExecutor-forkserver": "the pool breaks; the bench builds a new one "
               "on the next submit, as a user must (same for -spawn, loky)"},
    ),
]
