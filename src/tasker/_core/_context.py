"""``ExecutionContext``: what a task function receives as its first argument.

One class serves every kind of task. It writes into a *cell* (the ``Task``
itself for threads and coroutines, a worker-side stand-in for processes) and
reads cancellation and pause from a one-byte *control* byte (a ``bytearray`` of the task, or a
byte of memory shared with the parent for processes), so ``is_cancelled()``
and ``set_progress()`` cost a few attribute operations in every kind.

Pausing costs the fast path nothing: a paused task's control byte is non-zero
(``PAUSE``) and its ``_dirty`` false, so ``is_cancelled()`` and the progress
calls reach the cell's slow path, where a paused thread task waits
(``_pause_point``); coroutines wait in ``await context.checkpoint()``.
"""

from __future__ import annotations

from . import _ask

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object  # (only a base for the type checker: no run-time checks use it)


class CancelFlag(Protocol):
    """One byte, non-zero once canceled: a ``bytearray`` or shared ``mmap``."""

    def __getitem__(self, index: int, /) -> int: ...


class ProgressCell(Protocol):
    """Where a context reports to; see ``Task`` and the worker's ``_Cell``."""

    _progress: float
    _message: str | None
    _dirty: bool

    def _changed(self) -> None: ...
    def _pause_point(self) -> bool: ...
    async def _checkpoint(self) -> None: ...
    def _send_event(self, name: str, data: Any) -> None: ...
    def _flush(self) -> None: ...
    def _ask(self, name: str, data: Any, timeout: float | None) -> Any: ...
    async def _ask_async(self, name: str, data: Any, timeout: float | None) -> Any: ...


class ExecutionContext:
    """Progress, messages, events and cancellation for one running task."""

    __slots__ = ("_base", "_cell", "_flag", "_span", "_total")
    _flag: CancelFlag

    def __init__(
        self,
        cell: ProgressCell,
        flag: CancelFlag,
        base: float = 0.0,
        span: float = 1.0,
        total: float = 1.0,
    ) -> None:
        self._cell = cell
        self._flag = flag  # anything indexable whose [0] is non-zero once canceled
        self._base = base
        self._span = span
        # (a positive float, the default included, needs no call: every task makes one context)
        self._total = total if total.__class__ is float and total > 0.0 else _check_total(total)

    def set_total(self, total: float) -> None:
        """Set the value that ``set_progress`` reaches when done (default 1.0)."""
        self._total = _check_total(total)

    def set_progress(self, value: float) -> None:
        """Report ``value / total`` done (clamped to [0, 1])."""
        fraction = value / self._total
        if fraction > 1.0:
            fraction = 1.0
        elif not fraction >= 0.0:  # negative or NaN
            fraction = 0.0
        cell = self._cell
        progress = self._base + fraction * self._span
        cell._progress = progress if progress <= 1.0 else 1.0  # nested spans' rounding
        if not cell._dirty:
            cell._changed()

    def set_message(self, text: str | None) -> None:
        """Set the task's status text shown to the user."""
        cell = self._cell
        cell._message = None if text is None else str(text)
        if not cell._dirty:
            cell._changed()

    def is_cancelled(self) -> bool:
        """True once the task was asked to stop; cheap enough for inner loops.

        In a paused thread task it waits until the task is resumed or canceled.
        """
        if self._flag[0]:  # one read and a jump: as cheap as the plain `!= 0` it replaced (measured)
            return self._cell._pause_point()
        return False

    async def checkpoint(self) -> None:
        """Coroutine tasks: wait here while the task is paused (tasker's loop goes on).

        Returns at once, without suspending, when the task is not paused.
        """
        if self._flag[0]:
            await self._cell._checkpoint()

    def sub_context(
        self, base_progress: float, progress_range: float, total: float = 1.0
    ) -> ExecutionContext:
        """A child whose 0..1 maps onto ``[base, base + range]`` of this one."""
        if not 0.0 <= base_progress <= 1.0 or not 0.0 <= progress_range <= 1.0:
            raise ValueError(
                "sub_context(base_progress, progress_range) takes fractions of "
                f"this context in [0, 1], got {base_progress!r}, {progress_range!r}"
            )
        span = min(progress_range, 1.0 - base_progress) * self._span
        base = self._base + base_progress * self._span
        return ExecutionContext(self._cell, self._flag, base, span, total)

    def send_event(self, name: str, data: Any = None) -> None:
        """Deliver ``when_event(task, name, data)`` on the main thread, in order."""
        self._cell._send_event(str(name), data)

    def flush(self) -> None:
        """Send pending progress and message to the UI now, past the throttle."""
        self._cell._flush()

    def ask(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        """Ask the main thread and wait for its answer (thread and process tasks).

        Sends ``name``/``data`` like ``send_event``; the task's
        ``when_event(task, name, data)`` handler runs on the main thread and what
        it returns is the answer (``None`` if the task has no handler). Raises
        what the handler raised, ``tasker.CancelledError`` if the task is
        canceled meanwhile, ``tasker.TaskTimeoutError`` past ``timeout``
        seconds. A coroutine task uses ``await context.ask_async(...)``.
        """
        return self._cell._ask(str(name), data, _ask.check_timeout(timeout))

    async def ask_async(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        """``ask`` for coroutine tasks: awaits the answer without blocking the loop."""
        return await self._cell._ask_async(str(name), data, _ask.check_timeout(timeout))


def _check_total(total: float) -> float:
    value = float(total)
    if not value > 0.0:
        raise ValueError(f"total must be a positive number, got {total!r}")
    return value


from ._public import public  # noqa: E402

public(ExecutionContext)
