"""The process engine on Linux: memfd, socketpair + SCM_RIGHTS, process groups, pidfd, lifeline, /proc.

    channel        Unix socket pair; payload descriptors ride along (``_unix``)
    shared memory  memfd_create: anonymous, freed with its last descriptor or mapping
    tree kill      the worker's process group, SIGKILL through its pidfd (``_group``)
    pause          SIGSTOP / SIGCONT to that group, the same way
    parent death   the lifeline pipe, armed in the kernel: F_SETOWN (the worker's
                   group) + F_SETSIG(SIGKILL) + O_ASYNC on the read end, so the
                   kernel SIGKILLs the group when the pool's write end closes —
                   even while a task holds the GIL in native code; a thread
                   blocked on the pipe is the second way out. The signal is
                   armed on the worker's own file of the pipe, which closes with
                   the worker: a worker that exits first (an idle one reads its
                   channel's end before the lifeline closes) SIGKILLs its group
                   itself as its last act (``_unix.take_group_at_exit``)
    memory         /proc/<pid>/statm through a descriptor kept open (one pread)
    proof          the pidfd (start time from /proc/<pid>/stat where pidfds are missing)
    idle boot      SCHED_IDLE while a prestarted worker boots, where it can be undone
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable

from . import _unix
from ._base import EXIT_PARENT_GONE, Features, Handoff

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ._group import GroupLeader
    from ._unix import SocketChannel

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _memfd(name: str, size: int) -> int:
    fd = os.memfd_create(name)
    try:
        os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _rss_from_statm(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_leader: type[GroupLeader] | None = None


def _leader_class() -> type[GroupLeader]:
    """``GroupLeader`` plus the worker's RSS from /proc (made on first use: subprocess loads then)."""
    global _leader
    if _leader is None:
        from ._group import GroupLeader

        class LinuxGroupLeader(GroupLeader):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                # Invariant: _statm is open (/proc/<pid>/statm) from the first rss() until release().
                self._statm: int | None = None
                self._released = False
                super().__init__(*args, **kwargs)

            def rss(self) -> int | None:
                fd = self._statm
                if fd is None:
                    if self._released:
                        return None
                    try:
                        fd = self._statm = os.open(f"/proc/{self.pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
                    except OSError:
                        return None
                return _rss_from_statm(fd)

            def release(self) -> None:
                self._released = True
                fd, self._statm = self._statm, None
                if fd is not None:
                    os.close(fd)
                super().release()

        _leader = LinuxGroupLeader
    return _leader


class Linux(_unix.UnixPlatform):
    """``_base.Platform`` on Linux (see the module docstring)."""

    name = "linux"
    shares_payloads = True
    features = Features(
        name="linux",
        channel="Unix socket pair; descriptors passed with SCM_RIGHTS",
        shared_memory="memfd (anonymous, freed with its last descriptor or mapping)",
        tree_kill="SIGKILL to the worker's process group through its pidfd",
        pause="SIGSTOP / SIGCONT to the worker's process group",
        parent_death="lifeline pipe: the kernel SIGKILLs the group when it closes (F_SETSIG), and a thread",
        memory="/proc/<pid>/statm",
        proof="pidfd (else waitid + start time from /proc)",
    )

    # -- parent side ------------------------------------------------------------------
    def control_memory(self, size: int) -> tuple[mmap.mmap, Handoff]:
        return _unix.control_memory(lambda n: _memfd("tasker-flags", n), size)

    def leader_class(self) -> type[GroupLeader]:
        return _leader_class()

    def set_idle(self, tid: int, idle: bool) -> bool:
        try:
            policy = os.SCHED_IDLE if idle else os.SCHED_OTHER
            os.sched_setscheduler(tid, policy, os.sched_param(0))
        except (AttributeError, OSError):  # not permitted, or the thread is gone
            return False
        return True

    # -- large payloads ---------------------------------------------------------------
    def payload_segment(self, data: memoryview) -> int:
        raw = data.cast("B")
        fd = os.memfd_create("tasker-payload")
        try:
            done = 0  # write(): the kernel fills the pages directly, no faults in a mapping
            while done < raw.nbytes:
                done += os.write(fd, raw[done:])
        except BaseException:
            os.close(fd)
            raise
        return fd

    def map_segment(self, handle: int) -> Any:
        size = os.fstat(handle).st_size
        return mmap.mmap(handle, size, prot=mmap.PROT_READ | mmap.PROT_WRITE) if size else b""

    # -- worker side ------------------------------------------------------------------
    def worker_channel(self, arg: str) -> SocketChannel:
        return _unix.worker_channel(arg)

    def watch_parent(self, arg: str) -> None:
        fd = int(arg)
        os.set_inheritable(fd, False)
        _unix.take_group_at_exit()  # the lifeline below lives only as long as the worker
        _arm_lifeline(fd)
        threading.Thread(target=_lifeline, args=(fd,), name="tasker-lifeline", daemon=True).start()

    def own_rss(self) -> Callable[[], int] | None:
        try:
            fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        return lambda: _rss_from_statm(fd) or 0


def _lifeline(fd: int) -> None:
    os.read(fd, 1)  # returns only when every write end is closed: the parent died
    _unix.die_with_group(EXIT_PARENT_GONE)


def _arm_lifeline(fd: int) -> None:
    """Have the kernel SIGKILL this worker's process group when the parent's end of the lifeline closes.

    The lifeline thread needs the GIL to exit; a task busy in native code that
    holds the GIL (e.g. ``sum(range(10**10))``) would keep an orphan running.
    With O_ASYNC the kernel itself signals the owner of the pipe when its last
    writer closes. The owner belongs to the open file, which every worker shares
    through ``fd``: each worker opens the pipe anew to own one of its own (kept
    open for the worker's life). The owner is the worker's process group (a
    negative ``F_SETOWN``): the signal reaches every process in the group at that
    moment, so the processes its tasks started (children, grandchildren) die with
    it. If the parent died before this, the thread sees EOF at once.
    """
    try:
        import _signal  # type: ignore[import-not-found]  # (signal.py builds its enums: slower boot)
        import fcntl

        own = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        leader = os.getpgrp() == os.getpid()  # started with process_group=0
        fcntl.fcntl(own, fcntl.F_SETOWN, -os.getpid() if leader else os.getpid())
        fcntl.fcntl(own, fcntl.F_SETSIG, _signal.SIGKILL)
        fcntl.fcntl(own, fcntl.F_SETFL, fcntl.fcntl(own, fcntl.F_GETFL) | os.O_ASYNC)
    except (ImportError, AttributeError, OSError):  # (a kernel or sandbox without it: the thread alone)
        pass


PLATFORM = Linux()
