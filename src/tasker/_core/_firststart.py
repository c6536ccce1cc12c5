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
only checks the call and gets its task back: the rest happens on the starter
thread. The caller imports only ``_task``, ``_validate`` and this module; for a call
that pickle surely takes and that nothing can change any more (``plain_call``:
a module-level function, arguments of immutable built-in types) it leaves the
pickling to the starter thread (``payload`` None: the runner's ``prepare``);
for any other call it imports the kind's ``PREPARE_FIRST`` function, which
raises where the kind cannot run and pickles the call. Either way a bad argument fails at the call. The scheduler is
chosen at the call unless it is a plain callable (wrapped the same way on any
thread). The starter thread is started without waiting for it to run (``start_thread``).
Until the hand-off ends, anything that needs the lifecycle (``task.cancel()``,
``get_task``, ``shutdown``, another kind of task…) waits for it — milliseconds,
once — so nothing observable changes but timing: a queued task is ``pending``,
as it would be in the pool's queue.

Invariant (under the manager's ``_lock``): ``queued`` holds the tasks not handed
over yet, in submission order; once the lifecycle is published it is empty and
stays so (submits go the direct way).
"""

from __future__ import annotations

import _thread
import sys
import threading
from types import FunctionType

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ._lifecycle import TaskLifecycle
    from ._task import Task

#: kind -> "module:function" that checks a first call where its runner is not built yet
#: (it raises where the kind cannot run) and returns its payload, or None for the runner's
#: ``prepare`` to make on the starter thread (a call that cannot fail to pickle or change);
#: that runner then gets ``adopt(task)`` for a payload made here. (``_runner`` re-exports it.)
PREPARE_FIRST: dict[str, str] = {"process": "tasker.runners.process:prepare_first"}

#: Can this system start processes? (Not WebAssembly: ``tasker.runners.process.SUPPORTED``.)
PROCESSES = sys.platform not in ("emscripten", "wasi")
#: Kinds whose first call needs no check at the call when ``plain_call`` takes it: the
#: caller imports no runner module for it (each module imported costs the UI thread
#: hundreds of thousands of instructions). The others go through ``PREPARE_FIRST``.
PLAIN_FIRST: set[str] = {"process"} if PROCESSES else set()


def prepare_first(kind: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The payload of a first call of ``kind`` (None: the runner's ``prepare`` makes it later).

    A plain call (``plain_call``) of a kind in ``PLAIN_FIRST`` is left as it is;
    anything else goes to the kind's ``PREPARE_FIRST`` function, which raises
    where the kind cannot run and pickles the call.
    """
    if kind in PLAIN_FIRST and plain_call(func, args, kwargs):
        return None
    from importlib import import_module

    module, _, name = PREPARE_FIRST[kind].partition(":")
    return getattr(import_module(module), name)(func, args, kwargs)


#: Values pickled by value whatever happens to them: immutable, and pickle takes every one.
_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes})
_PLAIN_ITEMS = 16  # longer tuples are pickled at the call (the check must stay cheap)


def plain_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Would pickling the call later give the same bytes and surely not raise?

    True for a module-level function (pickled by reference: a name, the same later)
    of an imported module other than ``__main__`` (cloudpickle would copy its code
    and globals), whose arguments are immutable built-in values (``_PLAIN``) or
    short tuples of them. Anything else — a list, a dict, an array, an object —
    could change after the call returns, or fail to pickle, and is pickled at the call.
    """
    if type(func) is not FunctionType:
        return False
    module_name = func.__module__
    qualname = func.__qualname__
    if not isinstance(module_name, str) or "__main__" in module_name or "<" in qualname:
        return False
    target: Any = sys.modules.get(module_name)
    for part in qualname.split("."):  # pickle finds it again by this path, or it is not plain
        target = getattr(target, part, None)
    if target is not func:
        return False
    return all(_plain(value) for value in args) and all(_plain(value) for value in kwargs.values())


def _plain(value: Any, depth: int = 2) -> bool:
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is tuple and depth and len(value) <= _PLAIN_ITEMS:
        return all(_plain(item, depth - 1) for item in value)
    return False


def _log() -> Any:
    """The ``tasker`` logger (logging is imported here only when something went wrong)."""
    import logging

    return logging.getLogger("tasker")


def start_thread(name: str, target: Any, *args: Any) -> threading.Event:
    """Run ``target(*args)`` on a new daemon thread named ``name``; the event is set when it is over.

    Returns without waiting for the thread to run: ``Thread.start()`` waits until
    the new thread has started, which on a loaded machine means waiting for the OS
    to schedule it (milliseconds, measured) and then for the GIL back. A bare
    ``_thread`` thread starts the named ``threading.Thread`` instead, off the
    caller, and lives microseconds; if even that fails, the target runs on it.
    """
    over = threading.Event()

    def run() -> None:
        try:
            target(*args)
        finally:
            over.set()

    def launch() -> None:
        try:
            threading.Thread(target=run, name=name, daemon=True).start()
        except BaseException:  # (no thread to be had: "can't start new thread") run it here
            run()

    _thread.start_new_thread(launch, ())
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
        self.done = threading.Event()  # the starter thread is over (handed over, or its build failed)
        self.hand_lock = threading.Lock()  # one hand-over at a time (the starter's, or a fallback)

    def start(self) -> None:
        """Start the starter thread (once, by the caller that queued the first task)."""
        start_thread("tasker-start", self._run)

    def _run(self) -> None:
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
                if task.payload is None:  # left to us at the call (plain values: see PREPARE_FIRST)
                    try:
                        task.payload = runner.prepare(*task.call)
                    except Exception as error:  # (cannot happen for such a call; it still ends once)
                        lifecycle.conclude(task, error=error)
                        continue
                else:
                    runner.adopt(task)
                runner.submit(task)
