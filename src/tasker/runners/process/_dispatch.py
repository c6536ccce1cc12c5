"""Dispatch: queued tasks to idle workers, or ahead to busy ones (see ``_pool``).

``Dispatcher`` is one part of ``ProcessRunner`` (composed, not inherited): it
owns the moving average of task durations that decides whether tasks are sent
ahead, and picks, for the next queued task, a worker and a ticket.

    pool.pending ──► _next_locked (pool.lock) ──► (worker, task, ticket, ahead?)
                                                      │ outside the lock, in ticket order
                                                      ▼ (worker.order)
                     begin (not ahead) ──► worker.send(TASK header + call)

Tasks reach one worker in the order they were assigned to it (its ``order``
condition and tickets); the ticket's parity is the cancel-flag slot, so the
running task and the one sent ahead never share a flag.

Sent ahead: any queued task while tasks are short (the moving average); and,
whatever their length, a batch's chunk that its batch marked ``_ahead`` (others
have enough of its items left to take meanwhile, ``_batch``), once every
worker of the budget is busy, to a worker running a chunk of the same batch: it
goes straight on instead of idling a round trip per chunk. Never behind another
task's work (a long task of the app's), nor while a worker is idle or starting.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..._core._status import PAUSE
from .._remote import _payload
from ._messages import task_header

if TYPE_CHECKING:
    from ..._core._task import Task
    from ._pool import ProcessRunner
    from ._worker import Worker

#: Send a busy worker its next task ahead while tasks take less than this (s) on average.
PREFETCH_BELOW_S = 0.002
#: Weight of the newest task's duration in that moving average (the rest: its past).
DURATION_WEIGHT = 0.2
#: A long task counts as this long in the average, so it recovers after a few short ones.
DURATION_CAP_S = 1.0


class Dispatcher:
    """``ProcessRunner``'s dispatch: ``dispatch`` and how it picks (see the module doc)."""

    def __init__(self, pool: ProcessRunner) -> None:
        self.pool = pool
        # Invariant (under pool.lock): the moving average of the durations of the tasks
        # that ran (s), each counted at most DURATION_CAP_S; infinite until one ran.
        self.typical = float("inf")

    def took_locked(self, seconds: float) -> None:
        """A task ran this long (with ``pool.lock`` held): the average moves."""
        self.typical = min(self.typical, DURATION_CAP_S) * (1 - DURATION_WEIGHT) + seconds * DURATION_WEIGHT

    def dispatch(self) -> None:
        """Hand queued tasks to idle workers, or send them ahead to busy ones."""
        pool = self.pool
        while True:
            with pool.lock:
                picked = self._next_locked()
            if picked is None:
                return
            worker, task, ticket, ahead = picked
            if not ahead and pool.recycling.limit is not None:
                pool.recycling.task_started(pool.busy_workers_locked, pool.lock)
            with worker.order:  # tasks reach a worker in the order they were assigned to it
                while worker.turn != ticket:
                    worker.order.wait()
                try:
                    self._send_task(worker, task, ticket & 1, ahead)
                finally:
                    worker.turn += 1
                    worker.order.notify_all()

    def _send_task(self, worker: Worker, task: Task[Any], slot: int, ahead: bool) -> None:
        if not ahead and not self.pool.lifecycle.begin(task):
            self.pool.finished(worker, task, ran=False)
            return
        call: _payload.Call | None = task.payload
        if call is None:  # sent ahead and already ended (canceled): the worker skips it
            return
        try:
            worker.send(call.data, call.fds, prefix=task_header(slot, task.id))
        except OSError:
            pass  # the worker died: its reader fails the task (or queues it again)
        if not ahead:
            call.close()  # kept while sent ahead: it may have to go to another worker

    def _next_locked(self) -> tuple[Worker, Task[Any], int, bool] | None:
        """(worker, task, ticket, sent ahead?) for the next queued task.

        The ticket orders the sends to one worker; its parity is the cancel-flag
        slot, so the running task and the one sent ahead never share a flag.
        """
        pool = self.pool
        pending = pool.pending
        while (task := pending.first()) is not None:
            if task.is_final():  # canceled while queued
                pending.pop()
            elif not (task.control[0] == PAUSE and pool.pausing.park_locked(task)):  # (paused while queued)
                break
        if task is None:
            return None
        if pool.idle and pool.busy < pool.max:
            worker, ahead = pool.idle.pop(), False
            assert worker.task is None, "an idle worker has no task"
            worker.task = task
            pool.busy += 1
        else:
            target = self._prefetch_target_locked(task)
            if target is None:
                return None
            worker, ahead = target, True
            assert worker.next is None, "one task at most is sent ahead"
            worker.next = task
        pending.pop()
        ticket = worker.sent
        slot = ticket & 1
        worker.sent += 1
        if ahead:
            worker.next_slot = slot
        else:
            worker.task_slot, worker.started_at = slot, time.monotonic()
        task.handle = worker
        assert worker.flags is not None
        worker.flags[slot] = 0
        return worker, task, ticket, ahead

    def _prefetch_target_locked(self, task: Task[Any]) -> Worker | None:
        """A busy worker that may receive ``task`` before it asks (see the module doc)."""
        pool = self.pool
        short = self.typical < PREFETCH_BELOW_S
        if not short and not (task._ahead and pool.busy >= pool.max):
            return None
        batch = None if short else task._parent  # (a chunk goes ahead only behind its own batch's)
        recycling = pool.recycling
        for worker in pool.workers:
            if (
                worker.task is not None
                and (batch is None or worker.task._parent is batch)
                and worker.next is None
                and not (worker.retiring or worker.stopped or worker.skipping)
                and not (recycling.max_tasks is not None and recycling.last_task(worker))
            ):
                return worker
        return None
