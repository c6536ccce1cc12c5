"""GTK alone, without tasker: the warnings this GTK logs by itself on this display.

``python gtk_alone.py`` shows what the GTK tests' windows show, with GTK only
(PyGObject; tasker is never imported): a window with a moving progress bar and
a popup surface (a ``Gtk.PopoverMenu``, as a tooltip is one too), for a few
dozen frames, then quits. GLib prints whatever GTK warns meanwhile to stderr.

``gtk_own.py`` runs it once per test session: a warning it prints is GTK's own
on this GTK and display (e.g. GTK 4.24 on Xvfb: "gdk_frame_timings_submitted()
called on submitted frame." for every popup surface), so a GTK test does not
fail on that very message. It prints ``RESULT {json}`` last.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import Gio, GLib, Gtk  # noqa: E402

#: Frames drawn after the popup is mapped, before quitting.
FRAMES_AFTER_POPUP = 30
#: A hang guard: quit after this long whatever happened (milliseconds).
GUARD_MS = 60_000


def main() -> int:
    state: dict[str, Any] = {"popup_mapped": False, "frames_after": 0, "done": False}
    loop = GLib.MainLoop()
    window = Gtk.Window(title="gtk alone")
    window.set_default_size(400, 200)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
    bar = Gtk.ProgressBar()
    button = Gtk.Button(label="a button with a menu")
    button.set_tooltip_text("a tooltip")
    box.append(bar)
    box.append(button)
    window.set_child(box)
    menu = Gio.Menu()
    menu.append("An item", "win.none")
    popover = Gtk.PopoverMenu.new_from_model(menu)
    popover.set_parent(button)

    def tick(widget: Any, clock: Any) -> bool:
        bar.set_fraction((clock.get_frame_counter() % 60) / 60)
        if not state["popup_mapped"]:
            if popover.get_mapped():
                state["popup_mapped"] = True
            elif widget.get_mapped() and not popover.get_visible():
                popover.popup()
        else:
            state["frames_after"] += 1
            if state["frames_after"] >= FRAMES_AFTER_POPUP and not state["done"]:
                state["done"] = True
                loop.quit()
        return True

    window.add_tick_callback(tick)
    GLib.timeout_add(GUARD_MS, loop.quit)
    window.present()
    loop.run()
    popover.popdown()
    popover.unparent()
    window.destroy()
    result = {
        "gtk": f"{Gtk.get_major_version()}.{Gtk.get_minor_version()}.{Gtk.get_micro_version()}",
        "popup_mapped": state["popup_mapped"],
        "frames_after_popup": state["frames_after"],
        "tasker_imported": any(name == "tasker" or name.startswith("tasker.") for name in sys.modules),
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if state["done"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
