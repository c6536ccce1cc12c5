"""An app that reaps its children behind tasker's back; tasker must then signal nothing unrelated.

    python pidreuse_app.py MODE PATH LEADER      (the only program of a fresh PID namespace)

MODE ``ignore``: the app sets SIGCHLD to SIG_IGN (the kernel reaps every child at
once); ``reaper``: a thread of the app reaps with ``waitpid(-1)``. The app runs a
process task (its worker's pid: P), starts a second one that blocks, then —
holding the process runner's lock, so tasker's reader of that worker waits — kills
the worker, waits until P is reaped and free, and places an unrelated ``sleep`` on P
(through ``/proc/sys/kernel/ns_last_pid``; LEADER ``1``: the sleep leads its own
process group, as a job of a shell does). Then tasker gets its turn:

* PATH ``signal``: tasker's handle on the dead worker is asked to pause (SIGSTOP to
  its group), kill its group, ``terminate()`` and ``kill()`` it, before its reader reaps it;
* PATH ``reap``: the runner's lock is released: the reader sees the worker's end,
  reaps it (the worker closed its socket: the group is killed before reaping) and
  fails the blocked task.

It prints ``RESULT {json}``: the sleep's pid, P, and the sleep's state at the end
(``alive``, ``stopped`` or ``dead``) — anything but ``alive`` means tasker signalled
a process that was not its own — and how the blocked task ended.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tasker import TaskManager

import jobs

BOUND = 20.0  # seconds for any wait here


def start_reaper() -> None:
    def reap_all() -> None:
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:  # no children right now (the app's own loop, not a test wait)
                time.sleep(0.002)

    threading.Thread(target=reap_all, name="app-reaper", daemon=True).start()


def wait_freed(pid: int, pidfd: int) -> None:
    """Until ``pid`` has exited and was reaped by the app (bounded)."""
    ready, _, _ = select.select([pidfd], [], [], BOUND)
    assert ready, f"the worker {pid} did not die"
    deadline = time.monotonic() + BOUND
    while os.path.exists(f"/proc/{pid}"):  # a zombie still holds the pid: the app reaps it soon
        assert time.monotonic() < deadline, f"the app did not reap {pid}"
        select.select([], [], [], 0.001)


def place_on(pid: int, leader: bool) -> tuple[subprocess.Popen[bytes], int]:
    """Start an unrelated ``sleep`` on ``pid`` (the namespace hands out ns_last_pid + 1 next)."""
    for _ in range(5):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        sleeper = subprocess.Popen(["sleep", "1000"], start_new_session=leader)
        fd = os.pidfd_open(sleeper.pid)
        if sleeper.pid == pid:
            return sleeper, fd
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        os.close(fd)
    raise AssertionError(f"could not place a process on pid {pid}")


def state(pid: int, pidfd: int) -> str:
    ready, _, _ = select.select([pidfd], [], [], 0)
    if ready:
        return "dead"
    try:
        with open(f"/proc/{pid}/stat") as f:
            code = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "dead"
    return {"T": "stopped", "t": "stopped", "Z": "dead"}.get(code, "alive")


def main() -> None:
    mode, path, leader = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    assert os.getpid() != 1 and os.path.exists("/proc/sys/kernel/ns_last_pid")
    if mode == "ignore":
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    else:
        start_reaper()
    manager = TaskManager(max_processes=1, spare_processes=0)
    runner: Any = manager._lifecycle.runner("process")
    first = manager.run_process(jobs.pid)
    assert first.wait(BOUND), "the first task did not end"
    worker_pid = first.result()
    blocked = manager.run_process(jobs.stuck, 60.0)
    result: dict[str, Any] = {"worker": worker_pid}
    with runner.lock:
        (worker,) = runner._workers
        assert worker.proc.pid == worker_pid and worker.task is blocked
        pidfd = os.pidfd_open(worker_pid)
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        wait_freed(worker_pid, pidfd)
        sleeper, sleeper_fd = place_on(worker_pid, leader)
        result["sleeper"] = sleeper.pid
        if path == "signal":
            worker.suspend(True)
            worker.suspend(False)
            worker.kill()
            worker.proc.terminate()
            worker.proc.kill()
    if path == "reap":
        worker.thread.join(BOUND)
        assert not worker.thread.is_alive(), "the reader did not end"
        assert blocked.wait(BOUND), "the blocked task did not end"
        error = blocked.exception()
        result["task"] = f"{type(error).__name__}: {error}"
    result["state"] = state(sleeper.pid, sleeper_fd)
    print("RESULT " + json.dumps(result), flush=True)
    if result["state"] != "dead":
        signal.pidfd_send_signal(sleeper_fd, signal.SIGKILL)
    manager.shutdown()


if __name__ == "__main__":
    main()
