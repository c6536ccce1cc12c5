"""Tasks that follow tasks: ``task.then(fn)``, ``tasker.when_all``, ``tasker.when_any``.

    upstream ──ends──► Chain._upstream_done (the thread that ended it)
                         completed ─► begin(chain); step = start_part(kind, fn, result, *args)
                         failed    ─► conclude(chain, UpstreamError from its error)
                         canceled  ─► conclude(chain, CancelledError)  → canceled
    step ──ends──► conclude(chain, its result | its error | canceled)

    Gather (when_all / when_any): begins at once; each task's ending is counted
    (under the lifecycle's lock); the first that decides concludes it.

A chain is pending while it waits and running while its step runs; it shows
its step's progress and message (and, while it waits, a hidden upstream's: a
row for ``a.then(b).then(c)`` with ``a`` and ``b`` started ``visible=False``
shows whichever step runs), and its step's events and values reach the
chain's ``when_event``/``when_yield`` as the chain's own. Canceling a chain
cancels its step, and the tasks it waits on that nothing else waits on
(``_composite``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._composite import Composite, start_part, submit_composite
from ._errors import UpstreamError, error_text
from ._task import Task

if TYPE_CHECKING:
    from ._lifecycle import TaskLifecycle

R = TypeVar("R")

#: The kinds made of other tasks: a step runs in any other registered kind.
COMPOSITE_KINDS = ("chain", "batch")


class Chain(Composite[Any]):
    """``upstream.then(fn, ...)``: runs ``fn(context, upstream's result, ...)`` once it completed."""

    def __init__(self, lifecycle: TaskLifecycle, upstream: Task[Any], step_kind: str, call: Any, reserved: Any) -> None:
        super().__init__(
            lifecycle, "chain", call, reserved.key, reserved.when_done, reserved.when_event, None,
            reserved.visible, reserved.priority,
        )
        if reserved.when_yield is not None:
            self._when_yield = reserved.when_yield
        self.upstream = upstream
        #: The kind its step runs in.
        self.step_kind = step_kind
        self._step_timeout = reserved.timeout
        # Invariant (under the lifecycle's lock): _step is None until the step started, then that task.
        self._step: Task[Any] | None = None
        self._name = reserved.key if isinstance(reserved.key, str) else None

    def _start(self) -> None:
        self.upstream._add_done_callback(self._upstream_done)

    def _upstreams(self) -> list[Task[Any]]:
        return [self.upstream]

    def _parts(self) -> list[Task[Any]]:
        step = self._step
        return [step] if step is not None and not step.is_final() else []

    def _shows(self, part: Task[Any]) -> bool:
        step = self._step  # (one read: the step, once started, is the part shown)
        return part is step if step is not None else part is self.upstream and part._parent is self

    def _upstream_done(self) -> None:
        lifecycle, upstream = self._lifecycle, self.upstream
        status = upstream.get_status()
        if status == "completed":
            if lifecycle.begin(self):
                self._run_step(upstream._result)
        elif status == "failed":
            lifecycle.conclude(self, error=upstream_error(self, upstream))
        else:
            lifecycle.conclude(self, error=_canceled(f"{upstream.name!r}, which it follows, was canceled"))

    def _run_step(self, value: Any) -> None:
        lifecycle = self._lifecycle
        try:
            func, args, kwargs = self.call
            step = start_part(
                self, self.step_kind, func, (value, *args), kwargs,
                timeout=self._step_timeout, priority=self.priority,
                when_event=self._forward_event if self._when_event is not None else None,
                when_yield=self._forward_yield if self._when_yield is not None else None,
                when_done=self._step_done,
            )
        except BaseException as refused:  # e.g. the upstream's result cannot be sent to a process
            lifecycle.conclude(self, error=refused)
            return
        with lifecycle.lock:
            self._step = step
            stopping, paused = self._cancel_requested, self._paused
        if step._dirty is False and not step._message:  # (nothing reported yet) the row names its step now
            self._progress, self._message = 0.0, f"{step.name}…"
            self._show()
        if stopping:  # canceled while the step was being started
            lifecycle.cancel(step)
        elif paused:
            lifecycle.pause(step)

    def _step_done(self, step: Task[Any]) -> None:
        self._progress, self._message = step._progress, step._message  # (a worker's last report comes with its end)
        status = step.get_status()
        if status == "completed":
            self._lifecycle.conclude(self, step._result)
        elif status == "failed":
            self._lifecycle.conclude(self, error=step._error)
        else:
            self._lifecycle.conclude(self, error=_canceled(f"its step {step.name!r} was canceled"))

    def _forward_event(self, step: Task[Any], name: str, data: Any) -> None:
        if self._when_event is not None:
            self._when_event(self, name, data)

    def _forward_yield(self, step: Task[Any], value: Any) -> None:
        if self._when_yield is not None:
            self._when_yield(self, value)


class Gather(Composite[Any]):
    """``when_all`` (every task completed: their results) / ``when_any`` (the first that completed)."""

    def __init__(self, lifecycle: TaskLifecycle, tasks: list[Task[Any]], any_: bool, reserved: Any) -> None:
        name = "when_any" if any_ else "when_all"
        super().__init__(
            lifecycle, "chain", (when_any if any_ else when_all, tuple(tasks), {}), reserved.key,
            reserved.when_done, None, reserved.timeout, reserved.visible, reserved.priority,
        )
        self._name = reserved.key if isinstance(reserved.key, str) else name
        self.tasks = tasks
        self._any = any_
        self._ended_count = 0  # (under the lifecycle's lock) how many of tasks ended

    def _start(self) -> None:
        if not self._lifecycle.begin(self):
            return
        for task in self.tasks:
            task._add_done_callback(functools.partial(self._one_done, task))

    def _upstreams(self) -> list[Task[Any]]:
        return self.tasks

    def _parts(self) -> list[Task[Any]]:
        # What a cancel stops at once: the live tasks only it waits on (the rest go on).
        return [t for t in self.tasks if not t.is_final() and t._dependents == {self}]

    def _one_done(self, task: Task[Any]) -> None:
        lifecycle = self._lifecycle
        with lifecycle.lock:
            self._ended_count += 1
            last = self._ended_count == len(self.tasks)
            ended = self._ended_count
        self._progress = ended / len(self.tasks)
        self._message = f"{ended} of {len(self.tasks)}"
        self._show()
        status = task.get_status()
        if self._any:
            if status == "completed":
                lifecycle.conclude(self, task)
            elif last:
                self._none_completed()
        elif status == "failed":
            lifecycle.conclude(self, error=upstream_error(self, task))
        elif status == "canceled":
            lifecycle.conclude(self, error=_canceled(f"{task.name!r}, which it waits on, was canceled"))
        elif last:
            lifecycle.conclude(self, [t._result for t in self.tasks])

    def _none_completed(self) -> None:
        failed = next((t for t in self.tasks if t.get_status() == "failed"), None)
        if failed is not None:
            self._lifecycle.conclude(self, error=upstream_error(self, failed))
        else:
            self._lifecycle.conclude(self, error=_canceled("every task it waits on was canceled"))


def then(
    upstream: Task[Any], fn: Callable[..., Any], args: tuple[Any, ...], kind: str | None, kwargs: dict[str, Any]
) -> Task[Any]:
    """``Task.then``: a chain task, started (it waits for ``upstream``) and returned."""
    from ._reserved import take_reserved
    from ._runner import METHODS, RUNNERS

    step_kind = kind if kind is not None else getattr(upstream, "step_kind", None) or upstream.kind
    if step_kind in COMPOSITE_KINDS:
        step_kind = "thread"  # (a when_all/when_any or batch: plain work follows it in a thread)
    if kind is not None and (kind not in RUNNERS or kind in COMPOSITE_KINDS):
        known = ", ".join(k for k in RUNNERS if k not in COMPOSITE_KINDS)
        raise ValueError(f"then(kind=...) takes one of {known}, got {kind!r}")
    reserved = take_reserved(METHODS.get(step_kind, step_kind), step_kind, fn, kwargs)
    lifecycle = upstream._lifecycle
    lifecycle.runner(step_kind)  # at the call: a kind that cannot run here (UnsupportedPlatformError) says so now
    chain = Chain(lifecycle, upstream, step_kind, (fn, args, kwargs), reserved)
    with lifecycle.lock:
        shown = not upstream.visible and upstream._parent is None and not upstream._status.is_final
        if shown:
            # A hidden upstream (an earlier step: run_thread(load, visible=False).then(...)) shows
            # in this chain's row while the chain waits on it: the row shows the current step.
            upstream._parent = chain
            upstream._dirty = False
    if shown:
        chain._progress, chain._message = upstream._progress, upstream._message  # what it showed so far
    return submit_composite(lifecycle, chain)


def when_all(*tasks: Task[Any], **options: Any) -> Task[list[Any]]:
    """A task that completes with the list of the tasks' results once all completed.

    It fails (``UpstreamError``, the failure as its cause) at the first task that
    fails, and is canceled when one is canceled. ``options``: ``key``,
    ``when_done``, ``timeout``, ``visible``, ``priority``.
    """
    return _gather(list(tasks), False, options, "when_all")


def when_any(*tasks: Task[Any], **options: Any) -> Task[Task[Any]]:
    """A task that completes with the first of the tasks that completed (the ``Task``).

    It fails (``UpstreamError``) when every task ended and none completed, one
    failed; it is canceled when all were canceled. ``options`` as for ``when_all``.
    """
    return _gather(list(tasks), True, options, "when_any")


def _gather(tasks: list[Task[Any]], any_: bool, options: dict[str, Any], name: str) -> Task[Any]:
    from ._reserved import take_reserved

    if not tasks:
        raise ValueError(f"{name}() needs at least one task")
    for task in tasks:
        if not isinstance(task, Task):
            raise TypeError(f"{name}() takes tasks (what run_thread, run_process, ... return), got {task!r}")
    lifecycle = tasks[0]._lifecycle
    if any(task._lifecycle is not lifecycle for task in tasks):
        raise ValueError(f"{name}() takes tasks of one TaskManager; these come from several")
    unknown = set(options) - {"key", "when_done", "timeout", "visible", "priority"}
    if unknown:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(unknown)}")
    reserved = take_reserved(name, "thread", _no_work, dict(options))
    return submit_composite(lifecycle, Gather(lifecycle, tasks, any_, reserved))


def upstream_error(task: Task[Any], upstream: Task[Any]) -> UpstreamError:
    cause = upstream._error
    error = UpstreamError(
        f"{task.name!r} did not run: {upstream.name!r}, which it waits on, failed"
        + (f" ({error_text(cause)})" if cause is not None else ""),
        upstream,
    )
    error.__cause__ = cause
    return error


def _canceled(why: str) -> BaseException:
    from ._cancelled import CancelledError

    return CancelledError(why)


def _no_work(context: Any) -> None:
    """(Stands for the function of a task with none, for the checks of its options.)"""
