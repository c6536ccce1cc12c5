"""Scenario 10 (import cost, nothing started) and the machine's floor figures."""

from __future__ import annotations

import ast
import os
import queue
import statistics
import subprocess
import sys
import threading
from time import perf_counter

from bench.scenarios.base import Measured, Metric, RunCtx, Scenario, median_us

PROBE_TIMEOUT = 60.0

#: what each implementation's user imports: the module, then the names used
IMPORTS = {
    "tasker": ("tasker", "from tasker import task_mgr, TaskManager"),
    "tasker-base": ("tasker", "from tasker import task_mgr, TaskManager"),  # --baseline's src
    "rayforge": ("rayforge.shared.tasker",
                 "from rayforge.shared.tasker import task_mgr, TaskManager"),
    "ThreadPoolExecutor": ("concurrent.futures",
                           "from concurrent.futures import ThreadPoolExecutor"),
    "ProcessPoolExecutor-forkserver": ("concurrent.futures",
                                       "from concurrent.futures import ProcessPoolExecutor"),
    "ProcessPoolExecutor-spawn": ("concurrent.futures",
                                  "from concurrent.futures import ProcessPoolExecutor"),
    "loky": ("loky", "from loky import get_reusable_executor"),
    "pebble-ProcessPool": ("pebble", "from pebble import ProcessPool"),
    "pebble-ThreadPool": ("pebble", "from pebble import ThreadPool"),
    "asyncio-threadsafe": ("asyncio", "from asyncio import run_coroutine_threadsafe"),
}

# Only `time` (built in) is loaded before the import being timed; threads
# and children are counted through /proc so no extra module is needed.
PROBE = """
import time
{prelude}
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
{names}
t2 = time.perf_counter()
import os
me = str(os.getpid())
kids = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/" + pid + "/stat") as fh:
            kids += fh.read().rsplit(")", 1)[1].split()[1] == me
    except OSError:
        pass
print(repr(((t1 - t0) * 1e3, (t2 - t0) * 1e3, len(os.listdir("/proc/self/task")) - 1, kids)))
"""
RAYFORGE_PRELUDE = "from bench.adapters.rayforge_stub import install; install()"


def _probe(impl: str) -> tuple[float, float, int, int]:
    module, names = IMPORTS[impl]
    prelude = RAYFORGE_PRELUDE if impl == "rayforge" else ""
    code = PROBE.format(module=module, names=names, prelude=prelude)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=PROBE_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    plain, full, threads, kids = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    return float(plain), float(full), int(threads), int(kids)


def run_import(ctx: RunCtx) -> Measured:
    """In a clean ``python -c``: time of the import statements alone."""
    probes = [_probe(ctx.impl) for _ in range(ctx.size(3, 1))]
    return Measured(
        metrics={"import_ms": statistics.median(p[0] for p in probes),
                 "api_import_ms": statistics.median(p[1] for p in probes),
                 "threads_started": float(max(p[2] for p in probes)),
                 "children_started": float(max(p[3] for p in probes))},
        extra={"statements": list(IMPORTS[ctx.impl])},
    )


def _thread_handoff(n: int) -> list[float]:
    there: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        while (item := there.get()) is not None:
            back.put(item)

    worker = threading.Thread(target=echo, daemon=True)
    worker.start()
    samples = []
    for i in range(n):
        start = perf_counter()
        there.put(i)
        back.get(timeout=PROBE_TIMEOUT)
        samples.append(perf_counter() - start)
    there.put(None)
    worker.join(PROBE_TIMEOUT)
    return samples


ECHO_CHILD = "import os\nwhile (b := os.read(0, 1)):\n    os.write(1, b)\n"


def _pipe_round_trip(n: int) -> list[float]:
    child = subprocess.Popen([sys.executable, "-S", "-c", ECHO_CHILD], bufsize=0,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    wfd, rfd = child.stdin.fileno(), child.stdout.fileno()
    samples = []
    try:
        for _ in range(n):
            start = perf_counter()
            os.write(wfd, b"x")
            if os.read(rfd, 1) != b"x":
                raise RuntimeError("echo child went away")
            samples.append(perf_counter() - start)
    finally:
        child.stdin.close()
        child.wait(PROBE_TIMEOUT)
        child.stdout.close()
    return samples


def _start_ms(args: list[str], n: int) -> float:
    samples = []
    for _ in range(n):
        start = perf_counter()
        subprocess.run([sys.executable, *args, "-c", "pass"], check=True, timeout=PROBE_TIMEOUT)
        samples.append(perf_counter() - start)
    return statistics.median(samples) * 1e3


def run_floor(ctx: RunCtx) -> Measured:
    n = ctx.size(2000, 200)
    starts = ctx.size(10, 3)
    return Measured(metrics={
        "thread_handoff_us": median_us(_thread_handoff(n)),
        "pipe_rtt_us": median_us(_pipe_round_trip(n)),
        "start_python_S_ms": _start_ms(["-S"], starts),
        "start_python_ms": _start_ms([], starts),
    })


SCENARIOS = [
    Scenario(
        "import", "Import cost, and that importing starts nothing",
        "In a clean `python -c`: time of `import <module>` alone, and of it plus the names a "
        "user imports (tasker: `from tasker import task_mgr, TaskManager`, loaded lazily); "
        "median of 3. Then threads alive besides main, and child processes.",
        "rayforge",
        (Metric("import_ms", "import module", "ms"),
         Metric("api_import_ms", "+ names used", "ms"),
         Metric("threads_started", "threads started", "", ratio=False),
         Metric("children_started", "processes started", "", ratio=False)),
        run_import, lambda cls: None if cls.name in IMPORTS else "nothing to import",
        notes={"rayforge": "only rayforge.shared.tasker (package init stubbed, see method)"},
    ),
    Scenario(
        "floor", "Machine floor",
        "Queue hand-off to a thread and back; 1-byte pipe round trip to a running child; "
        "`python -S -c pass` and `python -c pass` wall time. Medians.",
        "floor",
        (Metric("thread_handoff_us", "thread hand-off", "µs", ratio=False),
         Metric("pipe_rtt_us", "pipe round trip", "µs", ratio=False),
         Metric("start_python_S_ms", "python -S start", "ms", ratio=False),
         Metric("start_python_ms", "python start", "ms", ratio=False)),
        run_floor, lambda cls: None, only=frozenset({"floor"}),
    ),
]
