"""The figures issues 3, 10, 20 and 22 ask tasker to reach, checked against one bench run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.stats import best_peer, median_of, paired_ratio, per_rep

BEST = "best peer"
PPE = "ProcessPoolExecutor-forkserver"
BASE = "tasker-base"  # --baseline


@dataclass(frozen=True)
class Target:
    figure: str
    scenario: str
    metric: str
    limit: float
    op: str = "<="  # tasker's figure (or ratio) must be <= / >= limit
    against: str | None = None  # an implementation, BEST, or None (absolute)
    speedup: bool = False  # ratio is against / tasker ("N× faster than")
    exclude: tuple[str, ...] = ()  # peers left out of "best peer", with reason below
    why_excluded: str = ""


TARGETS = [
    Target("thread no-op latency", "thread_noop", "latency_us", 1.5, against="ThreadPoolExecutor"),
    Target("5,000 thread tasks: throughput", "thread_noop", "burst_tasks_per_s", 0.5, ">=",
           against="ThreadPoolExecutor"),
    Target("5,000 thread tasks: UI callbacks per task", "thread_noop", "callbacks_per_task", 1.1),
    Target("coroutine no-op latency (issue 22: 1.2×)", "coro_noop", "latency_us", 1.2,
           against="asyncio-threadsafe"),
    Target("5,000 coroutines: throughput", "coro_noop", "burst_tasks_per_s", 0.5, ">=",
           against="asyncio-threadsafe"),
    Target("first process task (cold)", "process_cold", "first_task_ms", 1.0, against=BEST),
    Target("first process task: caller blocked (ms)", "process_cold", "submit_block_ms", 2.0),
    Target("first process task after prestart() ÷ back-to-back warm latency (issue 22 as written)", "process_prestart",
           "first_vs_warm", 1.5),
    # The same first task against a warm one after the main loop idled as long: what is left
    # once the machine's own wake-up after an idle pause (the floor's, below) is paid by both.
    Target("first process task after prestart() ÷ a warm one after as long an idle", "process_prestart",
           "first_vs_idle", 1.5),
    Target("construction: import + TaskManager() (ms; issue 22)", "process_cold", "construct_ms", 2.0),
    Target("warm process no-op latency", "process_warm", "latency_us", 1.0, against=BEST),
    Target("2,000 process tasks: throughput", "process_warm", "burst_tasks_per_s", 1.0, ">=",
           against=BEST),
    Target("is_cancelled() in a process (ns)", "call_cost", "is_cancelled_process_ns", 100),
    Target("set_progress() in a process (ns)", "call_cost", "set_progress_process_ns", 150),
    Target("set_progress() in a thread (ns)", "call_cost", "set_progress_thread_ns", 150),
    Target("is_cancelled() in a thread (ns)", "call_cost", "is_cancelled_thread_ns", 100),
    Target("cooperative cancel → when_done (process)", "cancel", "coop_process_ms", 1.0,
           against=BEST, exclude=("rayforge",),
           why_excluded="Rayforge calls when_done before its worker has stopped"),
    Target("cooperative cancel → when_done (thread)", "cancel", "coop_thread_ms", 1.0,
           against=BEST),
    Target("first cooperative cancel → when_done (process)", "cancel", "first_coop_process_ms", 1.5,
           against=BEST, exclude=("rayforge",),
           why_excluded="Rayforge calls when_done before its worker has stopped"),
    Target("first cooperative cancel → when_done (thread)", "cancel", "first_coop_thread_ms", 1.5,
           against=BEST),
    Target("stuck task, grace 0 → next task done (ms)", "stuck_cancel", "next_done_ms", 20),
    Target("stuck tasks, default grace → next task done (ms)", "stuck_cancel_grace", "next_done_ms", 20),
    Target("200 MB NumPy result: × faster than ProcessPoolExecutor", "result_numpy", "time_ms",
           3.0, ">=", against=PPE, speedup=True),
    Target("200 MB NumPy result: parent peak RSS growth (× payload)", "result_numpy",
           "rss_growth_x", 1.05),
    Target("200 MB bytes result: × faster than ProcessPoolExecutor", "result_bytes", "time_ms",
           1.5, ">=", against=PPE, speedup=True),
    Target("UI flood, 4 process workers: UI callbacks/s", "ui_flood", "process_cb_per_s", 25),
    Target("worker death → when_done (ms)", "worker_death", "death_done_ms", 10),
    Target("worker death → when_done (first, fresh process)", "worker_death", "death_done_ms", 1.5,
           against=BEST),
    Target("task after a worker death (ms; no cold start)", "worker_death", "next_task_ms", 10),
    Target("memory cap: crossing → task failed on main (ms)", "memory_cap", "react_ms", 100),
    Target("warm process latency, after ÷ before (--baseline)", "process_warm", "latency_us", 1.1,
           against=BASE),
    Target("2,000 process tasks, after ÷ before (--baseline)", "process_warm", "burst_tasks_per_s", 0.9,
           ">=", against=BASE),
    Target("warm process latency, recycling checks on ÷ off", "process_warm_recycle", "latency_us", 1.1,
           against=BASE),
    Target("import tasker (ms)", "import", "import_ms", 15),
    Target("from tasker import task_mgr, TaskManager (ms)", "import", "api_import_ms", 15),
    Target("import tasker: threads started", "import", "threads_started", 0),
    Target("import tasker: processes started", "import", "children_started", 0),
    # Issue 10: run_on_cluster against raw client.submit on the same LocalCluster.
    Target("cluster no-op latency", "cluster", "latency_ms", 1.2, against="dask"),
    Target("2,000 cluster tasks: throughput", "cluster", "burst_tasks_per_s", 1 / 1.2, ">=", against="dask"),
    Target("is_cancelled() in a cluster task (ns)", "cluster", "is_cancelled_ns", 100),
    Target("set_progress() in a cluster task (ns)", "cluster", "set_progress_ns", 200),
    Target("cluster cancel → the task saw it (ms)", "cluster", "cancel_seen_ms", 50),
    Target("stuck cluster workers → next cluster task done (ms)", "cluster", "stuck_next_done_ms", 3000),
    # Issue 20: map and stream.
    Target("map of 10,000 no-op items: throughput", "map_noop", "items_per_s", 1.0, ">=", against=BEST),
    Target("map of 10,000 no-op items: UI callables per item", "map_noop", "calls_per_item", 0.1),
    Target("map of 200 × 20 ms CPU items: throughput", "map_cpu", "items_per_s", 1.0, ">=", against=BEST),
    Target("stream of 100,000 values: values/s (vs a multiprocessing.Queue)", "stream", "values_per_s", 1.0,
           ">=", against=PPE),
    Target("cluster map of 2,000 no-op items: throughput", "cluster_map", "noop_items_per_s", 1.0, ">=",
           against="dask"),
    Target("cluster map of 100 × 20 ms CPU items: throughput", "cluster_map", "cpu_items_per_s", 1.0, ">=",
           against="dask"),
]


def _median(results: dict[str, Any], impl: str, metric: str) -> float | None:
    return median_of(results.get(impl, {}), metric)


def _compare(target: Target, results: dict[str, Any], better: str) -> dict[str, Any] | None:
    """Paired ratio of tasker against the named peer or the peer with the best median."""
    mine = per_rep(results.get("tasker", {}), target.metric)
    if target.against == BEST:
        shown = best_peer(results, target.metric, better, target.exclude)
        other = per_rep(results.get(shown[0], {}), target.metric) if shown is not None else {}
    else:
        value = _median(results, str(target.against), target.metric)
        shown = None if value is None else (str(target.against), value)
        other = per_rep(results.get(str(target.against), {}), target.metric)
    ratio = paired_ratio(other, mine) if target.speedup else paired_ratio(mine, other)
    if shown is None or ratio is None:
        return None
    return {"compared_with": shown[0], "other": shown[1], "measured": ratio}


def evaluate(target: Target, doc: dict[str, Any]) -> dict[str, Any]:
    """tasker's value, what it was compared with, the ratio, met or not."""
    scenario = doc["scenarios"].get(target.scenario)
    row: dict[str, Any] = {"figure": target.figure, "target": describe(target)}
    if scenario is None:
        return {**row, "status": "not run"}
    results = scenario["results"]
    value = _median(results, "tasker", target.metric)
    if value is None:
        return {**row, "status": "no tasker figure"}
    row["tasker"] = row["measured"] = value
    if target.against is not None:
        better = next(m["better"] for m in scenario["metrics"] if m["key"] == target.metric)
        compared = _compare(target, results, better)
        if compared is None:
            return {**row, "status": f"no figure for {target.against}"}
        row.update(compared)
    measured = row["measured"]
    met = measured <= target.limit if target.op == "<=" else measured >= target.limit
    row["status"] = "met" if met else "NOT met"
    return row


def describe(target: Target) -> str:
    if target.against is None:
        return f"{target.op} {target.limit:g}"
    what = "× faster than" if target.speedup else "×"
    return f"{target.op} {target.limit:g}{what} {target.against}"


def evaluate_all(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [evaluate(target, doc) for target in TARGETS]


def exclusions() -> list[str]:
    return [f"{t.figure}: {', '.join(t.exclude)} left out ({t.why_excluded})"
            for t in TARGETS if t.exclude]
