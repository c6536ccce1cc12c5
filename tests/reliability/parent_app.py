"""An application for the parent-death test: it starts tasks of every kind, says
READY with its pid, then waits to be SIGKILLed by the test.

    python parent_app.py steady    # every worker busy (Python and native code), more queued
    python parent_app.py starting  # killed while its workers are still being spawned
"""

from __future__ import annotations

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/

from reliability import rjobs
from tasker import task_mgr

import jobs


def main(mode: str) -> None:
    task_mgr.initialize(max_processes=3, spare_processes=1, max_threads=2)
    busy = [
        task_mgr.run_process(rjobs.busy, 120.0),  # pure Python, never checks cancellation
        task_mgr.run_process(rjobs.gil_hog, 10**10),  # native code holding the GIL
        task_mgr.run_process(jobs.until_canceled, 120.0),
    ]
    queued = [task_mgr.run_process(jobs.ok, i) for i in range(3)]  # wait for a worker
    task_mgr.run_thread(jobs.stuck, 120.0)
    task_mgr.add_coroutine(jobs.a_until_canceled, 120.0)
    if mode == "steady":
        deadline = time.monotonic() + 60
        while not all(t.is_running() for t in busy) and time.monotonic() < deadline:
            time.sleep(0.01)
        runner = task_mgr._lifecycle.runners["process"]  # wait for the warm spare as well
        while sum(w.state.name == "READY" for w in runner.workers) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert all(not t.is_final() for t in queued)
    print("READY", os.getpid(), flush=True)
    threading.Event().wait(120)


if __name__ == "__main__":
    main(sys.argv[1])
