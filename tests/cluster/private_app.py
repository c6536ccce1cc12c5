"""An app on tasker's embedded cluster, for tests/cluster/test_cluster_private.py.

    python private_app.py STATE DASHBOARD

Starts ``TaskManager(cluster="local", max_processes=2, cluster_dashboard=…)`` and one
cluster task that runs until canceled, then prints one JSON line: its pid, the
scheduler's, nannies' and workers' addresses, the task's topic and the task's worker
pid. It waits for a line on stdin, cancels the task, shuts down and prints how the
task ended. ``DASHBOARD``: ``no`` or ``yes``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from tasker import ExecutionContext, TaskManager


def until_canceled(ctx: ExecutionContext) -> str:
    ctx.send_event("pid", os.getpid())
    deadline = time.monotonic() + 120
    while not ctx.is_cancelled() and time.monotonic() < deadline:
        time.sleep(0.005)
    return "stopped"


def main() -> None:
    options = {"cluster_dashboard": True} if sys.argv[1] == "yes" else {}  # (else the default)
    pids: list[int] = []
    with TaskManager(cluster="local", max_processes=2, **options) as mgr:
        task = mgr.run_on_cluster(until_canceled, when_event=lambda task, name, pid: pids.append(pid))
        deadline = time.monotonic() + 120
        while not pids and time.monotonic() < deadline:
            time.sleep(0.01)  # (the headless scheduler delivers the event in its own thread)
        runner = mgr._lifecycle.runners["cluster"]  # type: ignore[attr-defined]
        cluster = runner.connection.cluster
        info = cluster.scheduler_info
        state = {
            "pid": os.getpid(),
            "task_pid": pids[0] if pids else None,
            "scheduler": cluster.scheduler_address,
            "workers": sorted(info["workers"]),
            "nannies": sorted(w["nanny"] for w in info["workers"].values()),
            "topic": runner.topic,
        }
        print(json.dumps(state), flush=True)
        sys.stdin.readline()
        task.cancel()
        mgr.wait_until_settled(60)
        print(json.dumps({"status": str(task.get_status())}), flush=True)


if __name__ == "__main__":  # the embedded cluster's workers import this module
    main()
