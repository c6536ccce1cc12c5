"""A worker that leads its own process group (Linux and POSIX): the processes a task starts
die with the worker that ran it — and no other process is signalled.

Each worker leads its own process group (``process_group=0``),
which every process its tasks start joins unless it leaves on purpose
(``start_new_session=True``, ``setsid``, ``setpgid``). One rule: whenever a
worker ends — killed (cancel after the grace period, timeout, shutdown),
stopped while idle (``restart_worker_pool``, shutdown) or dead on its own — its
whole group is SIGKILLed *before* the worker is reaped. A worker that stops or
finds its channel ended SIGKILLs its group itself as its last act
(``_unix.take_group_at_exit``): nothing is left if the application dies before it
reaps. When the application itself dies, the worker's lifeline does the same
(``watch_parent`` in ``_linux``, ``_posix``). So
a process a task started lives at most as long as the worker that ran the task
(not just the task: one left running when the task returns goes on until its
worker ends).

Signals reach only our own processes. A pid names a process only until it is
reaped; an application that ignores SIGCHLD (the kernel reaps at once) or
reaps with ``waitpid(-1)`` frees our worker's pid behind our back, and the
next process to get that pid is someone else's. So a worker is held by a
*pidfd* (``os.pidfd_open``, Linux >= 5.3) from the moment it is started, and
every signal goes through it::

    start ── pidfd_open(pid) ── waitid(P_PIDFD, WNOWAIT): our child? ─no─► lost: never signalled
                                      │ yes
    signal_group(sig) ── pidfd_send_signal(pidfd, sig, PIDFD_SIGNAL_PROCESS_GROUP)   (Linux >= 6.9)
                     │   the group of *that* process, even once reaped elsewhere; never a new one
                     └── older kernel: killpg(pid) only while waitid(P_PIDFD, WNOWAIT) says the
                         leader is our unreaped child (its pid, the group's id, cannot be reused)
                     then pidfd_send_signal(pidfd, sig) to the leader itself (if it left its group)
    reap ── waitid(P_PIDFD, WNOWAIT): exited? ── SIGKILL the group ── waitid(P_PIDFD): reaped
            ECHILD: reaped elsewhere: exit status unknown (``reaped_elsewhere``), nothing signalled

Without pidfds (a kernel older than 5.3, a system that forbids them, and
every non-Linux POSIX system: ``PosixGroupLeader`` in ``_posix``, which reads the
start time through psutil instead of ``/proc``),
``GroupLeader`` signals the group (``killpg``) and reaps (``waitpid(pid)``)
only while ``waitid(P_PID, pid, WNOWAIT)`` says that pid is still our child,
unreaped, and ``/proc/<pid>/stat`` gives the start time the worker had (the
pid may have gone to another child of the application); no signal ever goes
to a pid without that check, and none at all if ``/proc`` gave no start time
when the worker started (nothing would tell it apart from another child).
That leaves one narrow window the pidfd closes: if the application reaps the
worker between that check and the signal, *and* the system hands the pid to a
new process in between, that process could be signalled. Linux since 5.3 (all
supported distributions) takes the pidfd path.

Being outside the application's process group also means that the terminal's
Ctrl-C (SIGINT) and Ctrl-Z (SIGTSTP) reach only the application; workers and
their children do not read the terminal (stdin is ``/dev/null``).
"""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import threading
import time
from typing import Any

#: ``pidfd_send_signal`` flag (Linux >= 6.9): signal the process group led by the pidfd's process.
PIDFD_SIGNAL_PROCESS_GROUP = 4

_LOOK = os.WEXITED | os.WNOHANG | os.WNOWAIT  # has it exited? (never reaps)


class GroupLeader(subprocess.Popen[bytes]):
    """A worker process, leader of its own process group, signalled only through its pidfd.

    Every way of reaping it (``poll``, ``wait``) first looks without reaping
    and, if it has exited, SIGKILLs its group: a task's processes die with
    their worker however it ended. ``send_signal`` (so ``kill``, ``terminate``)
    reaches the leader only through its pidfd.
    """

    #: Does this kernel know PIDFD_SIGNAL_PROCESS_GROUP? (Learned from the first EINVAL.)
    group_flag = True
    #: Hold the worker by a pidfd where the system has them (False: the start-time path only).
    use_pidfd = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._reap_lock = threading.Lock()  # a signal and the reaping never interleave
        # Invariant (under _reap_lock): _pidfd is open, and names the process we started, until
        # release(); _lost once that process is known to be reaped by someone else (never
        # signalled again by pid); returncode is set once it is reaped (by us, or seen reaped).
        self._pidfd: int | None = None
        self._lost = False
        self._started: str | None = None  # without a pidfd: its start time (/proc), to know it again
        #: True if the application reaped the worker (SIGCHLD ignored, ``waitpid(-1)``): exit status unknown.
        self.reaped_elsewhere = False
        super().__init__(*args, **kwargs)
        self._hold()

    def _hold(self) -> None:
        """Open the pidfd now, and prove it is our child (not a process that took a freed pid)."""
        self._started = self.start_time(self.pid)
        if not (self.use_pidfd and hasattr(os, "pidfd_open")):
            return
        try:
            fd = os.pidfd_open(self.pid)
        except OSError as error:
            if error.errno == errno.ESRCH:  # died and reaped already (SIGCHLD ignored)
                self._lost = True
            return  # ENOSYS, EPERM (seccomp): the waitid(P_PID) fallback
        try:
            os.waitid(os.P_PIDFD, fd, _LOOK)
        except ChildProcessError:  # reaped already; the pid now names another process
            os.close(fd)
            self._lost = True
            return
        except OSError:  # P_PIDFD unknown (Linux 5.3): the pidfd is of no use for waiting
            os.close(fd)
            return
        self._pidfd = fd

    @staticmethod
    def start_time(pid: int) -> str | None:
        """When ``pid`` started, or None if unknown: what tells our worker from a later owner of its pid."""
        return _start_time(pid)

    # -- the platform seam's WorkerProcess ----------------------------------------------
    def kill_tree(self) -> None:
        self.signal_group(signal.SIGKILL)

    def suspend_tree(self, stop: bool) -> None:
        self.signal_group(signal.SIGSTOP if stop else signal.SIGCONT)

    def rss(self) -> int | None:
        return None  # (the implementations know how)

    # -- signals ---------------------------------------------------------------------------
    def kill_group(self) -> None:
        """SIGKILL the worker and its process group (only ours: see the module docstring)."""
        self.signal_group(signal.SIGKILL)

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the whole group (SIGKILL; SIGSTOP / SIGCONT: pausing)."""
        with self._reap_lock:
            self._signal_group_locked(signum)

    def send_signal(self, sig: int) -> None:
        """The leader alone, through its pidfd (``Popen.kill``/``terminate`` come here)."""
        with self._reap_lock:
            if self.returncode is not None:
                return
            if self._pidfd is not None:
                _pidfd_signal(self._pidfd, sig)
            elif self._provably_ours_locked():  # no pidfd: only while the pid is our unreaped child
                try:
                    os.kill(self.pid, sig)
                except OSError:
                    pass

    def _signal_group_locked(self, signum: int) -> None:
        if self.returncode is not None and self._pidfd is None:
            return  # reaped and released
        fd = self._pidfd
        if fd is not None and GroupLeader.group_flag:
            try:
                signal.pidfd_send_signal(fd, signum, None, PIDFD_SIGNAL_PROCESS_GROUP)
            except OSError as error:
                if error.errno == errno.EINVAL:  # a kernel before 6.9
                    GroupLeader.group_flag = False
            if GroupLeader.group_flag:
                if self.returncode is None:
                    _pidfd_signal(fd, signum)  # the leader, if it left its own group
                return
        if self.returncode is None and self._provably_ours_locked():
            # The leader is our unreaped child: its pid, the group's id, is not free.
            try:
                os.killpg(self.pid, signum)
            except OSError:
                pass
            if fd is not None:
                _pidfd_signal(fd, signum)

    def _unreaped_locked(self) -> bool:
        """Is the leader still our child, not reaped (alive, or a zombie)?

        Without a pidfd: the pid is a child of ours, unreaped, started when ours
        was (another child of the application may have been given the pid).
        """
        if self._lost:
            return False
        try:
            if self._pidfd is not None:
                os.waitid(os.P_PIDFD, self._pidfd, _LOOK)
            else:
                os.waitid(os.P_PID, self.pid, _LOOK)
        except ChildProcessError:
            self._lost = True
            return False
        if self._pidfd is None and self.start_time(self.pid) != self._started:
            self._lost = True
            return False
        return True

    def _provably_ours_locked(self) -> bool:
        """May a signal go to ``self.pid``? Only if it is provably the process we started.

        Without a pidfd the proof is the start time: if ``/proc`` could not be
        read when the worker started (not mounted, ``hidepid``), nothing tells
        our worker apart from another child of the application that got its pid,
        so no signal goes by pid at all.
        """
        if self._pidfd is None and self._started is None:
            return False
        return self._unreaped_locked()

    # -- reaping -------------------------------------------------------------------------
    def poll(self) -> int | None:
        with self._reap_lock:
            if self.returncode is not None:
                return self.returncode
            if self._lost:
                self._reaped_elsewhere_locked()
                return self.returncode
            if self._pidfd is None:
                return self._poll_by_pid_locked()
            try:
                if os.waitid(os.P_PIDFD, self._pidfd, _LOOK) is None:
                    return None  # running
            except ChildProcessError:
                self._lost = True
                self._reaped_elsewhere_locked()
                return self.returncode
            self._signal_group_locked(signal.SIGKILL)  # its group first, while it is unreaped
            try:
                info = os.waitid(os.P_PIDFD, self._pidfd, os.WEXITED | os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere in between
                info = None
            if info is None:
                self._lost = True
                self._reaped_elsewhere_locked()
            else:
                self.returncode = -info.si_status if info.si_code != os.CLD_EXITED else info.si_status
            return self.returncode

    def _poll_by_pid_locked(self) -> int | None:
        """No pidfd: signal and reap by pid only while that pid is our unreaped child."""
        if not self._unreaped_locked():
            self._reaped_elsewhere_locked()
            return self.returncode
        if os.waitid(os.P_PID, self.pid, _LOOK) is None:
            return None  # running
        if self._provably_ours_locked():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        return super().poll()

    def _reaped_elsewhere_locked(self) -> None:
        self.reaped_elsewhere = True
        self.returncode = 0  # (Popen's own convention for a child someone else reaped)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit (the pidfd wakes us at once), kill the group, reap."""
        with self._reap_lock:
            fd = os.dup(self._pidfd) if self.returncode is None and self._pidfd is not None else None
        if fd is None:
            return self._wait_by_polling(timeout)
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
        finally:
            os.close(fd)
        if not ready:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        code = self.poll()
        assert code is not None  # a readable pidfd: it has exited (reaped now, or elsewhere)
        return code

    def _wait_by_polling(self, timeout: float | None) -> int:
        """No pidfd to wait on: ``poll()`` (which kills the group before it reaps) until it has ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while (code := self.poll()) is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(delay if left is None else min(delay, left))
            delay = min(delay * 2, 0.05)
        return code

    def release(self) -> None:
        """Close the pidfd once the worker is reaped (idempotent)."""
        with self._reap_lock:
            if self.returncode is not None and self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None

    def __del__(self) -> None:
        fd, self._pidfd = getattr(self, "_pidfd", None), None
        if fd is not None:
            os.close(fd)
        super().__del__()


def _start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), or None (no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _pidfd_signal(fd: int, sig: int) -> None:
    try:
        signal.pidfd_send_signal(fd, sig)
    except OSError:  # ESRCH: it is gone (reaped)
        pass
