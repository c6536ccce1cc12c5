"""Scenario 7: a 200 MB result from a process, time and parent peak memory.

The kernel's high-water mark (VmHWM) cannot be reset, which is why each
measurement runs in its own fresh interpreter: the baseline is VmRSS once
the pool is warm, the peak is VmHWM once the result is in the callback's
hands (and still referenced). Growth is reported as a multiple of the
payload: 1.0 means the parent never held more than the result itself.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from bench.adapters.base import PROCESS
from bench.mainloop import Tracker
from bench.scenarios.base import TASK_TIMEOUT, Measured, Metric, RunCtx, Scenario, needs_kinds, warm_processes
from bench.workloads import make_array, make_bytes, noop, preload_numpy

MB = 1_000_000
PAGE = 4096


def proc_status_kb(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in kB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _size(result: Any) -> int:
    return int(getattr(result, "nbytes", None) or len(result))


def touch(result: Any) -> int:
    """Read one byte per page, as any use of the result would.

    A result mapped from shared memory costs nothing until it is read; the
    page faults (and the resident memory) are real costs of using it.
    """
    view = memoryview(result).cast("B")
    return sum(view[::PAGE])


def _big_result(ctx: RunCtx, fn: Callable[..., Any], warm_fn: Callable[..., Any]) -> Measured:
    nbytes = ctx.size(200, 20) * MB
    ad = ctx.adapter()
    warm_processes(ad, ctx.loop, warm_fn)
    rss0 = proc_status_kb("VmRSS")
    tracker = Tracker(keep=True)
    start = perf_counter()
    ad.submit(PROCESS, fn, nbytes, on_done=tracker)
    tracker.wait(ctx.loop, 1, TASK_TIMEOUT * 4)
    tracker.check()
    touch(tracker.values[0])
    elapsed = perf_counter() - start
    hwm = proc_status_kb("VmHWM")
    got = _size(tracker.values[0])
    if got != nbytes:
        raise ValueError(f"result has {got} bytes, expected {nbytes}")
    return Measured(
        metrics={"time_ms": elapsed * 1e3, "rss_growth_x": (hwm - rss0) * 1e3 / nbytes},
        extra={"payload_bytes": nbytes, "rss_before_kb": rss0, "hwm_after_kb": hwm,
               "result_type": type(tracker.values[0]).__name__},
    )


def run_numpy(ctx: RunCtx) -> Measured:
    import numpy  # noqa: F401  (the parent needs it to receive the array)

    return _big_result(ctx, make_array, preload_numpy)


def run_bytes(ctx: RunCtx) -> Measured:
    return _big_result(ctx, make_bytes, noop)


_METRICS = (Metric("time_ms", "time", "ms"),
            Metric("rss_growth_x", "parent peak RSS growth", "× payload"))

SCENARIOS = [
    Scenario(
        "result_numpy", "200 MB NumPy result from a process",
        "A warm worker returns a 200 MB (quick: 20 MB) uint8 array: time from submit until the "
        "callback has it and one byte per page of it has been read; the parent's peak RSS "
        "growth (VmHWM after − VmRSS before) as a multiple of the payload.",
        "ProcessPoolExecutor-forkserver", _METRICS, run_numpy, needs_kinds(PROCESS),
    ),
    Scenario(
        "result_bytes", "200 MB bytes result from a process",
        "As result_numpy with a `bytes` object.",
        "ProcessPoolExecutor-forkserver", _METRICS, run_bytes, needs_kinds(PROCESS),
    ),
]
