"""The first process task of a fresh manager: queued at once, handed over by a starter thread.

    caller (UI thread), first run_process        starter thread (tasker-start)
    ─────────────────────────────────────        ─────────────────────────────
    check the call, choose the scheduler,
    Task (its lifecycle: ``Soon``), pickle ──┐
    return the task                          └─► build the lifecycle and the pool
    (more tasks before the hand-off: queued)     add + submit each queued task, in order
                                                 publish the lifecycle: the manager
                                                 works as if it had been built at once

A fresh process pays for importing what runs tasks (the lifecycle, the pool:
milliseconds) and ``TaskManager()`` defers it to first use; for a first
``run_process``, which would then block the UI thread for all of it, the caller
only checks and pickles the call (a bad argument still fails at the call) and
gets its task back: the rest happens on the starter thread. Until the hand-off
ends, anything that needs the lifecycle (``task.cancel()``, ``get_task``,
``shutdown``, another kind of task…) waits for it — milliseconds, once — so
nothing observable changes but timing: a queued task is ``pending``, as it would
be in the pool's queue.

Invariant (under the manager's ``_lock``): ``queued`` holds the tasks not handed
over yet, in submission order; once the lifecycle is published it is empty and
stays so (submits go the direct way).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._lifecycle import TaskLifecycle
    from ._task import Task



def _log() -> Any:
    """The ``tasker`` logger (logging is imported here only when something went wrong)."""
    import logging

    return logging.getLogger("tasker")


def start_thread(name: str, target: Any, *args: Any) -> threading.Event:
    """Run ``target(*args)`` on a new daemon thread; the event is set when it is over."""
    over = threading.Event()

    def run() -> None:
        try:
            target(*args)
        finally:
            over.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    return over


class Soon:
    """A queued task's lifecycle until the hand-off: any use waits for the real one."""

    def __init__(self, lifecycle: Any) -> None:
        self._get = lifecycle  # () -> TaskLifecycle, waiting for the hand-off

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


class FirstStart:
    """The queued first tasks and the thread that hands them over (see the module doc)."""

    def __init__(self, build: Any, publish: Any) -> None:
        self._build = build  # () -> TaskLifecycle, not published yet (starter thread)
        self._publish = publish  # (self, lifecycle) -> tasks queued meanwhile, or [] once published
        self.queued: list[Task[Any]] = []
        self.go = threading.Event()  # set by the caller as it returns (see _run)
        self.done = threading.Event()  # the starter thread is over (handed over, or its build failed)
        self.hand_lock = threading.Lock()  # one hand-over at a time (the starter's, or a fallback)

    def start(self) -> None:
        """Start the starter thread (once, by the caller that queued the first task)."""
        start_thread("tasker-start", self._run)

    def _run(self) -> None:
        # Blocked until the caller returns: had this thread taken the GIL while the caller
        # waited in Thread.start(), the caller would wait a switch interval (5 ms) to get it back.
        self.go.wait()
        try:
            with self.hand_lock:
                self.hand_over(self._build())
        except BaseException:  # (tasker's own modules failed to import) the manager's _build retries
            _log().exception("tasker: building the task manager failed on its starter thread")
        finally:
            self.done.set()

    def hand_over(self, lifecycle: TaskLifecycle) -> None:
        """Add and submit every queued task, then publish ``lifecycle`` (also the manager's fallback)."""
        runners: dict[str, Any] = {}
        failures: dict[str, BaseException] = {}
        for kind in sorted({task.kind for task in self.queued}):  # runners first: their imports are done
            try:  # before the first task is shown (a flush on the main thread would share the GIL with them)
                runners[kind] = lifecycle.runner(kind)
            except Exception as error:  # e.g. a frozen app's worker running the app
                _log().error("tasker: the %s runner cannot start: %s", kind, error)
                failures[kind] = error
        while True:
            batch = self._publish(self, lifecycle)  # the tasks queued meanwhile, or [] once published
            if not batch:
                return
            for task in batch:
                task._lifecycle = lifecycle
                old = lifecycle.add(task)
                if old is not None:
                    lifecycle.cancel(old)
                kind = task.kind
                runner = runners.get(kind)
                if runner is None and kind not in failures:
                    try:
                        runner = runners[kind] = lifecycle.runner(kind)
                    except Exception as error:  # e.g. a frozen app's worker running the app
                        _log().error("tasker: the %s runner cannot start: %s", kind, error)
                        failures[kind] = error
                if runner is None:  # every such task fails with it (a later one raises at the call)
                    lifecycle.conclude(task, error=failures[kind])
                    continue
                runner.adopt(task)
                runner.submit(task)
