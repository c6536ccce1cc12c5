"""Runs one code example of the docs: ``python tests/docs_runner.py qt|tk|plain FILE``.

Window examples end in ``app.exec()`` / ``root.mainloop()`` as real apps do;
here that call is wrapped so the window quits by itself once the example's
tasks have all ended (seen running, then idle for 0.5 s), or fails after 60 s.
"""

from __future__ import annotations

import runpy
import sys
import time

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
    from PySide6 import QtCore, QtWidgets

    original = QtWidgets.QApplication.exec
    watch = Watch()

    def exec_(*_: object) -> int:
        app = QtWidgets.QApplication.instance()
        timer = QtCore.QTimer()
        timer.timeout.connect(lambda: watch.done() and app.quit())
        timer.start(50)
        return int(original())

    QtWidgets.QApplication.exec = exec_


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
    toolkit, path = sys.argv[1], sys.argv[2]
    {"qt": patch_qt, "tk": patch_tk}.get(toolkit, lambda: None)()
    sys.argv = [path]
    runpy.run_path(path, run_name="__main__")
