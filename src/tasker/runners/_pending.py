"""Pending work of one pool, in the order it starts: priority first, then FIFO.

``priority=`` (an int, default 0, higher first) orders the tasks *waiting* for a
thread or a worker; within a priority they start in the order they were
submitted (by ``task.id``, which only grows), so equal priorities never starve
one another. A task put back (its worker died before starting it, it was
paused while waiting) keeps its place: the same id. Running tasks are never
preempted. Not thread-safe: the pool's own lock guards it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._core._task import Task


class PendingQueue:
    """A heap of ``(-priority, id, task)``; ``id`` is unique, so tasks are never compared."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Task[Any]]] = []

    def push(self, task: Task[Any]) -> None:
        heapq.heappush(self._heap, (-task.priority, task.id, task))

    def pop(self) -> Task[Any]:
        """The next task to start (raises ``IndexError`` when empty)."""
        return heapq.heappop(self._heap)[2]

    def peek(self) -> Task[Any]:
        return self._heap[0][2]

    def take_all(self) -> list[Task[Any]]:
        """Every task, in start order; the queue is then empty."""
        entries, self._heap = sorted(self._heap), []
        return [entry[2] for entry in entries]

    def __len__(self) -> int:
        return len(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)

    def __iter__(self) -> Iterator[Task[Any]]:
        """In start order (a copy: the queue may change meanwhile)."""
        return iter([entry[2] for entry in sorted(self._heap)])
