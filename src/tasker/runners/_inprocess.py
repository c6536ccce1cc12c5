"""The one run template for tasks that run in this process (threads, coroutines).

    begin(task) ─ False: it ended meanwhile (canceled while queued): nothing runs
        └─► result = func(context, *args, **kwargs)     (``_call``, for both)
              └─► (coroutines: await result)
              └─► (a generator, sync or async: ``_stream`` drives it, its return value is the result)
                    └─► conclude(task, result)  |  conclude(task, error=raised)

``_call`` is written once: it begins the task, names it for warnings and calls
its function. A thread concludes at once (``run_sync``, a plain function: no
coroutine object, ``send`` and ``StopIteration`` on every task, about 0.9 µs);
a coroutine task first awaits what the call returned (``run_async``).

During the call ``_warn.current`` names the task, so that its warnings are
shown on the main thread with its name (``_core._warn``). A coroutine sets it
in its own asyncio task's context, a thread in its own; both reset it once the
task concluded (a thread goes on to other tasks; an asyncio task's context
would otherwise keep the task, and through ``task.handle`` the asyncio task
itself, alive in a reference cycle until the garbage collector runs). Not an
abandoned coroutine closed later by the garbage collector: that runs outside
its asyncio task's context.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from contextvars import Token
from types import AsyncGeneratorType, CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any

from .._core import _stream, _warn
from .._core._context import ExecutionContext

if TYPE_CHECKING:
    from .._core._runner import Lifecycle
    from .._core._task import Task

logger = logging.getLogger("tasker")

#: What ``_call`` returns for a task that ran: its result, what it raised, and
#: the token that resets ``_warn.current``.
Called = tuple[Any, BaseException | None, Token[Any]]


def _call(lifecycle: Lifecycle, task: Task[Any]) -> Called | None:
    """Begin the task and call its function; None: it ended before it could begin."""
    if not lifecycle.begin(task):
        return None
    func, args, kwargs = task.call
    if warnings.showwarning is not _warn.hook:  # (install_hook's check, inlined: per task)
        _warn.install_hook()
    naming = _warn.current.set(task)
    try:
        return func(ExecutionContext(task, task.control), *args, **kwargs), None, naming
    except BaseException as error:  # the task's failure, whatever it is (CancelledError: the lifecycle decides)
        return None, error, naming


def run_sync(lifecycle: Lifecycle, task: Task[Any]) -> None:
    """Run a plain function's task in the calling thread, from begin to conclude."""
    try:
        called = _call(lifecycle, task)
    except BaseException as fault:  # tasker's own steps around the call: the task still ends
        end_after_fault(lifecycle, task, fault)
        return
    if called is not None:
        result, error, naming = called
        if result.__class__ is GeneratorType:  # a generator function's task: it streams (``_stream``)
            result, error = _stream.drive(lifecycle, task, result)
        _warn.current.reset(naming)  # a thread goes on to other tasks
        lifecycle.conclude(task, result, error)


def end_after_fault(lifecycle: Lifecycle, task: Task[Any], fault: BaseException) -> None:
    """The last resort of a runner: tasker's own code raised around a task; it ends ``failed``, logged."""
    from .._core._errors import TaskError, error_text

    try:
        logger.error(
            "tasker: internal error running task #%d (%s); it ends failed", task.id, error_text(fault),
            exc_info=(type(fault), fault, fault.__traceback__),
        )
    except BaseException:
        pass  # (a logging handler of the app's that raises: the ending matters more)
    problem = TaskError(f"tasker failed to run the task: {error_text(fault)} (an internal error)")
    problem.__cause__ = fault
    lifecycle.conclude(task, error=problem)


async def run_async(lifecycle: Lifecycle, task: Task[Any]) -> None:
    """Run a coroutine function's task on the running loop, from begin to conclude."""
    try:
        called = _call(lifecycle, task)
    except BaseException as fault:  # as in run_sync
        end_after_fault(lifecycle, task, fault)
        return
    if called is None:
        return
    result, error, naming = called
    if error is None and (result.__class__ is CoroutineType or inspect.isawaitable(result)):  # (the first: no call)
        try:
            result = await result
        except BaseException as raised:  # as in _call
            result, error = None, raised
    elif result.__class__ is AsyncGeneratorType:  # an async generator function's task: it streams
        result, error = await _stream.drive_async(lifecycle, task, result)
    lifecycle.conclude(task, result, error)
    if not isinstance(error, GeneratorExit):  # (closed by the garbage collector: not in its asyncio task's context)
        _warn.current.reset(naming)  # else that context holds the task, which holds its asyncio task: a cycle
