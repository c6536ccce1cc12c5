"""The one run template for tasks that run in this process (threads, coroutines).

    begin(task) ─ False: it ended meanwhile (cancelled while queued): nothing runs
        └─► result = func(context, *args, **kwargs)     (awaited for coroutines)
              └─► conclude(task, result)  |  conclude(task, error=raised)

During the call ``_warn.current`` names the task, so that its warnings are
shown on the main thread with its name (``_core._warn``). A coroutine sets it
in its own asyncio task's context (which ends with it: an abandoned coroutine
closed later by the garbage collector must not reset it elsewhere); a thread
resets it before its next task.

Written once, as a coroutine: a thread drives it with ``run_sync``, which
steps it to its end (a plain function's template never awaits anything), and
the coroutine runner awaits it on its loop.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from .._core import _warn
from .._core._context import ExecutionContext

if TYPE_CHECKING:
    from .._core._runner import Lifecycle
    from .._core._task import Task


async def run(lifecycle: Lifecycle, task: Task[Any], awaiting: bool = True) -> None:
    """Run ``task.call`` with a context, between ``begin`` and ``conclude``.

    ``awaiting``: await what the function returns (coroutine tasks).
    """
    if not lifecycle.begin(task):
        return
    func, args, kwargs = task.call
    _warn.install_hook()
    naming = _warn.current.set(task)
    try:
        result = func(ExecutionContext(task, task.cancel_flag), *args, **kwargs)
        if awaiting and inspect.isawaitable(result):
            result = await result
    except BaseException as error:  # the task's failure, whatever it is (CancelledError: the lifecycle decides)
        outcome: tuple[Any, BaseException | None] = (None, error)
    else:
        outcome = (result, None)
    if not awaiting:  # a thread goes on to other tasks; a coroutine's context ends with its asyncio task
        _warn.current.reset(naming)
    lifecycle.conclude(task, *outcome)


def run_sync(lifecycle: Lifecycle, task: Task[Any]) -> None:
    """``run`` for a plain function, in the calling thread (it never suspends)."""
    template = run(lifecycle, task, awaiting=False)
    try:
        template.send(None)
    except StopIteration:
        return
    raise AssertionError("a run template that awaits nothing suspended")  # pragma: no cover
