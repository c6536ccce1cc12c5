"""Process-task functions for the Rayforge compat tests (imported by worker processes)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

#: Set in a worker by ``init_worker``: the shared_state it was given.
SHARED: Any = None


def init_worker(shared_state: Any, tag: str) -> None:
    """A Rayforge-style initializer: ``initializer(shared_state, *initargs)``."""
    global SHARED
    SHARED = shared_state
    shared_state[f"init:{os.getpid()}"] = tag


def failing_init(shared_state: Any) -> None:
    raise RuntimeError("initializer broke")


def steps(ctx: Any, n: int, result: Any = "process_done") -> Any:
    ctx.set_total(n)
    for i in range(n):
        ctx.set_progress(i + 1)
        ctx.set_message(f"Process step {i + 1}")
    return result


def describe(ctx: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """What the function received: the context's type and the arguments."""
    return {"context": type(ctx).__name__, "args": args, "kwargs": kwargs, "pid": os.getpid()}


def fail(ctx: Any) -> None:
    raise ValueError("Process failed intentionally")


def sub_contexts(ctx: Any) -> float:
    """Report through nested sub-contexts; returns the last value sent."""
    child = ctx.sub_context(0.5, 0.5, total=200)  # 50%..100%
    child.set_progress(100)  # half of the child: 75%
    ctx.flush()
    return 0.75


def events(ctx: Any, *names: str) -> int:
    for name in names:
        ctx.send_event(name, {"name": name})
    ctx.send_event("no-data")  # data=None arrives as {}
    return len(names) + 1


def adopt(ctx: Any, timeout: float = 5.0, log: bool = False) -> bool:
    logger = logging.getLogger("rf_jobs.adopt") if log else None
    return bool(ctx.send_event_and_wait("adopt", {"handle": 7}, timeout=timeout, logger=logger))


def adopt_into(ctx: Any, outcome: Any) -> None:
    """``send_event_and_wait`` whose answer is put on a manager queue (the task may be cancelled)."""
    outcome.put("asking")
    outcome.put(ctx.send_event_and_wait("adopt", {"handle": 8}, timeout=30.0))


def until_cancelled(ctx: Any, seconds: float = 30.0) -> str:
    ctx.send_event("started")
    deadline = time.monotonic() + seconds
    while not ctx.is_cancelled():
        if time.monotonic() > deadline:
            return "never cancelled"
        time.sleep(0.005)  # a busy worker loop, as a real task would compute
    return "saw cancel"


def shared_value(ctx: Any, key: str) -> Any:
    """Read (and write) the shared_state the initializer got, from a task."""
    assert SHARED is not None, "init_worker did not run in this worker"
    SHARED[f"task:{key}"] = os.getpid()
    return SHARED.get(key)


def pid(ctx: Any) -> int:
    return os.getpid()


def reserved_kwargs(ctx: Any, timeout: float = 0.0, priority: int = 0) -> tuple[float, int]:
    """``timeout``/``priority`` are tasker's reserved names but Rayforge passes them on."""
    return timeout, priority


def translated(ctx: Any) -> str:
    """Rayforge's workers have a gettext fallback: ``_("text")`` is the text."""
    import builtins

    return str(vars(builtins)["_"]("untranslated text"))
