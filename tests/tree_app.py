"""An app for the process-tree test: its tasks start process trees, then it SIGKILLs itself.

    python tree_app.py          # three trees: a blocked task, a GIL hog, a returned task
    python tree_app.py paused   # one blocked task's tree, paused (stopped) first
    python tree_app.py held     # three trees; a child of the app holds the lifeline past its death
    python tree_app.py stopped  # three trees; the idle worker is stopped (STOP), not reaped, then the kill
    python tree_app.py forked   # three trees; the app forks a child without exec (it outlives the app)

One task blocks (its worker is busy), one holds the GIL in native code (only
the kernel's lifeline signal can end that worker), one returns and leaves its
processes running (its worker is idle). The app prints TREES with their pids, checked
alive, then dies by SIGKILL: nothing it started may outlive it.

``held``: a child of the app keeps the write end of the workers' lifeline open
after the app's death, until the idle worker (the returned task's) has exited:
the workers see their channels end before their lifeline does. A dying app
gives that order itself for a moment: the kernel releases its sockets before
its pipe (measured on Linux 6.18: 200 of 200 deaths), one file at a time, with
points between where another process may get the CPU; on a loaded machine the
idle worker read its channel's end and exited first. A child the app forked
without exec (``os.fork``, multiprocessing's "fork") gives the order for as
long as it lives.

``stopped``: the idle worker is sent STOP and exits while its reader cannot reap
it (the app holds the pool's lock, which the reader takes before it reaps), and
the app dies in that window: nothing the pool does at the reaping can run.

``forked``: the app forks a child without exec (``os.fork``) that outlives it
(it prints FORKED and its pid, then waits 30 s): the child got copies of the
app's descriptors, the lifeline's write end among them unless tasker closes it
in the child; the busy workers must die with the app all the same.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
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
    if mode == "held":
        hold_lifeline(returned.result()["worker"])
    elif mode == "stopped":
        stop_unreaped(returned.result()["worker"])
    elif mode == "forked":
        fork_a_child()
    os.kill(os.getpid(), signal.SIGKILL)


def fork_a_child() -> None:
    """Fork a child that outlives the app by 30 s (bounded: the namespace ends it first)."""
    import warnings

    with warnings.catch_warnings():  # (3.12+: "multi-threaded, fork() may deadlock": the child only waits)
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:
        select.select([], [], [], 30)
        os._exit(0)
    print(f"FORKED {child}", flush=True)


def stop_unreaped(pid: int) -> None:
    """Send STOP to the idle worker ``pid``; return once it has exited, its reader blocked before reaping it."""
    pool = task_mgr._lifecycle.runners["process"]
    worker = next(w for w in pool.workers if w.proc is not None and w.proc.pid == pid)
    fd = os.pidfd_open(pid)
    pool.lock.acquire()  # never released: the app dies holding it
    pool.stop(worker)
    exited, _, _ = select.select([fd], [], [], 20)
    assert exited, "the worker did not exit after STOP"


HOLD = """
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    raise SystemExit(0)
select.select([fd], [], [], 20)  # bounded: the worker exits at its channel's end (the app's death)
"""


def hold_lifeline(worker: int) -> None:
    """Start a process holding the lifeline's write end until ``worker`` has exited.

    The lifeline's read end is the last argument of every worker's command line
    (the same descriptor number here); its write end is this process's other
    descriptor on the same pipe.
    """
    with open(f"/proc/{worker}/cmdline", "rb") as f:
        read_end = int(f.read().rstrip(b"\0").split(b"\0")[-1])
    pipe = os.readlink(f"/proc/self/fd/{read_end}")
    write_end = next(
        int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) != read_end and _link(int(fd)) == pipe
    )
    subprocess.Popen([sys.executable, "-c", HOLD, str(worker)], pass_fds=(write_end,))


def _link(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "trees")
