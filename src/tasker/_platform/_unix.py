"""What the linux and posix implementations share: a Unix socket channel, a lifeline pipe, spawning.

    channel     socketpair(AF_UNIX, SOCK_STREAM); payload descriptors ride along
                each message (SCM_RIGHTS; framing in ``_wire``)
    handoff     a descriptor's number on the worker's command line, passed with
                ``pass_fds`` (no other descriptor is inherited)
    lifeline    a pipe: the pool holds the write end, every worker the read end;
                EOF means the application is gone (the kernel closes a dead
                process's descriptors, however it died)
    spawn       a new process group led by the worker (``_group.GroupLeader``)
    exit        once serving, the worker SIGKILLs its own group as its last act
                (``take_group_at_exit``), however it ends

Socket and subprocess modules load on first use (the first ``run_process``
call, in the caller's thread, only pickles: it imports none of them).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (signal.py builds its enums: slower worker boot)
import mmap
import os
from collections.abc import Callable, Sequence

from ._base import Handoff, Lifeline

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    import _socket
    from typing import NoReturn

    from ._group import GroupLeader


def close_handle(handle: int) -> None:
    try:
        os.close(handle)
    except OSError:
        pass


class SocketChannel:
    """One end of a Unix stream socket pair (``_base.Channel``)."""

    __slots__ = ("_recv", "_send", "sock")

    def __init__(self, sock: _socket.socket) -> None:
        from . import _wire

        self.sock = sock
        self._send = _wire.send
        self._recv = _wire.recv

    def send(
        self, body: bytes | bytearray | memoryview, handles: list[int] | tuple[int, ...] = (), prefix: bytes = b""
    ) -> None:
        self._send(self.sock, body, handles, prefix)

    def recv(self) -> tuple[bytearray, list[int]]:
        return self._recv(self.sock)

    def wait_readable(self, timeout: float | None) -> bool:
        import select

        return bool(select.select([self.sock], [], [], timeout)[0])

    def close(self) -> None:
        self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()


def channel_pair() -> tuple[SocketChannel, Handoff]:
    import socket  # (the parent: socket.py is fine here; a worker's boot uses _socket alone)

    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        handoff = Handoff(str(child.detach()), closer=close_handle)
        handoff.inherit = (int(handoff.arg),)
    except BaseException:
        parent.close()
        child.close()
        raise
    return SocketChannel(parent), handoff


def worker_channel(arg: str) -> SocketChannel:
    """The worker's socket: not inherited by what its tasks start (pass_fds made it inheritable)."""
    import _socket

    fd = int(arg)
    os.set_inheritable(fd, False)
    return SocketChannel(_socket.socket(fileno=fd))


#: The write ends of this process's open lifelines. A child the application forks
#: without exec (``os.fork``, multiprocessing's "fork") closes its copies at once
#: (``_close_lifelines_in_child``): holding one, it would keep every worker alive after
#: the application's death for as long as it lives (exec'd children never get them:
#: the pipe is close-on-exec).
# Invariant: only descriptors this process holds open as lifeline write ends (a closing
# lifeline leaves the set before its descriptor is closed, so a reused number is never touched).
_write_ends: set[int] = set()
_fork_hook: list[bool] = []  # one entry once the at-fork hook is registered


def _close_lifelines_in_child() -> None:
    for fd in tuple(_write_ends):
        try:
            os.close(fd)
        except OSError:
            pass
    _write_ends.clear()


def lifeline() -> Lifeline:
    if not _fork_hook:
        _fork_hook.append(True)
        os.register_at_fork(after_in_child=_close_lifelines_in_child)
    read_end, write_end = os.pipe()
    _write_ends.add(write_end)

    def close() -> None:
        _write_ends.discard(write_end)
        close_handle(write_end)
        close_handle(read_end)

    return Lifeline(Handoff(str(read_end), (read_end,)), close)


def frozen_boot(data: bytes) -> tuple[list[str], Handoff]:
    """A pipe holding ``data`` (a few hundred bytes: the pipe holds them, no blocking)."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return [f"pipe_handle={read_end}"], Handoff(str(read_end), (read_end,), close_handle)


def control_memory(make: Callable[[int], int], size: int) -> tuple[mmap.mmap, Handoff]:
    """``size`` zeroed shared bytes from ``make(size)`` (an fd): this side's map and the worker's handoff."""
    fd = make(size)
    try:
        memory = mmap.mmap(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return memory, Handoff(str(fd), (fd,), close_handle)


def worker_control(arg: str, size: int) -> mmap.mmap:
    fd = int(arg)
    try:
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)


def spawn(leader: type[GroupLeader], argv: list[str], inherit: Sequence[int], env: dict[str, str]) -> GroupLeader:
    """The worker as the leader of a new process group; stdin is /dev/null; only ``inherit`` is passed."""
    import subprocess

    return leader(argv, pass_fds=tuple(inherit), stdin=subprocess.DEVNULL, env=env, process_group=0)


def die_with_group(code: int) -> NoReturn:
    """End this worker and its process group (the processes its tasks started) now."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), _signal.SIGKILL)
    os._exit(code)


#: The worker reported READY (``UnixPlatform.serving``): from then on its exit takes its group.
_serving = False


def take_group_at_exit() -> None:
    """Make the worker's exit, once it serves tasks, take its process group along.

    Registered at the worker's start, before anything else registers, so it
    runs last of the ``atexit`` handlers (after those of the application's
    modules and ``worker_initializer``, and logging's). A serving worker's loop
    ends when the parent sent STOP or when its channel ended (the application
    died, or gave up on it); either way the processes its tasks started must not
    outlive it. The parent kills the group when it reaps a worker, but a dead
    application reaps nothing, and the lifeline cannot be relied on once the
    worker is gone: the kernel's signal (``_linux``) is armed on the worker's
    own open file of the pipe, which closes with the worker, and a dying
    application closes its channels before its lifeline (its sockets are
    released first), so an idle worker can read the end of its channel and exit
    before the lifeline closes. So the worker ends its group itself, as its
    last act: a task's processes live exactly as long as its worker.

    Not before READY: no task has run, and a worker that fails while it boots
    must exit with its own status (the pool counts failed launches by it).
    """
    import atexit

    atexit.register(_end_group)


def serving() -> None:
    """The worker is about to report READY (see ``take_group_at_exit``)."""
    global _serving
    _serving = True


def _end_group() -> None:
    """SIGKILL this worker's group, itself included (it leads it), once its output is flushed."""
    if not _serving or os.getpgrp() != os.getpid():
        return  # (a process a task forked runs the worker's atexit handlers too: never its group)
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # (a closed or broken stream: the group goes all the same)
            pass
    os.killpg(os.getpid(), _signal.SIGKILL)


class UnixPlatform:
    """What the linux and posix implementations share: the parts of ``_base.Platform``
    that are the same calls on every Unix. A subclass names its group leader class
    (``leader_class``) and adds the rest (memory, idle boot, parent death, payloads)."""

    killed_code: int = -_signal.SIGKILL  # what ``returncode`` says of a worker SIGKILLed (by us or anyone)

    def leader_class(self) -> type[GroupLeader]:
        raise NotImplementedError

    def lifeline(self) -> Lifeline:
        return lifeline()

    def channel_pair(self) -> tuple[SocketChannel, Handoff]:
        return channel_pair()

    def spawn(self, argv: list[str], inherit: Sequence[int], env: dict[str, str]) -> GroupLeader:
        return spawn(self.leader_class(), argv, inherit, env)

    def frozen_boot(self, data: bytes) -> tuple[list[str], Handoff]:
        return frozen_boot(data)

    def serving(self) -> None:
        serving()

    def close_handle(self, handle: int) -> None:
        close_handle(handle)

    def worker_control(self, arg: str, size: int) -> mmap.mmap:
        return worker_control(arg, size)
