"""A Rayforge-shaped application on a GLib main loop (run by test_rf_glib in a subprocess).

Like Rayforge's app: ``task_mgr.initialize(worker_initializer=..., main_thread_scheduler=idle_add)``
with Rayforge's ``idle_add(func, *args, **kwargs)`` wrapper around ``GLib.idle_add``;
then a coroutine, a thread, a process that hands over a resource with
``send_event_and_wait``, a delayed call and ``run_coroutine_threadsafe(coro, task_mgr.loop)``.
Prints what it saw as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any

from gi.repository import GLib

from tasker.compat.rayforge import Task, task_mgr


def falsify(func: Any, *args: Any, **kwargs: Any) -> bool:
    func(*args, **kwargs)
    return False


def idle_add(func: Any, *args: Any, **kwargs: Any) -> None:
    GLib.idle_add(lambda: falsify(func, *args, **kwargs))


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/: workers import compat
    from compat import rf_jobs

    task_mgr.initialize(
        worker_initializer=rf_jobs.init_worker, worker_initargs=("glib",), main_thread_scheduler=idle_add
    )
    loop = GLib.MainLoop()
    main_thread = threading.current_thread()
    seen: dict[str, Any] = {"on_main": []}
    pending = {"coroutine", "thread", "process", "delayed", "threadsafe"}

    def finished(name: str, value: Any) -> None:
        seen[name] = value
        seen["on_main"].append(threading.current_thread() is main_thread)
        pending.discard(name)
        if not pending:
            loop.quit()

    async def coro(context: Any, x: int) -> int:
        context.set_message("working")
        await asyncio.sleep(0)
        return x * 2

    task_mgr.add_coroutine(coro, 21, key="coro", when_done=lambda t: finished("coroutine", t.result()))
    task_mgr.run_thread(lambda a, b: a + b, 1, 2, when_done=lambda t: finished("thread", t.result()))
    adopted: list[Any] = []

    def on_event(task: Task, event_name: str, data: Any) -> None:
        adopted.append(data)

    task_mgr.run_process(
        rf_jobs.adopt,
        when_event=on_event,
        visible=False,
        when_done=lambda t: finished("process", [t.get_status(), t.result(), adopted]),
    )
    task_mgr.schedule_delayed_on_main_thread(50, finished, "delayed", True)

    async def on_loop() -> bool:
        return asyncio.get_running_loop() is task_mgr.loop

    future = asyncio.run_coroutine_threadsafe(on_loop(), task_mgr.loop)
    future.add_done_callback(lambda f: idle_add(finished, "threadsafe", f.result()))
    GLib.timeout_add_seconds(60, loop.quit)
    loop.run()
    seen["pending"] = sorted(pending)
    seen["shared"] = sorted(v for k, v in dict(task_mgr.shared_state).items() if k.startswith("init:"))[:1]
    task_mgr.shutdown()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
