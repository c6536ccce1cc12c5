"""A stand-in for ``tasker.Task`` with the surface the widget model reads (tests only)."""

from __future__ import annotations

from types import SimpleNamespace

from tasker.testing import FakeClock


class FakeTask:
    """What ``tasker._widgets`` reads of a task; every field is set by the test.

    With ``clock``, ``clock_now(task)`` reads that clock, as it reads a real
    task's manager clock.
    """

    def __init__(
        self,
        task_id: int,
        clock: FakeClock | None = None,
        progress: float = 0.0,
        message: str | None = None,
        name: str = "",
    ) -> None:
        self.id, self.name, self.visible = task_id, name or f"task {task_id}", True
        self.progress, self.message, self.paused, self.status = progress, message, False, "running"
        self.error: BaseException | None = None
        if clock is not None:
            self._lifecycle = SimpleNamespace(clock=clock)  # what clock_now reads on a Task

    def get_progress(self) -> float:
        return self.progress

    def get_message(self) -> str | None:
        return self.message

    def is_paused(self) -> bool:
        return self.paused

    def is_cancelled(self) -> bool:
        return False

    def is_running(self) -> bool:
        return self.status == "running"

    def get_status(self) -> str:
        return self.status

    def exception(self) -> BaseException | None:
        return self.error
