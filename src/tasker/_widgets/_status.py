"""The status strip (``TaskProgressBar``): what it shows, toolkit-neutral."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._a11y import AccessibleValue
from ._binding import ManagerBinding
from ._text import count_text

if TYPE_CHECKING:
    from .._core._task import Task


class StatusBarLogic(ManagerBinding):
    """Mixin: the newest task's message, a task count and the overall progress.

    * While tasks run: the newest task's message (its name while it has none),
      ``"3 tasks"`` and the manager's overall progress;
    * when no live task has reported progress for ``pulse_after`` seconds
      (work of unknown length): pulsing instead of a fraction;
    * when idle: ``idle_text``, no count, and the bar goes away
      (``idle_mode="fade"``) or the whole strip does (``"hide"``);
    * paused tasks are counted (``"3 tasks, 1 paused"``); with ``show_after``
      a task counts once it has been live that long (a quick one never shows).

    The toolkit implements ``_show_idle()``, ``_show_busy()``,
    ``_show_fraction(fraction)`` and ``_show_pulse()``, and may implement
    ``_publish_value(value)``: the bar's accessible value, by
    ``AccessibleValue``'s rate rule (``None`` while it pulses).
    """

    tick_ms = 80

    def _init_status(self, idle_text: str, idle_mode: str, show_count: bool, pulse_after: float) -> None:
        if idle_mode not in ("fade", "hide"):
            raise ValueError(f"idle_mode must be 'fade' or 'hide', got {idle_mode!r}")
        self._idle_text = idle_text
        self._idle_mode = idle_mode
        self._show_count = show_count
        self._pulse_after = pulse_after
        # Invariant: None exactly while idle (no live task shown); else when work began.
        self._busy_since: float | None = None
        self._unknown = False
        self._pulsing = False
        self._busy = False
        self._text = idle_text
        self._count_text = ""
        self._fraction = 0.0
        self._value = AccessibleValue()

    # -- read back (tests, accessibility) -----------------------------------------------
    @property
    def text(self) -> str:
        """The label: the newest task's message, or ``idle_text``."""
        return self._text

    @property
    def count_text(self) -> str:
        """``"3 tasks"`` while busy (``show_count``), else ``""``."""
        return self._count_text

    @property
    def fraction(self) -> float:
        """The bar's fraction (overall progress)."""
        return self._fraction

    @property
    def busy(self) -> bool:
        """True while tasks are live (the bar is shown)."""
        return self._busy

    @property
    def pulsing(self) -> bool:
        """True while the bar pulses (no live task reported progress)."""
        return self._pulsing

    # -- updates ---------------------------------------------------------------------------
    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        if not tasks:
            self._busy_since = None
            self._unknown = self._pulsing = self._busy = False
            self._text, self._count_text = self._idle_text, ""
            self._fraction = 1.0 if progress >= 1.0 else progress
            self._show_idle()
            self._offer_value(self._fraction, self._now())
            return
        now = self._now()
        if self._busy_since is None:
            self._busy_since = now
        newest = tasks[-1]
        self._text = newest.get_message() or f"{newest.name}…"
        paused = sum(task.is_paused() for task in tasks)
        self._count_text = count_text(len(tasks), paused) if self._show_count else ""
        self._busy = True
        unknown = self._unknown = paused < len(tasks) and all(task.get_progress() <= 0.0 for task in tasks)
        self._pulsing = unknown and now - self._busy_since >= self._pulse_after
        self._show_busy()
        if not self._pulsing:
            self._fraction = progress
            self._show_fraction(progress)
            self._offer_value(progress, now)
        elif self._value.value is not None:
            self._value.reset()
            self._publish_value(None)
        if self._ticking():
            self._want_ticks()

    @property
    def accessible_value(self) -> float | None:
        """The value a screen reader gets for the bar (``None`` while it pulses)."""
        return self._value.value

    def _offer_value(self, fraction: float, now: float) -> None:
        value = self._value.offer(fraction, now)
        if value is not None:
            self._publish_value(value)

    def _ticking(self) -> bool:
        return self._unknown or self._value.holding

    def _tick(self) -> None:
        now = self._now()
        if self._unknown and self._busy_since is not None and now - self._busy_since >= self._pulse_after:
            if not self._pulsing and self._value.value is not None:
                self._value.reset()
                self._publish_value(None)
            self._pulsing = True
            self._show_pulse()
        value = self._value.due(now)
        if value is not None:
            self._publish_value(value)

    def _publish_value(self, value: float | None) -> None:
        """Give the bar's accessible value (0..1, or ``None`` while pulsing)."""

    def _show_idle(self) -> None:
        """Show ``text`` and ``fraction``; hide the bar (or the strip)."""
        raise NotImplementedError

    def _show_busy(self) -> None:
        """Show ``text``, ``count_text`` and the bar."""
        raise NotImplementedError

    def _show_fraction(self, fraction: float) -> None:
        raise NotImplementedError

    def _show_pulse(self) -> None:
        """One pulse step (or: switch to the toolkit's busy indicator)."""
        raise NotImplementedError
