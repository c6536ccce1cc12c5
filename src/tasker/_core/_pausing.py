"""Pausing: the lifecycle's pause and resume transitions, and the timeout timer.

``Pausing`` is a part of ``TaskLifecycle`` (``_lifecycle``: ``lifecycle.pausing``),
which hands its ``pause``/``resume`` calls here; it reads the lifecycle's lock,
clock, delivery and runners from the lifecycle itself (``configure`` may replace
the clock), so nothing is declared twice.

Pause is not a status: a paused task stays ``pending`` or ``running``. Under
the lifecycle's lock, ``pause`` sets ``task._paused`` and writes ``PAUSE`` into
the task's control byte (cancel wins: a canceled task is never paused), stops the
task's timeout timer (paused time does not count towards ``timeout=``) and
clears ``_dirty``, so that the next ``set_progress``/``set_message`` reaches the
task's pause point; ``resume`` undoes it (the byte reads ``RUN`` again) and re-arms the timer with the time
that was left. Then, without the lock, the runner is told
(``runner.pause``/``runner.resume``, see ``_runner``) and ``tasks_updated`` is
marked dirty.

Where a function waits (``Task._pause_point`` / ``Task._checkpoint``): a thread
blocks until it is resumed or canceled; a coroutine awaits that without
blocking tasker's loop (it never blocks in a context call). Waiters register a
*waker* here; ``resume``, ``cancel`` and the task's ending run them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._status import PAUSE, RUN, control_for

if TYPE_CHECKING:
    from ._lifecycle import TaskLifecycle
    from ._runner import Runner
    from ._task import Task

logger = logging.getLogger("tasker")


class Pausing:
    """A lifecycle's pause and resume transitions, the wakers and the timeout timer."""

    def __init__(self, lifecycle: TaskLifecycle) -> None:
        self.lifecycle = lifecycle
        self.lock: threading.RLock = lifecycle.lock  # (the lifecycle's: one lock for every transition)

    def pause(self, task: Task[Any]) -> bool:
        """Pause a live task (pending or running); True if it is paused now."""
        lifecycle = self.lifecycle
        with self.lock:
            if task._status.is_final or task._cancel_requested:
                return False
            if task._paused:
                return True
            task._paused = True
            task.control[0] = PAUSE  # (control_for(False, True))
            task._dirty = False  # the next progress call goes through _changed: the pause point
            timer, task._timer = task._timer, None
            if timer is not None and task._deadline is not None:
                timer.cancel()
                task._time_left = max(0.0, task._deadline - lifecycle.clock.now())
        logger.debug("tasker: task %r (#%d) paused", task.name, task.id)
        pause_runner(lifecycle.runners[task.kind], task)
        if task.visible:
            lifecycle.delivery.mark_dirty()
        return True

    def resume(self, task: Task[Any]) -> bool:
        """Resume a paused live task; True if it was paused."""
        lifecycle = self.lifecycle
        with self.lock:
            if not task._paused or task._status.is_final:
                return False
            assert not task._cancel_requested and task.control[0] == PAUSE, task.control[0]
            task._paused = False
            task.control[0] = RUN  # (control_for(False, False))
            left, task._time_left = task._time_left, None
            if left is not None:
                self.arm_timeout(task, left)
            wakers = self._take_wakers_locked(task)
        logger.debug("tasker: task %r (#%d) resumed", task.name, task.id)
        _wake(wakers)
        resume_runner(lifecycle.runners[task.kind], task)
        if task.visible:
            lifecycle.delivery.mark_dirty()
        return True

    def unpause_locked(self, task: Task[Any]) -> list[Callable[[], object]] | None:
        """Cancel or ending of a paused task (lock held): not paused; its wakers to run.

        Returns None if it was not paused. The caller runs the wakers
        (``wake``) and tells the runner (``runner.resume``) once the lock is released.
        """
        if not task._paused:
            return None
        task._paused = False
        # A task that ended while paused must not hold a pause point that is entered
        # later (an abandoned function that goes on): it reads RUN, or CANCEL.
        task.control[0] = control_for(task._cancel_requested, False)
        task._time_left = None
        return self._take_wakers_locked(task)

    def add_waker(self, task: Task[Any], fn: Callable[[], object]) -> bool:
        """Run ``fn()`` once the task is no longer paused; False (not kept) if it is not paused now."""
        with self.lock:
            if task.control[0] != PAUSE:
                return False
            if task._wakers is None:
                task._wakers = []
            task._wakers.append(fn)
            return True

    def may_wait(self) -> bool:
        """May the calling thread block at a pause point? Not tasker's own loop."""
        return not self.lifecycle.delivery.must_not_block()

    def _take_wakers_locked(self, task: Task[Any]) -> list[Callable[[], object]]:
        wakers, task._wakers = task._wakers, None
        return wakers or []

    # -- the timeout timer ----------------------------------------------------------
    def arm_timeout(self, task: Task[Any], delay: float) -> None:
        clock = self.lifecycle.clock
        task._deadline = clock.now() + delay
        task._timer = clock.call_later(delay, lambda: self._time_out(task))

    def _time_out(self, task: Task[Any]) -> None:
        with self.lock:
            if task._status.is_final or task._cancel_requested:
                return  # already stopping (cancel, replace, shutdown): it ends canceled
            task._timed_out = True
        logger.debug("tasker: task %r (#%d) timed out", task.name, task.id)
        self.lifecycle.cancel(task)


def wake(wakers: list[Callable[[], object]] | None) -> None:
    if wakers:
        _wake(wakers)


def _wake(wakers: list[Callable[[], object]]) -> None:
    for fn in wakers:
        try:
            fn()
        except Exception:
            logger.exception("tasker: waking a paused task failed")


def pause_runner(runner: Runner, task: Task[Any]) -> None:
    """``runner.pause(task)``; a runner without it pauses cooperatively (``CooperativePause``)."""
    method = getattr(runner, "pause", None)
    if method is not None:
        method(task)


def resume_runner(runner: Runner, task: Task[Any]) -> None:
    """``runner.resume(task)``, or nothing for a runner without it."""
    method = getattr(runner, "resume", None)
    if method is not None:
        method(task)

