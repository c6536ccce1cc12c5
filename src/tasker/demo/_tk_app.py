"""The demo's Tk window (ttk): the same tasks, tour and test mode as the GTK one.

Every callback runs on the Tk main thread: tasker picks its Tk scheduler by
itself (a 10 ms ``after`` poll), since the root window exists before the first
task starts.
"""

from __future__ import annotations

import argparse
import tkinter
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from ..tk import TaskErrorBanner, TaskListView, TaskProgressBar, save_png
from ..tk._base import ElidedLabel, fonts, install_styles
from ._app import (
    OUTCOME_STYLE,
    PREVIEW_BACKGROUND,
    SUBTITLE,
    TITLE,
    DemoController,
    configure_manager,
    outcome_text,
    start_buttons,
)
from ._app import preview_caption as caption_for
from ._script import Outcome

PREVIEW_HEIGHT = 240


def _ppm(rgba: Any, step: int) -> bytes:
    """A binary PPM of every ``step``-th pixel (Tk's photo images read PPM)."""
    import numpy as np

    small = rgba[::step, ::step]
    background = np.array([int(PREVIEW_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    rgb = np.where(small[..., 3:] > 0, small[..., :3], background)  # not rendered yet: the background
    height, width = rgb.shape[:2]
    return b"P6 %d %d 255\n" % (width, height) + bytes(rgb.tobytes())


class DemoWindow:
    def __init__(self, root: tkinter.Tk, controller: TkDemo) -> None:
        self.root = root
        self.controller = controller
        tasks = controller.make_tasks()
        root.title(TITLE)
        root.geometry("1040x760")
        install_styles(root)
        style = ttk.Style(root)
        style.configure("DemoHeading.TLabel", font=fonts(root)["bold"])
        style.configure("DemoCaption.TLabel", font=fonts(root)["small"], foreground="#5f6368")
        style.configure("DemoStart.TButton", anchor="w", justify="left", padding=(8, 4))
        for status, (_glyph, colour) in OUTCOME_STYLE.items():
            style.configure(f"Demo{status}.TLabel", foreground=colour)

        self.banner = TaskErrorBanner(tasks.manager, root)
        tasks.on_failure = self.banner.when_done
        header = self._header()
        body = ttk.Frame(root)
        sidebar = self._sidebar(body)
        main = self._main_area(body, tasks)
        statusbar = self._statusbar(tasks)
        header.pack(fill="x")
        ttk.Separator(root).pack(fill="x")
        self.banner.pack(fill="x")
        statusbar.pack(side="bottom", fill="x")
        ttk.Separator(root).pack(side="bottom", fill="x")
        body.pack(fill="both", expand=True)
        sidebar.pack(side="left", fill="y")
        ttk.Separator(body, orient="vertical").pack(side="left", fill="y")
        main.pack(side="left", fill="both", expand=True)
        tasks.on_preview = self.show_preview
        self._photo: Any = None
        self._show_heartbeat()

    def _header(self) -> ttk.Frame:
        header = ttk.Frame(self.root, padding=(10, 6))
        self.run_all_button = ttk.Button(header, text="Run tour", command=self.controller.start_tour)
        self.cancel_all_button = ttk.Button(header, text="Cancel all", command=self.controller.cancel_all)
        titles = ttk.Frame(header)
        ttk.Label(titles, text=TITLE, style="DemoHeading.TLabel").pack()
        ttk.Label(titles, text=SUBTITLE, style="DemoCaption.TLabel").pack()
        self.run_all_button.pack(side="left")
        self.cancel_all_button.pack(side="right")
        titles.pack(side="left", expand=True)
        return header

    def _sidebar(self, parent: Any) -> ttk.Frame:
        side = ttk.Frame(parent, padding=(12, 14), width=290)
        side.pack_propagate(False)
        ttk.Label(side, text="Start a task", style="DemoHeading.TLabel").pack(anchor="w", pady=(0, 4))
        tasks = self.controller.tasks
        for label, caption, method in start_buttons(self.controller.args):
            start: Callable[[], object] = getattr(tasks, method)
            button = ttk.Button(side, text=f"{label}\n{caption}", command=start, style="DemoStart.TButton")
            button.pack(fill="x", pady=3)
        ttk.Label(side, text="Finished", style="DemoHeading.TLabel").pack(anchor="w", pady=(12, 4))
        self.log = ttk.Frame(side)
        self.log.pack(fill="x")
        self.log_lines: list[ElidedLabel] = []
        return side

    def _main_area(self, parent: Any, tasks: Any) -> ttk.Frame:
        area = ttk.Frame(parent, padding=(14, 14, 14, 10))
        top = ttk.Frame(area)
        ttk.Label(top, text="Preview", style="DemoHeading.TLabel").pack(side="left")
        self.preview_caption = ttk.Label(top, text="Press “Render image”", style="DemoCaption.TLabel")
        self.preview_caption.pack(side="right")
        top.pack(fill="x")
        self.picture = tkinter.Label(area, background=PREVIEW_BACKGROUND, height=PREVIEW_HEIGHT, borderwidth=0)
        holder = tkinter.Frame(area, background=PREVIEW_BACKGROUND, height=PREVIEW_HEIGHT)
        holder.pack_propagate(False)
        self.picture = tkinter.Label(holder, background=PREVIEW_BACKGROUND, borderwidth=0)
        self.picture.pack(expand=True)
        holder.pack(fill="x", pady=(8, 8))
        ttk.Label(area, text="Running tasks", style="DemoHeading.TLabel").pack(anchor="w", pady=(0, 4))
        self.task_list = TaskListView(tasks.manager, area, pausable=True)
        self.task_list.pack(fill="both", expand=True)
        return area

    def _statusbar(self, tasks: Any) -> ttk.Frame:
        bar = ttk.Frame(self.root, padding=(6, 4))
        self.status = TaskProgressBar(tasks.manager, bar, idle_text="Ready")
        self.heartbeat_label = ttk.Label(bar, width=30, anchor="e", style="DemoCaption.TLabel")
        self.heartbeat_label.pack(side="right")
        self.status.pack(side="left", fill="x", expand=True)
        return bar

    # -- callbacks (Tk main thread) ------------------------------------------------------
    def show_preview(self, task: Any, data: dict[str, Any]) -> None:
        rgba = data["rgba"]
        step = max(1, rgba.shape[0] // PREVIEW_HEIGHT)
        self._photo = tkinter.PhotoImage(master=self.root, data=_ppm(rgba, step), format="PPM")
        self.picture.configure(image=self._photo)
        self.controller.preview_count += 1
        self.preview_caption.configure(text=caption_for(data, self.controller.preview_count))

    def add_outcome(self, outcome: Outcome) -> None:
        label = ElidedLabel(self.log, outcome_text(outcome), style=f"Demo{outcome.status}.TLabel")
        self.log_lines.insert(0, label)
        for old in self.log_lines[8:]:
            old.destroy()
        del self.log_lines[8:]
        for line in self.log_lines:
            line.pack_forget()
        for line in self.log_lines:
            line.pack(fill="x", anchor="w")

    def _show_heartbeat(self) -> None:
        if self.controller.heartbeat is not None:
            self.heartbeat_label.configure(text=self.controller.heartbeat.text())
        self.root.after(400, self._show_heartbeat)


class TkDemo(DemoController):
    """The Tk window around the shared tour, test mode and screenshot."""

    toolkit = "tk"

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.root = tkinter.Tk(className="tasker-demo")
        self.window: DemoWindow

    def run(self) -> int:
        configure_manager(self.args.cluster)
        self.window = DemoWindow(self.root, self)
        self.banner, self.task_list = self.window.banner, self.window.task_list
        self.root.protocol("WM_DELETE_WINDOW", self.quit)
        self.begin()
        self.root.mainloop()
        self.manager.shutdown(timeout=2.0)
        self.root.destroy()
        return self.exit_code

    def after(self, ms: int, fn: Callable[[], bool]) -> object:
        def fire() -> None:
            if fn():
                self.root.after(ms, fire)

        return self.root.after(ms, fire)

    def quit(self) -> None:
        self.root.quit()

    def save_png(self, path: str) -> tuple[int, int]:
        return save_png(self.root, path)


    def tour_button(self, enabled: bool) -> None:
        self.window.run_all_button.state(["!disabled"] if enabled else ["disabled"])


def run_tk(args: argparse.Namespace) -> int:
    return TkDemo(args).run()
