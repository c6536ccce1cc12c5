"""Soak: many mixed tasks, and nothing grows.

Threads, open file descriptors, child processes and shared-memory segments
(memfd mappings and descriptors, /dev/shm entries) must not grow; RSS may grow
by less than 20 MB after warm-up. Every task must end once with the right
outcome. CI: 5,000 tasks; full (``TASKER_FULL=1``): 100,000, and the curve is
written to docs/reliability-soak.csv (or to ``TASKER_SOAK_CSV``).
"""

from __future__ import annotations

import csv
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tasker import Task

from . import rjobs
from .support import FULL, RHarness, dev_shm, scale, snapshot

pytestmark = pytest.mark.timeout(1800 if FULL else 180)

TASKS = scale(5_000, 100_000)
POINTS = 20  # rows of the curve
WINDOW = 64  # tasks in flight at most
RSS_LIMIT_MB = 20.0
FIELDS = (
    *("tasks", "seconds", "rss_mb", "threads", "os_threads", "fds"),
    *("children", "memfd_maps", "memfd_fds", "dev_shm"),
)


def _mode(rng: random.Random, kind: str) -> str:
    r = rng.random()
    if r < 0.01 and kind != "coroutine":
        return "big"  # 1 MiB result: through shared memory for processes
    if r < 0.11:
        return "fail"
    if r < 0.31:
        return "report"
    return "ok"


def test_soak_nothing_grows(make_rh: Any) -> None:
    h: RHarness = make_rh(max_processes=2, max_threads=4)
    # The harness keeps every tasks_updated emission (and so the tasks in it): a
    # soak must not; it checks each emission here and keeps only a count.
    h.mgr.tasks_updated.disconnect(h._on_update)
    emissions = {"count": 0, "bad": 0}

    def on_update(sender: Any, tasks: list[Task[Any]], progress: float) -> None:
        emissions["count"] += 1
        if not 0.0 <= progress <= 1.0 or (not tasks and progress != 1.0):
            emissions["bad"] += 1

    h.mgr.tasks_updated.connect(on_update, weak=False)
    rng = random.Random(99)
    main = threading.current_thread()
    shm_before = dev_shm()
    state = {"submitted": 0, "ended": 0, "wrong": 0, "twice": 0, "off_main": 0, "events": 0}
    live: dict[int, tuple[int, str]] = {}

    def when_done(task: Task[Any]) -> None:
        spec = live.pop(task.id, None)
        if spec is None:
            state["twice"] += 1
            return
        state["ended"] += 1
        if threading.current_thread() is not main:
            state["off_main"] += 1
        n, mode = spec
        if mode == "fail":
            ok = task.get_status() == "failed" and str(task.exception()) == f"fail {n}"
        else:
            ok = task.get_status() == "completed" and task.result() == rjobs.expected_mixed(n, mode)
        if not ok:
            state["wrong"] += 1

    def when_event(task: Task[Any], name: str, data: Any) -> None:
        state["events"] += 1

    def submit(n: int) -> None:
        kind = rng.choice(("process", "thread", "coroutine"))
        mode = _mode(rng, kind)
        start = {"process": h.mgr.run_process, "thread": h.mgr.run_thread, "coroutine": h.mgr.add_coroutine}[kind]
        fn = rjobs.a_mixed if kind == "coroutine" else rjobs.mixed
        task = start(fn, n, mode, when_done=when_done, when_event=when_event)  # type: ignore[operator]
        live[task.id] = (n, mode)
        state["submitted"] += 1

    curve: list[dict[str, float]] = []
    t0 = time.monotonic()
    step = TASKS // POINTS
    for n in range(TASKS):
        if len(live) >= WINDOW:
            assert h.pump_until(lambda: len(live) < WINDOW, 60), "tasks stopped ending"
        submit(n)
        if (n + 1) % step == 0:
            assert h.pump_until(lambda: not live, 60), "tasks stopped ending"
            h.settle()
            row = {"tasks": n + 1, "seconds": round(time.monotonic() - t0, 1), **snapshot()}
            curve.append(row)
    h.settle()

    _write_curve(curve)
    print("\nsoak curve:")
    for row in curve:
        print("  " + " ".join(f"{k}={row[k]}" for k in FIELDS))

    assert state["ended"] == TASKS and not live, "a task never ended"
    assert state["twice"] == 0 and state["off_main"] == 0
    assert emissions["count"] > 0 and emissions["bad"] == 0, emissions
    assert state["wrong"] == 0, f"{state['wrong']} tasks ended with a wrong outcome"
    warm, rest = curve[0], curve[1:]
    for field in ("threads", "os_threads", "fds", "children", "memfd_fds"):
        peak = max(row[field] for row in rest)
        assert peak <= warm[field], f"{field} grew: {warm[field]} after warm-up, then up to {peak}"
    assert all(row["memfd_maps"] == 0 for row in curve), "a shared-memory payload stayed mapped"
    assert dev_shm() == shm_before, "something was created in /dev/shm"
    growth = curve[-1]["rss_mb"] - warm["rss_mb"]
    assert growth < RSS_LIMIT_MB, f"RSS grew {growth:.1f} MB after warm-up"


def _write_curve(curve: list[dict[str, float]]) -> None:
    target = os.environ.get("TASKER_SOAK_CSV")
    if not target and not FULL:
        return
    path = Path(target) if target else Path(__file__).resolve().parents[2] / "docs" / "reliability-soak.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for row in curve:
            writer.writerow({k: row[k] for k in FIELDS})
