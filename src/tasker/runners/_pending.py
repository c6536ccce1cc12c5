"""Pending work of one pool, in the order it starts: priority first, then FIFO.

``priority=`` (an int, default 0, higher first) orders the tasks *waiting* for a
thread or a worker; within a priority they start in the order they were
submitted (by ``task.id``, which only grows), so equal priorities never starve
one another. A task put back (its worker died before starting it, it was
paused while waiting) keeps its place: the same id. Running tasks are never
preempted. Not thread-safe: the pool's own lock guards it.

While every task has priority 0 and arrives in id order (or goes back to the
front) the queue is a plain ``deque``; the first push that would break that
turns it into a heap, for good.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._core._task import Task


class PendingQueue:
    """A deque, or a heap of ``(-priority, id, task)`` (``id`` is unique: tasks are never compared)."""

    __slots__ = ("_fifo", "_heap")

    def __init__(self) -> None:
        self._fifo: deque[Task[Any]] | None = deque()  # None once it is a heap
        self._heap: list[tuple[int, int, Task[Any]]] = []

    def push(self, task: Task[Any]) -> None:
        fifo = self._fifo
        if fifo is not None and not task.priority:
            if not fifo or task.id > fifo[-1].id:
                fifo.append(task)
                return
            if task.id < fifo[0].id:  # goes back to the front, where it was
                fifo.appendleft(task)
                return
        if fifo is not None:
            self._heap = [(0, t.id, t) for t in fifo]  # already in heap order
            self._fifo = None
        heapq.heappush(self._heap, (-task.priority, task.id, task))

    def pop(self) -> Task[Any]:
        """The next task to start (raises ``IndexError`` when empty)."""
        if self._fifo is not None:
            return self._fifo.popleft()
        return heapq.heappop(self._heap)[2]

    def first(self) -> Task[Any] | None:
        """The next task to start, left in the queue (None when empty)."""
        fifo = self._fifo
        if fifo is not None:
            return fifo[0] if fifo else None
        heap = self._heap
        return heap[0][2] if heap else None

    def take_all(self) -> list[Task[Any]]:
        """Every task, in start order; the queue is then empty."""
        tasks = list(self)
        self._fifo, self._heap = deque(), []
        return tasks

    def __len__(self) -> int:
        return len(self._fifo) if self._fifo is not None else len(self._heap)

    def __bool__(self) -> bool:
        return bool(self._fifo) if self._fifo is not None else bool(self._heap)

    def __iter__(self) -> Iterator[Task[Any]]:
        """In start order (a copy: the queue may change meanwhile)."""
        if self._fifo is not None:
            return iter(list(self._fifo))
        return iter([entry[2] for entry in sorted(self._heap)])
