"""One worker process as the parent sees it: start it, talk to it, see it end.

The pool's bookkeeping (which task runs where) is in ``_pool``; this
module owns the process itself: a fresh interpreter running
``tasker.runners.process._child`` (in a frozen app, the app's executable booted through
``multiprocessing.freeze_support()``: see ``_frozen``), its channel, its page of
cancel flags, and how its death is described. Every OS call goes through the
platform seam (``tasker._platform``: channel, shared memory, a process tree that
is killed and paused together, the parent-death lifeline).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from ... import _platform
from .._remote import _payload
from . import _frozen
from ._messages import UNLOADABLE, FromWorker

if TYPE_CHECKING:
    import mmap

    from ..._core._ask import Question
    from ..._core._task import Task
    from ..._platform._base import Channel, Lifeline, WorkerProcess

_BOOT = "from tasker.runners.process._child import main; main()"


class WorkerState(Enum):
    """Where a worker is in its life (the pool changes it under its lock).

    ``STARTING ─mark_ready→ READY ─drain→ DRAINING ─rejoin→ READY``; any of
    them ``─flag_as_gone→ GONE`` (stopping, killed or dead: out of the pool for good).
    """

    STARTING = "starting"  # launched; not initialized yet
    READY = "ready"  # in the pool: idle, or running a task
    DRAINING = "draining"  # out of the budget: its canceled task is still stopping
    GONE = "gone"


class Worker:
    """The parent's handle on one worker process (and the pool's notes on it)."""

    def __init__(self, name: str, main: Callable[[Worker], object]) -> None:
        self.name = name
        self.proc: WorkerProcess | None = None
        self.channel: Channel | None = None
        self.flags: mmap.mmap | None = None
        self.task: Task[Any] | None = None  # running
        self.next: Task[Any] | None = None  # sent ahead, still pending (see ProcessRunner)
        self.task_slot = 0  # which cancel flag (byte of ``flags``) each of them reads
        self.next_slot = 0
        self.sent = 0  # tasks assigned so far; also the next ticket (see ProcessRunner._dispatch)
        self.turn = 0  # the ticket whose task may be sent now
        self.order = threading.Condition()
        self.started_at = 0.0
        self.state = WorkerState.STARTING
        self.retiring = False  # stop it once its task is over (restart_worker_pool)
        self.stopped = False  # SIGSTOPped: its task is paused
        self.skipping: set[int] = set()  # ids of tasks taken back after they were sent ahead
        self.tasks_done = 0  # tasks it ran (max_tasks_per_worker)
        self.memory_kill: tuple[int, int] | None = None  # (limit, RSS): killed past worker_memory_limit
        self.questions: dict[int, Question] = {}  # the running task's unanswered asks, by number
        self.command: list[str] | None = None  # its command line, once built (for WorkerStartError)
        self.attempt = 0  # the launch attempt it was made in (``_launch.LaunchGuard``)
        self.init_failed = False  # its worker_initializer raised (not a launch failure)
        self.launch_counted = False  # it ended before READY, and that counted as a failed launch
        self.send_lock = threading.Lock()
        self.loading = False  # its reader is unpickling a message (the app's code may run there)
        self.loads = 0  # messages it started to unpickle (tells one stuck load from many)
        # Prestart: boot under SCHED_IDLE (asked / done; the worker restores itself before READY).
        # Invariant: once a task waits for it (``promote``: boot_idle False), the worker's main
        # thread is not left at idle priority, whichever of promote and start_process runs first.
        self.boot_idle = False
        self.booted_idle = False
        self.thread = threading.Thread(target=main, args=(self,), name=f"{name}-reader", daemon=True)

    # -- transitions (see WorkerState) -------------------------------------------------
    def mark_ready(self) -> None:
        assert self.state is WorkerState.STARTING, self.state
        self.state = WorkerState.READY

    def drain(self) -> None:
        assert self.state is WorkerState.READY, self.state
        self.state = WorkerState.DRAINING

    def rejoin(self) -> None:
        assert self.state is WorkerState.DRAINING, self.state
        self.state = WorkerState.READY

    def flag_as_gone(self) -> bool:
        """GONE for good; False if it already was."""
        if self.state is WorkerState.GONE:
            return False
        self.state = WorkerState.GONE
        return True

    def start_process(self, lifeline: Lifeline) -> None:
        """Spawn the interpreter (on this worker's own thread: it takes milliseconds)."""
        import mmap

        platform = _platform.current()
        self.channel, channel_end = platform.channel_pair()  # (close() closes it and the flags, whatever fails)
        handoffs = [channel_end]
        try:
            self.flags, control_end = platform.control_memory(mmap.PAGESIZE)
            handoffs.append(control_end)
            args = (platform.name, channel_end.arg, control_end.arg, lifeline.handoff.arg)
            inherit = [*channel_end.inherit, *control_end.inherit, *lifeline.handoff.inherit]
            if _frozen.is_frozen():  # sys.executable is the app: boot through freeze_support()
                argv, boot_end = _frozen.command(platform, args)
                handoffs.append(boot_end)
                inherit += boot_end.inherit
            else:
                argv = [sys.executable, *_site_flags(), "-c", _BOOT, *args]
            self.command = argv
            self.proc = platform.spawn(argv, inherit, _child_env())
        finally:
            for handoff in handoffs:
                handoff.close()
        if self.boot_idle:  # before the init message: the worker cannot be READY (and restored) yet
            self.booted_idle = platform.set_idle(self.proc.pid, idle=True)
            if self.booted_idle and not self.boot_idle:
                # ``promote`` ran in between (a task arrived) and saw ``booted_idle`` still
                # False: it lifted nothing, so this thread does. (Each side writes its flag,
                # then reads the other's: at least one of them lifts the worker.)
                platform.set_idle(self.proc.pid, idle=False)

    def promote(self) -> None:
        """A task is waiting: a worker booting under SCHED_IDLE gets its normal priority now.

        Only its main thread (the one booting); the worker restores all of its
        threads itself before it reports READY, whatever happens here. Safe
        against ``start_process`` putting it idle at the same time (see there).
        """
        self.boot_idle = False  # first: start_process reads it after it wrote booted_idle
        proc = self.proc
        if self.booted_idle and proc is not None:
            _platform.current().set_idle(proc.pid, idle=False)

    def send(
        self, data: bytes | bytearray | memoryview, fds: list[int] | tuple[int, ...] = (), prefix: bytes = b""
    ) -> None:
        assert self.channel is not None
        with self.send_lock:
            self.channel.send(data, fds, prefix)

    def recv(self) -> FromWorker:
        """The worker's next message; ``(UNLOADABLE, error)`` if it cannot be unpickled here.

        Unpickling runs the application's code (``__setstate__``, ``__reduce__``'s
        callable): whatever it raises, even a ``BaseException``, makes the message
        unloadable, and ``loading`` is True meanwhile (``shutdown`` does not wait
        long for a reader stuck there).
        """
        assert self.channel is not None
        data, fds = self.channel.recv()
        self.loads += 1
        self.loading = True
        try:
            message: FromWorker = _payload.loads(data, fds)
        except BaseException as error:  # e.g. a class this process cannot import
            return (UNLOADABLE, 0, error)
        finally:
            self.loading = False
        return message

    def kill(self) -> None:
        """Kill the worker and every process of its tree (those its tasks started)."""
        if self.proc is not None:
            self.proc.kill_tree()

    def suspend(self, stop: bool) -> None:
        """Suspend (``stop``) or resume the worker and its tree: pausing its task."""
        self.stopped = stop
        if self.proc is not None:
            self.proc.suspend_tree(stop)

    def close(self) -> None:
        for resource in (self.channel, self.flags):
            if resource is not None:
                resource.close()
        if self.proc is not None:
            self.proc.release()  # its pidfd or handle, once reaped

    def reap(self) -> int | None:
        """The exit code once the connection closed (negative: a signal); its group is killed first.

        None: never started, or the application reaped it (its exit status is lost).
        """
        import subprocess

        proc = self.proc
        if proc is None:
            return None
        try:
            code = proc.wait(2.0)
        except subprocess.TimeoutExpired:  # closed its channel but lives on: end it
            proc.kill_tree()
            code = proc.wait(2.0)
        return None if proc.reaped_elsewhere else code

    def death_message(self, code: int | None) -> str:
        """What happened to the process, and the likely cause, for WorkerDiedError."""
        import signal

        pid = self.proc.pid if self.proc else "?"
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            causes = {
                "SIGKILL": "the out-of-memory killer or another process killed it",
                "SIGSEGV": "a crash in native code (an extension module, ctypes)",
                "SIGABRT": "an abort() in native code or a failed C assertion",
            }.get(name, "a signal from outside or a native crash")
            return f"worker process {self.name} (pid {pid}) was killed by {name}; likely cause: {causes}"
        if code is None:
            return (
                f"worker process {self.name} (pid {pid}) ended while running the task; its exit status "
                "was collected elsewhere in the application (SIGCHLD set to SIG_IGN, or a waitpid(-1) "
                "call), so the cause is unknown"
            )
        return (
            f"worker process {self.name} (pid {pid}) exited with code {code} while running the task; "
            "likely cause: os._exit() or a native library ending the process"
        )


_idle_boot: bool | None = None  # idle_boot_supported(), once per process


def idle_boot_supported() -> bool:
    """Can a thread of this process leave idle priority again (so a worker booted idle can)?

    Linux lets an unprivileged process lower its priority but not raise it back
    (``RLIMIT_NICE`` is 0 by default): a worker left at ``SCHED_IDLE`` would run
    every later task at idle priority. So workers boot idle only where a
    throw-away thread could go to ``SCHED_IDLE`` and back (``CAP_SYS_NICE``, or
    ``RLIMIT_NICE`` of 20 and more); elsewhere (and where the platform has no
    idle priority: ``Platform.set_idle``) they boot at normal priority.
    """
    global _idle_boot
    if _idle_boot is None:
        result = [False]
        platform = _platform.current()

        def probe() -> None:
            result[0] = platform.set_idle(0, idle=True) and platform.set_idle(0, idle=False)

        thread = threading.Thread(target=probe, name="tasker-priority-probe", daemon=True)
        thread.start()
        thread.join(5.0)
        _idle_boot = result[0]
    return _idle_boot


def _site_flags() -> list[str]:
    """``-S`` (skip site: ~20 ms faster start) unless an import hook needs it.

    The worker gets the parent's ``sys.path`` anyway; only import hooks that
    ``.pth`` files install (editable installs) would be missing without site.
    """
    for finder in sys.meta_path:
        module = getattr(finder, "__module__", "") or type(finder).__module__
        if "editable" in module.lower() or "editable" in type(finder).__name__.lower():
            return []
    return ["-S"]


def _child_env() -> dict[str, str]:
    if _frozen.is_frozen():  # unchanged (a onefile worker reuses the unpacked bundle), plus the marker
        return {**os.environ, _frozen.MARKER: "1"}
    import tasker

    root = os.path.dirname(os.path.dirname(os.path.abspath(tasker.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env
