"""Scenarios 1-4: what it costs to get a no-op task done and back on the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from bench.adapters.base import CORO, PROCESS, THREAD, Adapter, NotSupported
from bench.mainloop import Tracker
from bench.scenarios.base import (
    Measured,
    Metric,
    RunCtx,
    Scenario,
    burst,
    latencies,
    median_us,
    needs_kinds,
    warm_processes,
)
from bench.workloads import anoop, noop

COLD_TIMEOUT = 60.0

LATENCY = Metric("latency_us", "latency", "µs")
THROUGHPUT = Metric("burst_tasks_per_s", "burst", "tasks/s", "higher")
CALLBACKS = Metric("callbacks_per_task", "UI callbacks/task", "", ratio=False)


def noop_figures(ctx: RunCtx, kind: str, fn: Callable[..., Any],
                 n_lat: int, n_burst: int, **cfg: Any) -> Measured:
    """Latency of sequential no-ops, then a burst; ``cfg``: the adapter's ``Config``."""
    ad = ctx.adapter(**cfg)
    if kind == PROCESS:
        warm_processes(ad, ctx.loop)
    latencies(ad, ctx.loop, kind, fn, max(10, n_lat // 10))  # warm-up, discarded
    samples = latencies(ad, ctx.loop, kind, fn, n_lat)
    figures = burst(ad, ctx.loop, kind, fn, n_burst)
    return Measured(
        metrics={
            "latency_us": median_us(samples),
            "burst_tasks_per_s": figures["tasks_per_s"],
            "callbacks_per_task": figures["callbacks_per_task"],
        },
        extra={"latency_n": n_lat, "burst_n": n_burst,
               "submit_us_per_task": figures["submit_us_per_task"]},
    )


def run_thread_noop(ctx: RunCtx) -> Measured:
    return noop_figures(ctx, THREAD, noop, ctx.size(1000, 100), ctx.size(5000, 500))


def run_coro_noop(ctx: RunCtx) -> Measured:
    return noop_figures(ctx, CORO, anoop, ctx.size(1000, 100), ctx.size(5000, 500))


def run_process_warm(ctx: RunCtx) -> Measured:
    return noop_figures(ctx, PROCESS, noop, ctx.size(300, 30), ctx.size(2000, 200))


def run_process_cold(ctx: RunCtx) -> Measured:
    """Pool construction is inside "first task": it is part of first use."""
    tracker = Tracker()
    start = perf_counter()
    ad = ctx.adapter()
    built = perf_counter()
    ad.submit(PROCESS, noop, on_done=tracker)
    returned = perf_counter()
    tracker.wait(ctx.loop, 1, COLD_TIMEOUT)
    tracker.check()
    return Measured(metrics={
        "first_task_ms": (tracker.last - start) * 1e3,
        "submit_block_ms": (returned - built) * 1e3,
        "construct_ms": (built - start) * 1e3,
        "main_busy_ms": ctx.loop.busy * 1e3,
    })


def run_process_prestart(ctx: RunCtx) -> Measured:
    """``prestart()``, wait until it has finished, then the first task against warm ones."""
    ad = ctx.adapter()
    prestart = getattr(ad, "prestart", None)
    if prestart is None:
        raise NotSupported("no prestart")
    start = perf_counter()
    prestart()
    returned = perf_counter()
    deadline = returned + COLD_TIMEOUT
    while not ad.prestarted():  # type: ignore[attr-defined]
        if perf_counter() > deadline:
            raise TimeoutError("the prestarted workers never came up")
        ctx.loop.run_for(0.002)  # (the pool has no callback for "ready": polled)
    ready = perf_counter()
    tracker = Tracker()
    first = perf_counter()
    ad.submit(PROCESS, noop, on_done=tracker)
    submitted = perf_counter()
    tracker.wait(ctx.loop, 1, COLD_TIMEOUT)
    tracker.check()
    first_us = (tracker.last - first) * 1e6
    warm = median_us(latencies(ad, ctx.loop, PROCESS, noop, ctx.size(100, 10)))
    # The same warm pool after the main loop idled as long as before the first task (at
    # most 1 s): what any task pays after a pause (caches lost to the machine's other work).
    idle_us = _no_op_after_idle_us(ad, ctx, min(ready - start, 1.0))
    floor_warm, floor_idle = _floor_wake_up(ctx, min(ready - start, 1.0))
    return Measured(metrics={
        "first_task_us": first_us,
        "warm_latency_us": warm,
        "first_vs_warm": first_us / warm,
        "idle_task_us": idle_us,
        "first_vs_idle": first_us / idle_us,
        "prestart_call_us": (returned - start) * 1e6,
        "first_submit_us": (submitted - first) * 1e6,
        "ready_ms": (ready - start) * 1e3,
        "floor_warm_us": floor_warm,
        "floor_idle_us": floor_idle,
        "floor_idle_vs_warm": floor_idle / floor_warm,
    })


def _floor_wake_up(ctx: RunCtx, idle_s: float) -> tuple[float, float]:
    """The machine's own cost of a pause: the floor child's round trip back to back, and after
    the main loop idled ``idle_s`` (the same pause tasker's first task follows), in µs.

    Measured after tasker's figures, in the same interpreter and the same way (a warm
    child, one pipe, one reader thread: no library at all), so "first ÷ warm" can be read
    against what a bare round trip loses to a pause on this machine.
    """
    from bench.adapters.base import Config
    from bench.adapters.floor import FloorAdapter

    floor = FloorAdapter(ctx.loop, Config())
    ctx.adapters.append(floor)  # (shut down by bench._one with the rest)
    latencies(floor, ctx.loop, PROCESS, noop, 10)  # starts the child; discarded
    warm = median_us(latencies(floor, ctx.loop, PROCESS, noop, ctx.size(100, 10)))
    return warm, _no_op_after_idle_us(floor, ctx, idle_s)


def _no_op_after_idle_us(ad: Adapter, ctx: RunCtx, idle_s: float) -> float:
    """One no-op process task on ``ad`` after the main loop idled ``idle_s``: its latency in µs."""
    idle_until = perf_counter() + idle_s
    while perf_counter() < idle_until:
        ctx.loop.run_for(0.002)
    tracker = Tracker()
    again = perf_counter()
    ad.submit(PROCESS, noop, on_done=tracker)
    tracker.wait(ctx.loop, 1, COLD_TIMEOUT)
    tracker.check()
    return (tracker.last - again) * 1e6


SCENARIOS = [
    Scenario(
        "thread_noop", "Thread no-op tasks",
        "Sequential no-op thread tasks: median submit→done-callback-on-main latency; then "
        "5,000 (quick: 500) submitted at once: throughput and main-thread callbacks per task.",
        "ThreadPoolExecutor", (LATENCY, THROUGHPUT, CALLBACKS), run_thread_noop,
        needs_kinds(THREAD), floor=True,
    ),
    Scenario(
        "coro_noop", "Coroutine no-op tasks",
        "As thread_noop with `async def` no-ops (5,000 at once; quick: 500).",
        "asyncio-threadsafe", (LATENCY, THROUGHPUT, CALLBACKS), run_coro_noop,
        needs_kinds(CORO), floor=True,
    ),
    Scenario(
        "process_cold", "First process task (cold)",
        "Fresh interpreter, pool never used: time from building the pool object to the first "
        "no-op's done callback; how long the submitting call blocked the caller; how long "
        "building the manager/pool object took; main-thread time spent in posted callables.",
        "ProcessPoolExecutor-forkserver",
        (Metric("first_task_ms", "first task", "ms"),
         Metric("submit_block_ms", "submit blocked", "ms"),
         Metric("construct_ms", "construction", "ms", ratio=False),
         Metric("main_busy_ms", "UI busy", "ms", ratio=False)),
        run_process_cold, needs_kinds(PROCESS), floor=True,
        notes={"floor": "a `python -c` child running bench.floor_child (os, pickle, struct "
                        "only), started by Popen on first submit"},
    ),
    Scenario(
        "process_warm", "Warm process no-op tasks",
        "Every worker already ran a task: sequential no-op latency, then 2,000 (quick: 200) "
        "submitted at once.",
        "ProcessPoolExecutor-forkserver", (LATENCY, THROUGHPUT, CALLBACKS), run_process_warm,
        needs_kinds(PROCESS), floor=True,
        notes={"floor": "one child, one pipe, one reader thread (throughput of 1 worker)"},
    ),
    Scenario(
        "process_prestart", "First process task after prestart()",
        "tasker only: `prestart(preload=...)` (returns at once), wait until every worker and the "
        "spare are READY (the pool's state, polled every 2 ms), then one no-op: its latency against "
        "the median of 100 (quick: 10) warm no-ops after it, in the same interpreter; then, after the "
        "main loop idled as long as it waited for the pool (at most 1 s), one more no-op on the same warm "
        "pool (what any task pays after a pause); how long `prestart()` and the first submit blocked; "
        "when the pool was ready. Floor: the floor child's pipe round trip back to back, and after "
        "the same idle (the machine's own wake-up cost: read \"first ÷ warm\" against "
        "\"floor: after idle ÷ back to back\").",
        "tasker",
        (Metric("first_task_us", "first task", "µs", ratio=False),
         Metric("warm_latency_us", "warm latency", "µs", ratio=False),
         Metric("first_vs_warm", "first ÷ warm", "", ratio=False),
         Metric("idle_task_us", "warm task after as long idle", "µs", ratio=False),
         Metric("first_vs_idle", "first ÷ warm after idle", "", ratio=False),
         Metric("prestart_call_us", "prestart() blocked", "µs", ratio=False),
         Metric("first_submit_us", "first submit blocked", "µs", ratio=False),
         Metric("ready_ms", "pool ready after", "ms", ratio=False),
         Metric("floor_warm_us", "floor round trip", "µs", ratio=False),
         Metric("floor_idle_us", "floor after as long idle", "µs", ratio=False),
         Metric("floor_idle_vs_warm", "floor: after idle ÷ back to back", "", ratio=False)),
        run_process_prestart, needs_kinds(PROCESS), only=frozenset({"tasker"}), baseline=False,
    ),
]
