"""The demo's GTK 4 window.

Everything here runs on the GTK main thread: tasker delivers ``when_done``,
``when_event`` and ``tasks_updated`` there by itself (``GLib.idle_add``), and
asyncio runs on the same GLib main loop (``tasker.gtk.use_glib_asyncio``), so a
button handler can be an ``async`` function that awaits a task.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import deque
from typing import Any

from ..gtk import TaskErrorBanner, TaskListView, TaskProgressBar, save_png, use_glib_asyncio
from ..gtk._base import Gdk, GLib, Gtk, install_css
from ._jobs import HEIGHT, WIDTH
from ._main import configure_manager
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
.demo-log-ok { color: #26734d; }
.demo-log-failed { color: #b3261e; }
.demo-log-canceled { color: #8a6100; }
.demo-statusbar { border-top: 1px solid alpha(currentColor, 0.12); padding: 4px 6px; }
"""


class Heartbeat:
    """A 5 ms GLib timeout that measures how late the main loop runs it."""

    def __init__(self, period_ms: int = 5) -> None:
        self.period = period_ms / 1000.0
        self.gaps: deque[float] = deque(maxlen=4000)  # recent intervals, seconds
        self.recording: list[float] | None = None
        self._last = time.monotonic()
        self._source = GLib.timeout_add(period_ms, self._beat)

    def _beat(self) -> bool:
        now = time.monotonic()
        gap, self._last = now - self._last, now
        self.gaps.append(gap)
        if self.recording is not None:
            self.recording.append(gap)
        return True

    def recent_max(self, seconds: float = 2.0) -> float:
        total, worst = 0.0, 0.0
        for gap in reversed(self.gaps):
            worst = max(worst, gap)
            total += gap
            if total >= seconds:
                break
        return worst

    def stop(self) -> None:
        if self._source:
            GLib.source_remove(self._source)
            self._source = 0


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

    def __init__(self, app: Any, tasks: DemoTasks) -> None:
        super().__init__(application=app, title="tasker demo")
        self.set_default_size(1040, 760)
        self.tasks = tasks
        self.preview_count = 0
        self.heartbeat = Heartbeat()

        header = Gtk.HeaderBar()
        title = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, valign=Gtk.Align.CENTER)
        name = Gtk.Label(label="tasker demo")
        name.add_css_class("title")
        sub = Gtk.Label(label="coroutines, threads and processes with live progress")
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
        self.cancel_all_button.connect("clicked", self._cancel_all)
        header.pack_end(self.cancel_all_button)
        self.set_titlebar(header)

        self.banner = TaskErrorBanner(tasks.manager)
        tasks.on_failure = self.banner.when_done
        self.task_list = TaskListView(tasks.manager)
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
        t = self.tasks
        self.start_buttons: dict[str, Any] = {}
        for label, caption, start in (
            ("Download maps", "coroutine · simulated network I/O", t.download),
            ("Render image", "process · 3 stages, live previews", t.image),
            ("Checksum", "thread · hashing 160 MB", t.checksum),
            ("Load settings", "thread · fails on purpose", t.failing),
            ("Index photos", "process · long; cancel it", t.indexer),
            ("Flood × 4", "4 processes · progress flat out", t.flood),
        ):
            button = Gtk.Button()
            button.add_css_class("demo-start-button")
            inner = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=1)
            inner.append(Gtk.Label(label=label, xalign=0.0))
            small = Gtk.Label(label=caption, xalign=0.0)
            small.add_css_class("demo-caption")
            inner.append(small)
            button.set_child(inner)
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
        self.preview_count += 1
        stage = "colouring done" if data["stage"] == "colour" else f"rendering — {data['rows']} of {height} rows"
        self.preview_caption.set_text(f"{width}×{height}, {stage} (preview {self.preview_count})")

    def add_outcome(self, outcome: Outcome) -> None:
        glyph, style = {
            "completed": ("✔", "demo-log-ok"),
            "failed": ("✖", "demo-log-failed"),
            "canceled": ("⊘", "demo-log-canceled"),
        }[outcome.status]
        text = outcome.text if len(outcome.text) < 40 else outcome.text[:38] + "…"
        label = Gtk.Label(label=f"{glyph} {outcome.name} — {text}", xalign=0.0)
        label.set_ellipsize(3)
        label.set_tooltip_text(f"{outcome.name}: {outcome.status} in {outcome.seconds:.1f} s — {outcome.text}")
        label.add_css_class(style)
        self.log.prepend(label)
        while (child := self.log.get_last_child()) is not None and _count(self.log) > 8:
            self.log.remove(child)

    def _cancel_all(self, _button: Any) -> None:
        for task in list(self.tasks.manager):
            task.cancel()

    def _show_heartbeat(self) -> bool:
        worst = self.heartbeat.recent_max() * 1000
        self.heartbeat_label.set_text(f"UI heartbeat: worst gap {worst:4.0f} ms")
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


class DemoApp:
    """Builds the window and drives the tour, the test mode and the screenshot."""

    def __init__(self, args: argparse.Namespace) -> None:
        from .. import task_mgr

        self.args = args
        self.test_mode = bool(args.test_mode)
        self.exit_code = 0
        self.manager = task_mgr
        self.window: DemoWindow | None = None
        self.script: DemoScript | None = None
        self.screenshot_done = args.screenshot is None
        self.screenshot_tries = 0
        self.tour_done = False
        self.flood_gaps: list[float] = []
        self.app = Gtk.Application(application_id=APP_ID, flags=_non_unique())
        self.app.connect("activate", self._activate)

    def run(self) -> int:
        task_mgr = self.manager
        configure_manager()
        use_glib_asyncio()
        status = self.app.run([sys.argv[0]])
        task_mgr.shutdown(timeout=2.0)
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
        speed = self.args.speed
        tasks = DemoTasks(self.manager, speed=speed, flood_seconds=1.5 if self.test_mode else 3.0)
        window = self.window = DemoWindow(app, tasks)
        tasks.on_outcome = self._outcome
        tasks.on_preview = window.show_preview
        window.run_all_button.connect("clicked", lambda _b: self.start_tour())
        window.present()
        if self.test_mode:
            GLib.timeout_add(int(self.args.time_limit * 1000), self._time_limit)
        if not self.args.no_tour or self.test_mode:
            GLib.timeout_add(300, self._start_tour_once)
        if not self.screenshot_done:
            GLib.timeout_add(100, self._screenshot_when_ready)

    def _start_tour_once(self) -> bool:
        self.start_tour()
        return False

    def start_tour(self) -> None:
        if self.script is not None and not self.script.finished:
            return
        assert self.window is not None
        self.script = DemoScript(self.window.tasks, on_finished=self._tour_finished, on_flood=self._flood_started)
        self.script.start()
        self.window.run_all_button.set_sensitive(False)
        self._awaiter = asyncio.ensure_future(self._await_download(self.script.download))

    def _outcome(self, outcome: Outcome) -> None:
        assert self.window is not None
        self.window.add_outcome(outcome)
        if self.test_mode:
            print(f"outcome: {outcome.name}: {outcome.status} — {outcome.text}", flush=True)

    async def _await_download(self, task: Any) -> None:
        """asyncio on the GTK loop: wait for a task with ``await``, then report."""
        try:
            result = await task
        except Exception as exc:  # failed or cancelled: the demo only reports it
            result = f"{type(exc).__name__}: {exc}"
        if self.test_mode:
            print(f"awaited on the GTK loop: {result}", flush=True)

    def _flood_started(self) -> None:
        assert self.window is not None
        self.flood_gaps = []
        self.window.heartbeat.recording = self.flood_gaps

    def _tour_finished(self) -> None:
        assert self.window is not None
        self.window.run_all_button.set_sensitive(True)
        self.window.heartbeat.recording = None
        gaps = self.flood_gaps
        if gaps:
            ms = sorted(g * 1000 for g in gaps)
            print(
                f"heartbeat during flood: {len(ms)} beats, max gap {ms[-1]:.1f} ms, "
                f"median {statistics.median(ms):.1f} ms",
                flush=True,
            )
        self.tour_done = True
        if self.test_mode:
            self._maybe_quit()

    def _maybe_quit(self) -> None:
        if self.tour_done and self.screenshot_done:
            print("demo finished", flush=True)
            self.app.quit()

    def _time_limit(self) -> bool:
        print(f"tasker demo: the tour did not finish within {self.args.time_limit:.0f} s", file=sys.stderr)
        self.exit_code = 1
        self.app.quit()
        return False

    def _screenshot_when_ready(self) -> bool:
        window = self.window
        if window is None:
            return True
        image = self.script.image if self.script is not None else None
        ready = (
            image is not None
            and 0.3 <= image.get_progress() <= 0.6
            and window.preview_count >= 3
            and bool(window.banner.failures)
            and len(window.task_list.rows) >= 3
        )
        waited = self.script is not None and image is not None and image.is_final()
        if not (ready or waited):
            return True
        GLib.timeout_add(350, self._take_screenshot)  # let the banner finish sliding in (retries)
        return False

    def _take_screenshot(self) -> bool:
        assert self.window is not None
        path = self.args.screenshot
        try:
            width, height = save_png(self.window, path)
        except RuntimeError as exc:  # not drawn yet: try again after the next frames
            self.screenshot_tries += 1
            if self.screenshot_tries < 50:
                return True
            print(f"tasker demo: screenshot failed: {exc}", file=sys.stderr)
            self.exit_code = 1
        except Exception as exc:
            print(f"tasker demo: screenshot failed: {exc}", file=sys.stderr)
            self.exit_code = 1
        else:
            print(f"screenshot: {path} ({width}×{height})", flush=True)
        self.screenshot_done = True
        if self.test_mode:
            self._maybe_quit()
        return False


def _non_unique() -> Any:
    from gi.repository import Gio

    return Gio.ApplicationFlags.NON_UNIQUE


def run_gtk(args: argparse.Namespace) -> int:
    return DemoApp(args).run()
