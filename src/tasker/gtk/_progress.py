"""``TaskProgressBar``: overall progress of a manager, for a status bar."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._base import Gtk, ManagerBinding

if TYPE_CHECKING:
    from .._core._task import Task


class TaskProgressBar(Gtk.Box, ManagerBinding):  # type: ignore[misc]
    """A status-bar strip: the newest task's message, a task count and a bar.

    * While tasks run, the bar shows the manager's overall progress and the
      label the newest task's message (or its name when it has none yet).
    * When no live task has reported any progress (work of unknown length), the
      bar pulses instead.
    * When idle the bar fades out (``idle_mode="fade"``, the default) and the label
      shows ``idle_text``; with ``idle_mode="hide"`` the whole strip is hidden.

    ``manager`` defaults to the shared ``task_mgr``; pass any ``TaskManager``.
    """

    __gtype_name__ = "TaskerTaskProgressBar"

    def __init__(
        self,
        manager: Any = None,
        *,
        idle_text: str = "",
        idle_mode: str = "fade",
        show_count: bool = True,
        pulse_after: float = 0.3,
    ) -> None:
        super().__init__(orientation=Gtk.Orientation.HORIZONTAL, spacing=10)
        if idle_mode not in ("fade", "hide"):
            raise ValueError(f"idle_mode must be 'fade' or 'hide', got {idle_mode!r}")
        self.add_css_class("tasker-status")
        self._idle_text = idle_text
        self._idle_mode = idle_mode
        self._pulse_after = pulse_after
        self._busy_since = 0.0
        self._unknown = False
        self._pulsing = False

        self._label = Gtk.Label(label=idle_text, xalign=0.0, hexpand=True)
        self._label.set_ellipsize(3)  # Pango.EllipsizeMode.END
        self._label.set_single_line_mode(True)
        self._count = Gtk.Label(xalign=1.0)
        self._count.add_css_class("tasker-dim")
        self._count.set_visible(show_count)
        self._show_count = show_count
        self._bar = Gtk.ProgressBar(valign=Gtk.Align.CENTER)
        self._bar.set_pulse_step(0.08)
        self._revealer = Gtk.Revealer(
            transition_type=Gtk.RevealerTransitionType.CROSSFADE,
            transition_duration=400,
            reveal_child=False,
            valign=Gtk.Align.CENTER,
        )
        self._revealer.set_child(self._bar)
        self.append(self._label)
        self.append(self._count)
        self.append(self._revealer)
        self._bind_manager(manager)
        if idle_mode == "hide":
            self.set_visible(False)

    tick_ms = 80

    def do_realize(self) -> None:
        Gtk.Box.do_realize(self)
        self._binding_realized()

    def do_unrealize(self) -> None:
        self._binding_unrealized()
        Gtk.Box.do_unrealize(self)

    # -- read back (tests, accessibility) --------------------------------------
    @property
    def fraction(self) -> float:
        return float(self._bar.get_fraction())

    @property
    def text(self) -> str:
        return str(self._label.get_text())

    @property
    def busy(self) -> bool:
        """True while tasks are live (the bar is shown)."""
        return bool(self._revealer.get_reveal_child())

    @property
    def pulsing(self) -> bool:
        return self._pulsing

    @property
    def progress_bar(self) -> Gtk.ProgressBar:
        return self._bar

    # -- updates ------------------------------------------------------------------
    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        if not tasks:
            self._busy_since = 0.0
            self._unknown = self._pulsing = False
            self._label.set_text(self._idle_text)
            self._count.set_text("")
            self._bar.set_fraction(1.0 if progress >= 1.0 else progress)
            self._revealer.set_reveal_child(False)
            if self._idle_mode == "hide":
                self.set_visible(False)
            return
        now = time.monotonic()
        if not self._busy_since:
            self._busy_since = now
        newest = tasks[-1]
        self._label.set_text(newest.get_message() or f"{newest.name}…")
        if self._show_count:
            self._count.set_text(f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}")
        self._revealer.set_reveal_child(True)
        if self._idle_mode == "hide":
            self.set_visible(True)
        unknown = self._unknown = all(task.get_progress() <= 0.0 for task in tasks)
        self._pulsing = unknown and now - self._busy_since >= self._pulse_after
        if unknown:
            self._want_ticks()
        if not self._pulsing:
            self._bar.set_fraction(progress)

    def _ticking(self) -> bool:
        return self._unknown

    def _tick(self) -> None:
        if time.monotonic() - self._busy_since >= self._pulse_after:
            self._pulsing = True
            self._bar.pulse()
