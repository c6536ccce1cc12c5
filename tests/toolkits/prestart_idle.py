"""``prestart_when_idle`` in a real main loop: ``python prestart_idle.py gtk|qt|tk`` prints a JSON report.

The window is built, the helper is called, the loop runs: the prestart must come
from the main thread once the loop runs; the first process task must then run on
a worker that was READY before it was submitted; after shutdown no worker is left.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tasker import TaskManager

import jobs

report: dict[str, Any] = {"prestart_calls": [], "ran_on_ready_worker": None, "left": None}
POLL_MS = 20
LIMIT_POLLS = 2000  # 40 s


def drive(mgr: TaskManager, after: Any, quit_loop: Any) -> None:
    real = mgr.prestart

    def recording(**kwargs: Any) -> None:
        report["prestart_calls"].append([threading.current_thread() is threading.main_thread(), kwargs])
        real(**kwargs)

    mgr.prestart = recording  # type: ignore[method-assign]
    polls = [0]

    def poll() -> None:
        polls[0] += 1
        pool = mgr._lifecycle.runners.get("process") if report["prestart_calls"] else None
        ready = [w.proc.pid for w in getattr(pool, "workers", ()) if w.state.name == "READY"]
        if not ready and polls[0] < LIMIT_POLLS:
            after(POLL_MS, poll)
            return

        def done(task: Any) -> None:
            report["ran_on_ready_worker"] = task.result() in ready
            quit_loop()

        mgr.run_process(jobs.pid, when_done=done)

    after(POLL_MS, poll)


def children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[1] == me:
                    found.add(int(pid))
        except OSError:
            pass
    return found


def main(toolkit: str) -> None:
    if toolkit == "gtk":
        import gi

        gi.require_version("Gtk", "4.0")
        from gi.repository import GLib, Gtk

        import tasker.gtk

        app_loop = GLib.MainLoop()
        window = Gtk.Window(title="prestart")
        window.present()
        mgr = TaskManager(max_processes=1, spare_processes=0)
        tasker.gtk.prestart_when_idle(mgr)
        drive(mgr, lambda ms, fn: GLib.timeout_add(ms, lambda: fn() and False), app_loop.quit)
        app_loop.run()
        window.destroy()
    elif toolkit == "qt":
        from PySide6 import QtCore, QtWidgets

        import tasker.qt

        app = QtWidgets.QApplication([])
        window = QtWidgets.QLabel("prestart")
        window.show()
        mgr = TaskManager(max_processes=1, spare_processes=0)
        tasker.qt.prestart_when_idle(mgr)
        drive(mgr, lambda ms, fn: QtCore.QTimer.singleShot(ms, fn), app.quit)
        app.exec()
    else:
        import tkinter

        import tasker.tk

        root = tkinter.Tk()
        tkinter.Label(root, text="prestart").pack()
        mgr = TaskManager(max_processes=1, spare_processes=0)
        tasker.tk.prestart_when_idle(mgr)
        drive(mgr, root.after, root.quit)
        root.mainloop()
        root.destroy()
    mgr.shutdown(timeout=2.0)
    report["left"] = sorted(children())
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
