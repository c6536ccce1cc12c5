"""An app for the process-tree test: its tasks start process trees, then it SIGKILLs itself.

    python tree_app.py          # three trees: a blocked task, a GIL hog, a returned task
    python tree_app.py paused   # one blocked task's tree, paused (stopped) first

One task blocks (its worker is busy), one holds the GIL in native code (only
the kernel's lifeline signal can end that worker), one returns and leaves its
processes running (its worker is idle). The app prints TREES with their pids, checked
alive, then dies by SIGKILL: nothing it started may outlive it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tree_jobs
from tasker import task_mgr


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def stopped(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except OSError:
        return False


def main(mode: str) -> None:
    task_mgr.initialize(max_processes=3, spare_processes=1)
    trees: list[dict[str, int]] = []
    got = threading.Event()
    wanted = 1 if mode == "paused" else 3

    def on_event(task: object, name: str, tree: dict[str, int]) -> None:
        trees.append(tree)
        if len(trees) == wanted:
            got.set()

    if mode == "paused":  # one blocked task, paused: its whole tree is stopped (SIGSTOP) when the app dies
        task = task_mgr.run_process(tree_jobs.spawn_tree, "block", when_event=on_event)
        assert got.wait(30), "the tree was not started"
        task.pause()
        tree = trees[0]
        deadline = threading.Event()
        for _ in range(3000):  # bounded: 30 s
            if all(stopped(pid) for name, pid in tree.items() if name != "shell"):
                break
            deadline.wait(0.01)
        else:
            raise AssertionError(f"the paused tree was not stopped: {tree}")
    else:
        task_mgr.run_process(tree_jobs.spawn_tree, "block", when_event=on_event)
        task_mgr.run_process(tree_jobs.spawn_tree, "hog", when_event=on_event)
        returned = task_mgr.run_process(tree_jobs.spawn_tree, "return", when_event=on_event)
        assert got.wait(30) and returned.wait(30), "the trees were not started"
    pids = [pid for tree in trees for name, pid in tree.items() if name != "worker"]
    assert all(alive(pid) for pid in pids), "a process of the trees is already gone"
    from tasker import _platform

    print("PLATFORM " + _platform.current().name, flush=True)
    print("TREES " + json.dumps(trees), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "trees")
