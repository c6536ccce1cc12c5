"""Runs one code example of the docs: ``python tests/docs_runner.py KIND FILE``.

KIND is ``plain``, ``gtk``, ``qt``, ``tk`` or ``pytest`` (``qt`` patches PyQt6
when ``TASKER_QT_API=pyqt6``, else PySide6). The file runs as
``python FILE`` would run it (its directory first on ``sys.path``). Window
examples end in ``app.run()`` / ``app.exec()`` / ``root.mainloop()`` as real
apps do; here that call is wrapped so the window quits by itself once the
example's tasks have all ended (seen running, then idle for 0.5 s), or fails
after 60 s. A ``pytest`` example is a test file: pytest runs it, with tasker's
plugin loaded by ``-p`` (the caller turns entry points off).
"""

from __future__ import annotations

import os
import runpy
import sys
import time
import warnings

DEADLINE = 60.0


class Watch:
    """Polled from the toolkit's loop: True (quit) once tasks ran and ended."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.seen = False
        self.idle_since = 0.0

    def done(self) -> bool:
        from tasker import task_mgr

        now = time.monotonic()
        if now - self.start > DEADLINE:
            print(f"docs example: its tasks did not end within {DEADLINE:.0f} s", file=sys.stderr)
            raise SystemExit(1)
        if task_mgr.has_tasks():
            self.seen, self.idle_since = True, 0.0
            return False
        if self.seen and not self.idle_since:
            self.idle_since = now
        return self.seen and now - self.idle_since >= 0.5


def patch_qt() -> None:
    import importlib

    binding = "PyQt6" if os.environ.get("TASKER_QT_API") == "pyqt6" else "PySide6"
    QtCore = importlib.import_module(f"{binding}.QtCore")
    QtWidgets = importlib.import_module(f"{binding}.QtWidgets")

    original = QtWidgets.QApplication.exec
    watch = Watch()

    def exec_(*_: object) -> int:
        app = QtWidgets.QApplication.instance()
        timer = QtCore.QTimer()
        timer.timeout.connect(lambda: watch.done() and app.quit())
        timer.start(50)
        return int(original())

    QtWidgets.QApplication.exec = exec_


def patch_gtk() -> None:
    import gi

    gi.require_version("Gtk", "4.0")
    from gi.repository import Gio, GLib

    original = Gio.Application.run
    watch = Watch()

    def run(self: Gio.Application, *args: object) -> int:
        def poll() -> bool:
            if watch.done():
                self.quit()
                return False
            return True

        GLib.timeout_add(50, poll)
        return int(original(self, *args))

    Gio.Application.run = run


def run_pytest(path: str) -> None:
    import pytest

    raise SystemExit(pytest.main(["-q", "-p", "tasker._pytest_plugin", "-p", "no:cacheprovider", path]))


def patch_tk() -> None:
    import tkinter

    original = tkinter.Misc.mainloop
    watch = Watch()

    def mainloop(self: tkinter.Misc, n: int = 0) -> None:
        def poll() -> None:
            if watch.done():
                self.quit()
            else:
                self.after(50, poll)

        self.after(50, poll)
        original(self, n)

    tkinter.Misc.mainloop = mainloop  # type: ignore[method-assign]


if __name__ == "__main__":
    # As pyproject.toml's filterwarnings: a DeprecationWarning from tasker's own code fails.
    warnings.filterwarnings("error", category=DeprecationWarning, module=r"tasker(\.|$)")
    toolkit, path = sys.argv[1], sys.argv[2]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    if toolkit == "pytest":
        run_pytest(path)
    {"gtk": patch_gtk, "qt": patch_qt, "tk": patch_tk}.get(toolkit, lambda: None)()
    sys.argv = [path]
    runpy.run_path(path, run_name="__main__")
