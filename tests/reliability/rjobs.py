"""Task functions for the reliability suite; importable by worker processes.

Like ``tests/jobs.py``: sync functions run as threads or processes, ``a_``
functions are their coroutine forms.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from tasker import ExecutionContext


def _refuse() -> None:
    raise RuntimeError("this object cannot be rebuilt outside the process that made it")


class OneWay:
    """Pickles anywhere, but unpickling it always fails (e.g. a class missing on the other side)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_refuse, ())


def one_way_result(ctx: ExecutionContext) -> OneWay:
    return OneWay()


def one_way_event(ctx: ExecutionContext) -> str:
    ctx.send_event("one-way", OneWay())
    return "after"


def takes_arg(ctx: ExecutionContext, value: Any) -> str:
    return "ran"


def memory_error(ctx: ExecutionContext) -> None:
    bytearray(1 << 60)  # a real allocation failure raised by the interpreter


async def a_memory_error(ctx: ExecutionContext) -> None:
    await asyncio.sleep(0)
    bytearray(1 << 60)


def event_after_cancel(ctx: ExecutionContext, limit: float = 30.0) -> str:
    deadline = time.monotonic() + limit
    ctx.send_event("before", 1)
    while not ctx.is_cancelled() and time.monotonic() < deadline:
        time.sleep(0.001)
    ctx.send_event("after-cancel", 2)
    return "stopped"


async def a_event_after_cancel(ctx: ExecutionContext, limit: float = 30.0) -> str:
    ctx.send_event("before", 1)
    try:
        await asyncio.sleep(limit)
    finally:
        ctx.send_event("after-cancel", 2)
    return "stopped"


def returns_now(ctx: ExecutionContext, value: int) -> int:
    """Returns at once: canceling it races with its ending."""
    return value


async def a_returns_now(ctx: ExecutionContext, value: int) -> int:
    return value


def gated(ctx: ExecutionContext, gate: str, outcome: str = "ok", value: int = 0) -> int:
    """Waits (cooperatively) until the file ``gate`` exists, then ends as told."""
    ctx.set_progress(0.5)
    while not os.path.exists(gate):
        if ctx.is_cancelled():
            return -1
        time.sleep(0.001)
    if outcome == "fail":
        raise ValueError(f"failed as asked ({value})")
    ctx.set_progress(1.0)
    return value


async def a_gated(ctx: ExecutionContext, gate: str, outcome: str = "ok", value: int = 0) -> int:
    ctx.set_progress(0.5)
    while not os.path.exists(gate):
        await asyncio.sleep(0.001)
    if outcome == "fail":
        raise ValueError(f"failed as asked ({value})")
    ctx.set_progress(1.0)
    return value


def _mixed_work(ctx: ExecutionContext, n: int, mode: str) -> Any:
    """What ``mixed`` does in every kind: fail, report, or make a 1 MiB result."""
    if mode == "fail":
        raise ValueError(f"fail {n}")
    if mode == "report":
        ctx.set_total(4)
        for i in range(4):
            ctx.set_progress(i + 1)
            ctx.set_message(f"{n}:{i}")
        ctx.send_event("step", n)
    if mode == "big":
        return bytes([n % 256]) * (1 << 20)  # 1 MiB: travels through shared memory
    return None


def mixed(ctx: ExecutionContext, n: int, mode: str) -> Any:
    """The soak/chaos work item: its result is a function of its inputs."""
    big = _mixed_work(ctx, n, mode)
    if big is not None:
        return big
    if mode == "sleep":
        time.sleep(0.002)
    return n * 3


async def a_mixed(ctx: ExecutionContext, n: int, mode: str) -> Any:
    big = _mixed_work(ctx, n, mode)
    if big is not None:
        return big
    await asyncio.sleep(0.002 if mode == "sleep" else 0)
    return n * 3


def expected_mixed(n: int, mode: str) -> Any:
    if mode == "big":
        return bytes([n % 256]) * (1 << 20)
    return n * 3


def busy(ctx: ExecutionContext, seconds: float = 60.0) -> int:
    """Burns CPU in pure Python, never checks cancellation."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
    return n


def gil_hog(ctx: ExecutionContext, n: int = 10**9) -> int:
    """Busy in native code that never releases the GIL (no other thread runs meanwhile)."""
    return sum(range(n))


def spawn_then_die(ctx: ExecutionContext, seconds: float = 30.0) -> None:
    """Starts a process that inherits what it can (close_fds=False), tells its pid, dies."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"], close_fds=False)
    ctx.send_event("grandchild", child.pid)
    os._exit(3)


def fd_report(ctx: ExecutionContext) -> dict[str, Any]:
    """What this worker holds: its fds and what a grandchild it starts inherits."""
    import subprocess
    import sys

    mine = {fd: _link(f"/proc/self/fd/{fd}") for fd in _fds("/proc/self/fd")}
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(sorted(os.listdir('/proc/self/fd')))"],
        capture_output=True,
        text=True,
        close_fds=False,  # even so, tasker's descriptors must not be inherited
        check=True,
    )
    return {"pid": os.getpid(), "fds": mine, "grandchild_fds": out.stdout.strip()}


def _fds(path: str) -> list[int]:
    return [int(x) for x in os.listdir(path)]


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def pid_then_wait(ctx: ExecutionContext, limit: float = 30.0) -> str:
    """Tells its pid (an event), then waits to be canceled."""
    ctx.send_event("pid", os.getpid())
    deadline = time.monotonic() + limit
    while not ctx.is_cancelled() and time.monotonic() < deadline:
        time.sleep(0.001)
    return "stopped"


def finishing(ctx: ExecutionContext, returning: threading.Event, value: int) -> int:
    """Signals that it is returning, then returns: a cancel now races with the ending."""
    returning.set()
    return value


async def a_finishing(ctx: ExecutionContext, returning: threading.Event, value: int) -> int:
    returning.set()
    return value


def two_events_then_return(ctx: ExecutionContext, value: int) -> int:
    """With max_pending_events=1 the parent's reader blocks on the second event,
    so the result waits in the pipe: the task is 'finishing'."""
    ctx.send_event("one", 1)
    ctx.send_event("two", 2)
    return value


SYNC = {
    name: obj
    for name, obj in list(globals().items())
    if callable(obj) and not name.startswith(("a_", "_")) and getattr(obj, "__module__", "") == __name__
}
ASYNC = {name[2:]: obj for name, obj in list(globals().items()) if name.startswith("a_") and callable(obj)}
