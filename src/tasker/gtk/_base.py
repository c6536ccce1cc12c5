"""What every tasker widget shares: Gtk 4 loading, the manager binding, CSS.

A widget listens to ``manager.tasks_updated`` only while it is *realized*
(part of a window that is shown): it connects on ``realize`` — and at once
brings itself up to date from the manager — and disconnects on ``unrealize``.
The receiver is a bound method connected with ``weak=True`` (tasker's signals
hold receivers strongly by default), so a widget that is dropped without ever
being unrealized is collected and stops receiving too.
Timers (pulsing bars) are likewise started on realize and removed on unrealize:
nothing outside the widget keeps a strong reference to it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import gi

if "gi.repository.Gtk" in sys.modules:
    _loaded = sys.modules["gi.repository.Gtk"]
    if _loaded.get_major_version() != 4:
        raise ImportError(
            f"tasker.gtk needs GTK 4, but GTK {_loaded.get_major_version()} is already imported in this process"
        )
else:
    gi.require_version("Gtk", "4.0")
    gi.require_version("Gdk", "4.0")

from gi.repository import Gdk, GLib, GObject, Gtk

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._task import Task

__all__ = ["GLib", "GObject", "Gdk", "Gtk", "ManagerBinding", "format_duration", "install_css"]

_CSS = """
.tasker-status { padding: 2px 8px; }
.tasker-status progressbar > trough { min-width: 180px; }
.tasker-task-row { padding: 8px 10px; }
.tasker-task-name { font-weight: bold; }
.tasker-kind {
  font-size: smaller; padding: 0 6px; border-radius: 9px;
  background-color: alpha(currentColor, 0.10);
}
.tasker-dim { opacity: 0.70; }
.tasker-error-banner {
  background-color: #fbe3e4; color: #6f1016;
  border-bottom: 1px solid #e6a0a5; padding: 6px 10px;
}
.tasker-error-banner button { color: #6f1016; }
.tasker-error-title { font-weight: bold; }
"""

_css_displays: set[int] = set()


def install_css(display: Any = None) -> None:
    """Add tasker's widget styles to ``display`` (the default one) once."""
    display = display if display is not None else Gdk.Display.get_default()
    if display is None or hash(display) in _css_displays:
        return
    provider = Gtk.CssProvider()
    provider.load_from_data(_CSS.encode())
    Gtk.StyleContext.add_provider_for_display(display, provider, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
    _css_displays.add(hash(display))


def format_duration(seconds: float) -> str:
    """``"about 5 s"``, ``"about 3 min"``, ``"about 1 h 20 min"``."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


def resolve_manager(manager: Any) -> Any:
    """``manager`` itself, or the shared ``task_mgr`` when it is ``None``."""
    if manager is None:
        from .. import task_mgr

        return task_mgr
    return manager


class ManagerBinding:
    """Mixin for widgets that follow a manager's ``tasks_updated``.

    Subclasses call ``_bind_manager`` in ``__init__``, implement
    ``_update(tasks, progress)`` and chain ``_binding_realized`` /
    ``_binding_unrealized`` from ``do_realize`` / ``do_unrealize``.
    Optionally they implement ``_tick()`` (called every ``tick_ms`` while
    ``_ticking()`` is true) for animation such as pulsing.
    """

    _manager: Any
    _receiving: bool
    _tick_source: int
    tick_ms = 100

    def _bind_manager(self, manager: Any) -> None:
        self._manager = resolve_manager(manager)
        self._receiving = False
        self._tick_source = 0

    @property
    def manager(self) -> TaskManager:
        """The manager this widget follows (``task_mgr`` unless given one)."""
        return self._manager  # type: ignore[no-any-return]

    @property
    def is_receiving(self) -> bool:
        """True while connected to ``manager.tasks_updated``."""
        return self._receiving

    # -- connection --------------------------------------------------------------
    def _binding_realized(self) -> None:
        if not self._receiving:
            self._manager.tasks_updated.connect(self._on_tasks_updated, weak=True)
            self._manager.task_ended.connect(self._on_task_ended, weak=True)
            self._receiving = True
        install_css()
        self.refresh()

    def _binding_unrealized(self) -> None:
        if self._receiving:
            self._manager.tasks_updated.disconnect(self._on_tasks_updated)
            self._manager.task_ended.disconnect(self._on_task_ended)
            self._receiving = False
        self._stop_ticking()

    def refresh(self) -> None:
        """Bring the widget up to date with the manager now."""
        manager = self._manager
        self._update([t for t in manager if t.visible], manager.get_overall_progress())

    def _on_tasks_updated(self, sender: Any, *, tasks: list[Task[Any]], progress: float, **_: Any) -> None:
        if self._receiving:
            self._update(tasks, progress)

    def _on_task_ended(self, sender: Any, *, task: Task[Any], **_: Any) -> None:
        if self._receiving and task.visible:  # visible=False: never shown, not even failing
            self._ended(task)

    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        raise NotImplementedError

    def _ended(self, task: Task[Any]) -> None:
        """A task ended (``manager.task_ended``); before its ``when_done``."""

    # -- animation ------------------------------------------------------------------
    def _ticking(self) -> bool:
        return False

    def _tick(self) -> None:
        """Called every ``tick_ms`` while ``_ticking()`` is true."""

    def _want_ticks(self) -> None:
        """Start the timer if ``_ticking()`` and realized; it stops by itself."""
        if self._tick_source == 0 and self._receiving and self._ticking():
            self._tick_source = GLib.timeout_add(self.tick_ms, self._on_tick)

    def _on_tick(self) -> bool:
        if not self._receiving or not self._ticking():
            self._tick_source = 0
            return False
        self._tick()
        return True

    def _stop_ticking(self) -> None:
        if self._tick_source:
            GLib.source_remove(self._tick_source)
            self._tick_source = 0
