"""What every tasker GTK widget shares: Gtk 4 loading, the manager binding, CSS.

The toolkit-neutral logic lives in ``tasker._widgets``. A GTK widget listens
to ``manager.tasks_updated`` only while it is *realized* (part of a window
that is shown): it connects on ``realize`` — and at once
brings itself up to date from the manager — and disconnects on ``unrealize``.
The receiver is a bound method connected with ``weak=True`` (tasker's signals
hold receivers strongly by default), so a widget that is dropped without ever
being unrealized is collected and stops receiving too.
Timers (pulsing bars) are likewise started on realize and removed on unrealize:
nothing outside the widget keeps a strong reference to it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any

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

from .._widgets import ManagerBinding, format_duration, resolve_manager

__all__ = ["GLib", "GObject", "Gdk", "Gtk", "GtkBinding", "format_duration", "install_css", "resolve_manager"]

# Colours are the theme's named colours (light, dark, high contrast alike): text
# keeps the theme's foreground, the banner is the background tinted with the
# theme's error colour.
_CSS = """
.tasker-status { padding: 2px 8px; }
.tasker-status progressbar > trough { min-width: 180px; }
.tasker-task-row { padding: 8px 10px; }
.tasker-task-name { font-weight: bold; }
.tasker-kind {
  font-size: smaller; padding: 0 6px; border-radius: 9px;
  background-color: alpha(currentColor, 0.10);
}
.tasker-kind-cluster { background-color: alpha(@theme_selected_bg_color, 0.30); }
.tasker-dim { opacity: 0.75; }
.tasker-paused progressbar { opacity: 0.45; }
.tasker-error-banner {
  background-color: mix(@theme_bg_color, @error_color, 0.16); color: @theme_fg_color;
  border-bottom: 1px solid alpha(@error_color, 0.60); padding: 6px 10px;
}
.tasker-error-icon { color: @error_color; }
.tasker-error-title { font-weight: bold; }
"""

#: High-contrast themes: text is not dimmed there (GTK 4.8 has no prefers-contrast query).
_HIGH_CONTRAST_CSS = ".tasker-dim { opacity: 1; } .tasker-paused progressbar { opacity: 0.7; }"

_css_displays: set[int] = set()


def high_contrast() -> bool:
    """The theme in use is a high-contrast one (``GTK_THEME=Default-hc``, ``HighContrast``, …)."""
    settings = Gtk.Settings.get_default()
    names = [os.environ.get("GTK_THEME", ""), settings.props.gtk_theme_name if settings is not None else ""]
    return any(re.search(r"(^|[-:])hc($|-)|highcontrast", name.lower()) for name in names if name)


def install_css(display: Any = None) -> None:
    """Add tasker's widget styles to ``display`` (the default one) once."""
    display = display if display is not None else Gdk.Display.get_default()
    if display is None or hash(display) in _css_displays:
        return
    provider = Gtk.CssProvider()
    provider.load_from_data((_CSS + (_HIGH_CONTRAST_CSS if high_contrast() else "")).encode())
    Gtk.StyleContext.add_provider_for_display(display, provider, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
    _css_displays.add(hash(display))


class GtkBinding(ManagerBinding):
    """``ManagerBinding`` on GTK: follows the manager while realized; GLib timers.

    Subclasses call ``_bind_manager`` in ``__init__``, implement
    ``_update(tasks, progress)`` and chain ``_binding_realized`` /
    ``_binding_unrealized`` from ``do_realize`` / ``do_unrealize``.
    """

    def _binding_realized(self) -> None:
        install_css()
        self._connect()

    def _binding_unrealized(self) -> None:
        self._disconnect()

    def _start_timer(self, ms: int, fn: Callable[[], bool]) -> Any:
        return GLib.timeout_add(ms, fn)

    def _cancel_timer(self, handle: Any) -> None:
        GLib.source_remove(handle)
