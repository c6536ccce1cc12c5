"""Task functions for the control tests (pause, priorities, recycling, warnings).

Importable by worker processes (tests/ is on their path, as for ``jobs``).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any

from tasker import ExecutionContext

GATE = threading.Event()  # thread tasks wait on it; processes wait for a file


def wait_gate(ctx: ExecutionContext, path: str | None = None, limit: float = 30.0) -> str:
    """Blocks until released: ``GATE`` in threads, the file ``path`` in processes."""
    ctx.set_message("at the gate")
    ctx.flush()
    deadline = time.monotonic() + limit
    if path is None:
        GATE.wait(limit)
    else:
        tick = threading.Event()  # never set: bounded waits between looks
        while not os.path.exists(path) and time.monotonic() < deadline:
            tick.wait(0.002)
    return "through"


def stamp(ctx: ExecutionContext, label: Any) -> tuple[Any, int]:
    """When it started (a monotonic clock shared by every process on the machine).

    ``perf_counter``: on Windows ``monotonic`` ticks every ~16 ms, so tasks started
    one after another would share a stamp.
    """
    return label, time.perf_counter_ns()


def pid(ctx: ExecutionContext) -> int:
    return os.getpid()


def spin(ctx: ExecutionContext, limit: float = 30.0) -> str:
    """Burns CPU and never calls the context (a native call that never checks)."""
    deadline = time.monotonic() + limit
    n = 0
    while time.monotonic() < deadline:
        n += 1
    return "spun"


def count_up(ctx: ExecutionContext, path: str | None = None, limit: float = 30.0) -> int:
    """Counts with a context call per step until canceled or ``path`` exists."""
    deadline = time.monotonic() + limit
    n = 0
    while time.monotonic() < deadline:
        if ctx.is_cancelled():
            return -n
        n += 1
        ctx.set_progress(min(n / 1e6, 0.99))
        if path is not None and n % 256 == 0 and os.path.exists(path):
            break
    return n


def allocate(ctx: ExecutionContext, total: int, step: int = 16 << 20) -> int:
    """Allocates ``total`` bytes in steps (each page touched); returns what it held."""
    held = []
    size = 0
    while size < total:
        held.append(bytearray(b"x") * step)
        size += step
        ctx.set_progress(size / total)
    return size


def hold(ctx: ExecutionContext, nbytes: int) -> int:
    """Keeps ``nbytes`` allocated in the worker after the task (a leak)."""
    global _LEAK
    _LEAK = bytearray(b"x") * nbytes
    return os.getpid()


_LEAK: bytearray | None = None


def warn(ctx: ExecutionContext, text: str, category: type[Warning] = UserWarning) -> str:
    warnings.warn(text, category, stacklevel=1)
    return "warned"


async def awarn(ctx: ExecutionContext, text: str, category: type[Warning] = UserWarning) -> str:
    """``warn`` as a coroutine, with a second warning from an asyncio task it starts."""
    import asyncio

    warnings.warn(text, category, stacklevel=1)

    async def child() -> None:
        warnings.warn(f"{text} (child)", category, stacklevel=1)

    await asyncio.get_running_loop().create_task(child())
    return "warned"


class CustomWarning(UserWarning):
    pass


def warn_made_here(ctx: ExecutionContext, text: str) -> str:
    """A warning whose category exists only in the worker (it cannot be rebuilt in the app)."""
    category = type("LocalWarning", (UserWarning,), {"__module__": "nowhere.to.be.found"})
    warnings.warn(text, category, stacklevel=1)
    return "warned"


def warn_twice(ctx: ExecutionContext, text: str) -> str:
    for _ in range(2):
        warnings.warn(text, UserWarning, stacklevel=1)  # one location: shown once
    return "warned"
