"""Rayforge's progress-context hierarchy (``rayforge.shared.tasker.progress``).

``ProgressContext`` is the interface every context a Rayforge task function
receives implements: the coroutine/thread ``ExecutionContext``
and the worker-side ``ExecutionContextProxy``. Applications also
subclass it for their own test doubles, so it keeps Rayforge's shape: the
progress arithmetic lives here, subclasses implement the abstract methods.

This module imports nothing from tasker: worker processes load it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable


class ProgressContext(ABC):
    """Progress (absolute value over a total, mapped onto a sub-range), message, cancellation.

    ``base_progress`` and ``progress_range`` place this context's 0..1 inside
    the root's 0..1; ``total`` is the value that ``set_progress`` reaches
    when done. A ``total`` of zero or less means "already normalized" (1.0).
    """

    def __init__(self, base_progress: float = 0.0, progress_range: float = 1.0, total: float = 100.0) -> None:
        self._base = float(base_progress)
        self._range = float(progress_range)
        self._total = 1.0
        self.set_total(total)

    @abstractmethod
    def is_cancelled(self) -> bool:
        """True once the work was asked to stop."""

    def set_progress(self, progress: float) -> None:
        """Report ``progress / total`` of this context's range as done."""
        self._report_normalized_progress(progress / self._total)

    @abstractmethod
    def set_message(self, message: str) -> None:
        """Set the text the UI shows for the work."""

    def set_total(self, total: float) -> None:
        """Set the value ``set_progress`` reaches when done (<= 0: 1.0)."""
        self._total = float(total) if total > 0 else 1.0

    def sub_context(self, base_progress: float, progress_range: float, total: float = 1.0) -> ProgressContext:
        """A child for a stage: its 0..1 covers ``[base, base + range]`` of this context."""
        return self._create_sub_context(base_progress, progress_range, total)

    @abstractmethod
    def flush(self) -> None:
        """Send pending progress and message now."""

    @abstractmethod
    def _report_normalized_progress(self, progress: float) -> None:
        """Report a fraction (0..1) of this context's own range."""

    @abstractmethod
    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
        """Build the child of ``sub_context`` (arguments relative to this context)."""


class ThrottledProgressContext(ProgressContext):
    """Marker base of the contexts whose reports are coalesced before they reach the UI."""


class NoOpProgressContext(ProgressContext):
    """A context that reports nothing and is never cancelled (for code run outside a task)."""

    def is_cancelled(self) -> bool:
        return False

    def set_progress(self, progress: float) -> None:
        pass

    def set_message(self, message: str) -> None:
        pass

    def set_total(self, total: float) -> None:
        pass

    def flush(self) -> None:
        pass

    def _report_normalized_progress(self, progress: float) -> None:
        pass

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
        return NoOpProgressContext(base_progress, progress_range, total)


_monotonic = time.monotonic  # CallbackProgressContext's clock (tests replace it)


class CallbackProgressContext(ProgressContext):
    """A context that reports through three callables (Rayforge's pipeline builds these).

    ``progress_callback(fraction)`` receives ``base_progress + progress / total *
    progress_range`` (not clamped), ``message_callback(text)`` each message,
    and ``is_cancelled_func()`` is asked at most once per
    ``CANCELLED_CHECK_INTERVAL_S``: a check sooner than that after the last one
    answers False without asking (the callable may cross processes). A
    ``sub_context(base, range, total)`` shares the callables and takes ``base``
    and ``range`` as they are, not relative to this context — Rayforge's rule.
    """

    CANCELLED_CHECK_INTERVAL_S = 0.05

    def __init__(
        self,
        is_cancelled_func: Callable[[], bool],
        progress_callback: Callable[[float], None],
        message_callback: Callable[[str], None],
        base_progress: float = 0.0,
        progress_range: float = 1.0,
        total: float = 100.0,
    ) -> None:
        super().__init__(base_progress, progress_range, total)
        self._is_cancelled_func = is_cancelled_func
        self._progress_callback = progress_callback
        self._message_callback = message_callback
        self._last_check_time = 0.0  # _monotonic() at the last real check

    def is_cancelled(self) -> bool:
        now = _monotonic()
        if now - self._last_check_time < self.CANCELLED_CHECK_INTERVAL_S:
            return False
        self._last_check_time = now
        return bool(self._is_cancelled_func())

    def set_message(self, message: str) -> None:
        self._message_callback(message)

    def flush(self) -> None:
        pass  # nothing is held back

    def _report_normalized_progress(self, progress: float) -> None:
        self._progress_callback(self._base + progress * self._range)

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
        return CallbackProgressContext(
            self._is_cancelled_func, self._progress_callback, self._message_callback,
            base_progress, progress_range, total,
        )


def set_progress(context: ProgressContext | None, progress: float, message: str = "") -> None:
    """Report ``progress`` (and ``message`` if not empty) to ``context`` when there is one."""
    if context is None:
        return
    context.set_progress(progress)
    if message:
        context.set_message(message)


def _sub_range(base: float, span: float, base_progress: float, progress_range: float) -> tuple[float, float]:
    """Absolute (base, range) of a child placed at ``base_progress``/``progress_range`` of a parent."""
    return base + base_progress * span, span * progress_range


def _clamp(fraction: float) -> float:
    if fraction > 1.0:
        return 1.0
    return fraction if fraction >= 0.0 else 0.0  # also NaN -> 0.0
