"""Generator task functions for the stream, batch and chain tests (importable by workers)."""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator
from typing import Any

from tasker import ExecutionContext

#: Set by the generators' ``finally`` (in-process kinds): the generator was closed.
CLOSED = threading.Event()
#: How many values ``forever``/``forever_async`` have yielded (in-process kinds; the test resets it).
#: A list item: on free-threaded CPython its store takes the list's lock, so it is seen by a
#: thread that reads it after a later write of the producer's (the task's control byte).
YIELDED = [0]


def count_up(context: ExecutionContext, n: int) -> Generator[int, None, str]:
    yield from range(n)
    return f"counted {n}"


async def count_up_async(context: ExecutionContext, n: int) -> AsyncGenerator[int, None]:
    for i in range(n):
        yield i


def forever(context: ExecutionContext, marker: str | None = None) -> Generator[int, None, None]:
    """Yields 0, 1, 2, ... until closed; its finally sets CLOSED (and writes ``marker``: other processes)."""
    i = 0
    try:
        while True:
            YIELDED[0] = i + 1
            yield i
            i += 1
    finally:
        CLOSED.set()
        if marker is not None:
            with open(marker, "w") as out:
                out.write("closed")


async def forever_async(context: ExecutionContext, marker: str | None = None) -> AsyncGenerator[int, None]:
    i = 0
    try:
        while True:
            YIELDED[0] = i + 1
            yield i
            i += 1
    finally:
        CLOSED.set()


def breaks_after(context: ExecutionContext, n: int) -> Generator[int, None, None]:
    yield from range(n)
    raise ValueError(f"broke after {n}")


async def breaks_after_async(context: ExecutionContext, n: int) -> AsyncGenerator[int, None]:
    for i in range(n):
        yield i
    raise ValueError(f"broke after {n}")


def big_values(context: ExecutionContext, n: int, nbytes: int) -> Generator[bytes, None, int]:
    for i in range(n):
        yield bytes([i]) * nbytes
    return n


def yields_a_lock(context: ExecutionContext) -> Generator[Any, None, None]:
    yield 1
    yield threading.Lock()
    yield 3


def many_then_a_lock(context: ExecutionContext, n: int) -> Generator[Any, None, None]:
    """``n`` ints, then a value that cannot be pickled, then one more int."""
    yield from range(n)
    yield threading.Lock()
    yield n


SYNC: dict[str, Any] = {"count_up": count_up, "forever": forever, "breaks_after": breaks_after}
ASYNC: dict[str, Any] = {"count_up": count_up_async, "forever": forever_async, "breaks_after": breaks_after_async}


def start(mgr: Any, kind: str, job: str, *args: Any, **kwargs: Any) -> Any:
    """Start the generator ``job`` as a task of ``kind``."""
    if kind == "coroutine":
        return mgr.add_coroutine(ASYNC[job], *args, **kwargs)
    if kind == "thread":
        return mgr.run_thread(SYNC[job], *args, **kwargs)
    if kind == "process":
        return mgr.run_process(SYNC[job], *args, **kwargs)
    return mgr.run_on_cluster(SYNC[job], *args, **kwargs)


# -- chain steps: fn(context, upstream's result, *args) ------------------------------------
def plus(context: ExecutionContext, value: int, amount: int = 1) -> int:
    context.set_message(f"adding {amount}")
    context.set_progress(0.5)
    return value + amount


async def plus_async(context: ExecutionContext, value: int, amount: int = 1) -> int:
    context.set_message(f"adding {amount}")
    context.set_progress(0.5)
    return value + amount


def step_fails(context: ExecutionContext, value: Any) -> None:
    raise KeyError(f"step got {value!r}")


async def step_fails_async(context: ExecutionContext, value: Any) -> None:
    raise KeyError(f"step got {value!r}")


def step(kind: str, name: str) -> Any:
    """The chain step ``name`` for ``kind`` (the async form for coroutines)."""
    table = {"plus": (plus, plus_async), "fails": (step_fails, step_fails_async)}
    sync, async_ = table[name]
    return async_ if kind == "coroutine" else sync


# -- batch items: fn(context, item) ---------------------------------------------------------
def square(context: ExecutionContext, item: int) -> int:
    context.set_progress(1.0)
    return item * item


async def square_async(context: ExecutionContext, item: int) -> int:
    return item * item


def odd_fails(context: ExecutionContext, item: int) -> int:
    if item % 2:
        raise ValueError(f"odd item {item}")
    return item


async def odd_fails_async(context: ExecutionContext, item: int) -> int:
    if item % 2:
        raise ValueError(f"odd item {item}")
    return item


def until_canceled_item(context: ExecutionContext, item: Any) -> str:
    """Waits (bounded) until its batch is canceled or paused-then-canceled."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if context.is_cancelled():
            return "stopped"
        time.sleep(0.001)
    return "limit"


async def until_canceled_item_async(context: ExecutionContext, item: Any) -> str:
    import asyncio

    await asyncio.sleep(30)
    return "limit"


def nap_item(context: ExecutionContext, seconds: float) -> float:
    """An item that takes ``seconds`` (asleep: a "long" item to the process pool's average)."""
    import time

    time.sleep(seconds)
    return seconds


def slow_if_negative(context: ExecutionContext, item: int) -> int:
    """A negative item waits (bounded) to be canceled: with a timeout it times out."""
    if item < 0:
        return until_canceled_item(context, item)  # type: ignore[return-value]
    return item


async def slow_if_negative_async(context: ExecutionContext, item: int) -> int:
    if item < 0:
        return await until_canceled_item_async(context, item)  # type: ignore[return-value]
    return item


ITEMS = {
    "square": (square, square_async),
    "odd_fails": (odd_fails, odd_fails_async),
    "until_canceled": (until_canceled_item, until_canceled_item_async),
    "slow_if_negative": (slow_if_negative, slow_if_negative_async),
}


def item_fn(kind: str, name: str) -> Any:
    sync, async_ = ITEMS[name]
    return async_ if kind == "coroutine" else sync


def fails_on_one(context: ExecutionContext, item: int) -> Any:
    if item == 1:
        raise ValueError("item 1 fails")
    if item < 0:
        return until_canceled_item(context, item)
    return item


async def fails_on_one_async(context: ExecutionContext, item: int) -> Any:
    if item == 1:
        raise ValueError("item 1 fails")
    if item < 0:
        return await until_canceled_item_async(context, item)
    return item


ITEMS["fails_on_one"] = (fails_on_one, fails_on_one_async)
