"""One driver per toolkit, so that one list of scenarios runs on GTK, Qt and Tk.

A driver builds a window holding tasker's widgets, iterates the toolkit's real
event loop (``run_until`` a condition holds, with a deadline), reads what a
widget shows, clicks a button and destroys the window. Only the driver of the
toolkit under test is imported (each scenario runs in its own process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Driver:
    name = ""
    module: Any  # tasker.gtk / tasker.qt / tasker.tk

    def make(self, window: Any, kind: str, manager: Any, **options: Any) -> Any:
        """Build ``tasker.<toolkit>.<kind>`` inside ``window``."""
        raise NotImplementedError

    def window(self) -> Any:
        raise NotImplementedError

    def show(self, window: Any) -> None:
        raise NotImplementedError

    def iterate(self) -> None:
        """One blocking iteration of the event loop (woken at least every 10 ms)."""
        raise NotImplementedError

    def run_until(self, predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: timed out after {timeout} s waiting for {what}")
            self.iterate()

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.run_until(lambda: time.monotonic() >= end, seconds + 5, "spin")

    # -- reading and acting ------------------------------------------------------------------
    def click(self, button: Any) -> None:
        raise NotImplementedError

    def kind_text(self, row: Any) -> str:
        raise NotImplementedError

    def cancel_enabled(self, row: Any) -> bool:
        raise NotImplementedError

    def pause_state(self, row: Any) -> str:
        """The row's pause button: ``"pause"``, ``"resume"`` or ``"hidden"``."""
        raise NotImplementedError

    def row_fraction(self, row: Any) -> float:
        """What the row's bar shows (read from the toolkit's widget)."""
        raise NotImplementedError

    def bar_label(self, bar: Any) -> str:
        """What the status strip's label shows (read from the toolkit's widget)."""
        raise NotImplementedError

    def bar_gone(self, bar: Any) -> bool:
        """The strip's bar has faded out (or left)."""
        raise NotImplementedError

    def shown(self, widget: Any) -> bool:
        """The widget takes room on screen."""
        raise NotImplementedError

    def revealed(self, banner: Any) -> bool:
        raise NotImplementedError

    def on_list_signal(self, view: Any, which: str, fn: Callable[[Any], object]) -> None:
        """Connect ``fn(task)`` to the list's ``task_ended`` / ``task_failed``."""
        raise NotImplementedError

    def destroy(self, window: Any) -> None:
        """Destroy the window as its user would (and let the toolkit free it)."""
        raise NotImplementedError


class GtkDriver(Driver):
    name = "gtk"

    def __init__(self) -> None:
        import gi

        gi.require_version("Gtk", "4.0")
        from gi.repository import GLib, Gtk

        import tasker.gtk

        self.GLib, self.Gtk, self.module = GLib, Gtk, tasker.gtk
        if not Gtk.init_check():
            raise RuntimeError("skip: Gtk.init_check() failed: no usable display")
        GLib.timeout_add(10, lambda: True)  # iterate() wakes up at least every 10 ms

    def window(self) -> Any:
        window = self.Gtk.Window(title="tasker test")
        window.set_default_size(640, 480)
        window.box = self.Gtk.Box(orientation=self.Gtk.Orientation.VERTICAL, spacing=6)
        window.set_child(window.box)
        return window

    def make(self, window: Any, kind: str, manager: Any, **options: Any) -> Any:
        widget = getattr(self.module, kind)(manager, **options)
        if kind == "TaskListView":
            scroller = self.Gtk.ScrolledWindow(vexpand=True)
            scroller.set_child(widget)
            window.box.append(scroller)
        else:
            window.box.append(widget)
        return widget

    def show(self, window: Any) -> None:
        window.present()

    def iterate(self) -> None:
        self.GLib.MainContext.default().iteration(True)

    def click(self, button: Any) -> None:
        button.emit("clicked")

    def kind_text(self, row: Any) -> str:
        return str(row.kind_label.get_text())

    def cancel_enabled(self, row: Any) -> bool:
        return bool(row.cancel_button.get_sensitive())

    def pause_state(self, row: Any) -> str:
        if not row.pause_button.get_visible():
            return "hidden"
        return "resume" if row.pause_button.get_icon_name() == "media-playback-start-symbolic" else "pause"

    def row_fraction(self, row: Any) -> float:
        return float(row.progress_bar.get_fraction())

    def bar_label(self, bar: Any) -> str:
        return str(bar._label.get_text())

    def bar_gone(self, bar: Any) -> bool:
        return not bar._revealer.get_child_revealed()

    def shown(self, widget: Any) -> bool:
        return bool(widget.get_visible() and widget.get_height() > 1)

    def revealed(self, banner: Any) -> bool:
        return bool(banner.get_reveal_child())

    def on_list_signal(self, view: Any, which: str, fn: Callable[[Any], object]) -> None:
        view.connect(which.replace("_", "-"), lambda _view, task: fn(task))

    def destroy(self, window: Any) -> None:
        window.destroy()


class QtDriver(Driver):
    name = "qt"

    def __init__(self) -> None:
        import importlib
        import os
        import sys

        import tasker.qt
        from tasker.qt._base import BROKEN_BINDING
        from tasker.qt._binding import API, APIS, QtCore, QtWidgets

        wanted = os.environ.get("TASKER_QT_API", API)
        others = [package for api, package in APIS.items() if api != API and package in sys.modules]
        assert wanted == API and not others, f"tasker.qt chose {API} (wanted {wanted}); also imported: {others}"
        self.QTest = importlib.import_module(f"{APIS[API]}.QtTest").QTest
        if BROKEN_BINDING:
            raise RuntimeError("skip: this PySide6 (6.12.0 on Python 3.11) drops references to None; see tasker.qt")
        self.QtCore, self.QtWidgets, self.module = QtCore, QtWidgets, tasker.qt
        self.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["tasker-test"])
        self.loop = QtCore.QEventLoop()
        self.keepalive = QtCore.QTimer()
        self.keepalive.start(10)  # iterate() wakes up at least every 10 ms

    def window(self) -> Any:
        window = self.QtWidgets.QWidget()
        window.setWindowTitle("tasker test")
        window.resize(640, 480)
        self.QtWidgets.QVBoxLayout(window)
        return window

    def make(self, window: Any, kind: str, manager: Any, **options: Any) -> Any:
        widget = getattr(self.module, kind)(manager, window, **options)
        window.layout().addWidget(widget, 1 if kind == "TaskListView" else 0)
        return widget

    def show(self, window: Any) -> None:
        window.show()

    def iterate(self) -> None:
        self.loop.processEvents(self.QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    def click(self, button: Any) -> None:
        self.QTest.mouseClick(button, self.QtCore.Qt.MouseButton.LeftButton)

    def kind_text(self, row: Any) -> str:
        return str(row.kind_label.text())

    def cancel_enabled(self, row: Any) -> bool:
        return bool(row.cancel_button.isEnabled())

    def pause_state(self, row: Any) -> str:
        if row.pause_button.isHidden():
            return "hidden"
        return "resume" if row.pause_button.toolTip().startswith("Resume") else "pause"

    def row_fraction(self, row: Any) -> float:
        return float(row.progress_bar.shown_fraction)  # the fill drawn (value() is the accessible one)

    def bar_label(self, bar: Any) -> str:
        return str(bar._label.full_text())

    def bar_gone(self, bar: Any) -> bool:
        return float(bar.opacity) == 0.0

    def shown(self, widget: Any) -> bool:
        return bool(widget.isVisible())

    def revealed(self, banner: Any) -> bool:
        return bool(banner.isVisible())

    def on_list_signal(self, view: Any, which: str, fn: Callable[[Any], object]) -> None:
        getattr(view, which).connect(fn)

    def destroy(self, window: Any) -> None:
        window.setAttribute(self.QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        window.close()  # the user closes it: Qt deletes it on the next event-loop pass
        self.QtCore.QCoreApplication.sendPostedEvents(None, self.QtCore.QEvent.Type.DeferredDelete)


class TkDriver(Driver):
    name = "tk"

    def __init__(self) -> None:
        import tkinter

        import tasker.tk

        self.tkinter, self.module = tkinter, tasker.tk
        self.root = tkinter.Tk()
        self.root.withdraw()
        self._keepalive()

    def _keepalive(self) -> None:
        self.root.after(10, self._keepalive)  # iterate() wakes up at least every 10 ms

    def window(self) -> Any:
        window = self.tkinter.Toplevel(self.root)
        window.title("tasker test")
        window.geometry("640x480")
        return window

    def make(self, window: Any, kind: str, manager: Any, **options: Any) -> Any:
        widget = getattr(self.module, kind)(manager, window, **options)
        widget.pack(fill="both" if kind == "TaskListView" else "x", expand=kind == "TaskListView")
        return widget

    def show(self, window: Any) -> None:
        window.deiconify()
        window.update_idletasks()

    def iterate(self) -> None:
        self.root.tk.dooneevent(0)

    def click(self, button: Any) -> None:
        button.invoke()

    def kind_text(self, row: Any) -> str:
        return str(row.kind_label.cget("text"))

    def cancel_enabled(self, row: Any) -> bool:
        return not row.cancel_button.instate(["disabled"])

    def pause_state(self, row: Any) -> str:
        if not row.pause_button.winfo_manager():
            return "hidden"
        return "resume" if row.pause_text == "▶" else "pause"

    def row_fraction(self, row: Any) -> float:
        bar = row.progress_bar
        return float(bar.cget("value")) / float(bar.cget("maximum"))

    def bar_label(self, bar: Any) -> str:
        return str(bar._label.full_text())

    def bar_gone(self, bar: Any) -> bool:
        return not bar._bar.winfo_ismapped()

    def shown(self, widget: Any) -> bool:
        widget.update_idletasks()
        return bool(widget.winfo_reqheight() > 1)

    def revealed(self, banner: Any) -> bool:
        return bool(banner._box.winfo_ismapped())

    def on_list_signal(self, view: Any, which: str, fn: Callable[[Any], object]) -> None:
        getattr(view, which).connect(fn)

    def destroy(self, window: Any) -> None:
        window.destroy()


DRIVERS = {"gtk": GtkDriver, "qt": QtDriver, "tk": TkDriver}
