"""Composite tasks: tasks made of other tasks (``then``, ``when_all``/``when_any``, ``map``).

    Composite (a Task of kind "chain" or "batch": one key, one row, every ending)
        │ start_part(...) ──► part tasks: real tasks of a runnable kind, ``visible=False``,
        │                     ``_parent`` = the composite
        │ ◄── part_changed(part)  progress/message of a part (any thread, throttled by _dirty)
        │ ◄── part_shown(part)    at each emission, a marked part's latest report (main thread)
        │ ◄── a part's done callback (any thread): the composite decides, then concludes itself
        ▼
    CompositeRunner (the lifecycle's runner for those kinds) forwards the lifecycle's calls:
        submit ─► composite._start()        release ─► composite._cancel_parts()
        pause / resume ─► each live part     abandon ─► nothing (its parts have their own grace)

A composite ends through ``TaskLifecycle.conclude`` like any task, once; its
parts end through it too. Canceling a composite cancels its live parts
(``release``; at shutdown every task is canceled anyway) and, once it ended
canceled, the tasks it waits on that no other task waits on (``_dependents``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ._task import Task

if TYPE_CHECKING:
    from ._lifecycle import TaskLifecycle
    from ._options import Options

logger = logging.getLogger("tasker")
R = TypeVar("R")


class Composite(Task[R]):
    """A task whose work is other tasks; subclasses say how they start and end."""

    _lifecycle: TaskLifecycle

    def _start(self) -> None:
        """The lifecycle submitted it (``CompositeRunner.submit``): start waiting or running."""
        raise NotImplementedError

    def _parts(self) -> list[Task[Any]]:
        """Its live parts (to cancel, pause, resume); under the lifecycle's lock."""
        return []

    def _upstreams(self) -> Iterable[Task[Any]]:
        """The tasks it waits on (not its own parts)."""
        return ()

    def _resumed(self) -> None:
        """It was resumed (after its parts): go on with what a pause held back."""

    def _released(self) -> None:
        """It was canceled and its parts were asked to stop: end now if nothing is left running."""

    def _part_changed(self, part: Task[Any]) -> None:
        """A part's progress or message changed (any thread): show it as this task's."""
        self._take(part)
        self._show(part)

    def _part_shown(self, part: Task[Any]) -> None:
        """At an emission (main thread), ``part`` marked: take its latest report.

        A part forwards only its first report after an emission (``_part_changed``;
        its ``_dirty`` is set until the emission): what it reported after that
        (``set_message``, then ``set_progress``, then a long wait) is taken here, so
        the row never shows an older report than its part's last. Marks nothing: this
        very emission shows it. A report that races with this one marks the part
        again, so the next emission takes it anew.
        """
        if self._shows(part):
            self._take(part)
            if not self.visible and self._parent is not None:
                self._parent._part_shown(self)

    def _shows(self, part: Task[Any]) -> bool:
        """Is ``part``'s report what this task shows now?"""
        return True

    def _take(self, part: Task[Any]) -> None:
        """Show ``part``'s report as this task's (without marking it changed)."""
        self._progress, self._message = part._progress, part._message

    def _show(self, part: Task[Any] | None = None) -> None:
        """This task changed: shown in the next (throttled) ``tasks_updated``."""
        delivery = self._lifecycle.delivery
        if part is not None:
            delivery.mark_dirty(part)  # resets the part's _dirty at the flush: its next change comes here again
        if self.visible:
            delivery.mark_dirty()
        elif self._parent is not None:  # a hidden step of a chain that follows it: shown there
            self._parent._part_changed(self)

    # -- from the runner -------------------------------------------------------
    def _each_part(self, act: Callable[[Task[Any]], object]) -> None:
        with self._lifecycle.lock:
            parts = self._parts()
        for part in parts:
            try:
                act(part)
            except Exception:  # (a part that ended meanwhile, or tasker's own fault: the others still get it)
                logger.exception("tasker: could not pass a change on to a part of task %r", self.name)

    def _ended(self) -> None:
        """Once it is final (any thread): a canceled composite cancels what only it waited on."""
        if self._status != "canceled":
            return
        lifecycle = self._lifecycle
        lonely = []
        with lifecycle.lock:
            for upstream in self._upstreams():
                dependents = upstream._dependents
                if dependents is None or self not in dependents:
                    continue
                dependents.discard(self)
                if not dependents and not upstream._status.is_final:
                    lonely.append(upstream)
        for upstream in lonely:
            lifecycle.cancel(upstream)


def submit_composite(lifecycle: TaskLifecycle, task: Composite[R]) -> Composite[R]:
    """Add a composite task as ``TaskManager._submit`` adds any (replace by key included), and start it.

    What it waits on knows it first: a task it replaces (same key, often
    waiting on the same upstream) must not cancel that upstream as the one
    left waiting on it.
    """
    runner = lifecycle.runner(task.kind)
    for upstream in task._upstreams():
        wait_on(task, upstream)
    try:
        old = lifecycle.add(task)
    except BaseException:
        with lifecycle.lock:
            for upstream in task._upstreams():
                if upstream._dependents is not None:
                    upstream._dependents.discard(task)
        raise
    if old is not None:
        lifecycle.cancel(old)
    runner.submit(task)
    return task


def wait_on(composite: Composite[Any], upstream: Task[Any]) -> None:
    """Note that ``composite`` waits on ``upstream`` (for the cancel of what only it waits on)."""
    with composite._lifecycle.lock:
        if upstream._dependents is None:
            upstream._dependents = set()
        upstream._dependents.add(composite)


def start_part(
    parent: Composite[Any],
    kind: str,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    timeout: float | None = None,
    priority: int = 0,
    when_event: Callable[..., object] | None = None,
    when_yield: Callable[..., object] | None = None,
    when_done: Callable[[Task[Any]], object] | None = None,
    ahead: bool = False,
) -> Task[Any]:
    """Start a hidden task of ``kind`` working for ``parent`` (its arguments were checked by the caller).

    ``ahead``: a process pool may send it to a worker running another part of
    ``parent`` before that worker asks (a batch's chunk: ``_batch``).

    Raises what the runner's ``prepare`` raised (e.g. an argument that cannot be
    pickled); nothing was started then. ``when_done`` runs in the thread that
    ended the part (not on the main thread): the parent decides there.
    """
    lifecycle = parent._lifecycle
    runner = lifecycle.runners.get(kind) or lifecycle.runner(kind)
    part: Task[Any] = Task(lifecycle, kind, (func, args, kwargs), None, None, when_event, timeout, False, priority)
    part._parent = parent
    part._dirty = False  # its changes reach part_changed (see Task._changed)
    part._ahead = ahead
    if when_yield is not None:
        part._when_yield = when_yield
    part.payload = runner.prepare(func, args, kwargs)
    lifecycle.add(part)
    if when_done is not None:
        part._add_done_callback(lambda: when_done(part))
    runner.submit(part)
    return part


class CompositeRunner:
    """The lifecycle's runner for composite kinds: each call goes to the task itself."""

    kind = "chain"

    def __init__(self, lifecycle: Any, options: Options) -> None:
        self._lifecycle = lifecycle

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    def submit(self, task: Task[Any]) -> None:
        assert isinstance(task, Composite)
        task._add_done_callback(task._ended)
        task._start()

    def interrupt(self, task: Task[Any]) -> None:
        pass  # (the lock is held) its parts are canceled in release, or by shutdown

    def release(self, task: Task[Any]) -> None:
        assert isinstance(task, Composite)
        task._each_part(self._lifecycle.cancel)
        task._released()

    def abandon(self, task: Task[Any]) -> None:
        pass  # its parts have their own grace periods

    def pause(self, task: Task[Any]) -> None:
        assert isinstance(task, Composite)
        if task.is_paused():
            task._each_part(self._lifecycle.pause)

    def resume(self, task: Task[Any]) -> None:
        assert isinstance(task, Composite)
        if not task.is_paused():
            task._each_part(self._lifecycle.resume)
            task._resumed()

    def restart(self) -> None:
        pass

    def shutdown(self) -> None:
        pass
