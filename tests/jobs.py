"""Task functions shared by the tests; importable by worker processes.

Each job has a sync form (threads, processes) and an ``a_`` async form
(coroutines) that behave the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from tasker import ExecutionContext

RELEASE = threading.Event()  # lets tests free a stuck thread at the end


def ok(ctx: ExecutionContext, x: int = 1) -> int:
    return x * 2


async def a_ok(ctx: ExecutionContext, x: int = 1) -> int:
    await asyncio.sleep(0)
    return x * 2


def fail(ctx: ExecutionContext, exc: BaseException | None = None) -> None:
    raise exc if exc is not None else ValueError("boom")


async def a_fail(ctx: ExecutionContext, exc: BaseException | None = None) -> None:
    await asyncio.sleep(0)
    raise exc if exc is not None else ValueError("boom")


def until_canceled(ctx: ExecutionContext, limit: float = 30.0) -> str:
    """Cooperative: polls is_cancelled(); returns 'stopped' when asked."""
    ctx.set_message("looping")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ctx.is_cancelled():
            return "stopped"
        time.sleep(0.001)
    return "limit"


async def a_until_canceled(ctx: ExecutionContext, limit: float = 30.0) -> str:
    ctx.set_message("looping")
    await asyncio.sleep(limit)
    return "limit"


def stuck(ctx: ExecutionContext, limit: float = 30.0) -> str:
    """Never checks cancellation (a blocking call). Its message says it has started."""
    ctx.set_message("stuck")
    ctx.flush()
    if os.environ.get("TASKER_IN_WORKER") or threading.current_thread().name.startswith("tasker-worker"):
        time.sleep(limit)
    else:
        RELEASE.wait(limit)
    return "late"


async def a_stuck(ctx: ExecutionContext, limit: float = 30.0) -> str:
    """Swallows cancellation and goes on (misbehaving coroutine)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            continue
        if RELEASE.is_set():
            break
    return "late"


def report(ctx: ExecutionContext, n: int = 10) -> int:
    ctx.set_total(n)
    for i in range(n):
        ctx.set_message(f"step {i + 1}")
        ctx.send_event("step", {"i": i})
        ctx.set_progress(i + 1)
    return n


async def a_report(ctx: ExecutionContext, n: int = 10) -> int:
    ctx.set_total(n)
    for i in range(n):
        ctx.set_message(f"step {i + 1}")
        ctx.send_event("step", {"i": i})
        ctx.set_progress(i + 1)
        await asyncio.sleep(0)
    return n


def sleep_then(ctx: ExecutionContext, seconds: float, value: Any = None) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not ctx.is_cancelled():
        time.sleep(0.002)
    return value


async def a_sleep_then(ctx: ExecutionContext, seconds: float, value: Any = None) -> Any:
    await asyncio.sleep(seconds)
    return value


def log_something(ctx: ExecutionContext, text: str) -> int:
    logging.getLogger("tests.worker").warning("from worker: %s", text)
    return os.getpid()


def die(ctx: ExecutionContext, code: int = 3) -> None:
    os._exit(code)


def kill_self(ctx: ExecutionContext, signum: int) -> None:
    os.kill(os.getpid(), signum)


def segfault(ctx: ExecutionContext) -> None:
    import ctypes

    ctypes.string_at(0)


def thread_name(ctx: ExecutionContext) -> str:
    return threading.current_thread().name


def pid(ctx: ExecutionContext) -> int:
    return os.getpid()


def big_array(ctx: ExecutionContext, nbytes: int) -> Any:
    import numpy as np

    return np.arange(nbytes // 8, dtype=np.float64)


def big_bytes(ctx: ExecutionContext, nbytes: int) -> bytes:
    return bytes(range(256)) * (nbytes // 256)


def event_big(ctx: ExecutionContext, nbytes: int) -> int:
    ctx.send_event("blob", b"x" * nbytes)
    return nbytes


def unpicklable_result(ctx: ExecutionContext) -> Any:
    return threading.Lock()


def unpicklable_event(ctx: ExecutionContext) -> str:
    ctx.send_event("bad", threading.Lock())
    return "after"


class CustomError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code


class Unrebuildable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickle calls cls(*args): args mismatch
        super().__init__(f"{a}+{b}")


def raise_custom(ctx: ExecutionContext) -> None:
    raise CustomError(7, "seven")


def raise_unrebuildable(ctx: ExecutionContext) -> None:
    raise Unrebuildable(1, 2)


INITIALIZED: list[str] = []


class BrokenError(Exception):
    """An exception that fights back; ``how`` says which of its methods raise.

    ``str``: ``__str__`` raises ValueError; ``str_base``: it raises KeyboardInterrupt;
    ``str_repr``: ``__str__`` and ``__repr__`` raise; ``repr``: ``__repr__`` raises;
    ``reduce``: ``__reduce__`` raises KeyboardInterrupt; ``eq_hash``: ``__eq__`` and ``__hash__`` raise.
    """

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how

    def __str__(self) -> str:
        if self.how == "str_base":
            raise KeyboardInterrupt("from __str__")
        if self.how in ("str", "str_repr"):
            raise ValueError("no __str__ here")
        return f"broken ({self.how})"

    def __repr__(self) -> str:
        if self.how in ("repr", "str_repr"):
            raise ValueError("no __repr__ here")
        return f"BrokenError({self.how!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self.how == "reduce":
            raise KeyboardInterrupt("from __reduce__")
        return (BrokenError, (self.how,))

    def __eq__(self, other: object) -> bool:
        if self.how == "eq_hash":
            raise ValueError("no __eq__ here")
        return self is other

    def __hash__(self) -> int:
        if self.how == "eq_hash":
            raise ValueError("no __hash__ here")
        return id(self)


def raise_broken(ctx: ExecutionContext, how: str) -> None:
    raise BrokenError(how)


async def a_raise_broken(ctx: ExecutionContext, how: str) -> None:
    await asyncio.sleep(0)
    raise BrokenError(how)


#: In the app: set when a ``BlocksOnLoad`` starts loading; loading goes on once ``LOAD_GATE`` is set.
LOADING = threading.Event()
LOAD_GATE = threading.Event()


def _load_blocking(value: Any) -> Any:
    LOADING.set()
    LOAD_GATE.wait(60)  # (bounded: a test that forgets to open the gate still ends)
    return value


class BlocksOnLoad:
    """Unpickling it (in the app) blocks until the test sets ``LOAD_GATE``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_load_blocking, (self.value,))


def result_blocks_on_load(ctx: ExecutionContext, value: Any) -> Any:
    return BlocksOnLoad(value)


def event_blocks_on_load(ctx: ExecutionContext, value: Any) -> Any:
    ctx.send_event("blocking", BlocksOnLoad(value))
    return value


def initializer(tag: str) -> None:
    INITIALIZED.append(tag)
    os.environ["TASKER_TEST_INIT"] = tag


def read_init(ctx: ExecutionContext) -> str | None:
    return os.environ.get("TASKER_TEST_INIT")



def touch(ctx: ExecutionContext, path: str) -> str:
    """Leaves a trace: proves the function ran."""
    with open(path, "w") as f:
        f.write("ran")
    return path


def die_later(ctx: ExecutionContext, seconds: float, code: int = 5) -> None:
    time.sleep(seconds)
    os._exit(code)



def niceness(ctx: ExecutionContext) -> int:
    return os.nice(0)



def ask(ctx: ExecutionContext, data: Any = None, timeout: float | None = None) -> Any:
    """Asks the main thread once and returns the answer."""
    ctx.set_message("asking")
    return ctx.ask("question", data, timeout=timeout)


async def a_ask(ctx: ExecutionContext, data: Any = None, timeout: float | None = None) -> Any:
    ctx.set_message("asking")
    return await ctx.ask_async("question", data, timeout=timeout)


def ask_twice(ctx: ExecutionContext) -> list[Any]:
    """Two questions in a row, and an event between them: all in order."""
    first = ctx.ask("first", 1)
    ctx.send_event("between", first)
    return [first, ctx.ask("second", 2)]


async def a_ask_twice(ctx: ExecutionContext) -> list[Any]:
    first = await ctx.ask_async("first", 1)
    ctx.send_event("between", first)
    return [first, await ctx.ask_async("second", 2)]


def ask_and_catch(ctx: ExecutionContext, timeout: float | None = None) -> str:
    """Returns the name of what ask() raised (the task itself goes on)."""
    try:
        ctx.ask("question", None, timeout=timeout)
    except BaseException as error:
        ctx.send_event("caught", type(error).__name__)
        return type(error).__name__
    return "no error"


async def a_ask_and_catch(ctx: ExecutionContext, timeout: float | None = None) -> str:
    try:
        await ctx.ask_async("question", None, timeout=timeout)
    except BaseException as error:
        ctx.send_event("caught", type(error).__name__)
        return type(error).__name__
    return "no error"


def ask_wrong_way(ctx: ExecutionContext) -> str:
    """A thread or process task calling the coroutine form."""
    import asyncio as _asyncio

    try:
        _asyncio.run(ctx.ask_async("question"))
    except TypeError as error:
        return str(error)
    return "no error"


async def a_ask_wrong_way(ctx: ExecutionContext) -> str:
    try:
        ctx.ask("question")
    except RuntimeError as error:
        return str(error)
    return "no error"


def _gate(folder: str, name: str) -> bool:
    return os.path.exists(os.path.join(folder, name))


def paced_stop(ctx: ExecutionContext, folder: str) -> str:
    """Stepped by files in ``folder``: says "waiting" once ``go`` exists, then polls
    for cancellation; once asked, writes ``stopping`` and ends when ``end`` exists."""
    while not _gate(folder, "go"):
        time.sleep(0.001)
    ctx.set_message("waiting")
    while not ctx.is_cancelled():
        time.sleep(0.001)
    open(os.path.join(folder, "stopping"), "w").close()
    while not _gate(folder, "end"):
        time.sleep(0.001)
    return "stopped"


async def a_paced_stop(ctx: ExecutionContext, folder: str) -> str:
    while not _gate(folder, "go"):
        await asyncio.sleep(0.001)
    ctx.set_message("waiting")
    while not ctx.is_cancelled():
        try:
            await asyncio.sleep(0.001)
        except asyncio.CancelledError:  # the cancel's asyncio side: it stops as the others do
            break
    open(os.path.join(folder, "stopping"), "w").close()
    while not _gate(folder, "end"):
        try:
            await asyncio.sleep(0.001)
        except asyncio.CancelledError:  # asked already: it ends when told
            continue
    return "stopped"


SYNC = {
    name: obj
    for name, obj in list(globals().items())
    if callable(obj) and not name.startswith(("a_", "_")) and getattr(obj, "__module__", "") == __name__
}
ASYNC = {name[2:]: obj for name, obj in list(globals().items()) if name.startswith("a_") and callable(obj)}
