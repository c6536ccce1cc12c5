"""Task functions and helpers that cross process boundaries.

Everything here is module-level so every pool (ProcessPoolExecutor, loky,
pebble, Rayforge, tasker) can pickle it by reference. Every task function
takes an execution context first, as tasker and Rayforge pass one; peers get
a ``NullCtx`` or a ``FlagCtx`` from their adapter instead.

This module imports only the standard library at import time, so a worker
that unpickles a no-op does not pay for NumPy.
"""

from __future__ import annotations

import mmap
import os
import select
import shutil
import tempfile
import time
from typing import Any

__all__ = [
    "NULL_CTX",
    "Beacon",
    "FlagCtx",
    "FloorCtx",
    "NullCtx",
    "anoop",
    "die",
    "flood",
    "make_array",
    "make_bytes",
    "measure_calls",
    "noop",
    "note_cancel",
    "preload_numpy",
    "spin_until_canceled",
    "stuck",
]


class NullCtx:
    """A do-nothing context for peers that have no ExecutionContext."""

    def is_cancelled(self) -> bool:
        return False

    def set_total(self, total: float) -> None:
        pass

    def set_progress(self, value: float) -> None:
        pass

    def set_message(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


NULL_CTX = NullCtx()


def _flag_dir() -> str:
    """/dev/shm when present: the flag file then never touches a disk."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


class FlagCtx(NullCtx):
    """Cooperative-cancel flag for peers: one byte of a memory-mapped file.

    This is the cheapest portable idiom a user of a plain pool would write
    (no round trip per check). A file mapping is used rather than
    ``multiprocessing.shared_memory`` so no resource tracker is involved
    (loky and multiprocessing each run their own).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._map: mmap.mmap | None = None

    @classmethod
    def create(cls) -> FlagCtx:
        fd, path = tempfile.mkstemp(prefix="bench-flag-", dir=_flag_dir())
        os.write(fd, b"\0")
        os.close(fd)
        return cls(path)

    def __getstate__(self) -> dict[str, Any]:
        return {"_path": self._path, "_map": None}

    def _mapping(self) -> mmap.mmap:
        if self._map is None:
            with open(self._path, "r+b") as fh:
                self._map = mmap.mmap(fh.fileno(), 1)
        return self._map

    def is_cancelled(self) -> bool:
        return self._mapping()[0] != 0

    def set(self) -> None:
        """Raise the flag (called by the adapter on the main thread)."""
        self._mapping()[0] = 1

    def remove(self) -> None:
        """Delete the backing file; open mappings stay valid."""
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass


class FloorCtx(FlagCtx):
    """The floor for in-task calls: a flag byte read, an attribute write."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._total = 1.0
        self.progress = 0.0

    @classmethod
    def create(cls) -> FloorCtx:
        flag = FlagCtx.create()
        return cls(flag._path)

    def set_total(self, total: float) -> None:
        self._total = float(total) or 1.0

    def set_progress(self, value: float) -> None:
        self.progress = value / self._total


class Beacon:
    """A task says "I am running now" through a FIFO; the parent waits on it.

    Used instead of sleeping: the parent blocks in ``select`` with a deadline
    until N tasks have signalled. The parent also holds a write end open so
    the read end never sees EOF between writers.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._rfd = -1
        self._wfd = -1

    @classmethod
    def create(cls) -> Beacon:
        folder = tempfile.mkdtemp(prefix="bench-beacon-")
        beacon = cls(os.path.join(folder, "fifo"))
        os.mkfifo(beacon.path)
        beacon._rfd = os.open(beacon.path, os.O_RDONLY | os.O_NONBLOCK)
        beacon._wfd = os.open(beacon.path, os.O_WRONLY | os.O_NONBLOCK)
        return beacon

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_rfd": -1, "_wfd": -1}

    def signal(self) -> None:
        """Called inside a task: one byte per signal."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.write(fd, b"!")
        finally:
            os.close(fd)

    def wait(self, count: int, timeout: float) -> int:
        """Block until ``count`` signals arrived or ``timeout`` passed."""
        got = 0
        deadline = time.perf_counter() + timeout
        while got < count:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            ready, _, _ = select.select([self._rfd], [], [], left)
            if ready:
                got += len(os.read(self._rfd, count - got))
        return got

    def close(self) -> None:
        for fd in (self._rfd, self._wfd):
            if fd >= 0:
                os.close(fd)
        self._rfd = self._wfd = -1
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)


def noop(ctx: Any) -> None:
    """The unit of dispatch cost: does nothing."""
    return None


async def anoop(ctx: Any) -> None:
    """Coroutine no-op."""
    return None


def die(ctx: Any) -> None:
    """Kill the worker process without any cleanup, as a crash would."""
    os._exit(1)


def spin_until_canceled(ctx: Any, beacon: Beacon, limit_s: float) -> str:
    """A cooperative task: checks its cancel flag in a tight loop."""
    beacon.signal()
    deadline = time.perf_counter() + limit_s
    while not ctx.is_cancelled():
        if time.perf_counter() > deadline:
            return "not canceled"
    return "canceled"


def note_cancel(ctx: Any, beacon: Beacon, path: str, limit_s: float) -> str:
    """Cooperative: checks its flag in a tight loop; writes when (time.monotonic) it saw it to ``path``."""
    beacon.signal()
    deadline = time.monotonic() + limit_s
    while not ctx.is_cancelled():
        if time.monotonic() > deadline:
            return "not canceled"
    seen = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of this machine
    with open(path, "w") as out:
        out.write(repr(seen))
    return "canceled"


def stuck(ctx: Any, beacon: Beacon, seconds: float) -> None:
    """A non-cooperative task: sleeps and never looks at its cancel flag."""
    beacon.signal()
    time.sleep(seconds)


def flood(ctx: Any, beacon: Beacon, seconds: float) -> int:
    """Report progress as fast as possible for ``seconds``; returns calls made."""
    beacon.signal()
    ctx.set_total(1024)
    calls = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for i in range(1024):
            ctx.set_progress(i)
        calls += 1024
    return calls


def _per_call_ns(body_ns: int, empty_ns: int, n: int) -> float:
    return max(0.0, (body_ns - empty_ns) / n)


def _calibrate(ctx: Any, target_s: float) -> int:
    """Pick a loop length that takes about ``target_s`` for the slowest call."""
    probe = 64
    start = time.perf_counter()
    for _ in range(probe):
        ctx.is_cancelled()
        ctx.set_progress(0)
    per_call = max((time.perf_counter() - start) / probe, 1e-8)
    return int(min(2_000_000, max(1_000, target_s / per_call)))


def measure_calls(ctx: Any, target_s: float) -> dict[str, float]:
    """Per-call cost of is_cancelled() and set_progress() inside a task.

    Each loop is timed and an empty loop of the same length is subtracted,
    so what remains is the call itself as a user's inner loop would pay it.
    """
    n = _calibrate(ctx, target_s)
    ctx.set_total(n)
    rng = range(n)
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in rng:
        pass
    empty = clock() - t0
    t0 = clock()
    for _ in rng:
        ctx.is_cancelled()
    cancel_ns = clock() - t0
    t0 = clock()
    for i in rng:
        ctx.set_progress(i)
    progress_ns = clock() - t0
    return {
        "is_cancelled_ns": _per_call_ns(cancel_ns, empty, n),
        "set_progress_ns": _per_call_ns(progress_ns, empty, n),
        "calls": float(n),
    }


def preload_numpy(ctx: Any) -> None:
    """Warm-up task: workers import NumPy before the timed task."""
    import numpy  # noqa: F401


def make_array(ctx: Any, nbytes: int) -> Any:
    """A NumPy result of ``nbytes`` (every page touched)."""
    import numpy

    return numpy.full(nbytes, 7, dtype=numpy.uint8)


def make_bytes(ctx: Any, nbytes: int) -> bytes:
    """A ``bytes`` result of ``nbytes`` (every page touched)."""
    return b"\x07" * nbytes


# -- pausing and the memory cap (bench/scenarios/pausing.py) ---------------------------------
def spin_unchecked(ctx: Any, beacon: Beacon, limit_s: float) -> str:
    """Says it runs, then burns CPU without ever calling the context."""
    beacon.signal()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        pass
    return "limit"


def progress_until_canceled(ctx: Any, beacon: Beacon, limit_s: float) -> str:
    """Says it runs, then calls set_progress() in a loop (a thread task pauses in it)."""
    beacon.signal()
    deadline = time.monotonic() + limit_s
    i = 0
    while not ctx.is_cancelled() and time.monotonic() < deadline:
        i += 1
        ctx.set_progress((i % 1000) / 1000)
    return "stopped"


def allocate_past(ctx: Any, stamp_path: str, cap: int, step: int = 4 << 20) -> int:
    """Allocates in ``step``s (every page touched) up to ``cap``; after each step appends
    ``time.monotonic() rss`` to ``stamp_path`` (a clock every process on the machine shares)."""
    page = os.sysconf("SC_PAGE_SIZE")
    held = []
    with open("/proc/self/statm", "rb", buffering=0) as statm, open(stamp_path, "a", buffering=1) as out:
        while len(held) * step < cap:
            statm.seek(0)
            out.write(f"{time.monotonic()!r} {int(statm.read().split()[1]) * page}\n")
            held.append(bytearray(b"x") * step)
    return len(held) * step


# -- streams and batches (issue 20) ---------------------------------------------------------
def map_noop(ctx: Any, item: Any) -> Any:
    """A batch item that does nothing: what a map costs per item."""
    return item


def cpu_item(ctx: Any, item: Any, seconds: float = 0.02) -> int:
    """A batch item of about ``seconds`` of CPU (a busy loop, no sleep)."""
    end = time.process_time() + seconds
    count = 0
    while time.process_time() < end:
        count += 1
    return count


def yield_values(ctx: Any, n: int) -> Any:
    """A generator task: ``n`` small values, then their count."""
    yield from range(n)
    return n


def queue_values(queue: Any, go: Any, n: int) -> None:
    """The peers' way to stream from a process: put ``n`` values on a multiprocessing.Queue."""
    go.wait()
    for i in range(n):
        queue.put(i)
    queue.put(None)
