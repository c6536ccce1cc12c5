"""Task functions of the frozen test app, in a module of its own: shipped by reference."""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def square(ctx: Any, x: int) -> int:
    return x * x


def report(ctx: Any, steps: int) -> int:
    """Progress and events, in order."""
    ctx.set_total(steps)
    for i in range(steps):
        ctx.send_event("step", i)
        ctx.set_progress(i + 1)
    ctx.flush()
    return steps


def until_canceled(ctx: Any) -> str:
    ctx.send_event("started", os.getpid())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ctx.is_cancelled():
            return "stopped"
        time.sleep(0.001)
    return "limit"


def stuck(ctx: Any) -> str:
    """Never looks at cancellation: killed after the grace period."""
    ctx.send_event("started", os.getpid())
    time.sleep(30)
    return "late"


def describe(ctx: Any) -> dict[str, Any]:
    """What the worker process looks like from inside."""
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "argv": sys.argv,
        "frozen": bool(getattr(sys, "frozen", False)),
        "meipass": getattr(sys, "_MEIPASS", None),
        "marker": os.environ.get("TASKER_FROZEN_WORKER"),
        "main_module": getattr(sys.modules.get("__main__"), "__file__", None),
    }
