"""The demo's GTK 4 window.

Everything here runs on the GTK main thread: tasker delivers ``when_done``,
``when_event`` and ``tasks_updated`` there by itself (``GLib.idle_add``), and
asyncio runs on the same GLib main loop (``tasker.gtk.use_glib_asyncio``), so a
button handler can be an ``async`` function that awaits a task.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..gtk import TaskErrorBanner, TaskListView, TaskProgressBar, inhibit_while_busy, save_png, use_glib_asyncio
from ..gtk._base import Gdk, GLib, Gtk, install_css
from ._app import (
    SUBTITLE,
    TITLE,
    DemoController,
    configure_manager,
    outcome_text,
    outcome_tooltip,
    preview_caption,
    start_buttons,
)
from ._jobs import HEIGHT, WIDTH
from ._script import DemoScript, DemoTasks, Outcome

APP_ID = "io.github.tasker.Demo"

_CSS = """
.demo-sidebar { padding: 14px 12px; }
.demo-heading { font-weight: bold; font-size: 0.95em; opacity: 0.75; margin-top: 4px; }
.demo-caption { font-size: 0.85em; opacity: 0.65; }
.demo-start-button { padding: 6px 10px; }
.demo-card {
  border: 1px solid alpha(currentColor, 0.15); border-radius: 8px;
  background-color: alpha(currentColor, 0.03);
}
.demo-preview { background-color: #0b0f24; border-radius: 6px; }
.demo-log-ok { color: @success_color; }
.demo-log-failed { color: @error_color; }
.demo-log-canceled { color: @warning_color; }
.demo-statusbar { border-top: 1px solid alpha(currentColor, 0.12); padding: 4px 6px; }
"""


class PreviewPicture(Gtk.Picture):  # type: ignore[misc]
    """A ``Gtk.Picture`` that asks for a fixed height however big the image is."""

    __gtype_name__ = "TaskerDemoPreview"
    HEIGHT = 240

    def do_measure(self, orientation: Any, for_size: int) -> tuple[int, int, int, int]:
        if orientation == Gtk.Orientation.VERTICAL:
            return self.HEIGHT, self.HEIGHT, -1, -1
        return 120, int(self.HEIGHT * WIDTH / HEIGHT), -1, -1


class DemoWindow(Gtk.ApplicationWindow):  # type: ignore[misc]
    __gtype_name__ = "TaskerDemoWindow"

    def __init__(self, app: Any, tasks: DemoTasks, controller: DemoController) -> None:
        super().__init__(application=app, title=TITLE)
        self.set_default_size(1040, 760)
        self.tasks = tasks
        self.controller = controller

        header = Gtk.HeaderBar()
        title = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, valign=Gtk.Align.CENTER)
        name = Gtk.Label(label=TITLE)
        name.add_css_class("title")
        sub = Gtk.Label(label=SUBTITLE)
        sub.add_css_class("subtitle")
        title.append(name)
        title.append(sub)
        header.set_title_widget(title)
        self.run_all_button = Gtk.Button(label="Run tour")
        self.run_all_button.add_css_class("suggested-action")
        self.run_all_button.set_tooltip_text("Start every demo task; cancel one; then the flood")
        header.pack_start(self.run_all_button)
        self.cancel_all_button = Gtk.Button(label="Cancel all")
        self.cancel_all_button.add_css_class("destructive-action")
        self.cancel_all_button.connect("clicked", lambda _b: controller.cancel_all())
        header.pack_end(self.cancel_all_button)
        self.set_titlebar(header)

        self.banner = TaskErrorBanner(tasks.manager)
        tasks.on_failure = self.banner.when_done
        self.task_list = TaskListView(tasks.manager, pausable=True)
        self.status = TaskProgressBar(tasks.manager, idle_text="Ready")

        content = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        content.append(self.banner)
        body = Gtk.Box(spacing=0, vexpand=True)
        body.append(self._sidebar())
        body.append(Gtk.Separator(orientation=Gtk.Orientation.VERTICAL))
        body.append(self._main_area())
        content.append(body)
        content.append(self._statusbar())
        self.set_child(content)
        GLib.timeout_add(400, self._show_heartbeat)

    # -- layout -----------------------------------------------------------------------
    def _sidebar(self) -> Any:
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8, width_request=270)
        box.add_css_class("demo-sidebar")
        box.append(_heading("Start a task"))
        self.start_buttons: dict[str, Any] = {}
        for label, caption, method in start_buttons(self.controller.args):
            start = getattr(self.tasks, method)
            button = Gtk.Button()
            button.add_css_class("demo-start-button")
            inner = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=1)
            inner.append(Gtk.Label(label=label, xalign=0.0))
            small = Gtk.Label(label=caption, xalign=0.0)
            small.add_css_class("demo-caption")
            inner.append(small)
            button.set_child(inner)
            # A button holding a box has no name of its own: a screen reader would say "button".
            button.update_property([Gtk.AccessibleProperty.LABEL, Gtk.AccessibleProperty.DESCRIPTION], [label, caption])
            button.connect("clicked", _start_clicked, start)
            self.start_buttons[label] = button
            box.append(button)
        box.append(_heading("Finished", margin_top=10))
        self.log = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=3)
        box.append(self.log)
        return box

    def _main_area(self) -> Any:
        area = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8, hexpand=True)
        area.set_margin_top(14)
        area.set_margin_bottom(10)
        area.set_margin_start(14)
        area.set_margin_end(14)

        top = Gtk.Box(spacing=10)
        top.append(_heading("Preview", hexpand=True))
        self.preview_caption = Gtk.Label(label="Press “Render image”", xalign=1.0)
        self.preview_caption.add_css_class("demo-caption")
        top.append(self.preview_caption)
        area.append(top)
        self.picture = PreviewPicture(can_shrink=True, vexpand=False)
        self.picture.add_css_class("demo-preview")
        self.picture.set_paintable(_blank_texture())
        area.append(self.picture)

        area.append(_heading("Running tasks", margin_top=6))
        scroller = Gtk.ScrolledWindow(vexpand=True, min_content_height=200)
        scroller.set_policy(Gtk.PolicyType.NEVER, Gtk.PolicyType.AUTOMATIC)
        scroller.add_css_class("demo-card")
        scroller.set_child(self.task_list)
        area.append(scroller)
        return area

    def _statusbar(self) -> Any:
        bar = Gtk.Box(spacing=12)
        bar.add_css_class("demo-statusbar")
        self.status.set_hexpand(True)
        bar.append(self.status)
        self.heartbeat_label = Gtk.Label(xalign=1.0, width_chars=26)
        self.heartbeat_label.add_css_class("demo-caption")
        self.heartbeat_label.add_css_class("numeric")
        self.heartbeat_label.set_tooltip_text("A 5 ms GLib timeout: the longest gap between two runs")
        bar.append(self.heartbeat_label)
        return bar

    # -- callbacks (main thread) ---------------------------------------------------------
    def show_preview(self, task: Any, data: dict[str, Any]) -> None:
        rgba = data["rgba"]
        height, width = rgba.shape[:2]
        texture = Gdk.MemoryTexture.new(
            width, height, Gdk.MemoryFormat.R8G8B8A8, GLib.Bytes.new(rgba.tobytes()), width * 4
        )
        self.picture.set_paintable(texture)
        self.controller.preview_count += 1
        self.preview_caption.set_text(preview_caption(data, self.controller.preview_count))

    def add_outcome(self, outcome: Outcome) -> None:
        style = {"completed": "demo-log-ok", "failed": "demo-log-failed", "canceled": "demo-log-canceled"}
        label = Gtk.Label(label=outcome_text(outcome), xalign=0.0)
        label.set_ellipsize(3)
        label.set_tooltip_text(outcome_tooltip(outcome))
        label.add_css_class(style[outcome.status])
        self.log.prepend(label)
        while (child := self.log.get_last_child()) is not None and _count(self.log) > 8:
            self.log.remove(child)

    def _show_heartbeat(self) -> bool:
        if self.controller.heartbeat is not None:
            self.heartbeat_label.set_text(self.controller.heartbeat.text())
        return True


def _start_clicked(_button: Any, start: Any) -> None:
    start()


def _heading(text: str, **props: Any) -> Any:
    label = Gtk.Label(label=text, xalign=0.0, **props)
    label.add_css_class("demo-heading")
    return label


def _count(box: Any) -> int:
    n, child = 0, box.get_first_child()
    while child is not None:
        n, child = n + 1, child.get_next_sibling()
    return n


def _blank_texture() -> Any:
    pixel = bytes((11, 15, 36, 255))
    return Gdk.MemoryTexture.new(
        WIDTH // 8,
        HEIGHT // 8,
        Gdk.MemoryFormat.R8G8B8A8,
        GLib.Bytes.new(pixel * (WIDTH // 8) * (HEIGHT // 8)),
        WIDTH // 8 * 4,
    )


class DemoApp(DemoController):
    """The GTK window around the shared tour, test mode and screenshot."""

    toolkit = "gtk"

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.window: DemoWindow | None = None
        self.app = Gtk.Application(application_id=APP_ID, flags=_non_unique())
        self.app.connect("activate", self._activate)

    def run(self) -> int:
        configure_manager(self.args.cluster)
        use_glib_asyncio()
        status = self.app.run([sys.argv[0]])
        self.manager.shutdown(timeout=2.0)
        return self.exit_code or int(status)

    def _activate(self, app: Any) -> None:
        if self.window is not None:
            self.window.present()
            return
        display = Gdk.Display.get_default()
        install_css(display)
        provider = Gtk.CssProvider()
        provider.load_from_data(_CSS.encode())
        Gtk.StyleContext.add_provider_for_display(display, provider, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
        tasks = self.make_tasks()
        inhibit_while_busy(app, "tasker demo: tasks are running")  # no suspend or logout meanwhile
        window = self.window = DemoWindow(app, tasks, self)
        self.banner, self.task_list = window.banner, window.task_list
        tasks.on_preview = window.show_preview
        window.run_all_button.connect("clicked", lambda _b: self.start_tour())
        window.present()
        if self.test_mode:
            print(f"start buttons: {', '.join(window.start_buttons)}", flush=True)
        self.begin()

    # -- DemoController hooks ---------------------------------------------------------------
    def after(self, ms: int, fn: Any) -> object:
        return GLib.timeout_add(ms, fn)

    def quit(self) -> None:
        self.app.quit()

    def save_png(self, path: str) -> tuple[int, int]:
        assert self.window is not None
        return save_png(self.window, path)


    def tour_button(self, enabled: bool) -> None:
        assert self.window is not None
        self.window.run_all_button.set_sensitive(enabled)

    def tour_started(self, script: DemoScript) -> None:
        self._awaiter = asyncio.ensure_future(self._await_download(script.download))

    async def _await_download(self, task: Any) -> None:
        """asyncio on the GTK loop: wait for a task with ``await``, then report."""
        try:
            result = await task
        except Exception as exc:  # failed or canceled: the demo only reports it
            result = f"{type(exc).__name__}: {exc}"
        if self.test_mode:
            print(f"awaited on the GTK loop: {result}", flush=True)


def _non_unique() -> Any:
    from gi.repository import Gio

    return Gio.ApplicationFlags.NON_UNIQUE


def run_gtk(args: argparse.Namespace) -> int:
    return DemoApp(args).run()
