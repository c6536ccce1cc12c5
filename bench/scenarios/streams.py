"""Scenarios 15-17 (issue 20): a map of many items, and a stream of values from a process.

* ``map_noop``: 10,000 (quick: 1,000) no-op items in processes: items/s from the
  call to the results on the main loop, and main-thread callables per item.
* ``map_cpu``: 200 (quick: 40) items of about 20 ms of CPU each: items/s.

  Both: in each fresh interpreter, after the workers are warm, one map (``first
  map``, its own column) and then ``LATER_MAPS`` more, one after the other: the
  throughput is the median of those later maps (a map of 10,000 no-ops takes
  a few ms: one alone is mostly the machine's noise), as are the UI callables
  and the parent's CPU time (user + system of the whole parent process, every
  thread: ``getrusage``) per map.
* ``stream``: one process sends 100,000 (quick: 10,000) small values, each
  delivered to the main loop one by one: values/s. tasker: a generator task
  and ``when_yield``; the peer: a ``multiprocessing.Queue`` read by a thread
  that posts each value (its producer process started and waiting first).

Peers' maps use their own ``map`` with chunksize = ceil(items / (4 × workers));
tasker's chunks are automatic.
"""

from __future__ import annotations

import resource
import statistics
from time import perf_counter
from typing import Any

from bench.adapters.base import PROCESS, Adapter
from bench.mainloop import Tracker
from bench.scenarios.base import TASK_TIMEOUT, Measured, Metric, RunCtx, Scenario, warm_processes
from bench.workloads import cpu_item, map_noop

ITEMS = Metric("items_per_s", "items/s", "items/s", "higher")
FIRST = Metric("first_items_per_s", "first map", "items/s", "higher")
CALLS = Metric("calls_per_item", "UI callables/item", "", ratio=False)
PARENT_CPU = Metric("parent_cpu_ms", "parent CPU per map", "ms", "lower")
#: Maps after the first one in each fresh interpreter (full, quick): their median is the figure.
LATER_MAPS = {"noop": (9, 2), "cpu": (2, 1)}
VALUES = Metric("values_per_s", "values/s", "values/s", "higher")


def _has(method: str) -> Any:
    """Applicable to an implementation with process tasks and this method."""

    def applies(cls: type[Adapter]) -> str | None:
        if PROCESS not in cls.kinds:
            return "no process tasks"
        return None if getattr(cls, method) is not getattr(Adapter, method) else f"no {method}"

    return applies


def _cpu_s() -> float:
    """User + system CPU time of this whole process (every thread), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _one_map(ctx: RunCtx, ad: Adapter, fn: Any, n: int) -> tuple[float, float, float]:
    """One map of ``n`` items: (items/s, UI callables per item, parent CPU ms)."""
    items = list(range(n))
    tracker = Tracker(keep=True)
    calls0 = ctx.loop.calls
    cpu0 = _cpu_s()
    start = perf_counter()
    ad.map(fn, items, on_done=tracker)
    tracker.wait(ctx.loop, 1, TASK_TIMEOUT * 4)
    elapsed = tracker.last - start
    cpu = _cpu_s() - cpu0
    tracker.check()
    got = tracker.values[0]
    if len(got) != n:
        raise ValueError(f"the map gave {len(got)} results, expected {n}")
    return n / elapsed, (ctx.loop.calls - calls0) / n, cpu * 1000


def _map(ctx: RunCtx, fn: Any, n: int, later: int) -> Measured:
    ad = ctx.adapter()
    warm_processes(ad, ctx.loop)
    first = _one_map(ctx, ad, fn, n)
    runs = [_one_map(ctx, ad, fn, n) for _ in range(later)]
    rate, calls, cpu = (statistics.median(values) for values in zip(*runs, strict=True))
    return Measured(
        metrics={"items_per_s": rate, "first_items_per_s": first[0], "calls_per_item": calls, "parent_cpu_ms": cpu},
        extra={"maps": [first, *runs]},
    )


def run_map_noop(ctx: RunCtx) -> Measured:
    return _map(ctx, map_noop, ctx.size(10_000, 1_000), ctx.size(*LATER_MAPS["noop"]))


def run_map_cpu(ctx: RunCtx) -> Measured:
    return _map(ctx, cpu_item, ctx.size(200, 40), ctx.size(*LATER_MAPS["cpu"]))


def run_stream(ctx: RunCtx) -> Measured:
    n = ctx.size(100_000, 10_000)
    ad = ctx.adapter()
    warm_processes(ad, ctx.loop)
    seen = [0]

    def on_value(value: Any) -> None:
        if value != seen[0]:
            raise ValueError(f"value {value} arrived as number {seen[0]}: out of order")
        seen[0] += 1

    tracker = Tracker()
    go = ad.stream(n, on_value, on_done=tracker)
    start = perf_counter()
    go.set()
    tracker.wait(ctx.loop, 1, TASK_TIMEOUT * 4)
    elapsed = tracker.last - start
    tracker.check()
    if seen[0] != n:
        raise ValueError(f"{seen[0]} values arrived, expected {n}")
    return Measured(metrics={"values_per_s": n / elapsed})


SCENARIOS = [
    Scenario(
        "map_noop", "Map: 10,000 no-op items in processes",
        "`map` of 10,000 (quick: 1,000) no-op items over warm processes: items/s from the call to "
        "the list of results on the main loop, median of the 9 maps after the first in each fresh "
        "interpreter (the first map: its own column); main-thread callables per item (tasker: one "
        "`when_done`, and the batch's row updates); the parent process's CPU time per map (all threads).",
        "ProcessPoolExecutor-forkserver", (ITEMS, FIRST, CALLS, PARENT_CPU), run_map_noop, _has("map"),
    ),
    Scenario(
        "map_cpu", "Map: 200 items of 20 ms CPU in processes",
        "`map` of 200 (quick: 40) items of about 20 ms of CPU each over warm processes: items/s, "
        "median of the 2 maps after the first in each fresh interpreter (the first map: its own "
        "column); UI callables per item; the parent process's CPU time per map (all threads).",
        "ProcessPoolExecutor-forkserver", (ITEMS, FIRST, CALLS, PARENT_CPU), run_map_cpu, _has("map"),
    ),
    Scenario(
        "stream", "Stream: 100,000 values from a process",
        "One process sends 100,000 (quick: 10,000) small values, each delivered on the main loop "
        "in order: values/s. tasker: a generator task (`when_yield`); the peer: a "
        "`multiprocessing.Queue` read by a thread that posts each value.",
        "ProcessPoolExecutor-forkserver", (VALUES,), run_stream, _has("stream"),
    ),
]
