"""Scenarios 11-13: pausing, the memory cap, the cost of recycling checks.

No peer pauses a process task, caps a worker's memory while a task runs or
recycles workers behind the same API, so the first two are tasker's own
figures (``tasker-base``, with ``--baseline``, has neither: it is not planned); the third is
``process_warm`` with the recycling checks switched on, paired with the same
run without them (``tasker-base`` runs it without the options: before/after).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from functools import partial
from time import monotonic, perf_counter
from typing import Any

from bench.adapters.base import PROCESS, THREAD, NotSupported
from bench.mainloop import Tracker
from bench.registry import BASELINE
from bench.scenarios.base import TASK_TIMEOUT, Measured, Metric, RunCtx, Scenario, needs_kinds
from bench.scenarios.dispatch import CALLBACKS, LATENCY, THROUGHPUT, noop_figures
from bench.workloads import Beacon, allocate_past, noop, progress_until_canceled, spin_unchecked

START_TIMEOUT = 60.0
LIMIT_S = 60.0
MiB = 1 << 20
MEMORY_LIMIT = 256 * MiB
TICK = threading.Event()  # never set: bounded waits between looks


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()[0].decode()


def _until(predicate: Any, timeout: float, pause: float = 0.0) -> float:
    """Seconds until ``predicate()`` held (polling; ``pause`` between looks)."""
    start = perf_counter()
    deadline = start + timeout
    while not predicate():
        if perf_counter() > deadline:
            raise TimeoutError("the condition never held")
        if pause:
            TICK.wait(pause)
    return perf_counter() - start


def _manager(ctx: RunCtx, **options: Any) -> Any:
    ad = ctx.adapter(**options)
    mgr = getattr(ad, "mgr", None)
    if mgr is None or not hasattr(mgr, "pause_task"):
        raise NotSupported("no pause API")
    return ad, mgr


def run_pause(ctx: RunCtx) -> Measured:
    """pause() → the worker stopped (SIGSTOP seen in /proc), resume() → running again;
    pause() → a thread task waiting at its next set_progress()."""
    n = ctx.size(20, 5)
    _ad, mgr = _manager(ctx, processes=1, threads=1, grace=0.0)
    stop, cont, thread_wait, floor = [], [], [], []
    beacon = Beacon.create()
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"], process_group=0)
    try:
        _until(lambda: _state(child.pid) == "R", 10.0)
        task = mgr.run_process(spin_unchecked, beacon, LIMIT_S)
        if beacon.wait(1, START_TIMEOUT) < 1:
            raise TimeoutError("the process task did not start")
        pid = task.handle.proc.pid
        for _ in range(n):
            start = perf_counter()
            task.pause()
            _until(lambda: _state(pid) == "T", 10.0)
            stop.append(perf_counter() - start)
            start = perf_counter()
            task.resume()
            _until(lambda: _state(pid) != "T", 10.0)
            cont.append(perf_counter() - start)
            floor.append(_stop_floor(child))  # interleaved: the same moments of a noisy machine
        task.cancel()
        spinner = mgr.run_thread(progress_until_canceled, beacon, LIMIT_S)
        if beacon.wait(1, START_TIMEOUT) < 1:
            raise TimeoutError("the thread task did not start")
        for _ in range(n):
            start = perf_counter()
            spinner.pause()
            # looks 20 µs apart, releasing the GIL (the thread needs it to reach its pause point)
            _until(lambda: bool(spinner._wakers), 10.0, 20e-6)
            thread_wait.append(perf_counter() - start)
            spinner.resume()
        spinner.cancel()
        done = Tracker()
        mgr.run_process(noop, when_done=lambda t: done(t.result))
        done.wait(ctx.loop, 1, TASK_TIMEOUT)
    finally:
        beacon.close()
        child.kill()
        child.wait()
    return Measured(
        metrics={
            "stop_us": statistics.median(stop) * 1e6,
            "cont_us": statistics.median(cont) * 1e6,
            "thread_us": statistics.median(thread_wait) * 1e6,
            "raw_stop_us": statistics.median(floor) * 1e6,
        },
        extra={"n": n, "stop_max_us": max(stop) * 1e6, "thread_max_us": max(thread_wait) * 1e6,
               "stop_over_floor": statistics.median(a / b for a, b in zip(stop, floor, strict=True))},
    )


def _note_end(ended: list[float], task: Any) -> None:
    ended.append(monotonic())


def _stop_floor(child: subprocess.Popen[bytes]) -> float:
    """The machine's floor, once: os.killpg(SIGSTOP) of a plain spinning child → state T."""
    start = perf_counter()
    os.killpg(child.pid, signal.SIGSTOP)
    _until(lambda: _state(child.pid) == "T", 10.0)
    took = perf_counter() - start
    os.killpg(child.pid, signal.SIGCONT)
    _until(lambda: _state(child.pid) != "T", 10.0)
    return took


def _note_end(ended: list[float], task: Any) -> None:
    ended.append(monotonic())


def _raw_stop(n: int) -> list[float]:
    """The machine's floor: os.killpg(SIGSTOP) of a plain spinning child → state T."""
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"], process_group=0)
    try:
        _until(lambda: _state(child.pid) == "R", 10.0)
        out = []
        for _ in range(n):
            start = perf_counter()
            os.killpg(child.pid, signal.SIGSTOP)
            _until(lambda: _state(child.pid) == "T", 10.0)
            out.append(perf_counter() - start)
            os.killpg(child.pid, signal.SIGCONT)
            _until(lambda: _state(child.pid) != "T", 10.0)
        return out
    finally:
        child.kill()
        child.wait()


def run_memory_cap(ctx: RunCtx) -> Measured:
    """A task allocates 4 MiB steps past a 256 MiB worker_memory_limit, noting the time and its
    RSS before each step: from the last note still under the limit (the crossing came after it:
    an upper bound) to its done callback on the main loop."""
    n = ctx.size(5, 2)
    _ad, mgr = _manager(ctx, processes=1, tasker_options={"worker_memory_limit": MEMORY_LIMIT})
    react, over = [], []
    folder = tempfile.mkdtemp(prefix="bench-memcap-")
    for i in range(n):
        stamp = os.path.join(folder, f"crossed-{i}")
        ended: list[float] = []
        task = mgr.run_process(allocate_past, stamp, 4 * MEMORY_LIMIT, when_done=partial(_note_end, ended))
        ctx.loop.run_until(partial(bool, ended), TASK_TIMEOUT)
        error = task.exception()
        if type(error).__name__ != "WorkerMemoryError":
            raise RuntimeError(f"the task ended {task.get_status()} with {error!r}, not WorkerMemoryError")
        with open(stamp) as f:
            notes = [(float(t), int(rss)) for t, rss in (line.split() for line in f if line.strip())]
        crossed = max(t for t, rss in notes if rss <= MEMORY_LIMIT)
        react.append(ended[0] - crossed)
        over.append((error.rss - MEMORY_LIMIT) / MiB)
    return Measured(
        metrics={"react_ms": statistics.median(react) * 1e3, "overshoot_mib": statistics.median(over)},
        extra={"n": n, "react_max_ms": max(react) * 1e3, "limit_mib": MEMORY_LIMIT / MiB},
    )


RECYCLE_OPTIONS = {"max_tasks_per_worker": 10**9, "worker_max_memory": 1 << 40}


def run_process_warm_recycle(ctx: RunCtx) -> Measured:
    """``process_warm`` with max_tasks_per_worker and worker_max_memory set (never reached):
    the checks run after every task. ``tasker-base`` runs it without them."""
    options = {} if ctx.impl == BASELINE else {"tasker_options": RECYCLE_OPTIONS}
    return noop_figures(ctx, PROCESS, noop, ctx.size(300, 30), ctx.size(2000, 200), **options)


TASKER = frozenset({"tasker"})

SCENARIOS = [
    Scenario(
        "pause", "Pause: how soon the work stops",
        "A process task that never calls the context, on one worker: pause() → its worker is "
        "stopped (state T in /proc), resume() → running again; a thread task calling "
        "set_progress() in a loop: pause() → it waits at its pause point (median of 20; quick: 5). "
        "The floor, interleaved with tasker's pauses: a bare os.killpg(SIGSTOP) of a spinning child "
        "until /proc shows it stopped.",
        "tasker",
        (Metric("stop_us", "process: pause → stopped", "µs", ratio=False),
         Metric("cont_us", "process: resume → running", "µs", ratio=False),
         Metric("thread_us", "thread: pause → waiting", "µs", ratio=False),
         Metric("raw_stop_us", "floor: killpg(SIGSTOP) → stopped", "µs", better="", ratio=False)),
        run_pause, needs_kinds(PROCESS, THREAD), only=TASKER, baseline=False,
    ),
    Scenario(
        "memory_cap", "Memory cap: how soon a runaway task is stopped",
        "worker_memory_limit=256 MiB; a task allocates 4 MiB steps (up to 1 GiB), noting the time "
        "and its RSS before each: from its last note under the limit (an upper bound on the "
        "crossing) to its done callback with WorkerMemoryError on the main loop, and how far past "
        "the limit its RSS got when it was stopped (median of 5; quick: 2).",
        "tasker",
        (Metric("react_ms", "crossing → failed on main", "ms", ratio=False),
         Metric("overshoot_mib", "RSS past the limit", "MiB", ratio=False)),
        run_memory_cap, needs_kinds(PROCESS), only=TASKER, baseline=False,
    ),
    Scenario(
        "process_warm_recycle", "Warm process no-op tasks, recycling checks on",
        "process_warm with max_tasks_per_worker and worker_max_memory set but never reached "
        "(the checks run after each task; tasker-base runs without them).",
        "tasker", (LATENCY, THROUGHPUT, CALLBACKS), run_process_warm_recycle,
        needs_kinds(PROCESS), only=TASKER,
    ),
]
