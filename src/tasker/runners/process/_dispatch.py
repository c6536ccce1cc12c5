"""Dispatch: queued tasks to idle workers, or ahead to busy ones (see ``_pool``).

Tasks reach one worker in the order they were assigned to it (its ``order``
condition and tickets); the ticket's parity is the cancel-flag slot, so the
running task and the one sent ahead never share a flag.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ..._core._status import PAUSED
from .._remote import _payload
from ._messages import task_header

if TYPE_CHECKING:
    from ..._core._runner import Lifecycle
    from ..._core._task import Task
    from .._pending import PendingQueue
    from ._recycle import Recycling
    from ._worker import Worker

#: Send a busy worker its next task ahead while tasks take less than this (s) on average.
PREFETCH_BELOW_S = 0.002


class PoolDispatch:
    """Mixin of ``ProcessRunner``: ``dispatch`` and how it picks."""

    lock: threading.Lock
    lifecycle: Lifecycle
    _pending: PendingQueue
    _idle: list[Worker]
    _workers: set[Worker]
    _busy: int
    _max: int
    _typical: float
    recycling: Recycling

    def dispatch(self) -> None:
        """Hand queued tasks to idle workers, or send them ahead to busy ones."""
        while True:
            with self.lock:
                picked = self._next_locked()
            if picked is None:
                return
            worker, task, ticket, ahead = picked
            if not ahead and self.recycling.limit is not None:
                self.recycling.task_started(self.busy_workers_locked, self.lock)
            with worker.order:  # tasks reach a worker in the order they were assigned to it
                while worker.turn != ticket:
                    worker.order.wait()
                try:
                    self._send_task(worker, task, ticket & 1, ahead)
                finally:
                    worker.turn += 1
                    worker.order.notify_all()

    def _send_task(self, worker: Worker, task: Task[Any], slot: int, ahead: bool) -> None:
        if not ahead and not self.lifecycle.begin(task):
            self.finished(worker, task, ran=False)
            return
        call: _payload.Call | None = task.payload
        if call is None:  # sent ahead and already ended (cancelled): the worker skips it
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
        pending = self._pending
        while (task := pending.first()) is not None:
            if task.is_final():  # cancelled while queued
                pending.pop()
            elif not (task.cancel_flag[0] == PAUSED and self.park_locked(task)):  # (parked: paused while queued)
                break
        if task is None:
            return None
        if self._idle and self._busy < self._max:
            worker, ahead = self._idle.pop(), False
            worker.task = task
            self._busy += 1
        else:
            target = self._prefetch_target_locked()
            if target is None:
                return None
            worker, ahead = target, True
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

    def _prefetch_target_locked(self) -> Worker | None:
        """A busy worker that may receive its next task before it asks (see the module doc)."""
        if self._typical >= PREFETCH_BELOW_S:
            return None
        for worker in self._workers:
            if (
                worker.task is not None
                and worker.next is None
                and not (worker.retiring or worker.stopped or worker.skipping)
                and not (self.recycling.max_tasks is not None and self.recycling.last_task(worker))
            ):
                return worker
        return None

    if TYPE_CHECKING:  # the pool's (ProcessRunner, PoolPausing)

        def finished(self, worker: Worker, task: Task[Any], ran: bool = True, rss: int = 0) -> Task[Any] | None: ...
        def park_locked(self, task: Task[Any]) -> bool: ...
        def busy_workers_locked(self) -> list[Worker]: ...
