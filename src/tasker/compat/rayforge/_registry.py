"""Rayforge's bookkeeping of tasks: by key, invisible ones, zombies, the progress batch.

tasker's core tracks every live task; Rayforge's manager shows a different set:
only *visible* tasks are listed and replaced by key; a process task cancelled
through the manager is a *zombie* (ended for the app, its worker still stopping);
overall progress is the mean over the current *batch* (visible tasks since the
manager was last idle, a finished one counting with its last progress).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .task import Task


class Registry:
    """The sets above, under one lock (``lock``); the manager reads and changes them here."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.by_key: dict[Any, Task] = {}  # visible tasks (Rayforge's _tasks), dead ones pruned on read
        self.invisible: dict[int, Task] = {}
        self.by_id: dict[int, Task] = {}  # every task added and not ended yet
        self.zombies: dict[int, Task] = {}  # process tasks cancelled here whose worker has not stopped
        # The current batch, for the overall progress: by key, the live visible task, or
        # the last progress of one that ended (a float: its result is not kept alive).
        self.batch: dict[Any, Task | float] = {}
        self.shown: dict[int, tuple[str, float, str | None]] = {}  # last state sent by status_changed

    def add(self, task: Task) -> None:
        with self.lock:
            task._added = True
            if task._visible:
                if not self.busy_locked():
                    self.batch.clear()  # a new batch: overall progress starts again
                self.by_key[task.key] = task
                self.batch[task.key] = task
            else:
                self.invisible[task.id] = task
            self.by_id[task.id] = task

    def forget(self, task: Task) -> None:
        """The core refused the task: undo ``add``."""
        with self.lock:
            self.unlist_locked(task)
            if self.batch.get(task.key) is task:
                del self.batch[task.key]
        task._added = False

    def ended(self, task: Task) -> None:
        """The core ended the task: out of every set; its progress stays in the batch."""
        with self.lock:
            self.unlist_locked(task)
            self.zombies.pop(task.id, None)
            self.shown.pop(task.id, None)
            self.settle_in_batch_locked(task)

    def make_zombie(self, task: Task) -> bool:
        """A process task cancelled here: ended for the app now; False if it already was."""
        with self.lock:
            if task._zombie:
                return False
            task._progress, task._message = task.get_progress(), task.get_message()  # frozen from now on
            task._zombie = True
            self.unlist_locked(task)
            self.zombies[task.id] = task
            self.settle_in_batch_locked(task)
            return True

    def settle_in_batch_locked(self, task: Task) -> None:
        """The task ended: its last progress stays in the batch; an idle manager ends the batch."""
        if self.batch.get(task.key) is task:
            self.batch[task.key] = task.get_progress()
        if not self.busy_locked():
            self.batch.clear()

    def unlist_locked(self, task: Task) -> None:
        if self.by_key.get(task.key) is task:
            del self.by_key[task.key]
        self.invisible.pop(task.id, None)
        self.by_id.pop(task.id, None)

    def live_visible_locked(self) -> list[Task]:
        live = self.by_key
        dead = [key for key, task in live.items() if task._zombie or (task._core is not None and task._core.is_final())]
        for key in dead:
            del live[key]
        return list(live.values())

    def busy_locked(self) -> bool:
        return bool(self.live_visible_locked() or self.zombies)

    def live_visible(self) -> list[Task]:
        with self.lock:
            return self.live_visible_locked()

    def get(self, key: Any) -> Task | None:
        with self.lock:
            self.live_visible_locked()
            return self.by_key.get(key)

    def get_by_id(self, task_id: int) -> Task | None:
        with self.lock:
            return self.by_id.get(task_id)

    def by_key_copy(self) -> dict[Any, Task]:
        with self.lock:
            self.live_visible_locked()
            return dict(self.by_key)

    def overall_progress(self) -> float:
        """Mean progress of the visible tasks of the current batch; 1.0 when idle."""
        with self.lock:
            if not self.live_visible_locked():
                return 1.0
            batch = list(self.batch.values())
        if not batch:
            return 0.0
        return sum(item if isinstance(item, float) else item.get_progress() for item in batch) / len(batch)
