"""A screenshot of tasker's GTK widgets in the theme the environment picks (docs and the contrast test).

``python tests/gtk/a11y_shots.py OUT.png`` shows the banner (one failure), a
pausable task list (a task at 45 % with its message, a paused one, one that
has reported no progress) and the status strip, saves the window to
``OUT.png`` and prints ``RESULT {json}`` with where the banner is in the image.
The theme comes from the environment: ``GTK_THEME=Adwaita:dark``,
``GTK_THEME=HighContrast``, ``GDK_SCALE=2``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import GLib, Gtk  # noqa: E402

from tasker import TaskManager  # noqa: E402
from tasker.gtk import TaskErrorBanner, TaskListView, TaskProgressBar, save_png  # noqa: E402

RELEASE = threading.Event()


def hold(context: Any, fraction: float, message: str) -> None:
    if fraction:
        context.set_progress(fraction)
    context.set_message(message)
    while not RELEASE.wait(0.02) and not context.is_cancelled():
        pass


def fail(context: Any) -> None:
    raise ValueError("disk full: 2.1 GB needed on /media/backup")


def run_until(predicate: Any, timeout: float = 20.0) -> None:
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    wake = GLib.timeout_add(10, lambda: True)
    try:
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the widgets never showed the tasks")
            context.iteration(True)
    finally:
        GLib.source_remove(wake)


def main() -> int:
    out = sys.argv[1]
    manager = TaskManager(max_threads=8)
    window = Gtk.Window(title="tasker widgets")
    window.set_default_size(520, -1)
    banner = TaskErrorBanner(manager)
    banner.set_transition_type(Gtk.RevealerTransitionType.NONE)  # the picture, not the slide
    tasks = TaskListView(manager, pausable=True)
    status = TaskProgressBar(manager, idle_text="Ready")
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
    box.append(banner)
    box.append(tasks)
    box.append(Gtk.Separator())
    box.append(status)
    window.set_child(box)
    window.present()
    manager.run_thread(fail, key="upload photos")
    export = manager.run_thread(hold, 0.45, "Encoding frame 540 of 1200", key="export video")
    paused = manager.run_thread(hold, 0.2, "Indexed 200 of 1000", key="index library")
    manager.run_thread(hold, 0.0, "Connecting…", key="sync calendar")
    def fraction(task: Any) -> float:
        row = tasks.get_row(task)
        return row.fraction if row is not None else 0.0

    run_until(lambda: len(tasks.rows) == 3 and banner.failures and fraction(export) > 0.4 and fraction(paused) > 0.1)
    paused.pause()
    run_until(lambda: (row := tasks.get_row(paused)) is not None and row.paused)
    # A shown window keeps its size: show it again at what its content now needs.
    natural = box.measure(Gtk.Orientation.VERTICAL, 520)[1]
    window.set_visible(False)
    window.set_default_size(520, natural)
    window.present()
    end = time.monotonic() + 0.6  # a few frames, a few pulses
    run_until(lambda: time.monotonic() > end and window.get_height() >= natural)
    window.set_focus(None)  # no focused (and so all-selected) error text in the picture
    for entry in banner.entries:
        entry.detail_label.select_region(0, 0)
    end = time.monotonic() + 0.1
    run_until(lambda: time.monotonic() > end)
    width, height = save_png(window, out)
    scale = window.get_scale_factor()
    bounds = banner.compute_bounds(window)[1]
    result = {
        "size": [width, height], "scale": scale,
        "banner": [round(v * scale) for v in (bounds.get_x(), bounds.get_y(), bounds.get_width(), bounds.get_height())],
    }
    RELEASE.set()
    manager.shutdown(timeout=5)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
