"""The processes a task starts die with the worker that ran it.

Each worker leads its own process group (``process_group=0``),
which every process its tasks start joins unless it leaves on purpose
(``start_new_session=True``, ``setsid``, ``setpgid``). One rule: whenever a
worker ends — killed (cancel after the grace period, timeout, shutdown),
stopped while idle (``restart_worker_pool``, shutdown) or dead on its own — its
whole group is SIGKILLed *before* the worker is reaped (``GroupLeader``: until the
leader is reaped its pid, the group's id, cannot be reused, so the signal cannot
reach an unrelated group). When the application itself dies, the worker's
lifeline does the same (``_child._arm_lifeline``). So a process a task started
lives at most as long as the worker that ran the task (not just the task: one
left running when the task returns goes on until its worker ends).

Being outside the application's process group also means that the terminal's
Ctrl-C (SIGINT) and Ctrl-Z (SIGTSTP) reach only the application; workers and
their children do not read the terminal (stdin is ``/dev/null``).
"""

from __future__ import annotations

import os
import subprocess
import threading
from typing import Any


class GroupLeader(subprocess.Popen[bytes]):
    """A worker process, leader of its own process group, whose group dies before it is reaped.

    Every way of reaping it (``poll``, ``wait``, and so ``send_signal``, ``kill``)
    first looks without reaping (``waitid(WNOWAIT)``, a pidfd to wait on) and, if
    it has exited, SIGKILLs its group: a task's processes die with their worker
    however it ended, and the group id is still the worker's own when signalled.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._reap_lock = threading.Lock()  # a group kill and the reaping never interleave
        super().__init__(*args, **kwargs)

    def kill_group(self) -> None:
        with self._reap_lock:
            if self.returncode is None:
                _kill_group(self.pid)

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the whole group (SIGSTOP / SIGCONT: pausing); never after reaping."""
        with self._reap_lock:
            if self.returncode is None:
                try:
                    os.killpg(self.pid, signum)
                except OSError:
                    pass

    def poll(self) -> int | None:
        with self._reap_lock:
            if self.returncode is None and _has_exited(self.pid):
                _kill_group(self.pid)
            return super().poll()

    def wait(self, timeout: float | None = None) -> int:
        # Popen.wait(timeout) polls with growing sleeps (up to 50 ms) and reaps at
        # once; a pidfd wakes us the moment the process is gone, without reaping.
        if self.returncode is None and hasattr(os, "pidfd_open"):
            if not _wait_exit(self.pid, timeout):
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            self.poll()
        return super().wait(timeout)


def _kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (only while that leader is not reaped)."""
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # not a group leader (started elsewhere): the process alone
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    except OSError:
        pass


def _has_exited(pid: int) -> bool:
    """Has our child ``pid`` exited? It stays unreaped (a zombie) either way."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped already (or SIGCHLD ignored): nothing to signal safely
        return False


def _wait_exit(pid: int, timeout: float | None) -> bool:
    """Wait until ``pid`` has exited (True) or ``timeout`` passed, without reaping it."""
    import select

    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return True  # gone already: poll() sorts it out
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(pidfd)
