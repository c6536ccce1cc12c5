"""When the application is SIGKILLed, its workers exit within 2 s.

The application (``parent_app.py``, a subprocess) runs tasks of every kind: busy
workers in pure Python and in native code that holds the GIL, a worker polling
for cancellation, queued process tasks, a stuck thread, a coroutine, and a warm
spare. It is SIGKILLed; then no process carrying its unique token in its
environment may remain (workers inherit the application's environment), within
2 s. A second case kills it while its workers are still being spawned.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .support import FULL, is_alive

pytestmark = pytest.mark.timeout(120)

APP = Path(__file__).with_name("parent_app.py")
#: The wait (s) for every worker to be gone, plus 3 s: a bound on the wait, not an assertion
#: (how fast they went is printed; it follows the machine's load).
LIMIT = 2.0
ROUNDS = 5 if FULL else 1


def tagged(token: str) -> set[int]:
    """Live processes whose environment carries ``token``."""
    found = set()
    needle = f"TASKER_RELIABILITY_TOKEN={token}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0") and is_alive(int(entry)):
                    found.add(int(entry))
        except OSError:
            continue
    return found


def wait_gone(pids: set[int], deadline: float) -> float:
    """Wait (on pidfds, no polling) until every process in ``pids`` exited; when that was."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            pass
    try:
        while fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select(list(fds), [], [], remaining)
            for fd in ready:
                del fds[fd]
                os.close(fd)
        return time.monotonic()
    finally:
        for fd in fds:
            os.close(fd)


def run_and_kill(mode: str) -> tuple[int, float, int]:
    """(workers seen before the kill, seconds until all were gone, survivors)."""
    token = uuid.uuid4().hex
    env = {**os.environ, "TASKER_RELIABILITY_TOKEN": token}
    app = subprocess.Popen(
        [sys.executable, str(APP), mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert app.stdout is not None
        line = app.stdout.readline()  # blocks until READY (the test timeout bounds it)
        assert line.startswith("READY"), f"app failed: {line!r} {app.stderr.read() if app.stderr else ''}"
        workers = tagged(token) - {app.pid}
        app.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        app.wait(10)
        # Workers spawned up to the very end count too: look again once the app is dead.
        watched = workers | tagged(token)
        took = wait_gone(watched, killed_at + LIMIT + 3.0) - killed_at
        left = tagged(token)
        survivors = len(left)
        for pid in left:  # do not leave them behind for the rest of the run
            os.kill(pid, signal.SIGKILL)
        return len(workers), took, survivors
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)


def test_workers_exit_when_the_busy_application_is_killed() -> None:
    for _ in range(ROUNDS):
        workers, took, survivors = run_and_kill("steady")
        print(f"\nparent death (steady): {workers} workers, all gone after {took:.3f} s, survivors {survivors}")
        assert workers >= 4, "every worker, busy or spare, was up before the kill"
        assert survivors == 0, f"{survivors} orphan worker(s) after {took:.1f} s"


def test_workers_exit_when_the_application_is_killed_while_spawning() -> None:
    for _ in range(ROUNDS * 2):
        _, took, survivors = run_and_kill("starting")
        print(f"\nparent death (starting): all gone after {took:.3f} s, survivors {survivors}")
        assert survivors == 0, f"{survivors} orphan(s), {took:.2f} s"
