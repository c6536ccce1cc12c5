"""One application per toolkit that never calls initialize(): prints what it saw.

    python tests/toolkits/scenario.py qt|pyqt6|tk|asyncio

Starts a thread, a coroutine and a process task with events, watches
``tasks_updated`` and ``schedule_on_main_thread``, runs the toolkit's real event
loop until every ``when_done`` arrived (or 30 s), and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tasker import TaskManager

import jobs

SEEN: dict[str, Any] = {"off_main": [], "done": [], "events": 0, "updates": 0, "scheduled": 0}


def on_main(label: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        SEEN["off_main"].append(label)


def start(mgr: TaskManager, quit_loop: Any) -> None:
    def when_done(task: Any) -> None:
        on_main("when_done")
        SEEN["done"].append([task.kind, str(task.get_status()), task.result()])
        if len(SEEN["done"]) == 3:
            mgr.schedule_on_main_thread(finish)

    def when_event(task: Any, name: str, data: Any) -> None:
        on_main("when_event")
        SEEN["events"] += 1

    def on_update(sender: Any, tasks: Any, progress: float) -> None:
        on_main("tasks_updated")
        SEEN["updates"] += 1

    def finish() -> None:
        on_main("schedule_on_main_thread")
        SEEN["scheduled"] += 1
        quit_loop()

    mgr.tasks_updated.connect(on_update)
    mgr.run_thread(jobs.report, 5, when_done=when_done, when_event=when_event)
    mgr.add_coroutine(jobs.a_report, 5, when_done=when_done, when_event=when_event)
    mgr.run_process(jobs.report, 5, when_done=when_done, when_event=when_event)


def run_qt(binding: str = "PySide6") -> str:
    import importlib

    QTimer = importlib.import_module(f"{binding}.QtCore").QTimer
    QApplication = importlib.import_module(f"{binding}.QtWidgets").QApplication
    app = QApplication([])
    mgr = TaskManager(max_processes=1)
    QTimer.singleShot(0, lambda: start(mgr, app.quit))
    QTimer.singleShot(30_000, app.quit)
    app.exec()
    mgr.shutdown()
    return type(mgr.scheduler).__name__


def run_tk() -> str:
    import tkinter

    root = tkinter.Tk()
    root.withdraw()
    mgr = TaskManager(max_processes=1)
    root.after(0, lambda: start(mgr, root.quit))
    root.after(30_000, root.quit)
    root.mainloop()
    mgr.shutdown()
    return type(mgr.scheduler).__name__


def run_asyncio() -> str:
    import asyncio

    async def main() -> str:
        mgr = TaskManager(main_thread_scheduler="asyncio")
        stop = asyncio.Event()
        start(mgr, stop.set)
        await asyncio.wait_for(stop.wait(), 30)
        awaited = await mgr.run_thread(jobs.ok, 21)
        SEEN["awaited"] = awaited
        mgr.shutdown()
        return type(mgr.scheduler).__name__

    return asyncio.run(main())


if __name__ == "__main__":
    scheduler = {"qt": run_qt, "pyqt6": lambda: run_qt("PyQt6"), "tk": run_tk, "asyncio": run_asyncio}[sys.argv[1]]()
    SEEN.pop("handler", None)
    print(json.dumps({"scheduler": scheduler, **SEEN}))
