"""Accessibility and keyboard use of tasker's Qt and Tk widgets (run by test_a11y_widgets.py).

``python tests/widgets/a11y_scenarios.py qt|tk [shot OUT.png [dark]]`` builds the banner, a pausable
task list and the status strip on a real manager in a real window, and prints
``RESULT {json}`` last:

* ``qt`` (``QT_QPA_PLATFORM=offscreen``): what Qt's accessibility layer reports
  in-process (``QAccessible.queryAccessibleInterface``: names, roles,
  descriptions, values) and real key events from ``QTest`` (Tab, Enter, Space);
* ``tk`` (under Xvfb): real key events from ``xdotool`` (Tk has no
  accessibility layer on X11: there is no tree to read).

The tasks are threads that wait for orders (``Orders``), so every step is the
test's. Every wait has a deadline.
"""

from __future__ import annotations

# Loaded before any task runs: a task failing while another thread is still importing
# asyncio made tasker's ending decision (final_status) read a half-made module.
import asyncio  # noqa: F401
import json
import os
import queue
import subprocess
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # tests/widgets, tests/

from drivers import DRIVERS, Driver  # noqa: E402

from a11y_jobs import obey  # noqa: E402


class Stage:
    """The widgets on a manager, and tasks that do what they are told."""

    def __init__(self, drv: Driver) -> None:
        from tasker import TaskManager

        self.drv = drv
        self.manager = TaskManager(max_threads=8)
        self.window = drv.window()
        self.banner = drv.make(self.window, "TaskErrorBanner", self.manager)
        self.view = drv.make(self.window, "TaskListView", self.manager, pausable=True)
        self.bar = drv.make(self.window, "TaskProgressBar", self.manager, idle_text="Ready")
        drv.show(self.window)
        drv.run_until(lambda: self.view.is_receiving and self.bar.is_receiving, what="receiving")
        self.orders: dict[str, queue.Queue[tuple[Any, ...]]] = {}
        self.tasks: dict[str, Any] = {}

    def start(self, name: str) -> Any:
        orders: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.orders[name] = orders
        task = self.tasks[name] = self.manager.run_thread(obey, orders, key=name)
        self.drv.run_until(lambda: self.view.get_row(task) is not None, 15, f"{name}'s row")
        return self.view.get_row(task)

    def progress(self, name: str, fraction: float, message: str) -> Any:
        self.orders[name].put(("progress", fraction, message))
        task = self.tasks[name]
        self.drv.run_until(
            lambda: (row := self.view.get_row(task)) is not None and row.message == message
            and abs(row.fraction - fraction) < 1e-6, 15, f"{name} at {fraction}")
        return self.view.get_row(task)

    def finish(self, name: str, how: str) -> None:
        self.orders[name].put(("finish", how))
        self.gone(name)

    def gone(self, name: str) -> None:
        task = self.tasks[name]
        self.drv.run_until(lambda: task.is_final() and self.view.get_row(task) is None
                           and any(a.startswith(f"{name} ") for a in self.view.announcements), 15, f"{name} gone")

    def rows(self) -> list[str]:
        return [row.task.name for row in self.view.rows]

    def paused(self) -> list[str]:
        return [row.task.name for row in self.view.rows if row.task.is_paused()]

    def close(self) -> None:
        self.manager.shutdown(timeout=5)


def focus_name(stage: Stage, focus: Any) -> str | None:
    """``"cancel:NAME"``, ``"pause:NAME"``, ``"row:NAME"``, ``"dismiss:TITLE"`` or a type name."""
    if focus is None:
        return None
    for row in stage.view.rows:
        if focus is row.cancel_button:
            return f"cancel:{row.task.name}"
        if focus is row.pause_button:
            return f"pause:{row.task.name}"
        if focus is row:
            return f"row:{row.task.name}"
    for entry in stage.banner.entries:
        if focus is entry.dismiss_button:
            return f"dismiss:{entry.title}"
    return type(focus).__name__


# -- Qt ---------------------------------------------------------------------------------------------------
def scenario_qt(drv: Any) -> dict[str, Any]:
    import importlib

    from tasker.qt._binding import API, APIS

    qt_gui = importlib.import_module(f"{APIS[API]}.QtGui")
    key = drv.QtCore.Qt.Key
    # PySide6 has Qt's accessibility API (QAccessible); PyQt6 does not bind it: there
    # the widgets' own accessible name and description are read instead.
    accessible = getattr(qt_gui, "QAccessible", None)

    def about(widget: Any) -> dict[str, Any]:
        if accessible is None:
            return {"name": widget.accessibleName(), "description": widget.accessibleDescription()}
        i = accessible.queryAccessibleInterface(widget)
        return {"role": i.role().name, "name": i.text(accessible.Text.Name),
                "description": i.text(accessible.Text.Description)}

    def value(widget: Any) -> float:
        maximum = float(widget.maximum())
        if accessible is None:
            return float(widget.value()) / maximum
        return float(accessible.queryAccessibleInterface(widget).valueInterface().currentValue()) / maximum

    stage = Stage(drv)
    out: dict[str, Any] = {
        "qaccessible": accessible is not None,
        "announcement_event": hasattr(qt_gui, "QAccessibleAnnouncementEvent"),
    }
    stage.window.activateWindow()
    drv.QTest.qWaitForWindowActive(stage.window)
    row = stage.start("export")
    out["list"] = about(stage.view)
    out["row"] = about(row)
    out["buttons"] = [about(row.pause_button), about(row.cancel_button)]
    values = []
    for fraction, message in ((0.05, "step 1"), (0.07, "step 2"), (0.35, "step 3")):
        stage.progress("export", fraction, message)
        if fraction == 0.35:  # a new step: published at once, or when its second is over
            drv.run_until(lambda: abs(value(row.progress_bar) - 0.35) < 1e-6, 10, "the new step's value")
        values.append({"shown": row.fraction, "value": value(row.progress_bar), **about(row.progress_bar)})
    out["values"] = values
    out["status_bar"] = about(stage.bar.progress_bar)

    # The keyboard (real key events through QTest): Tab, Enter, Space.
    stage.finish("export", "ok")
    for name in ("alpha", "beta", "gamma"):
        stage.start(name)
        stage.progress(name, 0.5, "working")

    def press(k: Any) -> None:
        drv.QTest.keyClick(stage.window.focusWidget() or stage.window, k)

    def tab_to(target: str) -> list[str | None]:
        seen = []
        for _ in range(30):
            press(key.Key_Tab)
            seen.append(focus_name(stage, stage.window.focusWidget()))
            if seen[-1] == target:
                return seen
        raise AssertionError(f"Tab never reached {target}: {seen}")

    out["tab_order"] = tab_to("cancel:gamma")
    tab_to("cancel:beta")
    press(key.Key_Return)
    stage.gone("beta")
    out["after_enter"] = {"rows": stage.rows(), "focus": focus_name(stage, stage.window.focusWidget())}
    tab_to("pause:gamma")
    press(key.Key_Space)
    drv.run_until(lambda: stage.paused() == ["gamma"], 10, "gamma paused")
    gamma = stage.view.get_row(stage.tasks["gamma"])
    out["after_space"] = {"paused": stage.paused(), "name": about(gamma.pause_button)}
    press(key.Key_Return)
    drv.run_until(lambda: stage.paused() == [], 10, "gamma resumed")
    stage.finish("gamma", "ok")
    out["after_last_row_ended"] = focus_name(stage, stage.window.focusWidget())
    stage.start("delta")
    stage.finish("delta", "fail")
    entry = stage.banner.entries[0]
    out["alert"] = {**about(entry), "dismiss": about(entry.dismiss_button)}
    tab_to("dismiss:delta failed")
    press(key.Key_Return)
    drv.run_until(lambda: not stage.banner.entries, 10, "the banner empty")
    out["announcements"] = stage.view.announcements
    out["list_description"] = about(stage.view)["description"]

    stage.close()
    return out


# -- Tk ---------------------------------------------------------------------------------------------------
def scenario_tk(drv: Any) -> dict[str, Any]:
    stage = Stage(drv)
    window = stage.window
    out: dict[str, Any] = {}
    for name in ("alpha", "beta", "gamma"):
        stage.start(name)
        stage.progress(name, 0.5, "working")
    window.update()
    found = subprocess.run(["xdotool", "search", "--sync", "--name", "tasker test"], check=True, timeout=30,
                           capture_output=True, text=True)
    window_id = found.stdout.split()[-1]
    subprocess.run(["xdotool", "windowfocus", "--sync", window_id], check=True, timeout=30)
    window.focus_force()
    drv.run_until(lambda: window.focus_get() is not None, 10, "the window's focus")

    def key(name: str) -> None:
        subprocess.run(["xdotool", "key", "--clearmodifiers", name], check=True, timeout=30)
        drv.spin(0.05)  # let Tk take the event (the waits below have their own deadlines)

    def focus() -> str | None:
        return focus_name(stage, window.focus_get())

    def tab_to(target: str) -> list[str | None]:
        seen = []
        for _ in range(30):
            before = focus()
            key("Tab")
            drv.run_until(lambda before=before: focus() != before, 5, "the focus to move")
            seen.append(focus())
            if seen[-1] == target:
                return seen
        raise AssertionError(f"Tab never reached {target}: {seen}")

    out["tab_order"] = tab_to("cancel:gamma")
    tab_to("cancel:beta")
    key("Return")
    stage.gone("beta")
    out["after_enter"] = {"rows": stage.rows(), "focus": focus()}
    tab_to("pause:gamma")
    key("space")
    drv.run_until(lambda: stage.paused() == ["gamma"], 10, "gamma paused")
    out["after_space"] = {"paused": stage.paused(), "text": stage.view.get_row(stage.tasks["gamma"]).pause_text}
    key("Return")
    drv.run_until(lambda: stage.paused() == [], 10, "gamma resumed")
    stage.finish("gamma", "ok")
    drv.spin(0.1)
    out["after_last_row_ended"] = focus()
    stage.start("delta")
    stage.finish("delta", "fail")
    tab_to("dismiss:delta failed")
    key("Return")
    drv.run_until(lambda: not stage.banner.entries, 10, "the banner empty")
    out["announcements"] = stage.view.announcements
    stage.close()
    return out


# -- screenshots (docs/accessibility.md) -----------------------------------------------------------------
def scenario_shot(drv: Any, out: str, palette: str = "light") -> dict[str, Any]:
    """The banner (a failure), three rows (45 %, paused at 20 %, no progress yet), the strip; saved to ``out``."""
    if drv.name == "qt" and palette == "dark":
        drv.app.setStyle("Fusion")
        drv.app.setPalette(dark_palette(drv))
    stage = Stage(drv)
    if drv.name == "qt":
        stage.window.resize(520, 330)
    else:
        stage.window.geometry("520x330")
    stage.start("upload photos")
    stage.finish("upload photos", "fail")
    stage.start("export video")
    stage.progress("export video", 0.45, "Encoding frame 540 of 1200")
    stage.start("index library")
    stage.progress("index library", 0.2, "Indexed 200 of 1000")
    stage.tasks["index library"].pause()
    stage.start("sync calendar")
    stage.orders["sync calendar"].put(("progress", 0.0, "Connecting…"))
    drv.run_until(lambda: stage.view.get_row(stage.tasks["index library"]).paused
                  and stage.view.get_row(stage.tasks["sync calendar"]).pulsing, 15, "paused and pulsing")
    drv.spin(0.5)
    size = stage.drv.module.save_png(stage.window, out)
    stage.close()
    return {"size": list(size)}


def dark_palette(drv: Any) -> Any:
    from tasker.qt._binding import QtGui

    palette = QtGui.QPalette()
    role, colour = QtGui.QPalette.ColorRole, QtGui.QColor
    for which, value in ((role.Window, "#2b2b2b"), (role.WindowText, "#eeeeee"), (role.Base, "#1e1e1e"),
                         (role.AlternateBase, "#333333"), (role.Text, "#eeeeee"), (role.Button, "#3a3a3a"),
                         (role.ButtonText, "#eeeeee"), (role.Highlight, "#3584e4"), (role.Midlight, "#444444"),
                         (role.HighlightedText, "#ffffff"), (role.ToolTipBase, "#2b2b2b"),
                         (role.ToolTipText, "#eeeeee")):
        palette.setColor(which, colour(value))
    return palette


def main() -> int:
    toolkit = sys.argv[1]
    try:
        drv = DRIVERS[toolkit]()
    except RuntimeError as exc:
        if str(exc).startswith("skip: "):
            print("RESULT " + json.dumps({"skip": str(exc)[6:]}))
            return 0
        raise
    if sys.argv[2:3] == ["shot"]:
        result = scenario_shot(drv, *sys.argv[3:])
    else:
        result = {"qt": scenario_qt, "tk": scenario_tk}[toolkit](drv)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
