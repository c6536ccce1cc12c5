"""The process engine on POSIX systems without Linux's extras (macOS, the BSDs).

Tested on Linux too: ``TASKER_PLATFORM=posix`` (``scripts/test-posix``) runs the
process suites with this implementation, which uses no memfd, no pidfd, no
``/proc``, no ``prctl``, no ``F_SETSIG``, no ``SCHED_IDLE``.

    channel        Unix socket pair; payload descriptors ride along (SCM_RIGHTS; ``_unix``)
    shared memory  shm_open with an unguessable name, created exclusively (0600)
                   and unlinked at once: only descriptors remain, freed with the
                   last one or mapping (an unlinked temporary file where
                   shm_open is missing). A 64-byte header holds the payload's
                   size: some systems (macOS) round a segment up to whole pages
    tree kill      SIGKILL to the worker's process group (killpg)
    pause          SIGSTOP / SIGCONT to that group
    parent death   the lifeline pipe, watched by a small watcher process each
                   worker forks at its start (before any thread): on EOF it
                   SIGKILLs the worker's group — native code holding the GIL
                   cannot delay it, and a paused (stopped) group dies too. The
                   watcher leaves the group and ends when its worker ends (a
                   pipe only the worker holds reaches EOF; a worker that stops
                   normally reaps it). A worker SIGKILLs its own group as its
                   last act, however it ends (STOP, or its channel's end:
                   ``_unix.take_group_at_exit``). (No kqueue:
                   the pipe's EOF reaches a watcher on every POSIX system, however
                   the parent died.) It is the worker's child: a task that
                   calls ``os.wait()`` with no child of its own waits for the
                   worker's end instead of getting ``ChildProcessError``
    memory         psutil (``memory_info().rss``)
    proof          waitid(P_PID, WNOWAIT) says the pid is our unreaped child, and
                   its start time (psutil) is the worker's: else no signal by pid
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from . import _unix
from ._base import Features, Handoff

if TYPE_CHECKING:
    from ._group import GroupLeader
    from ._unix import SocketChannel

#: A payload segment: this header (the payload's size, little-endian), then the payload.
HEADER = 64
_SIZE = struct.Struct("<Q")


def shared_file(kind: str, size: int) -> int:
    """A descriptor of ``size`` zeroed bytes that only descriptors reach (nothing named remains).

    ``shm_open`` (a random name, ``O_EXCL``, mode 0600, unlinked at once), else an
    unlinked temporary file.
    """
    try:
        import _posixshmem
        import secrets
    except ImportError:  # pragma: no cover - a system without shm_open
        return _temporary_file(size)
    for _ in range(8):
        name = f"/tasker-{kind}-{secrets.token_hex(6)}"  # (macOS: names of at most 31 bytes)
        try:
            fd: int = _posixshmem.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
        except FileExistsError:
            continue
        except OSError:  # no /dev/shm here, or shm_open refused: a file does the same
            return _temporary_file(size)
        try:
            _posixshmem.shm_unlink(name)
            os.set_inheritable(fd, False)
            os.ftruncate(fd, size)
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise FileExistsError("tasker: no free shared-memory name after 8 random tries")


def _temporary_file(size: int) -> int:
    import tempfile

    with tempfile.TemporaryFile(prefix="tasker-") as handle:  # unlinked already (POSIX)
        fd = os.dup(handle.fileno())
    try:
        os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return fd


_leader: type[GroupLeader] | None = None


def _leader_class() -> type[GroupLeader]:
    """``GroupLeader`` without pidfds, its start time and RSS from psutil (made on first use)."""
    global _leader
    if _leader is None:
        from ._group import GroupLeader

        class PosixGroupLeader(GroupLeader):
            use_pidfd = False

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self._ps: Any = None  # psutil.Process, from the first rss() on
                self._released = False
                super().__init__(*args, **kwargs)

            @staticmethod
            def start_time(pid: int) -> str | None:
                import psutil

                try:
                    return repr(psutil.Process(pid).create_time())
                except (psutil.Error, OSError):
                    return None

            def rss(self) -> int | None:
                if self._released or self.returncode is not None:
                    return None
                import psutil

                try:
                    if self._ps is None:
                        self._ps = psutil.Process(self.pid)
                    return int(self._ps.memory_info().rss)
                except (psutil.Error, OSError):
                    return None

            def release(self) -> None:
                self._released = True
                super().release()

        _leader = PosixGroupLeader
    return _leader


class Posix(_unix.UnixPlatform):
    """``_base.Platform`` on POSIX systems (see the module docstring)."""

    name = "posix"
    shares_payloads = True
    features = Features(
        name="posix",
        channel="Unix socket pair; descriptors passed with SCM_RIGHTS",
        shared_memory="shm_open, unlinked at once (else an unlinked temporary file)",
        tree_kill="SIGKILL to the worker's process group (killpg)",
        pause="SIGSTOP / SIGCONT to the worker's process group",
        parent_death="lifeline pipe watched by a watcher process per worker: SIGKILLs the group on EOF",
        memory="psutil",
        proof="waitid(WNOWAIT) + start time (psutil)",
    )

    # -- parent side ------------------------------------------------------------------
    def control_memory(self, size: int) -> tuple[mmap.mmap, Handoff]:
        return _unix.control_memory(lambda n: shared_file("flags", n), size)

    def leader_class(self) -> type[GroupLeader]:
        return _leader_class()

    def set_idle(self, tid: int, idle: bool) -> bool:
        return False  # no SCHED_IDLE: workers boot at their normal priority

    # -- large payloads ---------------------------------------------------------------
    def payload_segment(self, data: memoryview) -> int:
        raw = data.cast("B")
        fd = shared_file("payload", HEADER + raw.nbytes)
        try:
            with mmap.mmap(fd, HEADER + raw.nbytes) as memory:
                _SIZE.pack_into(memory, 0, raw.nbytes)
                memory[HEADER : HEADER + raw.nbytes] = raw
        except BaseException:
            os.close(fd)
            raise
        return fd

    def map_segment(self, handle: int) -> Any:
        total = os.fstat(handle).st_size
        if total < HEADER:
            raise ValueError(f"tasker: a payload segment of {total} bytes has no header (not tasker's?)")
        memory = mmap.mmap(handle, total, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        (size,) = _SIZE.unpack_from(memory, 0)
        if HEADER + size > total:
            memory.close()
            raise ValueError(f"tasker: a payload segment says {size} bytes but holds {total - HEADER}")
        return memoryview(memory)[HEADER : HEADER + size]

    # -- worker side ------------------------------------------------------------------
    def worker_channel(self, arg: str) -> SocketChannel:
        return _unix.worker_channel(arg)

    def watch_parent(self, arg: str) -> None:
        fd = int(arg)
        os.set_inheritable(fd, False)
        _start_watcher(fd)

    def own_rss(self) -> Callable[[], int] | None:
        try:
            import psutil

            me = psutil.Process()
        except (ImportError, OSError):
            return None

        def read() -> int:
            try:
                return int(me.memory_info().rss)
            except (psutil.Error, OSError):
                return 0

        return read


#: The worker's end of the pipe its watcher reads: open for the worker's whole life.
_alive: list[int] = []


def _start_watcher(lifeline: int) -> None:
    """Fork the watcher (at the worker's start, before it has any other thread: a fork is safe then).

    At its exit (``atexit``) the worker closes its end of the pipe and reaps the
    watcher; then, as its last act, it SIGKILLs its own group — the processes
    its tasks started, and itself — whatever ended it (``_unix.take_group_at_exit``,
    registered first so that it runs after this). A killed worker's watcher sees
    the same EOF and ends by itself.
    """
    import atexit

    _unix.take_group_at_exit()
    alive_r, alive_w = os.pipe()  # not inheritable: only this process holds the write end
    group = os.getpgrp() if os.getpgrp() == os.getpid() else None
    pid = os.fork()
    if pid == 0:
        _watch(lifeline, alive_r, group)
    os.close(alive_r)
    _alive.append(alive_w)
    atexit.register(_stop_watcher, alive_w, pid)


def _stop_watcher(alive_w: int, pid: int) -> None:
    os.close(alive_w)
    try:
        os.waitpid(pid, 0)  # it exits at the EOF (bounded: it does nothing else)
    except ChildProcessError:  # reaped already (SIGCHLD ignored, or a task's wait())
        pass


def _watch(lifeline: int, alive: int, group: int | None) -> NoReturn:
    """The watcher: SIGKILL the worker's group (``None``: the worker alone) when the lifeline
    ends while the worker lives; exit when the worker ends."""
    import select
    import signal

    worker = os.getppid()
    try:
        os.setpgid(0, 0)  # out of the worker's group: a pause (SIGSTOP) or tree kill leaves it be
        keep = {0, 1, 2, lifeline, alive}
        try:
            fds = [int(entry) for entry in os.listdir("/dev/fd")]
        except OSError:
            fds = list(range(3, 256))
        for fd in fds:
            if fd not in keep:
                try:
                    os.close(fd)  # the worker's socket above all: its end must be the worker's alone
                except OSError:
                    pass
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            ready, _, _ = select.select([lifeline, alive], [], [])
            if alive in ready:
                break  # the worker ended: nothing to do
            if lifeline in ready and os.read(lifeline, 1) == b"":
                # The parent is gone. The worker lives (its pipe is open, and this is still its
                # child), so its pid and group cannot belong to another process yet.
                if not select.select([alive], [], [], 0)[0] and os.getppid() == worker:
                    if group is not None:
                        os.killpg(group, signal.SIGKILL)
                    else:
                        os.kill(worker, signal.SIGKILL)
                break
    finally:
        os._exit(0)


PLATFORM = Posix()
