"""Task functions for the cluster tests (importable on the Dask workers: PYTHONPATH)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from tasker import ExecutionContext


class Custom(Exception):
    """Rebuilt with its type in the app."""


def ok(ctx: ExecutionContext, x: int = 1) -> int:
    return x * 2


def where(ctx: ExecutionContext) -> tuple[int, str]:
    from distributed import get_worker

    return os.getpid(), get_worker().address


def report(ctx: ExecutionContext, n: int = 10) -> str:
    """Progress, message and a sub_context; the parts as events."""
    ctx.set_total(n)
    ctx.set_message("working")
    for i in range(n):
        ctx.set_progress(i + 1)
    ctx.flush()
    stage = ctx.sub_context(0.5, 0.5, total=4)
    stage.set_progress(2)  # 0.5 + 0.5 * 0.5
    ctx.send_event("stage", round(stage_progress(ctx), 3))
    ctx.set_progress(n)
    ctx.set_message("done")
    return "reported"


def stage_progress(ctx: ExecutionContext) -> float:
    return float(ctx._cell._progress)  # type: ignore[attr-defined]


def events(ctx: ExecutionContext, n: int, log_to: str | None = None) -> int:
    """``n`` events numbered 0..n-1; with ``log_to``, the count sent so far in that file."""
    for i in range(n):
        ctx.send_event("n", i)
        if log_to is not None:
            Path(log_to).write_text(str(i + 1))
    return n


def until_canceled(ctx: ExecutionContext, limit: float = 60.0) -> str:
    """tests/jobs.py's cooperative loop, after an event saying where it runs."""
    import jobs

    ctx.send_event("started", os.getpid())
    return jobs.until_canceled(ctx, limit)


def stuck(ctx: ExecutionContext, limit: float = 120.0) -> str:
    """Never checks is_cancelled(); says where it runs first."""
    ctx.send_event("started", os.getpid())
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return "limit"


def fail(ctx: ExecutionContext) -> None:
    ctx.set_progress(0.25)
    raise Custom("it broke")


def exit_task(ctx: ExecutionContext) -> None:
    raise SystemExit(7)


def log_something(ctx: ExecutionContext, text: str) -> int:
    logging.getLogger("tests.cluster").warning("from the cluster: %s", text)
    return os.getpid()


class ClusterWarning(UserWarning):
    pass


def warn_twice(ctx: ExecutionContext, text: str) -> str:
    """Two warnings from one place: the worker shows (sends) it once."""
    import warnings

    for _ in range(2):
        warnings.warn(text, ClusterWarning, stacklevel=1)
    return "warned"


def ask(ctx: ExecutionContext, data: Any = None, timeout: float | None = None) -> Any:
    return ctx.ask("question", data, timeout=timeout)


def ask_catch(ctx: ExecutionContext) -> str:
    try:
        ctx.ask("question", None)
    except BaseException as error:
        return type(error).__name__
    return "answered"


def unpicklable_event(ctx: ExecutionContext) -> str:
    ctx.send_event("bad", Unloadable())
    return "sent"


class Unloadable:
    """Pickles on the worker; refuses to be rebuilt in the app."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_refuse, ())


def _refuse() -> None:
    if os.environ.get("TASKER_CLUSTER_TEST_APP"):
        raise RuntimeError("cannot rebuild this here")


def noop(ctx: ExecutionContext) -> None:
    return None


def unpicklable_result(ctx: ExecutionContext) -> Any:
    import threading

    return threading.Lock()


def flush_then_event(ctx: ExecutionContext) -> str:
    """The message, flushed, must be in the app before the event sent after it."""
    ctx.set_message("flushed")
    ctx.flush()
    ctx.send_event("after", None)
    return "ok"


def count_until_canceled(ctx: ExecutionContext, path: str) -> str:
    """Counts its loops into ``path`` (reporting progress each time) until canceled."""
    ctx.send_event("started", os.getpid())
    loops = 0
    while not ctx.is_cancelled():
        loops += 1
        Path(f"{path}.new").write_text(str(loops))
        os.replace(f"{path}.new", path)  # whole: a reader never sees the file empty (truncated)
        ctx.set_progress((loops % 100) / 100)
        time.sleep(0.002)
    return "stopped"


def flag_of(token: str) -> int | None:
    """On a worker: the flag byte of a running task (None: not running here)."""
    from tasker.runners.cluster import _worker

    cell = _worker._running.get(token)
    return None if cell is None else cell.flag[0]


def closing_noise_filters() -> tuple[int, int, bool, bool, bool, bool]:
    """On a worker: (ClosingNoise filters on distributed.worker, on distributed.nanny, heartbeat race
    kept?, another worker record kept?, stop-queue race kept?, another nanny record kept?)."""
    from tasker.runners.cluster._worker import ClosingNoise

    def noise(name: str) -> list[logging.Filter]:
        return [f for f in logging.getLogger(name).filters if isinstance(f, ClosingNoise)]

    def kept(name: str, text: str) -> bool:
        record = logging.makeLogRecord({"name": name, "msg": text})
        return all(f.filter(record) for f in noise(name))

    worker, nanny = "distributed.worker", "distributed.nanny"
    return (
        len(noise(worker)),
        len(noise(nanny)),
        kept(worker, "Failed to communicate with scheduler during heartbeat."),
        kept(worker, "Heartbeat failed"),
        kept(nanny, "Worker process died unexpectedly"),
        kept(nanny, "Failed to start worker"),
    )


def once_then_until_canceled(ctx: ExecutionContext, path: str, limit: float = 60.0) -> str:
    """Its side effect first (a line in ``path``), then where it runs, then the cooperative loop."""
    with open(path, "a") as runs:
        runs.write(f"{os.getpid()}\n")
    ctx.send_event("started", os.getpid())
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not ctx.is_cancelled():
        time.sleep(0.002)
    return "stopped"


def story_of(key: str, dask_worker: Any = None) -> int:
    """On a worker: how many entries its state machine logged about ``key`` (0: never sent here)."""
    return len(dask_worker.state.story(key))


def executing(dask_worker: Any = None) -> int:
    """On a worker: tasks whose function is running in one of its threads now."""
    return len(dask_worker.state.executing)


def processing(dask_scheduler: Any = None) -> int:
    """On the scheduler: the keys it has sent to a worker and not heard back about."""
    return sum(1 for ts in dask_scheduler.tasks.values() if ts.state == "processing")


def events_around_a_gate(ctx: ExecutionContext, n: int, gate: str, limit: float = 60.0) -> int:
    """Events 0..n/2-1, then (once ``gate`` exists: the test forged its events meanwhile) the rest."""
    half = n // 2
    for i in range(half):
        ctx.send_event("n", i)
    deadline = time.monotonic() + limit
    while not os.path.exists(gate) and time.monotonic() < deadline and not ctx.is_cancelled():
        time.sleep(0.005)
    for i in range(half, n):
        ctx.send_event("n", i)
    return n


class Marker:
    """Unpickled anywhere, it writes its file: the proof that someone unpickled it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (Path(self.path), "unpickled"))
