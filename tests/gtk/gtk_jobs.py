"""Task functions for the GTK scenarios (importable by worker processes)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

#: Released by the scenarios to let gated thread tasks finish.
GATE = threading.Event()


def events_sync(ctx: Any, n: int = 3) -> str:
    for i in range(n):
        ctx.send_event("step", i)
        ctx.set_progress((i + 1) / n)
    return "sync done"


async def events_async(ctx: Any, n: int = 3) -> str:
    for i in range(n):
        ctx.send_event("step", i)
        ctx.set_progress((i + 1) / n)
        await asyncio.sleep(0)
    return "async done"


def gated(ctx: Any, progress: float | None, message: str | None, fail: bool = False) -> str:
    """Reports once, then waits for GATE (or cancellation)."""
    if message is not None:
        ctx.set_message(message)
    if progress is not None:
        ctx.set_progress(progress)
    ctx.flush()
    while not GATE.wait(0.01):
        if ctx.is_cancelled():
            return "canceled"
    if fail:
        raise ValueError("boom: the gate opened onto a wall")
    return "released"


async def gated_async(ctx: Any, message: str) -> str:
    ctx.set_message(message)
    ctx.flush()
    while not GATE.is_set():
        await asyncio.sleep(0.01)
    return "released"


def steady(ctx: Any, seconds: float, steps: int = 60) -> str:
    """Progress at a steady rate, so an ETA can be shown."""
    ctx.set_total(steps)
    for i in range(steps):
        if ctx.is_cancelled():
            return "canceled"
        time.sleep(seconds / steps)
        ctx.set_progress(i + 1)
        ctx.set_message(f"step {i + 1} of {steps}")
    return "steady done"


def fail_fast(ctx: Any) -> None:
    raise RuntimeError("failed before any update")


def noop(ctx: Any) -> int:
    return 0


def square(ctx: Any, x: int) -> int:
    return x * x


async def ask_main_thread(ctx: Any) -> dict[str, Any]:
    """A coroutine task that runs code on the main thread and gets its result."""
    from tasker import task_mgr

    def on_main() -> dict[str, Any]:
        return {"main": threading.current_thread() is threading.main_thread(), "value": 41 + 1}

    answer = await task_mgr.run_on_main_thread(on_main)
    return {
        "answer": answer,
        "worker_thread": threading.current_thread().name,
        "task_loop": type(asyncio.get_running_loop()).__name__,
    }


def burn(seconds: float) -> int:
    """A plain CPU-bound loop (the OS-contention baseline, without tasker)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def ask_once(ctx: Any, question: str) -> Any:
    """context.ask from a worker process: the GTK main loop answers."""
    return ctx.ask("question", question, timeout=30)
