"""``TaskProgressBar``: overall progress of a manager, for a status bar."""

from __future__ import annotations

from typing import Any

from .._widgets import StatusBarLogic
from ._a11y import AccessibleBar, describing, relate
from ._base import Gtk, GtkBinding


class TaskProgressBar(Gtk.Box, StatusBarLogic, GtkBinding):  # type: ignore[misc]
    """A status-bar strip: the newest task's message, a task count and a bar.

    * While tasks run, the bar shows the manager's overall progress and the
      label the newest task's message (or its name when it has none yet).
    * When no live task has reported any progress (work of unknown length), the
      bar pulses instead.
    * When idle the bar fades out (``idle_mode="fade"``, the default) and the label
      shows ``idle_text``; with ``idle_mode="hide"`` the whole strip folds away
      (it takes no room) until work starts again.
    * ``show_after=seconds``: a task counts once it has been live that long, so
      work that ends sooner never flickers into view.

    ``manager`` defaults to the shared ``task_mgr``; pass any ``TaskManager``.

    Accessible: the bar is "Overall progress", described by the label; its
    value moves by ``AccessibleValue``'s rate rule (none while it pulses).
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
        show_after: float = 0.0,
    ) -> None:
        super().__init__(orientation=Gtk.Orientation.HORIZONTAL, spacing=10)
        self._init_status(idle_text, idle_mode, show_count, pulse_after)
        self.add_css_class("tasker-status")
        self._label = Gtk.Label(label=idle_text, xalign=0.0, hexpand=True)
        self._label.set_ellipsize(3)  # Pango.EllipsizeMode.END
        self._label.set_single_line_mode(True)
        describing(self._label, idle_text)
        self._count = Gtk.Label(xalign=1.0)
        self._count.add_css_class("tasker-dim")
        self._count.set_visible(show_count)
        self._accessible_bar = AccessibleBar(valign=Gtk.Align.CENTER)
        self._bar = self._accessible_bar.bar
        self._bar.set_pulse_step(0.08)
        twin = self._accessible_bar.twin
        twin.update_property([Gtk.AccessibleProperty.LABEL], ["Overall progress"])
        relate(twin, Gtk.AccessibleRelation.DESCRIBED_BY, self._label)
        self._revealer = Gtk.Revealer(
            transition_type=Gtk.RevealerTransitionType.CROSSFADE,
            transition_duration=400,
            reveal_child=False,
            valign=Gtk.Align.CENTER,
        )
        self._revealer.set_child(self._accessible_bar)
        self.append(self._label)
        self.append(self._count)
        self.append(self._revealer)
        self._bind_manager(manager, show_after)
        self._folded = False
        if idle_mode == "hide":
            self._fold(True)

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
    def progress_bar(self) -> Gtk.ProgressBar:
        return self._bar

    # -- drawing (StatusBarLogic decides) -----------------------------------------
    def _show_idle(self) -> None:
        self._set_text(self._text)
        self._count.set_text("")
        self._bar.set_fraction(self._fraction)
        self._revealer.set_reveal_child(False)
        if self._idle_mode == "hide":
            self._fold(True)

    def _show_busy(self) -> None:
        self._set_text(self._text)
        if self._show_count:
            self._count.set_text(self._count_text)
        self._revealer.set_reveal_child(True)
        if self._idle_mode == "hide":
            self._fold(False)

    def _set_text(self, text: str) -> None:
        if text != self._label.get_text():
            self._label.set_text(text)
            self._label.set_tooltip_text(text or None)  # the whole text, where it is elided
            describing(self._label, text)  # what the bar's described-by gives

    def _fold(self, folded: bool) -> None:
        """``idle_mode="hide"``: take no room while idle. The strip itself stays
        visible (so it is realized and keeps following the manager); its
        children and padding go."""
        if folded == self._folded:
            return
        self._folded = folded
        for child in (self._label, self._revealer):
            child.set_visible(not folded)
        self._count.set_visible(self._show_count and not folded)
        if folded:
            self.remove_css_class("tasker-status")
        else:
            self.add_css_class("tasker-status")

    def _show_fraction(self, fraction: float) -> None:
        self._bar.set_fraction(fraction)

    def _show_pulse(self) -> None:
        self._bar.pulse()

    def _publish_value(self, value: float | None) -> None:
        if value is None:
            self._accessible_bar.publish_busy()
        else:
            self._accessible_bar.publish(value)
