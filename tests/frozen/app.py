"""The app that tests/test_frozen.py freezes with PyInstaller (onedir and onefile).

Like Rayforge, it calls multiprocessing.freeze_support() first in its entry
point (unless FROZEN_APP_SKIP_FREEZE_SUPPORT=1: the app that forgot it). Its
main() appends a line to $FROZEN_APP_LOG each time it runs, so the test can see
that workers never run it. It runs a few process tasks (one shipped by value, one
reporting progress and events, a cooperative cancel and a kill after the grace
period), shuts down, checks that no child process is left, and prints RESULT
and a JSON summary.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time

import app_tasks

from tasker import task_mgr
from tasker.testing import child_pids


def children() -> list[int]:
    return sorted(child_pids())


def main() -> int:
    with open(os.environ["FROZEN_APP_LOG"], "a") as log:
        log.write(f"MAIN {os.getpid()} {sys.argv[1:]}\n")
    task_mgr.initialize(max_processes=2, spare_processes=1, cancel_grace_period=0.3)
    out: dict = {}
    t0 = time.monotonic()
    first = task_mgr.run_process(app_tasks.square, 7)
    assert first.wait(60), "the first task never ended"
    out["first_task_s"] = round(time.monotonic() - t0, 3)
    out["square"] = first.result()
    by_value = task_mgr.run_process(lambda ctx, x: x + 1, 41)  # a lambda of __main__: cloudpickle
    events: list = []
    started = threading.Event()

    def on_event(task, name, data):
        events.append((task.key, name, data))
        if name == "started":
            started.set()

    rep = task_mgr.run_process(app_tasks.report, 5, key="report", when_event=on_event)
    info = [task_mgr.run_process(app_tasks.describe) for _ in range(3)]
    coop = task_mgr.run_process(app_tasks.until_canceled, key="coop", when_event=on_event)
    assert started.wait(30), "the cancellable task never started"
    task_mgr.cancel_task("coop")
    started.clear()
    stuck = task_mgr.run_process(app_tasks.stuck, key="stuck", when_event=on_event)
    assert started.wait(30), "the stuck task never started"
    task_mgr.cancel_task("stuck")
    after = task_mgr.run_process(app_tasks.square, 9)
    assert task_mgr.wait_until_settled(60), "tasks did not settle"
    out["by_value"] = by_value.result()
    out["report"] = [rep.get_status(), rep.result(), rep.get_progress()]
    out["events"] = [e[2] for e in events if e[0] == "report"]
    out["coop"] = coop.get_status()
    out["stuck"] = stuck.get_status()
    out["after"] = after.result()
    out["workers"] = [t.result() for t in info]
    out["children_before_shutdown"] = len(children())
    out["meipass"] = getattr(sys, "_MEIPASS", None)
    tmp = tempfile.gettempdir()
    out["unpacked_dirs"] = sorted(name for name in os.listdir(tmp) if name.startswith("_MEI"))
    task_mgr.shutdown(timeout=5)
    out["children_after_shutdown"] = children()
    print("RESULT " + json.dumps(out), flush=True)
    return 0


def main_that_forgot() -> int:
    """An app that never calls freeze_support(): its tasks must fail, clearly."""
    with open(os.environ["FROZEN_APP_LOG"], "a") as log:
        log.write(f"MAIN {os.getpid()} {sys.argv[1:]}\n")
    task_mgr.initialize(max_processes=2, spare_processes=1)
    tasks = [task_mgr.run_process(app_tasks.square, i) for i in range(3)]
    settled = task_mgr.wait_until_settled(60)
    out = {
        "settled": settled,
        "statuses": [t.get_status() for t in tasks],
        "errors": [str(t.exception()) for t in tasks if t.is_final()],
    }
    task_mgr.shutdown(timeout=5)
    out["children_after_shutdown"] = children()
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    if os.environ.get("FROZEN_APP_SKIP_FREEZE_SUPPORT") == "1":
        sys.exit(main_that_forgot())
    multiprocessing.freeze_support()
    sys.exit(main())
