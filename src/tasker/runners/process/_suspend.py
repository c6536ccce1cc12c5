"""Pausing process tasks: the worker is stopped, nothing waits behind it.

A process task pauses at once, whether its function calls the context or not:
its worker's process group (the worker and what its task started) gets
SIGSTOP, and SIGCONT on resume — or on cancel, so that the function sees its
flag, or is killed after the grace period as usual. A stopped worker uses no
CPU. What was sent ahead to it is taken back (its flag set: the worker skips
it once it goes on) and queued again, in its place; no task is sent ahead to
a stopped worker, nor to one whose skipped task has not come back yet (that
keeps the two cancel-flag slots apart). A task paused while queued is
*parked* when its turn comes and queued again, in its place, on resume.

``pause``/``resume`` only bring the pool in line with ``task.is_paused()``
(under ``lock``), so a pause and a resume racing each other end in the
state the lifecycle holds last.

``Pausing`` is one part of ``ProcessRunner`` (composed, not inherited): it
owns the parked tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._worker import Worker

if TYPE_CHECKING:
    from ..._core._task import Task
    from ._pool import ProcessRunner


class Pausing:
    """``ProcessRunner``'s ``pause``, ``resume`` and the parked tasks."""

    def __init__(self, pool: ProcessRunner) -> None:
        self.pool = pool
        # Invariant (under pool.lock): a parked task is paused while queued: it is in
        # neither pool.pending nor on a worker, until its resume queues it again.
        self.parked: dict[int, Task[Any]] = {}

    def pause(self, task: Task[Any]) -> None:
        self._sync_pause(task)

    def resume(self, task: Task[Any]) -> None:
        self._sync_pause(task)

    def _sync_pause(self, task: Task[Any]) -> None:
        with self.pool.lock:
            queued = self._sync_pause_locked(task)
        if queued:
            self.pool.dispatch()

    def _sync_pause_locked(self, task: Task[Any]) -> bool:
        """True if a task went back to the queue (dispatch then)."""
        paused = task.is_paused() and not task.is_final()
        parked = self.parked.pop(task.id, None)
        if parked is not None:
            if paused:
                self.parked[task.id] = parked
                return False
            if not task.is_final():
                self.pool.pending.push(task)
                return True
            return False
        worker = task.handle
        if not isinstance(worker, Worker):
            return False  # still queued: parked when its turn comes (``park_locked``)
        if worker.task is task:
            if paused and not worker.stopped:
                worker.suspend(True)
                return self.take_back_locked(worker)
            if not paused and worker.stopped:
                worker.suspend(False)
            return False
        if worker.next is task and paused:
            return self.take_back_locked(worker)
        return False

    def park_locked(self, task: Task[Any]) -> bool:
        """In dispatch: a queued task that is paused waits here for its resume (True)."""
        if not task.is_paused():
            return False
        assert task.id not in self.parked, "a task is parked once"
        self.parked[task.id] = self.pool.pending.pop()
        return True

    def take_back_locked(self, worker: Worker) -> bool:
        """The task sent ahead to ``worker`` goes back to the queue; True if there was one."""
        task = worker.next
        if task is None:
            return False
        worker.skipping.add(task.id)
        self.pool.requeue_next_locked(worker)
        return True

    def skipped(self, worker: Worker, task_id: int) -> None:
        """The worker reported a task it skipped (taken back): it may be sent ahead again."""
        with self.pool.lock:
            worker.skipping.discard(task_id)
            again = not worker.skipping and bool(self.pool.pending)
        if again:
            self.pool.dispatch()
