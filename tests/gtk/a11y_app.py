"""A GTK 4 window of tasker's widgets, driven line by line from stdin (the accessibility tests).

``python tests/gtk/a11y_app.py`` shows a ``TaskErrorBanner``, a
``TaskListView(pausable=True)`` and a ``TaskProgressBar`` on a real manager,
prints ``READY {json}`` and then obeys one command per line on stdin, answering
each with one ``OK {json}`` line once the widgets show its effect (or
``ERROR text``):

    start NAME                      a thread task NAME that waits for orders
    progress NAME FRACTION MESSAGE  it reports progress and a message
    finish NAME ok|fail             it returns, or raises ValueError("disk full")
    cancel NAME                     task.cancel()
    state                           what has the keyboard focus, what was announced
    quit

The accessibility client (``a11y_client.py``) is another process: GTK answers
AT-SPI calls on this process's main loop, which keeps running between commands.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import time
from collections.abc import Callable
from typing import Any

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import GLib, Gtk  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/

from a11y_jobs import obey  # noqa: E402
from tasker import TaskManager  # noqa: E402
from tasker.gtk import TaskErrorBanner, TaskListView, TaskProgressBar  # noqa: E402
from tasker.gtk._a11y import HAS_ANNOUNCE, gtk_version  # noqa: E402

APP_NAME = "tasker-a11y-test"
LOOP = GLib.MainLoop()
TITLE = "tasker accessibility test"


class App:
    def __init__(self) -> None:
        self.manager = TaskManager(max_threads=8)
        self.window = Gtk.Window(title=TITLE)
        self.window.set_default_size(560, 420)
        self.banner = TaskErrorBanner(self.manager)
        self.tasks = TaskListView(self.manager, pausable=True)
        self.status = TaskProgressBar(self.manager, idle_text="Ready")
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        box.append(self.banner)
        box.append(self.tasks)
        box.append(self.status)
        self.window.set_child(box)
        self.orders: dict[str, queue.Queue[tuple[Any, ...]]] = {}
        self.running: dict[str, Any] = {}
        self.pending: list[tuple[float, Callable[[], object], Callable[[], dict[str, Any]]]] = []
        self.window.present()

    # -- commands ------------------------------------------------------------------------
    def command(self, line: str) -> None:
        words = line.split(" ", 3)
        verb, args = words[0], words[1:]
        if verb == "start":
            name = args[0]
            orders: queue.Queue[tuple[Any, ...]] = queue.Queue()
            self.orders[name] = orders
            self.running[name] = self.manager.run_thread(obey, orders, key=name)
            self.when(lambda: self.tasks.get_row(self.running[name]) is not None, self.state)
        elif verb == "progress":
            name, fraction, message = args[0], float(args[1]), args[2] if len(args) > 2 else ""
            self.orders[name].put(("progress", fraction, message))
            task = self.running[name]
            self.when(lambda: (row := self.tasks.get_row(task)) is not None and row.message == message
                      and abs(row.fraction - fraction) < 1e-6, lambda: self.row_state(name))
        elif verb == "finish":
            name = args[0]
            self.orders[name].put(("finish", args[1]))
            task = self.running[name]
            self.when(lambda: self.gone(task), self.state)
        elif verb == "cancel":
            task = self.running[args[0]]
            task.cancel()
            self.when(lambda: self.gone(task), self.state)
        elif verb == "state":
            self.when(lambda: True, self.state)
        elif verb == "quit":
            self.manager.shutdown(timeout=5)
            self.window.destroy()
            reply({})
            LOOP.quit()
        else:
            print(f"ERROR unknown command {line!r}", flush=True)

    def gone(self, task: Any) -> bool:
        """``task`` ended, its row went and its ending was announced."""
        said = any(text.startswith(f"{task.name} ") for text in self.tasks.announcements)
        return bool(task.is_final() and self.tasks.get_row(task) is None and said)

    def when(self, ready: Callable[[], object], answer: Callable[[], dict[str, Any]]) -> None:
        """Answer once ``ready()`` holds (checked every 10 ms; at most 20 s)."""
        self.pending.append((time.monotonic() + 20.0, ready, answer))

    def poll(self) -> bool:
        for item in list(self.pending):
            deadline, ready, answer = item
            try:
                done = ready()
            except Exception as exc:  # report it to the client instead of polling forever
                self.pending.remove(item)
                print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
                continue
            if done:
                self.pending.remove(item)
                reply(answer())
            elif time.monotonic() > deadline:
                self.pending.remove(item)
                print("ERROR timed out", flush=True)
        return True

    # -- answers ---------------------------------------------------------------------------
    def row_state(self, name: str) -> dict[str, Any]:
        row = self.tasks.get_row(self.running[name])
        assert row is not None, f"{name} has no row"
        return {"fraction": row.fraction, "accessible_value": row.accessible_value, **self.state()}

    def state(self) -> dict[str, Any]:
        return {
            "focus": describe(self.window.get_focus()),
            "announcements": self.tasks.announcements,
            "banner": self.banner.failures,
            "rows": [row.task.name for row in self.tasks.rows],
            "paused": [row.task.name for row in self.tasks.rows if row.task.is_paused()],
            "status_value": self.status.accessible_value,
        }


def describe(widget: Any) -> str | None:
    """``"cancel:NAME"``, ``"pause:NAME"``, ``"row:NAME"``, ``"dismiss:TITLE"``, the list, or a type."""
    from tasker.gtk import TaskRow

    if widget is None:
        return None
    row = widget if isinstance(widget, TaskRow) else widget.get_ancestor(TaskRow)
    if row is not None:
        part = "cancel" if widget is row.cancel_button else "pause" if widget is row.pause_button else "row"
        return f"{part}:{row.task.name}"
    banner_entry = widget.get_parent()
    if getattr(banner_entry, "dismiss_button", None) is widget:
        return f"dismiss:{banner_entry.title}"
    if isinstance(widget, TaskListView):
        return "list"
    return type(widget).__name__


def reply(data: dict[str, Any]) -> None:
    print("OK " + json.dumps(data), flush=True)


def main() -> int:
    GLib.set_prgname(APP_NAME)
    GLib.set_application_name(APP_NAME)
    app = App()
    channel = GLib.IOChannel.unix_new(sys.stdin.fileno())

    def on_input(source: Any, condition: Any) -> bool:
        line = sys.stdin.readline()
        if not line:  # the client went away
            app.manager.shutdown(timeout=5)
            LOOP.quit()
            return False
        if line.strip():
            app.command(line.strip())
        return True

    GLib.io_add_watch(channel, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_input)
    GLib.timeout_add(10, app.poll)
    ready = {"gtk": gtk_version(), "announce": HAS_ANNOUNCE, "pid": os.getpid()}
    GLib.timeout_add(300, lambda: print("READY " + json.dumps(ready), flush=True) and False)
    LOOP.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
