"""The one interface between the process engine and the operating system.

Everything the process engine (``tasker.runners.process``) asks of the OS goes
through a ``Platform``; ``tasker._platform.current()`` picks the implementation
(``_linux``, ``_posix``, ``_windows``). The engine's parent side and each worker
use the same implementation: its ``name`` travels on the worker's command line.

    parent (pool)                                         worker process
    ─────────────                                         ──────────────
    lifeline()  ── once per pool: Lifeline ─ handoff ──┐
    channel_pair() ── Channel  ⇄  Handoff ─────────────┤  worker_channel(arg) ── Channel
    control_memory(size) ── mmap ⇄ Handoff ────────────┤  worker_control(arg, size) ── mmap
    spawn(argv + [name, args…], inherit, env) ─────────┘  watch_parent(arg): dies with the parent
      └─► WorkerProcess: kill_tree, suspend_tree(stop), rss, poll, wait, release
    payload_segment(buffer) ── Handle (rides with a message) ── map_segment(handle)
    close_handle(handle)                                  own_rss() / set_idle(0, False)

The worker's command line ends with ``name`` and the three handoffs' ``arg``
(channel, control memory, lifeline), in that order: ``tasker._platform.named(name)``
loads the same implementation in the worker.

A *handoff* is what a new worker gets of one resource: ``arg``, a string for its
command line (a file descriptor's number, a pipe's name), and ``inherit``, the
handles it must inherit — and no other handle is inherited. The parent closes its
copies of a handoff's handles (``Handoff.close``) once the worker has started.

What every implementation must keep (the engine relies on it):

* **Private**: a channel and its shared memory are reachable only by the two
  processes (no name another user could open; or, where a name is needed, one
  nobody can guess, made with exclusive creation, and removed or authenticated).
* **Tree**: ``spawn`` starts the worker so that every process its tasks start
  (unless one leaves on purpose) can be stopped together with it:
  ``kill_tree`` kills that whole tree, ``suspend_tree`` stops or continues it
  (a stopped tree uses no CPU). Whenever a worker ends, its tree is killed
  *before* the worker is reaped (``poll``/``wait`` do it).
* **Only ours**: no signal (no kill, no suspend) ever reaches a process that is
  not provably the one started, or a process of its tree: a pid is not proof
  once the process could have been reaped by someone else (pidfds on Linux; a
  child's start time checked while it is unreaped; a handle on Windows).
* **Parent death**: when the application dies, however it dies (a SIGKILL
  too), every worker and its tree die soon after: ``watch_parent`` in the
  worker, with the ``Lifeline`` the pool holds open.
* **Never blocks the caller on a dead peer**: ``Channel.recv`` raises
  ``EOFError`` once the peer is gone; sends to a gone peer raise ``OSError``.

Handles (``Handle``) are ints: file descriptors on POSIX, ``HANDLE`` values on
Windows. The payload segments a message carries are handles that the channel
hands over to the peer with the message (``SCM_RIGHTS`` on POSIX); whoever
receives one owns it and closes it (``close_handle``) once mapped.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object  # (only a base for the type checker: no run-time checks use it)

#: An OS handle: a file descriptor (POSIX) or a ``HANDLE`` value (Windows).
Handle = int

#: The environment variable that forces an implementation (tests): linux, posix or windows.
ENV_VAR = "TASKER_PLATFORM"

#: Exit code of a worker that ended because its parent died (its lifeline closed).
EXIT_PARENT_GONE = 70


class Features:
    """What an implementation does for each feature, in words (docs, tests, diagnostics).

    ``name`` is the implementation's (``linux``, ``posix``, ``windows``); the other
    fields say *how* it does each thing, e.g. ``tree_kill="process group, SIGKILL"``.
    (Small typed records here are plain slotted classes, not ``dataclasses``: a
    worker imports this module at its start, and ``dataclasses`` costs milliseconds.)
    """

    __slots__ = ("channel", "memory", "name", "parent_death", "pause", "proof", "shared_memory", "tree_kill")

    def __init__(
        self,
        *,
        name: str,
        channel: str,
        shared_memory: str,
        tree_kill: str,
        pause: str,
        parent_death: str,
        memory: str,
        proof: str,
    ) -> None:
        self.name = name
        self.channel = channel  # the private duplex channel to a worker
        self.shared_memory = shared_memory  # cancel/pause flags and large payloads
        self.tree_kill = tree_kill  # how a worker's tree is killed
        self.pause = pause  # how a worker's tree is suspended and resumed
        self.parent_death = parent_death  # how workers die with the application
        self.memory = memory  # how a worker's resident memory is read (memory cap)
        self.proof = proof  # what proves a process is ours before it is signalled

    def as_dict(self) -> dict[str, str]:
        return {field: getattr(self, field) for field in FEATURE_FIELDS}

    def __repr__(self) -> str:
        return f"Features({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"


#: ``Features``' fields, in the order the docs' table shows them.
FEATURE_FIELDS = ("name", "channel", "shared_memory", "tree_kill", "pause", "parent_death", "memory", "proof")


class Handoff:
    """One resource as a new worker gets it: an argument and the handles it inherits.

    ``close`` closes this process's copies of ``inherit`` with ``closer`` (after
    the worker has started, or when starting failed); idempotent.
    """

    __slots__ = ("arg", "closer", "inherit")

    def __init__(
        self, arg: str, inherit: tuple[Handle, ...] = (), closer: Callable[[Handle], None] | None = None
    ) -> None:
        self.arg = arg
        # Invariant: once closed, ``inherit`` is empty (nothing is closed twice).
        self.inherit = inherit
        self.closer = closer

    def close(self) -> None:
        handles, self.inherit = self.inherit, ()
        if self.closer is not None:
            for handle in handles:
                try:
                    self.closer(handle)
                except OSError:
                    pass

    def __repr__(self) -> str:
        return f"Handoff(arg={self.arg!r}, inherit={self.inherit!r})"


def _nothing() -> None:
    pass


class Lifeline:
    """The pool's side of the parent-death watch: open while the pool lives.

    Every worker gets ``handoff`` (shared: the pool closes it once, with ``close``,
    at shutdown — and the OS closes it when the application dies, which is what
    the workers' ``watch_parent`` sees).
    """

    __slots__ = ("closer", "handoff")

    def __init__(self, handoff: Handoff, closer: Callable[[], None] = _nothing) -> None:
        self.handoff = handoff
        self.closer = closer

    def close(self) -> None:
        closer, self.closer = self.closer, _nothing
        closer()


class Channel(Protocol):
    """A private, ordered, duplex byte-message channel between the parent and one worker.

    Each message is ``prefix + body`` plus a list of handles (payload segments)
    that travel with it and belong to the receiver from then on. Sends from
    several threads must be serialised by the caller; one thread receives.
    """

    def send(
        self,
        body: bytes | bytearray | memoryview,
        handles: list[Handle] | tuple[Handle, ...] = (),
        prefix: bytes = b"",
    ) -> None:
        """Send one message (the handles are duplicated to the peer: the caller keeps its own)."""
        ...

    def recv(self) -> tuple[bytearray, list[Handle]]:
        """The next message and its handles (now the caller's); ``EOFError`` when the peer is gone."""
        ...

    def wait_readable(self, timeout: float | None) -> bool:
        """True once a message (or the end) can be read, False after ``timeout`` seconds."""
        ...

    def close(self) -> None:
        """Close this end (idempotent); a thread blocked in ``recv`` then gets ``EOFError`` or ``OSError``."""
        ...


class WorkerProcess(Protocol):
    """The parent's hold on one started worker: its tree, its memory, its end.

    ``returncode`` is set once it is reaped (negative: the signal that ended it);
    ``reaped_elsewhere`` is True if the application reaped it behind our back
    (the exit status is then unknown, and nothing is signalled by pid any more).
    """

    pid: int
    returncode: int | None
    reaped_elsewhere: bool

    def kill_tree(self) -> None:
        """Kill the worker and every process of its tree (only ours: see the module docstring)."""
        ...

    def suspend_tree(self, stop: bool) -> None:
        """Suspend (``stop``) or resume the worker and its tree."""
        ...

    def rss(self) -> int | None:
        """The worker's resident memory in bytes (not its tree's), or None (gone, or unreadable)."""
        ...

    def poll(self) -> int | None:
        """The exit code once it has ended (its tree killed first, then reaped), else None."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """``poll`` once it has ended; ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        ...

    def release(self) -> None:
        """Free what holds it (a pidfd, a handle) once it is reaped; idempotent."""
        ...


class Platform(Protocol):
    """Everything the process engine asks of the OS (see the module docstring)."""

    #: ``linux``, ``posix`` or ``windows``: travels on the worker's command line.
    name: str
    features: Features
    #: Large payloads travel in shared memory (``payload_segment``); else inside the message.
    shares_payloads: bool
    #: The exit status of a worker killed by force (``kill_tree``, or from outside the same
    #: way): ``-SIGKILL`` on Unix, the job's kill code on Windows (which has no SIGKILL).
    killed_code: int

    # -- parent side ------------------------------------------------------------------
    def lifeline(self) -> Lifeline:
        """The parent-death watch of one pool (held open until ``Lifeline.close``)."""
        ...

    def channel_pair(self) -> tuple[Channel, Handoff]:
        """A new private channel: this process's end, and the worker's handoff."""
        ...

    def control_memory(self, size: int) -> tuple[mmap.mmap, Handoff]:
        """``size`` zeroed bytes shared with one worker (cancel flags): this side's map, its handoff."""
        ...

    def spawn(self, argv: list[str], inherit: Sequence[Handle], env: dict[str, str]) -> WorkerProcess:
        """Start a worker so that its tree can be stopped together (see ``WorkerProcess``).

        Its stdin reads nothing (never the terminal), it is out of reach of the
        terminal's Ctrl-C, and it inherits the handles in ``inherit`` only.
        Raises ``OSError`` (or ``subprocess.SubprocessError``) if it cannot start.
        """
        ...

    def frozen_boot(self, data: bytes) -> tuple[list[str], Handoff]:
        """How a frozen application's worker gets ``data`` (a pickled boot) at its start.

        The worker runs ``app.exe --multiprocessing-fork ARGS…``, and
        ``multiprocessing.spawn.spawn_main`` reads ``data`` from the pipe those
        arguments name: returns the arguments (e.g. ``["pipe_handle=7"]``) and the
        pipe's handoff (its handles inherited; closed here once the worker started).
        """
        ...

    def set_idle(self, tid: int, idle: bool) -> bool:
        """Put a thread (0: the calling one; else a thread or worker id) at idle priority or back.

        False if refused or not possible here: then workers boot at normal priority.
        """
        ...

    # -- large payloads (either side) -------------------------------------------------
    def payload_segment(self, data: memoryview) -> Handle:
        """A new private shared-memory segment holding a copy of ``data`` (bytes); the caller owns it."""
        ...

    def map_segment(self, handle: Handle) -> Any:
        """The segment's bytes, mapped writable (a buffer for ``pickle.loads``); ``handle`` stays open."""
        ...

    def close_handle(self, handle: Handle) -> None:
        """Close a handle (a payload segment received or made); errors are ignored."""
        ...

    # -- worker side ------------------------------------------------------------------
    def worker_channel(self, arg: str) -> Channel:
        """The worker's end of its channel, from the handoff's ``arg`` (not inherited further)."""
        ...

    def worker_control(self, arg: str, size: int) -> mmap.mmap:
        """The worker's map of its control memory, from the handoff's ``arg`` (the handle is closed)."""
        ...

    def watch_parent(self, arg: str) -> None:
        """Make this worker and its tree die when the parent dies (from the lifeline's ``arg``).

        Returns at once: the watch runs in the background (a thread, the kernel).
        On the parent's death the worker exits with ``EXIT_PARENT_GONE``.
        """
        ...

    def own_rss(self) -> Callable[[], int] | None:
        """A reader of this process's resident memory in bytes (0 when unreadable), or None."""
        ...
