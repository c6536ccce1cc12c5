"""The context of a coroutine or thread task (``rayforge.shared.tasker.context``).

Rayforge hands its coroutines an ``ExecutionContext`` with a debounce
timer of its own; here the context writes straight into tasker's context, whose
delivery already coalesces progress and messages for the main thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .progress import ThrottledProgressContext, _clamp, _sub_range

if TYPE_CHECKING:
    from tasker import ExecutionContext as CoreContext


class ExecutionContext(ThrottledProgressContext):
    """Progress, message and cancellation for one coroutine task, on tasker's context.

    ``set_progress(value)`` reports ``value / total`` of this context's range
    (clamped to 0..1); ``sub_context(base, range, total)`` maps a stage onto
    part of it; ``task`` is the ``Task`` being run.
    """

    def __init__(
        self,
        context: CoreContext,
        task: Any = None,
        base_progress: float = 0.0,
        progress_range: float = 1.0,
        total: float = 1.0,
    ) -> None:
        self._context = context
        #: The Rayforge-style Task this context reports for.
        self.task = task
        super().__init__(base_progress, progress_range, total)

    def is_cancelled(self) -> bool:
        return self._context.is_cancelled()

    def set_message(self, message: str) -> None:
        if message is not None:  # Rayforge ignores a None message
            self._context.set_message(message)

    def flush(self) -> None:
        self._context.flush()

    def _report_normalized_progress(self, progress: float) -> None:
        self._context.set_progress(self._base + _clamp(progress) * self._range)

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ExecutionContext:
        base, span = _sub_range(self._base, self._range, base_progress, progress_range)
        return ExecutionContext(self._context, self.task, base, span, total)
