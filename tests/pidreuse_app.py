"""An app that reaps its children behind tasker's back; tasker must then signal nothing unrelated.

    python pidreuse_app.py MODE PATH LEADER PIDFD   (the only program of a fresh PID namespace)

MODE ``ignore``: the app sets SIGCHLD to SIG_IGN (the kernel reaps every child at
once); ``reaper``: a thread of the app reaps with ``waitpid(-1)``. The app runs a
process task (its worker's pid: P), starts a second one that blocks, then —
holding the process runner's lock, so tasker's reader of that worker waits — kills
the worker, waits until P is reaped and free, and places an unrelated *witness*
process on P (through ``/proc/sys/kernel/ns_last_pid``; LEADER ``1``: the witness
leads its own process group, as a job of a shell does; PIDFD ``none``: tasker
finds no ``os.pidfd_open``, as on a kernel before 5.3). Then tasker gets its turn:

* PATH ``signal``: tasker's handle on the dead worker is asked to pause and resume
  (SIGSTOP, SIGCONT to its group), kill its group, ``terminate()`` and ``kill()`` it,
  before its reader reaps it;
* PATH ``reap``: the runner's lock is released: the reader sees the worker's end,
  reaps it (killing the group of a worker that has exited comes first) and fails
  the blocked task.

The witness writes the name of every catchable signal it gets; the app sends it
SIGUSR2 last. It prints ``RESULT {json}``: P, the witness's pid, the signals the
witness got from tasker (``SIGKILL`` if it was killed) and how the blocked task ended.
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
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tasker import TaskManager

import jobs

BOUND = 60.0  # seconds for any wait here: a hang guard (a starved machine took over 20 s)
PIDFD_OPEN = os.pidfd_open  # the app's own (PIDFD ``none``: tasker must do without)

#: The unrelated process: it writes the name of every catchable signal it gets, and exits on SIGUSR2.
#: Every signal but SIGKILL and SIGSTOP is caught: a death it cannot report is a SIGKILL.
WITNESS = """
import os, signal
def seen(sig, frame):
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    os.write(1, (name + "\\n").encode())
    if sig == signal.SIGUSR2:
        os._exit(0)
for sig in signal.valid_signals():
    if sig not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(sig, seen)
os.write(1, b"ready\\n")
while True:
    signal.pause()
"""


def start_reaper() -> None:
    def reap_all() -> None:
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:  # no children right now (the app's own loop, not a test wait)
                time.sleep(0.002)

    threading.Thread(target=reap_all, name="app-reaper", daemon=True).start()


def settle_threads(manager: TaskManager, blocked: Any) -> None:
    """Let every thread the app will have exist now (a thread id is a pid: a late one could take P)."""
    # (its worker runs it; the reader has passed on its message)
    _poll_until(lambda: blocked.get_message() == "stuck", "the blocked task did not start")
    ticked, ran = threading.Event(), threading.Event()
    manager._clock.call_later(0.0, ticked.set)  # tasker's clock thread
    manager.schedule_on_main_thread(ran.set)  # the headless scheduler's thread
    assert ticked.wait(BOUND) and ran.wait(BOUND)


def wait_freed(pid: int, pidfd: int) -> None:
    """Until ``pid`` has exited and the app reaped it (bounded)."""
    ready, _, _ = select.select([pidfd], [], [], BOUND)
    assert ready, f"the worker {pid} did not die"
    # (a zombie still holds the pid: the app reaps it soon)
    _poll_until(lambda: not os.path.exists(f"/proc/{pid}"), f"the app did not reap {pid}")


def _poll_until(done: Callable[[], bool], what: str) -> None:
    """Poll ``done`` (nothing here signals these states); a hang guard, not a timing check:
    past ``BOUND`` it raises ``TimeoutError`` naming what never happened."""
    deadline = time.monotonic() + BOUND
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"hang guard ({BOUND:.0f} s): {what}")
        select.select([], [], [], 0.001)


def place_on(pid: int, leader: bool) -> tuple[subprocess.Popen[bytes], int]:
    """Start the witness on ``pid`` (the namespace hands out ns_last_pid + 1 next).

    With SIGCHLD ignored the kernel may hand the freed pid out again only a
    moment later: a miss is killed and it tries again (bounded).
    """
    got = []
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        argv = [sys.executable, "-S", "-c", WITNESS]
        witness = subprocess.Popen(argv, start_new_session=leader, stdout=subprocess.PIPE)
        fd = PIDFD_OPEN(witness.pid)
        if witness.pid == pid:
            assert witness.stdout is not None
            assert select.select([witness.stdout], [], [], BOUND)[0], "the witness did not start"
            assert witness.stdout.readline() == b"ready\n"
            return witness, fd
        got.append(witness.pid)
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        select.select([fd], [], [], BOUND)
        os.close(fd)
        select.select([], [], [], 0.001)
    raise AssertionError(f"could not place a process on pid {pid} (got {got[:20]})")


def signals_seen(witness: subprocess.Popen[bytes], pidfd: int) -> list[str]:
    """What the witness got from others: it is sent SIGUSR2 last and lists what came before.

    A SIGKILL sent before makes it exit without a word (a SIGUSR2 sent after
    a SIGKILL is dropped by the kernel): then the list ends with ``SIGKILL``.
    Only a witness that is gone (its pidfd says so) is reported killed; one
    still alive but silent (stopped, or a starved machine) fails here, named.
    """
    assert witness.stdout is not None
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGUSR2)
    except ProcessLookupError:
        pass
    lines = []
    while select.select([witness.stdout], [], [], BOUND)[0]:
        line = witness.stdout.readline()
        if not line:
            break
        lines.append(line.decode().strip())
    if lines[-1:] != ["SIGUSR2"]:
        gone = select.select([pidfd], [], [], BOUND)[0]
        assert gone, f"the witness is alive but did not answer SIGUSR2 within {BOUND} s (lines: {lines})"
        return [*lines, "SIGKILL"]
    return lines[:-1]


def main() -> None:
    mode, path, leader = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    if sys.argv[4] == "none":
        del os.pidfd_open
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
    settle_threads(manager, blocked)
    result: dict[str, Any] = {"worker": worker_pid}
    with runner.lock:
        (worker,) = runner.workers
        assert worker.proc.pid == worker_pid and worker.task is blocked
        pidfd = PIDFD_OPEN(worker_pid)
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        wait_freed(worker_pid, pidfd)
        witness, witness_fd = place_on(worker_pid, leader)
        result["witness"] = witness.pid
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
    result["signals"] = signals_seen(witness, witness_fd)
    print("RESULT " + json.dumps(result), flush=True)
    manager.shutdown()


if __name__ == "__main__":
    main()
