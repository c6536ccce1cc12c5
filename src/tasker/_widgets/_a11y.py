"""What a screen reader gets from tasker's widgets, toolkit-neutral.

* ``AccessibleValue`` — the rate rule of a progress bar's *accessible* value:
  it moves on every new 10 % step, at most once a second (a step reached
  sooner is held and published when the second is over, as the value is
  then), at once when the bar reaches its end or goes back (a new task), and
  never within a step. The visible bar is not throttled. Screen readers speak
  a progress bar's value changes; at tasker's ~20 updates a second they would
  speak without end.
* ``ending_text(task)`` — the one sentence announced when a task ends:
  ``"export completed"``, ``"export failed: ValueError: boom"``,
  ``"export canceled"``.
* ``cancel_label`` / ``pause_label`` / ``dismiss_label`` — the accessible names of the
  buttons that show only a glyph or an icon.

Time is the manager's clock (``ManagerBinding._now``), so a test drives the
rule exactly with ``tasker.testing.FakeClock``.

::

    offer(f, now):  first value ─────────────────────────► publish
                    f >= 1, or step(f) < step(last) ───────► publish
                    step(f) == step(last) ─────────────────► nothing
                    step(f) >  step(last):
                        now - last_at >= INTERVAL ────────► publish
                        else ──────────────────────────────► held (due() publishes later)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._text import describe_error

if TYPE_CHECKING:
    from .._core._task import Task

__all__ = ["AccessibleValue", "cancel_label", "dismiss_label", "ending_text", "pause_label"]


def _step(fraction: float) -> int:
    return min(10, math.floor(fraction * 10 + 1e-9))


class AccessibleValue:
    """The rate rule of a progress bar's accessible value (see the module's docstring)."""

    #: Seconds between two published values (a new step reached sooner waits).
    INTERVAL = 1.0

    def __init__(self) -> None:
        # Invariant: _published is None until the first offer; afterwards it is the
        # last value handed out, _published_at its time on the widget's clock.
        self._published: float | None = None
        self._published_at = 0.0
        # Invariant: _held is not None only while a new step waits for INTERVAL.
        self._held: float | None = None

    @property
    def value(self) -> float | None:
        """The accessible value published last (``None``: none yet)."""
        return self._published

    @property
    def holding(self) -> bool:
        """A new step waits for the interval to end (the owner polls ``due``)."""
        return self._held is not None

    def offer(self, fraction: float, now: float) -> float | None:
        """The visible bar shows ``fraction`` now: the value to publish, or ``None``."""
        fraction = min(1.0, max(0.0, fraction))
        last = self._published
        if last is None or (fraction >= 1.0 and last < 1.0) or _step(fraction) < _step(last):
            return self._publish(fraction, now)
        if _step(fraction) == _step(last):
            self._held = None  # back within the published step (it went back, then on again)
            return None
        if now - self._published_at >= self.INTERVAL:
            return self._publish(fraction, now)
        self._held = fraction
        return None

    def due(self, now: float) -> float | None:
        """Publish a held step once the interval is over (call it from a timer)."""
        if self._held is None or now - self._published_at < self.INTERVAL:
            return None
        return self._publish(self._held, now)

    def reset(self) -> None:
        """Forget what was published (the bar shows no value: busy, or idle)."""
        self._published, self._held = None, None

    def _publish(self, fraction: float, now: float) -> float:
        self._published, self._published_at, self._held = fraction, now, None
        return fraction


def ending_text(task: Task[Any]) -> str:
    """What is announced once when ``task`` ends (its final status and, failed, why)."""
    status = task.get_status()
    if status == "failed":
        return f"{task.name} failed: {describe_error(task.exception())}"
    return f"{task.name} {status}"


def cancel_label(name: str) -> str:
    return f"Cancel {name}"


def pause_label(name: str, paused: bool) -> str:
    return f"{'Resume' if paused else 'Pause'} {name}"


def dismiss_label(title: str) -> str:
    return f"Dismiss: {title}"
